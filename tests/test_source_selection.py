"""`--source a,b` (a union of census sources) and `--source national`, through the command line, on fixtures
worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, by_key, write
from thuocdo.catalog import load_catalog

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
# op-a: u1 and u2 on Zalo on 3 January 2022 in Hà Nội; op-b: u1 on Zalo the same day, u3 on Facebook.
OP_A = HEADER + """a1,u1,zalo,2022-01-03T10:00:00+07:00,600,1000000,1,0,Hà Nội
a2,u2,zalo,2022-01-03T10:00:00+07:00,60,1000000,1,0,Hà Nội
"""
OP_B = HEADER + """b1,u1,zalo,2022-01-03T11:00:00+07:00,300,500000,1,0,Hà Nội
b2,u3,facebook,2022-01-04T10:00:00+07:00,60,1000000,1,0,Hà Nội
"""
PANEL = HEADER + "p1,v1,zalo,2022-01-05T10:00:00+07:00,120,0,1,0,Hà Nội\n"
WEIGHTS = "user_id,month,weight\nv1,2022-01,1000\n"


@pytest.fixture
def two_operators(cli: Cli, tmp_path: Path) -> Cli:
    for name, text in (("op-a", OP_A), ("op-b", OP_B)):
        result = cli("ingest", "usage", write(tmp_path / f"{name}.csv", text), "--source", name)
        assert result.exit_code == 0, result.stderr
    return cli


def test_a_union_of_private_sources_adds_their_persons(two_operators: Cli) -> None:
    rows = by_key(two_operators.metrics("2022-01", "--source", "op-a,op-b"), "platform")
    zalo = rows[("zalo",)]
    # private keys: op-a's u1 and op-b's u1 are two persons -> 3 active persons, 3 person-days over 31 days
    assert zalo["source"] == "op-a,op-b"
    assert zalo["mau"] == pytest.approx(3)
    assert zalo["dau"] == pytest.approx(3 / 31)
    # seconds 600 + 60 + 300 = 960 = 16 min over 3 person-days; bytes 2.5 MB over 3 persons
    assert zalo["minutes_per_day"] == pytest.approx(16 / 3)
    assert zalo["mb_per_user"] == pytest.approx(2.5 / 3)
    # op-a saw 2 of the 3 persons, op-b 1; a count has no margin of its own
    assert zalo["sources"] == "op-a=0.6667;op-b=0.3333"
    assert zalo["mau_low"] == zalo["mau_high"] == pytest.approx(3)
    assert rows[("facebook",)]["mau"] == pytest.approx(1)
    assert rows[("facebook",)]["sources"] == "op-b=1"


def test_every_source_row_gains_the_margin_columns(two_operators: Cli, tmp_path: Path) -> None:
    assert two_operators("ingest", "weights", write(tmp_path / "w.csv", WEIGHTS), "--source", "panel").exit_code == 0
    assert two_operators("ingest", "usage", write(tmp_path / "p.csv", PANEL), "--source", "panel").exit_code == 0
    rows = by_key(two_operators.metrics("2022-01"), "source", "platform")
    panel = rows[("panel", "zalo")]
    # one panelist of weight 1000: Σ w(w - 1) = 999,000, SE ≈ 999.5
    se = 999_000 ** 0.5
    assert panel["mau"] == pytest.approx(1000)
    assert panel["mau_low"] == pytest.approx(max(0.0, 1000 - 1.959963984540054 * se))
    assert panel["mau_high"] == pytest.approx(1000 + 1.959963984540054 * se)
    assert rows[("op-a", "zalo")]["sources"] == "op-a=1"
    assert rows[("op-a", "zalo")]["mau_low"] == pytest.approx(2)


def test_bad_selections_are_refused_with_their_reason(two_operators: Cli, tmp_path: Path) -> None:
    unknown = two_operators("metrics", "--period", "2022-01", "--source", "op-a,op-x")
    assert unknown.exit_code == 2
    assert "Không có nguồn 'op-x'" in unknown.stderr and "op-a, op-b" in unknown.stderr
    assert two_operators("ingest", "weights", write(tmp_path / "w.csv", WEIGHTS), "--source", "panel").exit_code == 0
    assert two_operators("ingest", "usage", write(tmp_path / "p.csv", PANEL), "--source", "panel").exit_code == 0
    mixed = two_operators("metrics", "--period", "2022-01", "--source", "op-a,panel")
    assert mixed.exit_code == 2
    assert "Không thể gộp op-a,panel" in mixed.stderr and "panel (bảng mẫu)" in mixed.stderr
    twice = two_operators("metrics", "--period", "2022-01", "--source", "op-a,op-a")
    assert twice.exit_code == 2 and "hai lần" in twice.stderr


def test_national_without_coverage_or_panel_says_what_is_missing(two_operators: Cli) -> None:
    result = two_operators("metrics", "--period", "2022-01", "--source", "national")
    assert result.exit_code == 2
    assert "chưa khai báo số thuê bao" in result.stderr and "op-a, op-b" in result.stderr


def test_national_fuses_shared_operators_by_their_coverage(cli: Cli, tmp_path: Path) -> None:
    coverage = write(tmp_path / "coverage.csv", "province,month,subscribers\n01,2022-01,4\n")
    for name, text in (("op-a", OP_A), ("op-b", OP_B)):
        declared = cli("sources", "declare", name, "--kind", "census", "--link-key", "shared", "--coverage", coverage)
        assert declared.exit_code == 0, declared.stderr
        assert cli("ingest", "usage", write(tmp_path / f"{name}.csv", text), "--source", name).exit_code == 0
    # a panel in the month before only: the estimate of January must not count it among January's sources
    assert cli("ingest", "weights", write(tmp_path / "w.csv", "user_id,month,weight\nv1,2021-12,1000\n"),
               "--source", "panel").exit_code == 0
    december = HEADER + "p1,v1,zalo,2021-12-05T10:00:00+07:00,120,0,1,0,Hà Nội\n"
    assert cli("ingest", "usage", write(tmp_path / "p.csv", december), "--source", "panel").exit_code == 0
    population = load_catalog().mobile_internet_users(2022, "01")
    assert population is not None
    rows = by_key(cli.metrics("2022-01", "--source", "national"), "platform")
    zalo = rows[("zalo",)]
    # shared keys: u1 is one person; active persons u1 (both operators), u2, u3: multiplicity 4/3, so the 8
    # declared subscribers are 6 persons; Zalo's 2 active persons stand for 2/6 of Hà Nội's population
    n, big = 6.0, population
    assert zalo["source"] == "national"
    assert zalo["mau"] == pytest.approx(big * 2 / 6)
    assert rows[("facebook",)]["mau"] == pytest.approx(big / 6)
    variance = big * big * (1 - n / big) * (2 / 6) * (4 / 6) / n
    variance += (big * 2 / 6) ** 2 * (1 / 3 / 3 * (1 - 3 / n)) / (4 / 3) ** 2  # the multiplicity's error
    half = 1.959963984540054 * variance ** 0.5
    assert zalo["mau_low"] == pytest.approx(max(0.0, big * 2 / 6 - half))  # a count cannot be negative
    assert zalo["mau_high"] == pytest.approx(big * 2 / 6 + half)
    assert zalo["sources"] == "op-a=0.5;op-b=0.5"  # equal subscribers; December's panel is not January's
    assert zalo["sample_persons"] == 2


def test_national_is_a_reserved_name_and_sketches_are_per_source(two_operators: Cli, tmp_path: Path) -> None:
    named = two_operators("ingest", "usage", write(tmp_path / "n.csv", OP_A), "--source", "national")
    assert named.exit_code == 2 and "không phải 'national'" in named.stderr
    for selection in ("national", "op-a,op-b"):
        sketch = two_operators("metrics", "--period", "2022-01", "--source", selection, "--distinct", "sketch")
        assert sketch.exit_code == 2 and "chỉ dùng với một nguồn" in sketch.stderr
