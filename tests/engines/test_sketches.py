"""Mergeable distinct counts: stored HLL sketches against exact counts, and Spark's sketches against ours.

Bound: DataSketches' relative standard error for lg_k 12 is 1.63%; an estimate must lie within three of them
of the exact count (it does within two, the stated 95% interval, in 95% of cases). On this fixture the sets
are small, where the sketches keep their coupons and are all but exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.engines.conftest import PERSON_DAYS, FixtureStore, copy_home
from thuocdo.rollups import sketches
from thuocdo.store import Store, StoreError

MONTHS = ["2021-12", "2022-01", "2022-02", "2022-03"]
Q1 = (dt.date(2022, 1, 1), dt.date(2022, 3, 31))


@pytest.fixture(scope="module")
def sketched(fixture_store: FixtureStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    home = copy_home(fixture_store, tmp_path_factory.mktemp("sketch") / "home")
    with Store(home, sweep=False) as store:
        assert sketches.stale_months(store, months=MONTHS) == [(s, m) for s in ("panel-a", "telco-b") for m in MONTHS]
        assert sketches.build_sketch_days(store, months=MONTHS)
        yield store


def exact(store: Store, first: dt.date, last: dt.date, by: str = "source, platform") -> dict[tuple[Any, ...], int]:
    """Exact distinct active persons per group, straight from the stored records."""
    rows = store.con.sql(
        f"SELECT {by}, count(DISTINCT person) FROM ({PERSON_DAYS}) WHERE active AND day BETWEEN $a AND $b GROUP BY ALL",
        params={"files": store.files("person_day"), "a": first, "b": last}).fetchall()
    return {tuple(r[:-1]): r[-1] for r in rows}


def check(estimates: pa.Table, truth: dict[tuple[Any, ...], int], by: list[str]) -> None:
    got = {tuple(r[c] for c in by): r for r in estimates.to_pylist()}
    assert set(got) == set(truth) and len(truth) >= 5
    for key, n in truth.items():
        e = got[key]
        assert abs(e["estimate"] - n) <= 3 * e["rse"] * n + 1e-9, f"{key}: {e['estimate']} vs exact {n}"
        assert e["lower_95"] <= e["estimate"] <= e["upper_95"]


def test_sketches_are_listed_and_in_step(sketched: Store) -> None:
    assert sketches.stale_months(sketched, months=MONTHS) == []
    assert sketches.build_sketch_days(sketched, months=MONTHS) == []  # nothing to redo
    cells = sketches.sketch_days(sketched, *Q1)
    assert cells.num_rows > 100 and set(cells.column("lg_k").to_pylist()) == {12}
    with pytest.raises(StoreError, match="build_sketch_days"):
        sketches.sketch_days(sketched, dt.date(2021, 6, 1), dt.date(2021, 6, 30))  # never sketched


@pytest.mark.parametrize(("first", "last"), [Q1, (dt.date(2022, 1, 1), dt.date(2022, 1, 31)),
                                             (dt.date(2021, 12, 20), dt.date(2022, 1, 12))])
def test_distinct_persons_over_any_days(sketched: Store, first: dt.date, last: dt.date) -> None:
    """MAU of a month, a quarter, and a range across a year end: unions of daily sketches."""
    check(sketches.distinct_persons(sketched, first, last), exact(sketched, first, last), ["source", "platform"])


def test_distinct_persons_by_province(sketched: Store) -> None:
    by = ["source", "province"]
    check(sketches.distinct_persons(sketched, *Q1, by=by), exact(sketched, *Q1, "source, province"), by)


def test_monthly_sketches_match_the_unweighted_rollup(sketched: Store) -> None:
    """Over a month and all provinces, the sketch counts the persons the exact rollup counts (usage_month.persons)."""
    first, last = dt.date(2022, 2, 1), dt.date(2022, 2, 28)
    truth = {tuple(r[:2]): r[2] for r in sketched.con.sql(
        "SELECT source, platform, sum(persons) FROM usage_month WHERE month = '2022-02' "
        "GROUP BY ALL HAVING sum(persons) > 0"
    ).fetchall()}
    check(sketches.distinct_persons(sketched, first, last), truth, ["source", "platform"])


def test_rolling_weekly_active(sketched: Store) -> None:
    days = (dt.date(2022, 1, 28), dt.date(2022, 2, 3))
    got = sketches.rolling_distinct(sketched, *days, 7, by=["source"])
    assert got.num_rows == 2 * 7
    for row in got.to_pylist():
        truth = exact(sketched, row["day"] - dt.timedelta(days=6), row["day"], "source")[(row["source"],)]
        assert abs(row["estimate"] - truth) <= 3 * row["rse"] * truth


@pytest.mark.spark
def test_spark_sketches_are_interchangeable(fixture_store: FixtureStore, sketched: Store, spark: Any,
                                            tmp_path: Path) -> None:
    from thuocdo.engines.spark import SparkEngine
    from thuocdo.rollups.spark import SparkRollups

    ours = sketches.sketch_days(sketched, *Q1)
    with Store(copy_home(fixture_store, tmp_path / "home"), sweep=False) as store:
        engine = SparkRollups(SparkEngine(store, spark))
        assert engine.build_sketch_days(months=MONTHS)  # sketches by Spark's hll_sketch_agg, stored
        theirs = sketches.sketch_days(store, *Q1)
        cell = ["source", "platform", "day", "province"]
        assert sorted(theirs.select([*cell, "persons"]).to_pylist(), key=str) == \
            sorted(ours.select([*cell, "persons"]).to_pylist(), key=str)  # the same cells and exact counts
        # the same registers: a union of Spark's and our sketch of a cell estimates as Spark's alone
        pairs = {tuple(r[c] for c in cell): r["sketch"] for r in theirs.to_pylist()}
        for r in ours.slice(0, 200).to_pylist():
            blob = pairs[tuple(r[c] for c in cell)]
            assert sketches.estimate([blob, r["sketch"]]).estimate == sketches.estimate([blob]).estimate
        # Spark unions stored sketches (hll_union_agg) to the same numbers as the embedded side
        for by in (["source", "platform"], ["source", "province"]):
            spark_side = engine.distinct_persons(*Q1, by=by).to_pylist()
            embedded = sketches.distinct_persons(sketched, *Q1, by=by).to_pylist()
            assert len(spark_side) == len(embedded)
            for s, e in zip(spark_side, embedded, strict=True):
                assert [s[c] for c in by] == [e[c] for c in by]
                assert abs(s["estimate"] - e["estimate"]) <= 2 * e["rse"] * e["estimate"]
