"""`thuocdo metrics --distinct sketch`: MAU from the stored HLL sketches, within the stated bound of the exact one.

Bound: an estimate within three relative standard errors (``mau_rse``, 1.63% at lg_k 12) of the exact count;
on this small fixture the sketches keep their coupons and are all but exact. Weighted sources keep exact MAU.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.engines.conftest import PERSON_DAYS, FixtureStore, copy_home
from thuocdo.model.periods import Period
from thuocdo.store import Store

SKETCH_COLUMNS = ["distinct", "mau_lower_95", "mau_upper_95", "mau_rse"]


def persons_by_province(home: Path, period: str) -> dict[tuple[Any, ...], float]:
    """What a sketch counts by province: distinct persons active in the province in a month (a person seen in
    two provinces counts in both), the mean over the period's months, straight from the stored records."""
    months = Period.parse(period).months
    with Store(home, read_only=True) as store:
        rows = store.con.sql(
            f"SELECT source, platform, province, count(DISTINCT (person, month)) FROM ({PERSON_DAYS}) "
            "WHERE active AND list_contains($m, month) GROUP BY ALL",
            params={"files": store.files("person_day"), "m": list(months)}).fetchall()
    return {tuple(r[:3]): r[3] / len(months) for r in rows}


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(r["source"], r["platform"], r.get("province")): r for r in rows}


@pytest.mark.parametrize(("period", "by"), [("2022-Q1", "platform"), ("2022-02", "platform"), ("2022-Q1", "province")])
def test_sketch_mau_is_within_its_bound_of_the_exact_mau(fixture_store: FixtureStore, tmp_path: Path,
                                                          period: str, by: str) -> None:
    home = copy_home(fixture_store, tmp_path / "home")
    cli = Cli(home)
    exact = cli.metrics(period, "--by", by)
    sketch = cli.metrics(period, "--by", by, "--distinct", "sketch")
    in_province = persons_by_province(home, period) if by == "province" else {}
    assert not set(SKETCH_COLUMNS) & set(exact[0])  # the default output is unchanged
    assert list(sketch[0]) == list(exact[0]) + SKETCH_COLUMNS
    exact_rows, sketch_rows = by_key(exact), by_key(sketch)
    assert sketch_rows.keys() == exact_rows.keys()
    used = {"sketch": 0, "exact": 0}
    for key, s in sketch_rows.items():
        e = exact_rows[key]
        for column in ("dau", "sessions", "installs", "minutes_per_day", "sample_persons"):
            assert s[column] == e[column] or math.isclose(s[column], e[column], rel_tol=1e-12), (key, column)
        if s["distinct"] is None:  # filled from a published aggregate
            assert e.get("basis") == "published" and s["mau"] == e["mau"]
            continue
        used[s["distinct"]] += 1
        if key[0] == "panel-a":  # panel weights: MAU is Σ weights, not a count of persons
            assert s["distinct"] == "exact" and s["mau"] == e["mau"] and s["mau_rse"] is None
            continue
        assert s["distinct"] == "sketch" and s["mau_rse"] == pytest.approx(0.0162, abs=1e-4)
        truth = in_province.get(key, 0.0) if by == "province" else e["mau"]
        assert abs(s["mau"] - truth) <= 3 * s["mau_rse"] * truth + 1e-9, (key, s["mau"], truth)
        assert s["mau_lower_95"] <= s["mau"] <= s["mau_upper_95"]
        if s["mau"]:
            assert s["stickiness"] == pytest.approx(s["dau"] / s["mau"])
    assert used["sketch"] >= 5 and used["exact"] >= 5


def test_sketch_rank_follows_the_sketch_mau(fixture_store: FixtureStore, tmp_path: Path) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    rows = [r for r in cli.metrics("2022-Q1", "--distinct", "sketch") if r["distinct"] == "sketch"]
    categories: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        categories.setdefault(r["category"], []).append(r)
    assert len(categories) >= 2
    for members in categories.values():
        for a in members:
            assert a["rank_in_category"] == 1 + sum(b["mau"] > a["mau"] for b in members)


def test_sketch_distinct_is_not_for_categories(fixture_store: FixtureStore, tmp_path: Path) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    result = cli("metrics", "--period", "2022-Q1", "--by", "category", "--distinct", "sketch")
    assert result.exit_code == 2 and "--by platform" in result.stderr


def test_table_title_says_the_mau_is_estimated(fixture_store: FixtureStore, tmp_path: Path) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    result = cli("metrics", "--period", "2022-01", "--distinct", "sketch")
    assert result.exit_code == 0 and "ước lượng từ sketch" in result.stdout
