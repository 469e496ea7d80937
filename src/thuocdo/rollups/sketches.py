"""Mergeable distinct counts: Apache DataSketches HLL sketches of the active persons, stored beside the records.

``sketch_day`` is a dataset of the lake (listed in ``lake_files`` like every other): one row per source ×
platform × day × province with the exact number of active persons of that cell (``persons``) and an HLL sketch
of their person keys (``sketch``, DataSketches' compact serialisation, ``lg_k`` ≥ 12). A person is in one
province per day, so a day's cells partition its active persons. Distinct persons over any set of cells (a
month, a week, a rolling window, a province, several platforms) is then the estimate of the *union* of the
stored sketches, with no rescan of the records: that is what makes the counts mergeable.

Sketches built here (the ``datasketches`` package) and by Spark's ``hll_sketch_agg`` (see
:mod:`thuocdo.engines.spark`) hash a person key the same way and are interchangeable: a union may mix them.

What the numbers are, and are not:

* estimates of **unweighted** distinct persons. For a source without panel weights that is ``mau`` (over a
  month); for a weighted panel it is the sample size (``sample_persons``), not the weighted ``mau``;
* a person seen in two provinces in a period counts in both provinces (the exact metrics put a person-month in
  one province); over all provinces the count is of distinct persons;
* every estimate carries its relative standard error (RSE: 1.63% for lg_k 12, 0.81% for 14, 0.41% for 16)
  and a 95% interval (two standard deviations). Published headline numbers stay exact (the metric engine).

A sketch file is rebuilt when the person_day files of its source-month change: the manifest row's
``batch_id`` is ``sketch-<fingerprint of those files and lg_k>``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import datasketches as ds
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.rollups.rebuild import person_days_sql
from thuocdo.store import Store, StoreError
from thuocdo.store.lake import finish, list_files, publish, stage_partitions

SKETCH_DAY = "sketch_day"
LG_K = 12
#: a 95% interval: two standard deviations
STD_DEVS = 2
CELL = ("source", "platform", "day", "month", "province")
SKETCH_DAY_SCHEMA = pa.schema([
    ("source", pa.string()), ("platform", pa.string()), ("day", pa.date32()), ("month", pa.string()),
    ("province", pa.string()), ("lg_k", pa.int32()), ("persons", pa.int64()), ("sketch", pa.binary()),
])


def relative_standard_error(lg_k: int = LG_K) -> float:
    """DataSketches' a priori RSE of a union estimate for sketches of size 2^lg_k.

    >>> round(relative_standard_error(12), 4), round(relative_standard_error(16), 4)
    (0.0162, 0.0041)
    """
    return abs(float(ds.hll_sketch.get_rel_err(True, True, lg_k, 1)))


@dataclass(frozen=True)
class Estimate:
    """A distinct count from sketches: the estimate, its 95% interval, and the sketch size it came from."""

    estimate: float
    lower_95: float
    upper_95: float
    lg_k: int

    @property
    def rse(self) -> float:
        return relative_standard_error(self.lg_k)


def estimate(sketches: Iterable[bytes], lg_k: int = LG_K) -> Estimate:
    """The distinct count of the union of serialised HLL sketches (from this module or from Spark).

    >>> a, b = ds.hll_sketch(12), ds.hll_sketch(12)
    >>> for i in range(1000): a.update(i)
    >>> for i in range(500, 1500): b.update(i)
    >>> e = estimate([a.serialize_compact(), b.serialize_compact()])
    >>> e.lower_95 <= 1500 <= e.upper_95
    True
    """
    union = ds.hll_union(lg_k)
    for blob in sketches:
        union.update(ds.hll_sketch.deserialize(bytes(blob)))
    result = union.get_result()
    return Estimate(result.get_estimate(), result.get_lower_bound(STD_DEVS), result.get_upper_bound(STD_DEVS), lg_k)


def sketch_cells(rows: pa.Table, lg_k: int = LG_K) -> pa.Table:
    """One sketch per cell (source, platform, day, month, province) of active person rows (with ``person``)."""
    if rows.num_rows == 0:
        return SKETCH_DAY_SCHEMA.empty_table()
    rows = rows.select([*CELL, "person"]).sort_by([(c, "ascending") for c in CELL])
    persons = rows.column("person").to_numpy()
    change = np.zeros(rows.num_rows, dtype=bool)
    change[0] = True
    for name in CELL:  # a new cell starts where any key differs from the row before (nulls equal to nulls)
        col = rows.column(name)
        same = pc.fill_null(pc.equal(col.slice(1), col.slice(0, rows.num_rows - 1)), False)
        both_null = pc.and_(pc.is_null(col.slice(1)), pc.is_null(col.slice(0, rows.num_rows - 1)))
        change[1:] |= ~pc.or_(same, both_null).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], rows.num_rows)
    blobs = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        sketch = ds.hll_sketch(lg_k, ds.HLL_8)
        for person in persons[a:b].tolist():
            sketch.update(person)
        blobs.append(sketch.serialize_compact())
    cells = rows.take(pa.array(starts)).select(list(CELL))
    return pa.table({
        **{c: cells.column(c) for c in CELL},
        "lg_k": pa.array(np.full(len(starts), lg_k, dtype=np.int32)),
        "persons": pa.array((ends - starts).astype(np.int64)),
        "sketch": pa.array(blobs, pa.binary()),
    }, schema=SKETCH_DAY_SCHEMA)


# -- stored sketches -------------------------------------------------------------------------------------------
def sketch_batch_ids(store: Store, sources: Sequence[str] | None, months: Sequence[str] | None,
                  lg_k: int) -> dict[tuple[str, str], str]:
    """Per source-month with records: the batch id its sketch file must carry to be in step with them."""
    rows = store.con.sql(
        "SELECT source, month, string_agg(path, ',' ORDER BY path) FROM lake_files WHERE dataset = 'person_day' "
        "AND ($sources IS NULL OR list_contains($sources, source)) "
        "AND ($months IS NULL OR list_contains($months, month)) "
        "GROUP BY source, month", params={"sources": list(sources) if sources else None,
                                          "months": list(months) if months else None}).fetchall()
    return {(s, m): f"sketch-{lg_k}-" + hashlib.md5(paths.encode()).hexdigest()[:20] for s, m, paths in rows}


def _stored(store: Store, sources: Sequence[str] | None, months: Sequence[str] | None) -> dict[tuple[str, str], str]:
    rows = store.con.sql(
        "SELECT DISTINCT source, month, batch_id FROM lake_files WHERE dataset = $d "
        "AND ($sources IS NULL OR list_contains($sources, source)) "
        "AND ($months IS NULL OR list_contains($months, month))",
        params={"d": SKETCH_DAY, "sources": list(sources) if sources else None,
                "months": list(months) if months else None}).fetchall()
    return {(s, m): b for s, m, b in rows}


def stale_months(store: Store, *, sources: Sequence[str] | None = None, months: Sequence[str] | None = None,
                 lg_k: int = LG_K) -> list[tuple[str, str]]:
    """Source-months whose sketch file is missing or older than their records."""
    want = sketch_batch_ids(store, sources, months, lg_k)
    have = _stored(store, sources, months)
    return sorted(k for k, fp in want.items() if have.get(k) != fp)


def build_sketch_days(store: Store, *, sources: Sequence[str] | None = None, months: Sequence[str] | None = None,
                      lg_k: int = LG_K) -> list[tuple[str, str]]:
    """Bring the sketch_day files of the source-months in step with their person_day files; returns those built."""
    built = []
    fingerprints = sketch_batch_ids(store, sources, months, lg_k)
    for source, month in stale_months(store, sources=sources, months=months, lg_k=lg_k):
        person_days = person_days_sql(store, source, [month])
        rows = store.con.sql(
            f"SELECT source, platform, day, month, province, person FROM ({person_days}) WHERE active").to_arrow_table()
        write_sketch_days(store, source, month, sketch_cells(rows, lg_k), fingerprints[(source, month)])
        built.append((source, month))
    return built


def write_sketch_days(store: Store, source: str, month: str, cells: pa.Table, batch_id: str) -> None:
    """Store the sketch cells of one source-month (built here or by Spark), replacing the month's old file."""
    old = store.files(SKETCH_DAY, source=source, months=[month])
    staging = f"{batch_id}-{uuid.uuid4().hex[:8]}"
    cells = cells.cast(SKETCH_DAY_SCHEMA)
    store.con.register("sketch_cells", cells)
    try:
        if cells.num_rows:
            stage_partitions(store, SKETCH_DAY, source, staging, "SELECT * FROM sketch_cells", {},
                             replaces=old, daily=False)
        else:
            store.pending.replaces.extend(old)
    finally:
        store.con.unregister("sketch_cells")
    files, replaces = publish(store)
    with store.transaction():
        list_files(store, files, batch_id, replaces)
    finish(store, staging, replaces)


def sketch_days(store: Store, first_day: dt.date, last_day: dt.date, *, sources: Sequence[str] | None = None,
                platforms: Sequence[str] | None = None, lg_k: int = LG_K) -> pa.Table:
    """The stored sketch cells of the days [first_day, last_day]; fails when a month's sketches are stale."""
    months = months_between(first_day, last_day)
    stale = stale_months(store, sources=sources, months=months, lg_k=lg_k)
    if stale:
        listed = ", ".join(f"{s} {m}" for s, m in stale)
        raise StoreError(f"Sketch chưa cập nhật cho {listed}: chạy thuocdo.rollups.sketches.build_sketch_days trước.")
    files = [f for s in (sources or _sources(store)) for f in store.files(SKETCH_DAY, source=s, months=months)]
    if not files:
        return SKETCH_DAY_SCHEMA.empty_table()
    return store.con.sql(
        "SELECT * FROM read_parquet($files) "
        "WHERE day BETWEEN $a AND $b AND ($p IS NULL OR list_contains($p, platform))",
        params={"files": files, "a": first_day, "b": last_day, "p": list(platforms) if platforms else None},
    ).to_arrow_table().cast(SKETCH_DAY_SCHEMA)


def distinct_persons(store: Store, first_day: dt.date, last_day: dt.date, *, by: Sequence[str] = ("source", "platform"),
                     sources: Sequence[str] | None = None, platforms: Sequence[str] | None = None,
                     lg_k: int = LG_K) -> pa.Table:
    """Estimated distinct active persons over the days, per group of `by` (columns of sketch_day), with bounds."""
    days = sketch_days(store, first_day, last_day, sources=sources, platforms=platforms, lg_k=lg_k)
    return union_cells(days, by, lg_k)


def union_cells(cells: pa.Table, by: Sequence[str], lg_k: int = LG_K) -> pa.Table:
    """Union the sketch cells per group of `by`: estimate, 95% bounds and RSE per group."""
    groups: dict[tuple[object, ...], list[bytes]] = {}
    keys = [cells.column(c).to_pylist() for c in by]
    for i, blob in enumerate(cells.column("sketch").to_pylist()):
        groups.setdefault(tuple(k[i] for k in keys), []).append(blob)
    rows = []
    for key in sorted(groups, key=lambda k: tuple((v is None, v) for v in k)):
        e = estimate(groups[key], lg_k)
        rows.append((*key, e.estimate, e.lower_95, e.upper_95))
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(by) + 3)]
    table = {c: pa.array(columns[i], cells.schema.field(c).type) for i, c in enumerate(by)}
    for i, name in enumerate(("estimate", "lower_95", "upper_95")):
        table[name] = pa.array(columns[len(by) + i], pa.float64())
    table["rse"] = pa.array([relative_standard_error(lg_k)] * len(rows), pa.float64())
    return pa.table(table)


def rolling_distinct(store: Store, first_day: dt.date, last_day: dt.date, window: int, *,
                     by: Sequence[str] = ("source", "platform"), sources: Sequence[str] | None = None,
                     platforms: Sequence[str] | None = None, lg_k: int = LG_K) -> pa.Table:
    """Per day d in [first_day, last_day]: distinct persons active in the `window` days ending on d (7: WAU)."""
    start = first_day - dt.timedelta(days=window - 1)
    cells = sketch_days(store, start, last_day, sources=sources, platforms=platforms, lg_k=lg_k)
    days = cells.column("day")
    parts = []
    day = first_day
    while day <= last_day:
        lo = day - dt.timedelta(days=window - 1)
        inside = pc.and_(pc.greater_equal(days, lo), pc.less_equal(days, day))
        part = union_cells(cells.filter(inside), by, lg_k)
        parts.append(part.append_column("day", pa.array([day] * part.num_rows, pa.date32())))
        day += dt.timedelta(days=1)
    return pa.concat_tables(parts) if parts else union_cells(cells, by, lg_k)


def weighted_sources(store: Store, months: Sequence[str]) -> set[str]:
    """Sources with panel weights in any of the months: their MAU is Σ weights, which a sketch cannot give."""
    return {r[0] for r in store.con.sql("SELECT DISTINCT source FROM weights WHERE list_contains($m, month)",
                                         params={"m": list(months)}).fetchall()}


def months_between(first: dt.date, last: dt.date) -> list[str]:
    months, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def _sources(store: Store) -> list[str]:
    return [r[0] for r in store.con.sql(
        "SELECT DISTINCT source FROM lake_files WHERE dataset = 'person_day' ORDER BY source").fetchall()]
