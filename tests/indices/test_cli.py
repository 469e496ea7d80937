"""`index` and `targets` on the demo's indicator data, through the command line, against sums done by hand
from the demo file itself; and every docstring example of the engine runs."""

from __future__ import annotations

import csv
import doctest
import importlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thuocdo.catalog import load_catalog
from thuocdo.cli import app
from thuocdo.indices.demo_data import write_demo_indicators
from thuocdo.ingest.indicators import ingest_indicators
from thuocdo.store import Store

POINTS_2022 = {"dti_awareness": 100, "dti_institutions": 100, "dti_infrastructure": 100, "dti_human_resources": 100,
               "dti_cybersecurity": 100, "dti_smart_city": 0, "dti_gov_activity": 200, "dti_economy_activity": 150,
               "dti_society_activity": 150}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    folder = tmp_path_factory.mktemp("indices")
    path = write_demo_indicators(folder / "indicators.csv")
    with Store(folder / "home") as store:
        result = ingest_indicators(store, path, "demo-indicators")
    assert result.rejected == 0
    with open(path, encoding="utf-8") as f:
        return folder / "home", list(csv.DictReader(f))


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False, env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def as_json(home: Path, *args: str) -> list[dict[str, object]]:
    code, stdout, stderr = run(home, *args, "--format", "json")
    assert code == 0, stderr
    return json.loads(stdout)


def totals(rows: list[dict[str, str]], period: str) -> dict[str, float]:
    """Σ points × value / 1000 per former province, straight from the demo file."""
    out: dict[str, float] = {}
    for r in rows:
        if r["period"] == period and r["entity"].startswith("old:") and r["indicator"] in POINTS_2022:
            code = r["entity"].removeprefix("old:")
            out[code] = out.get(code, 0.0) + POINTS_2022[r["indicator"]] * float(r["value"]) / 1000
    return out


def test_dti_2022_of_the_63_provinces(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, rows = demo
    table = as_json(home, "index", "--framework", "dti-2022", "--period", "2023", "--runs", "200")
    expected = totals(rows, "2023")
    assert len(table) == 63
    for row in table:
        assert row["score"] == pytest.approx(expected[row["entity"]], abs=1e-12)
        assert row["rank_p05"] <= row["rank_median"] <= row["rank_p95"]
        assert {"awareness", "smart_city", "digital_government", "score_change", "rank_change"} <= set(row)
    ranks = sorted(r["rank"] for r in table)
    assert ranks[0] == 1 and ranks[-1] <= 63 and table[0]["rank"] == 1
    by_score = sorted(expected, key=lambda c: -round(expected[c], 4))
    assert table[0]["entity"] == by_score[0]


def test_the_34_provinces_of_2024_by_the_merged_province_rule(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, rows = demo
    table = {r["entity"]: r for r in as_json(home, "index", "--framework", "dti-2025", "--period", "2024",
                                             "--units", "34", "--runs", "0")}
    assert len(table) == 34
    old = totals(rows, "2024")  # the 405 points are those of 922 without smart city, which is absent in 2024
    catalog = load_catalog()
    for unit in catalog.provinces_new:
        former = [p.code for p in catalog.provinces_old if p.new_code == unit.code]
        assert table[unit.code]["score"] == pytest.approx(sum(old[c] for c in former) / len(former), abs=1e-12)
        assert (table[unit.code]["notes"] == f"gộp từ {len(former)} tỉnh cũ") == (len(former) > 1)
    assert "rank_p05" not in table["01"]


def test_2025_uses_the_34_units_own_values(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, _ = demo
    table = as_json(home, "index", "--framework", "dti-2025", "--period", "2025", "--runs", "50")
    assert len(table) == 34 and all(r["notes"] == "" for r in table)
    assert all(r["rank_change"] is not None for r in table)  # compared with the merged 2024 ranking


def test_ministries_are_ranked_within_their_group(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, _ = demo
    table = as_json(home, "index", "--framework", "dti-2025", "--period", "2024", "--level", "ministry", "--runs", "50")
    groups = {r["group"] for r in table}
    assert groups == {"public_services", "no_public_services"}
    for g in groups:
        ranks = sorted(r["rank"] for r in table if r["group"] == g)
        assert ranks[0] == 1 and len(ranks) == sum(1 for r in table if r["group"] == g)


def test_national_dti_and_egdi(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, _ = demo
    [dti] = as_json(home, "index", "--framework", "dti-2025", "--period", "2024", "--level", "nation")
    assert round(dti["score"], 4) == 0.7955 and round(dti["score_change"], 4) == round(0.7955 - 0.7326, 4)
    [egdi] = as_json(home, "index", "--framework", "egdi", "--period", "2024", "--level", "nation")
    assert egdi["score"] == pytest.approx((0.70811 + 0.72665 + 0.87797) / 3)


def test_targets_scorecard(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, _ = demo
    code, stdout, _ = run(home, "targets", "--year", "2024", "--format", "json")
    assert code == 0
    rows = {r["target"]: r for r in json.loads(stdout)}
    assert (rows["dossiers-2024"]["actual"], rows["dossiers-2024"]["status_vi"]) == (45.8, "Không đạt")
    assert rows["dossiers-2025"]["needed_per_year"] == pytest.approx(80 - 45.8)  # points a year, one year left
    assert rows["dossiers-2025"]["observed_per_year"] == pytest.approx(45.8 - 38.0)  # the trend over 2023–2024
    assert (rows["dossiers-2025"]["trend_points"], rows["dossiers-2025"]["pace_unit"]) == (2, "points")
    assert (rows["dossiers-2024"]["actual_source"], rows["fibre-households-2025"]["actual_source"]) == (
        "btttt-tong-ket-2024", "demo-indicators")  # a published figure and an illustrative one
    assert rows["egdi-rank-2030"]["attainment"] is None  # no ratio for a rank
    assert (rows["egdi-rank-2030"]["gap"], rows["egdi-rank-2030"]["status"]) == (21, "on_track")
    assert rows["gci-rank-2030"]["status"] == "no_data"
    code, stdout, _ = run(home, "targets", "--year", "2024")
    assert code == 0 and "Tỷ lệ hồ sơ trực tuyến toàn trình (khối bộ)" in stdout and "Chậm tiến độ" in stdout


def test_the_table_reads_in_vietnamese(demo: tuple[Path, list[dict[str, str]]]) -> None:
    home, _ = demo
    code, stdout, _ = run(home, "index", "--framework", "dti-2022", "--period", "2023", "--runs", "20")
    assert code == 0
    for text in ("DTI cấp tỉnh (63 tỉnh cũ), năm 2023", "Hạng", "Khoảng hạng", "Quyết định số 922/QĐ-BTTTT", "Hà Nội"):
        assert text in stdout  # (long headers wrap inside their column)
    assert re.search(r"│ +1 │ [^│]+│ 0,\d{4} │", stdout)  # scores with a decimal comma and four decimals


@pytest.mark.parametrize("args, message", [
    (("--framework", "dti-2022", "--period", "2023-Q1"), "Kỳ '2023-Q1' không hợp lệ: chỉ số tổng hợp tính theo năm"),
    (("--framework", "dti-1999", "--period", "2023"), "Không có bộ chỉ số 'dti-1999'"),
    (("--framework", "egdi", "--period", "2024"), "Bộ chỉ số egdi không có cấp 'province'"),
    (("--framework", "dti-2022", "--period", "2019"),
     "Chưa có giá trị chỉ số nào của dti-2022 (DTI cấp tỉnh) cho năm 2019"),
])
def test_errors_exit_2_with_the_reason(demo: tuple[Path, list[dict[str, str]]], args: tuple[str, ...],
                                       message: str) -> None:
    code, _, stderr = run(demo[0], "index", *args)
    assert code == 2 and message in " ".join(stderr.split())


@pytest.mark.parametrize("module", ["tree", "normalise", "rank", "impute", "aggregate", "merge", "spec", "compute",
                                    "uncertainty", "targets", "demo_data"])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"thuocdo.indices.{module}"))
    assert result.failed == 0 and result.attempted > 0


def test_framework_loader_examples_run() -> None:
    from thuocdo.catalog import frameworks

    assert doctest.testmod(frameworks).failed == 0
