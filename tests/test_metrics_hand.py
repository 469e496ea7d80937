"""Tiny hand-made fixtures whose answers are worked out here, by hand, in the comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, by_key, write

# Source "s", January 2022 (31 days), Q1/2022 (90 days).
USAGE = """record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province
r1,u1,zalo,2022-01-01T01:00:00+07:00,600,1000000,2,0,Thừa Thiên Huế
r2,u1,com.zing.zalo,2022-01-01T10:00:00+07:00,300,0,1,0,thua thien hue
r3,u1,zalo,2022-01-02,120,,,,Thừa Thiên Huế
r4,u2,zalo,2021-12-31T17:30:00Z,60,0,1,0,Hà Nội
r5,u3,zalo,2022-01-05T09:00:00+07:00,0,5000000,0,0,
r6,u4,messenger,2022-01-31T17:30:00Z,30,0,1,1,Hà Nội
r7,u1,messenger,2022-01-15 12:00:00,1200,0,1,0,Thừa Thiên Huế
"""
WEIGHTS = """user_id,month,weight
u1,2022-01,2
u2,2022-01,3
"""


@pytest.fixture
def loaded(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("ingest", "weights", write(tmp_path / "w.csv", WEIGHTS), "--source", "s").exit_code == 0
    result = cli("ingest", "usage", write(tmp_path / "u.csv", USAGE), "--source", "s")
    assert result.exit_code == 0, result.stderr
    return cli


def test_month_metrics_by_hand(loaded: Cli) -> None:
    rows = by_key(loaded.metrics("2022-01"), "platform")
    zalo = rows[("zalo",)]
    # Active persons in January: u1 (w 2) and u2 (w 3; 17:30Z on Dec 31 is 00:30 on Jan 1 local).
    # u3 only has background data: not active, weight 1 (no weight row).
    assert zalo["mau"] == pytest.approx(5)
    # person-days: u1 on Jan 1 (two records merged) and Jan 2 → 2 × w2 = 4; u2 1 × w3 = 3 → 7 over 31 days
    assert zalo["dau"] == pytest.approx(7 / 31)
    # seconds: u1 (600 + 300 + 120) × 2 = 2040, u2 60 × 3 = 180 → 2220 s = 37 min over 7 weighted person-days
    assert zalo["minutes_per_day"] == pytest.approx(37 / 7)
    # bytes: u1 1e6 × 2 + u3 5e6 × 1 = 7e6 → 7 MB / mau 5
    assert zalo["mb_per_user"] == pytest.approx(1.4)
    # sessions: u1 (2 + 1 + default 1) × 2 = 8, u2 1 × 3 = 3, u3 0
    assert zalo["sessions"] == pytest.approx(11)
    assert zalo["stickiness"] == pytest.approx((7 / 31) / 5)
    assert zalo["rank_in_category"] == 1
    messenger = rows[("messenger",)]
    # u1 on Jan 15 (naive = local) w 2; u4's 17:30Z on Jan 31 is Feb 1 local
    assert messenger["mau"] == pytest.approx(2)
    assert messenger["minutes_per_day"] == pytest.approx(1200 * 2 / 60 / 2)
    assert messenger["rank_in_category"] == 2
    assert messenger["installs"] == pytest.approx(0)


def test_quarter_metrics_by_hand(loaded: Cli) -> None:
    rows = by_key(loaded.metrics("2022-Q1"), "platform")
    zalo = rows[("zalo",)]
    assert zalo["mau"] == pytest.approx(5 / 3)  # (5 + 0 + 0) / 3: idle months count 0
    assert zalo["dau"] == pytest.approx(7 / 90)
    assert zalo["mb_per_user"] == pytest.approx(1.4)  # mean over months with activity only
    messenger = rows[("messenger",)]
    assert messenger["mau"] == pytest.approx((2 + 1 + 0) / 3)  # u4 in February has weight 1
    assert messenger["installs"] == pytest.approx(1)


def test_category_shares_by_hand(loaded: Cli) -> None:
    rows = by_key(loaded.metrics("2022-01", "--by", "category"), "category", "metric")
    mau = rows[("communication", "mau")]
    assert mau["domestic_value"] == pytest.approx(5)  # Zalo
    assert mau["foreign_value"] == pytest.approx(2)  # Messenger
    assert mau["domestic_share"] == pytest.approx(5 / 7)
    assert mau["domestic_foreign_ratio"] == pytest.approx(2.5)


def test_province_breakdown_partitions_the_nation(loaded: Cli) -> None:
    rows = loaded.metrics("2022-01", "--by", "province")
    zalo = {r["province"]: r for r in rows if r["platform"] == "zalo"}
    hue = next(p for p in zalo if p is not None and p != "01")
    assert zalo["01"]["mau"] == pytest.approx(3)  # u2, Hà Nội
    assert zalo[hue]["mau"] == pytest.approx(2)  # u1, Thừa Thiên Huế (old name and unaccented spelling)
    assert zalo[None]["mau"] == pytest.approx(0)  # u3: background only, no province
    assert zalo[None]["mb_per_user"] is None
    assert sum(r["sessions"] for r in zalo.values()) == pytest.approx(11)


def test_changes_against_previous_and_year_ago(cli: Cli, tmp_path: Path) -> None:
    usage = """user_id,platform,time
a,zalo,2021-01-10
a,zalo,2021-12-10
b,zalo,2021-12-11
a,zalo,2022-01-10
b,zalo,2022-01-10
c,zalo,2022-01-10
d,zalo,2022-01-12
"""
    assert cli("ingest", "usage", write(tmp_path / "u.csv", usage), "--source", "x").exit_code == 0
    zalo = by_key(cli.metrics("2022-01"), "platform")[("zalo",)]
    assert zalo["mau"] == pytest.approx(4)
    assert zalo["mau_previous"] == pytest.approx(2)
    assert zalo["mau_change_previous"] == pytest.approx(1.0)  # 4 vs 2 → +100%
    assert zalo["mau_year_ago"] == pytest.approx(1)
    assert zalo["mau_change_year"] == pytest.approx(3.0)


def test_published_aggregates_fill_cells_without_records(loaded: Cli, tmp_path: Path) -> None:
    published = """platform,period,metric,value
vnexpress.net,2022-01,visits,135700000
vnexpress,2022-01,web_rank,1
zalo,2022-01,mau,74700000
hue-s,2022-01,mau,610512
"""
    assert loaded("ingest", "aggregates", write(tmp_path / "a.csv", published), "--source", "web").exit_code == 0
    rows = by_key(loaded.metrics("2022-01"), "platform")
    assert rows[("vnexpress",)]["visits"] == 135_700_000 and rows[("vnexpress",)]["web_rank"] == 1
    assert rows[("vnexpress",)]["basis"] == "published" and rows[("vnexpress",)]["mau"] is None
    assert rows[("hue-s",)]["mau"] == 610_512 and rows[("hue-s",)]["source"] == "web"
    assert rows[("zalo",)]["mau"] == pytest.approx(5)  # records win over a published figure
    assert rows[("zalo",)]["basis"] == "records"
    assert ("vnexpress",) not in by_key(loaded.metrics("2022-02"), "platform")  # only its own period
