"""The national estimator (thuocdo.metrics.national) on fixtures small enough to compute by hand."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from thuocdo.metrics.national import SourceSpec, estimate_national, multiplicity_sql
from thuocdo.rollups.definitions import PERSON_MONTH

MONTH = "2024-01"


def _person_day(source: str, person: int, platform: str, province: str = "01", seconds: int = 60,
                day: int = 5) -> dict[str, Any]:
    return {"source": source, "platform": platform, "person": person, "day": dt.date(2024, 1, day), "month": MONTH,
            "active_seconds": seconds, "bytes": 1000, "sessions": 1, "installs": 0, "active": True,
            "province": province, "province_seconds": seconds}


def _run(rows: list[dict[str, Any]], sources: list[SourceSpec], coverage: list[tuple[str, str, int]],
         population: dict[tuple[str, str], float], weights: Sequence[tuple[str, int, float]] = ()) -> Any:
    con = duckdb.connect()
    con.register("pdays", pa.Table.from_pylist(rows))
    con.register("w", pa.table({"source": pa.array([w[0] for w in weights], pa.string()),
                                "person": pa.array([w[1] for w in weights], pa.int64()),
                                "month": pa.array([MONTH] * len(weights), pa.string()),
                                "weight": pa.array([w[2] for w in weights], pa.float64())}))
    con.register("cov", pa.table({"source": pa.array([c[0] for c in coverage], pa.string()),
                                  "province": pa.array([c[1] for c in coverage], pa.string()),
                                  "month": pa.array([MONTH] * len(coverage), pa.string()),
                                  "subscribers": pa.array([c[2] for c in coverage], pa.int64())}))
    return estimate_national(con, sources, person_day="pdays", weights="w", coverage="cov", population=population)


def test_shared_union_counts_a_person_once_and_expands_by_covered_persons() -> None:
    # persons 1 (SIMs at both operators), 2 (op-a), 3 (op-b); both declare 4 subscribers; population 10.
    rows = [_person_day("op-a", 1, "zalo"), _person_day("op-b", 1, "zalo"), _person_day("op-a", 2, "zalo"),
            _person_day("op-b", 3, "facebook")]
    shared = [SourceSpec("op-a", "census", "shared"), SourceSpec("op-b", "census", "shared")]
    est = _run(rows, shared, [("op-a", "01", 4), ("op-b", "01", 4)], {("01", MONTH): 10.0})
    # multiplicity of the 3 active persons: (2 + 1 + 1) / 3; covered persons 8 / (4/3) = 6; factor 10/6
    mau, se = est.mau("zalo", MONTH)
    assert mau == pytest.approx(2 * 10 / 6)
    # N²(1 - n/N) r(1 - r) / n with N = 10, n = 6, r = 2/6, plus the multiplicity's error: its sample variance
    # over the 3 active persons (2, 1, 1) is 1/3, so var(μ) = 1/3 / 3 × (1 - 3/6) and Â² var(μ)/μ² is added
    ratio = 100 * 0.4 * (2 / 6) * (4 / 6) / 6
    multiplicity = (2 * 10 / 6) ** 2 * (1 / 3 / 3 * (1 - 3 / 6)) / (4 / 3) ** 2
    assert se == pytest.approx(math.sqrt(ratio + multiplicity))
    row = {r["platform"]: r for r in est.usage_month.to_pylist()}["zalo"]
    assert row["source"] == "national" and row["persons"] == 2
    assert row["w_bytes"] == pytest.approx((2000 + 1000) * 10 / 6)  # person 1's two SIMs' bytes summed
    assert row["w_active_days"] == pytest.approx(2 * 10 / 6)  # person 1's day counted once
    parts = {r["source"]: r["mau"] for r in est.contributions.to_pylist() if r["platform"] == "zalo"}
    assert parts == pytest.approx({"op-a": mau / 2, "op-b": mau / 2})  # equal declared subscribers


def test_private_sources_are_separate_units_weighted_by_coverage() -> None:
    # op-a: 2 of its 4 subscribers active, op-b: 1 of its 2; population 10: estimates 5 and 5;
    # weights n / (N - n): 4/6 and 2/8, normalised
    rows = [_person_day("op-a", 1, "zalo"), _person_day("op-a", 2, "zalo"), _person_day("op-b", 7, "zalo"),
            _person_day("op-a", 3, "facebook")]
    private = [SourceSpec("op-a", "census", "private"), SourceSpec("op-b", "census", "private")]
    est = _run(rows, private, [("op-a", "01", 4), ("op-b", "01", 2)], {("01", MONTH): 10.0})
    lam_a, lam_b = (4 / 6) / (4 / 6 + 2 / 8), (2 / 8) / (4 / 6 + 2 / 8)
    mau, se = est.mau("zalo", MONTH)
    assert mau == pytest.approx(lam_a * 5 + lam_b * 5)
    var_a = 100 * (1 - 0.4) * 0.5 * 0.5 / 4
    var_b = 100 * (1 - 0.2) * 0.5 * 0.5 / 2
    assert se == pytest.approx(math.sqrt(lam_a**2 * var_a + lam_b**2 * var_b))
    # Facebook: op-a saw 1 of 4 (2.5 persons), op-b none of its 2 (0): the same weights
    assert est.mau("facebook", MONTH)[0] == pytest.approx(lam_a * 2.5)
    assert [r["sources"] for r in est.cells.to_pylist() if r["platform"] == "zalo"] == ["op-a,op-b"]


def test_full_coverage_with_shared_keys_is_exact() -> None:
    # everyone (4 persons) is a subscriber; person 1 at both operators; every covered person active somewhere
    rows = [_person_day("op-a", 1, "zalo"), _person_day("op-b", 1, "zalo"), _person_day("op-a", 2, "zalo"),
            _person_day("op-b", 3, "facebook"), _person_day("op-b", 4, "facebook")]
    shared = [SourceSpec("op-a", "census", "shared"), SourceSpec("op-b", "census", "shared")]
    est = _run(rows, shared, [("op-a", "01", 2), ("op-b", "01", 3)], {("01", MONTH): 4.0})
    assert est.mau("zalo", MONTH) == (pytest.approx(2.0), 0.0)
    assert est.mau("facebook", MONTH) == (pytest.approx(2.0), 0.0)


def test_panel_estimates_only_where_no_census_source_covers() -> None:
    # province 01: census (op-a covers 5 of 10, 1 active); province 02: only the panel (weights 3 and 4)
    rows = [_person_day("op-a", 1, "zalo"), _person_day("panel", 11, "zalo"), _person_day("panel", 12, "zalo", "02"),
            _person_day("panel", 13, "zalo", "02")]
    sources = [SourceSpec("op-a", "census", "private"), SourceSpec("panel", "panel")]
    est = _run(rows, sources, [("op-a", "01", 5)], {("01", MONTH): 10.0, ("02", MONTH): 20.0},
               weights=[("panel", 11, 2.0), ("panel", 12, 3.0), ("panel", 13, 4.0)])
    assert est.mau("zalo", MONTH, "01") == (pytest.approx(2.0), pytest.approx(math.sqrt(100 * 0.5 * 0.2 * 0.8 / 5)))
    # Horvitz-Thompson variance of Poisson sampling: Σ w(w - 1)
    assert est.mau("zalo", MONTH, "02") == (pytest.approx(7.0), pytest.approx(math.sqrt(3 * 2 + 4 * 3)))
    by_cell = {(r["province"], r["source"]): r["mau"] for r in est.contributions.to_pylist()}
    assert by_cell == pytest.approx({("01", "op-a"): 2.0, ("02", "panel"): 7.0})


def test_a_union_needs_the_coverage_of_every_source() -> None:
    # op-b declared nothing for the province: the union does not cover it, and nothing is estimated there
    rows = [_person_day("op-a", 1, "zalo"), _person_day("op-b", 2, "zalo")]
    shared = [SourceSpec("op-a", "census", "shared"), SourceSpec("op-b", "census", "shared")]
    est = _run(rows, shared, [("op-a", "01", 4)], {("01", MONTH): 10.0})
    assert est.cells.num_rows == 0


def test_a_source_without_records_or_declaration_in_a_province_serves_nobody_there() -> None:
    # op-b serves only province 02; in 01 the union is op-a alone: 1 of 5 covered persons, population 10
    rows = [_person_day("op-a", 1, "zalo"), _person_day("op-b", 2, "zalo", "02")]
    shared = [SourceSpec("op-a", "census", "shared"), SourceSpec("op-b", "census", "shared")]
    est = _run(rows, shared, [("op-a", "01", 5), ("op-b", "02", 4)], {("01", MONTH): 10.0, ("02", MONTH): 8.0})
    assert est.mau("zalo", MONTH, "01")[0] == pytest.approx(10 / 5)
    assert est.mau("zalo", MONTH, "02")[0] == pytest.approx(8 / 4)


def test_a_person_tied_between_provinces_lives_in_the_smallest_code_whatever_the_row_order() -> None:
    """Active one day on Zalo in 79 and one day on Facebook in 01: the union's person counts in 01 (tie on
    active days, then the smallest code), for any order of the rows, as on every engine."""
    rows = [_person_day("op-a", 1, "zalo", "79", day=3), _person_day("op-b", 1, "facebook", "01", day=4),
            _person_day("op-a", 2, "zalo", "79", day=3)]
    shared = [SourceSpec("op-a", "census", "shared"), SourceSpec("op-b", "census", "shared")]
    coverage = [(s, p, 10) for s in ("op-a", "op-b") for p in ("01", "79")]
    population = {("01", MONTH): 100.0, ("79", MONTH): 100.0}
    for order in (rows, rows[::-1], [rows[1], rows[0], rows[2]]):
        con = duckdb.connect()
        con.register("pdays", pa.Table.from_pylist(order))
        con.execute("CREATE TABLE pm AS WITH person_day AS (SELECT * FROM pdays) "
                    f"SELECT * FROM ({PERSON_MONTH})")
        found = con.sql(multiplicity_sql("pdays", "pm", ["op-a", "op-b"], [MONTH]) + " ORDER BY 1").fetchall()
        assert [(r[0], r[2]) for r in found] == [("01", 1), ("79", 1)]
        estimate = _run(order, shared, coverage, population)
        # in 01: 20 declared subscribers, person 1 seen by both operators (multiplicity 2): 10 persons covered of
        # 100, so person 1 on Facebook stands for 100 / 10 persons
        assert estimate.mau("facebook", MONTH, "01")[0] == pytest.approx(10.0)
