"""Distinct persons from stored sketches instead of exact counts (``thuocdo metrics --distinct sketch``).

Exact counts stay the default for published headline numbers. With ``--distinct sketch`` the ``mau`` of a row
(and what is computed from it in the same row: ``stickiness``, ``penetration``, ``rank_in_category``, the
previous and year-ago ``mau`` and their changes) comes from the union of the stored day sketches
(:mod:`thuocdo.rollups.sketches`, DataSketches HLL), a month as one union and a quarter as the mean of its
three monthly estimates (a month without activity counts 0, as for exact ``mau``). Each such row says
``distinct = 'sketch'`` and carries ``mau_lower_95``, ``mau_upper_95`` (the mean of the monthly 95% bounds)
and ``mau_rse``, the sketch size's relative standard error.

A sketch counts persons, unweighted. For a source with panel weights in a month of the period, ``mau`` is
Σ weights and cannot come from a sketch: such rows keep their exact value and say ``distinct = 'exact'``.
Rows filled from published aggregates say nothing (``distinct`` is null). By province, a sketch counts a
person in every province where they were active in the period; the exact metric puts a person-month in one.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.metrics.query import RANK_DECIMALS, Breakdown, MetricRequest
from thuocdo.model.periods import Period
from thuocdo.rollups import sketches
from thuocdo.store import Store


class Distinct(Enum):
    """How ``mau`` counts distinct persons: exactly (the default) or from stored sketches."""

    EXACT = "exact"
    SKETCH = "sketch"


#: the columns added by the sketch path, after the query's own columns
SKETCH_COLUMNS = (("distinct", pa.string()), ("mau_lower_95", pa.float64()), ("mau_upper_95", pa.float64()),
                  ("mau_rse", pa.float64()))

Key = tuple[Any, ...]
Bounds = tuple[float, float, float]  # estimate, lower_95, upper_95


def period_estimates(store: Store, period: Period, keys: Sequence[str]) -> tuple[dict[Key, Bounds], set[str]]:
    """Per group of `keys` (``source``, ``platform`` [, ``province``]): the period's sketch MAU with its bounds,
    and the sources that have panel weights in a month of the period (their MAU cannot come from a sketch)."""
    months = list(period.months)
    sketches.build_sketch_days(store, months=months)  # only source-months whose records changed
    weighted = sketches.weighted_sources(store, months)
    cells = sketches.sketch_days(store, period.first_day, period.last_day)
    sums: dict[Key, list[float]] = {}
    for month in months:
        monthly = sketches.union_cells(cells.filter(pc.equal(cells.column("month"), month)), list(keys))
        for row in monthly.to_pylist():
            acc = sums.setdefault(tuple(row[k] for k in keys), [0.0, 0.0, 0.0])
            for i, name in enumerate(("estimate", "lower_95", "upper_95")):
                acc[i] += row[name]
    n = len(months)
    return {k: (v[0] / n, v[1] / n, v[2] / n) for k, v in sums.items()}, weighted


def with_sketch_mau(store: Store, request: MetricRequest, table: pa.Table) -> pa.Table:
    """The metric table of `request` (platform or province breakdown) with ``mau`` taken from the sketches."""
    if request.breakdown is Breakdown.CATEGORY:
        raise ValueError("sketch MAU is per platform or per province, not per category")
    keys = ["source", "platform"] + (["province"] if request.breakdown is Breakdown.PROVINCE else [])
    current, previous, year_ago = (period_estimates(store, p, keys) for p in request.compared)
    rse = sketches.relative_standard_error()
    rows = table.to_pylist()
    for row in rows:
        key = tuple(row[k] for k in keys)
        row.update(distinct=None, mau_lower_95=None, mau_upper_95=None, mau_rse=None)
        if row.get("basis", "records") != "records":
            continue
        found, weighted = current
        if row["source"] in weighted:
            row["distinct"] = "exact"
            continue
        mau, lower, upper = found.get(key, (0.0, 0.0, 0.0))
        row.update(distinct="sketch", mau=mau, mau_lower_95=lower, mau_upper_95=upper, mau_rse=rse,
                   stickiness=_ratio(row["dau"], mau), penetration=_ratio(mau, row["smartphone_users"]))
        for name, (estimates, weighted_then) in (("previous", previous), ("year_ago", year_ago)):
            if row["source"] in weighted_then:
                continue  # the exact (weighted) value of that period stays
            before = estimates.get(key, (0.0,))[0]
            column = "mau_previous" if name == "previous" else "mau_year_ago"
            change = "mau_change_previous" if name == "previous" else "mau_change_year"
            # as the exact query: a platform without records in that period has no value to compare with
            row[column] = before if row[column] is not None else None
            row[change] = _ratio(mau - before, before) if row[column] is not None else None
    _rank(rows, ["source", "period"] + (["province"] if "province" in keys else []) + ["category"])
    schema = table.schema
    for name, kind in SKETCH_COLUMNS:
        schema = schema.append(pa.field(name, kind))
    result = pa.Table.from_pylist(rows, schema=schema)
    order = (["source", "province", "category", "rank_in_category", "platform"] if "province" in keys
             else ["source", "category", "rank_in_category", "platform"])
    return result.sort_by([(c, "ascending") for c in order])  # nulls last, as in the query


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _rank(rows: list[dict[str, Any]], partition: list[str]) -> None:
    """``rank_in_category`` again for sketch rows: by ``mau`` descending, ties share the lower rank."""
    groups: dict[Key, list[dict[str, Any]]] = {}
    for row in rows:
        if row["distinct"] == "sketch":
            groups.setdefault(tuple(row[c] for c in partition), []).append(row)
    for members in groups.values():
        ordered = sorted(members, key=lambda r: -round(r["mau"], RANK_DECIMALS))
        for i, row in enumerate(ordered):
            tied = i > 0 and round(ordered[i - 1]["mau"], RANK_DECIMALS) == round(row["mau"], RANK_DECIMALS)
            row["rank_in_category"] = ordered[i - 1]["rank_in_category"] if tied else i + 1
