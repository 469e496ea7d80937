"""The lakehouse's rollup as the embedded engine reads it: ``usage_month`` rows from the cluster's Iceberg tables
(through pyiceberg), so that the sources Spark ingested are measured by the default engine, the reports, the
dashboard and the API like any other.

Spark keeps the lakehouse's ``usage_month`` in step (:mod:`thuocdo.rollups.lakehouse`) and writes, per
source-month, what it summed: the person_month partition's data files and the weights' stamp
(``usage_month_built``). A source-month whose person-months or weights have changed since (weights are ingested
into the home's store, by either engine's user) is summed here again from its stored person-months with the
store's weights, with the same rule (:data:`thuocdo.rollups.definitions.USAGE_MONTH`), so a reader never sees
sums older than the person-months and weights they stand for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.engines.base import USAGE_WEEK_SCHEMA as USAGE_WEEK
from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_MONTH_COLUMNS, USAGE_MONTH, reading
from thuocdo.store.home import Store
from thuocdo.store.lakehouse import NAMESPACE, Lakehouse, files_stamp, iceberg_catalog, read, scan
from thuocdo.store.sql import literal

if TYPE_CHECKING:
    from pyiceberg.table import Table


def weights_stamps(store: Store, sources: Sequence[str] | None = None) -> dict[tuple[str, str], str]:
    """Each source-month's weights as stored: the md5 of their batch ids (a source-month without weights has
    none)."""
    rows = store.con.execute(
        "SELECT source, month, md5(string_agg(DISTINCT batch_id, ',' ORDER BY batch_id)) FROM weights "
        "WHERE $sources IS NULL OR list_contains($sources, source) GROUP BY source, month",
        {"sources": list(sources) if sources is not None else None}).fetchall()
    return {(source, month): stamp for source, month, stamp in rows}


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_stamps(person_day: Table, snapshot: int | None = None) -> dict[tuple[str, dt.date], str]:
    """Each source-week of the lakehouse's person_day (at a snapshot, the current one by default) with the stamp of
    the data files of its days (:func:`files_stamp`): what ``usage_week_built`` records a week was computed from."""
    if snapshot is None:
        current = person_day.current_snapshot()
        if current is None:
            return {}
        snapshot = current.snapshot_id
    files = person_day.inspect.files(snapshot_id=snapshot)
    files = files.filter(pc.equal(files["content"], 0))
    paths: dict[tuple[str, dt.date], list[str]] = {}
    for path, partition in zip(files["file_path"].to_pylist(), files["partition"].to_pylist(), strict=True):
        paths.setdefault((partition["source"], monday(partition["day"])), []).append(path)
    return {pair: files_stamp(found) for pair, found in paths.items()}


def week_weights(stamps: dict[tuple[str, str], str], source: str, week: dt.date) -> str:
    """The stamp of the weights a source-week is weighted by: those of the month holding its Thursday."""
    return stamps.get((source, (week + dt.timedelta(days=3)).strftime("%Y-%m")), "")


def weeks_of(pairs: Sequence[tuple[str, dt.date]]) -> str:
    """A row filter for (source, week) pairs."""
    return " OR ".join(f"(source = {literal(s)} AND week = '{w.isoformat()}')" for s, w in sorted(set(pairs))) \
        or "false"


def lakehouse_weeks(store: Store, lake: Lakehouse, sources: Sequence[str],
                    weeks: Sequence[dt.date]) -> tuple[pa.Table, set[tuple[str, dt.date]]]:
    """The lakehouse's stored usage_week rows of the sources and weeks that are current (computed from the person_day
    files their days have now, with the store's weights), and the (source, week) pairs that are not: those the
    reader computes from the person-days."""
    from pyiceberg.exceptions import NoSuchTableError

    wanted = {(s, w) for s in sources for w in weeks}
    catalog = iceberg_catalog(lake)
    try:
        person_day = catalog.load_table(f"{NAMESPACE}.person_day")
        usage_week = catalog.load_table(f"{NAMESPACE}.usage_week")
        built = catalog.load_table(f"{NAMESPACE}.usage_week_built").scan().to_arrow().to_pylist()
    except NoSuchTableError:
        return USAGE_WEEK.empty_table(), wanted
    files = week_stamps(person_day)
    stamps = weights_stamps(store, sources)
    done = {(r["source"], r["week"]): (r["person_day_files"], r["weights"]) for r in built}
    held = {pair for pair in wanted if pair in files}  # a week without person-days has no rows
    current = {pair for pair in held if done.get(pair) == (files[pair], week_weights(stamps, *pair))}
    rows = read(usage_week, USAGE_WEEK.names, weeks_of(sorted(current))) if current else USAGE_WEEK.empty_table()
    return rows.cast(USAGE_WEEK), held - current


def lakehouse_usage(store: Store, lake: Lakehouse) -> pa.Table | None:
    """Every usage_month row of the lakehouse, current with its person-months and the store's weights (None: the
    lakehouse has no rollup yet)."""
    from pyiceberg.exceptions import NoSuchTableError

    catalog = iceberg_catalog(lake)
    try:
        usage = catalog.load_table(f"{NAMESPACE}.usage_month")
        built = catalog.load_table(f"{NAMESPACE}.usage_month_built").scan().to_arrow()
        person_month = catalog.load_table(f"{NAMESPACE}.person_month")
    except NoSuchTableError:
        return None
    files = person_month_stamps(person_month)
    stamps = weights_stamps(store)
    done = {(r["source"], r["month"]): (r["person_month_files"], r["weights"]) for r in built.to_pylist()}
    current = {pair for pair, stamp in files.items() if done.get(pair) == (stamp, stamps.get(pair, ""))}
    rows = usage.scan().to_arrow()
    keep = [(s, m) in current for s, m in zip(rows["source"].to_pylist(), rows["month"].to_pylist(), strict=True)]
    parts = [rows.filter(pa.array(keep, pa.bool_()))]
    stale = sorted(set(files) - current)
    if stale:
        where = " OR ".join(f"(source = {literal(s)} AND month = {literal(m)})" for s, m in stale)
        parts.append(_summed(store, read(person_month, PERSON_MONTH_COLUMNS, where), stale))
    columns = store.con.sql("SELECT * FROM usage_month LIMIT 0").to_arrow_table().schema
    return pa.concat_tables([p.select(columns.names).cast(columns) for p in parts])


def person_month_stamps(person_month: Table) -> dict[tuple[str, str], str]:
    """Each source-month of the lakehouse's person_month with the stamp of its data files (:func:`files_stamp`):
    what ``usage_month_built`` records a source-month's sums were made from."""
    if person_month.current_snapshot() is None:
        return {}
    files = person_month.inspect.files()
    files = files.filter(pc.equal(files["content"], 0))
    paths: dict[tuple[str, str], list[str]] = {}
    for path, partition in zip(files["file_path"].to_pylist(), files["partition"].to_pylist(), strict=True):
        paths.setdefault((partition["source"], partition["month"]), []).append(path)
    return {pair: files_stamp(found) for pair, found in paths.items()}


def lakehouse_person_days(lake: Lakehouse, sources: Sequence[str], months: Sequence[str]) -> pa.Table:
    """The lakehouse's person-days of `sources` in `months` (``source`` and :data:`PERSON_DAY_COLUMNS`), read
    through pyiceberg: the files of the sources' partitions whose month statistics can hold the months. For a
    union of persons on the default engine; at national scale the Spark engine does that work on the cluster."""
    return _scan(lake, "person_day", ("source", *PERSON_DAY_COLUMNS), sources, months)


def lakehouse_person_months(lake: Lakehouse, sources: Sequence[str], months: Sequence[str]) -> pa.Table:
    """The lakehouse's person-months of `sources` in `months` (:data:`PERSON_MONTH_COLUMNS`), through pyiceberg
    (the sources' and months' partitions only)."""
    return _scan(lake, "person_month", PERSON_MONTH_COLUMNS, sources, months)


def _scan(lake: Lakehouse, table_name: str, columns: Sequence[str], sources: Sequence[str],
          months: Sequence[str]) -> pa.Table:
    where = (f"source IN ({', '.join(map(literal, sorted(set(sources))))}) "
             f"AND month IN ({', '.join(map(literal, sorted(set(months))))})")
    found = scan(lake, table_name, columns, where)
    return pa.table({c: [] for c in columns}) if found is None else found


def _summed(store: Store, person_months: pa.Table, pairs: list[tuple[str, str]]) -> pa.Table:
    """:data:`USAGE_MONTH` over the stored person-months of the source-months, with the store's weights."""
    wanted = set(pairs)
    keep = [(s, m) in wanted for s, m in zip(person_months["source"].to_pylist(), person_months["month"].to_pylist(),
                                              strict=True)]
    store.con.register("served_person_month", person_months.filter(pa.array(keep, pa.bool_())))
    try:
        query = reading(USAGE_MONTH, {"person_month": "served_person_month"})
        return store.con.sql(query.sql(dialect="duckdb")).to_arrow_table()
    finally:
        store.con.unregister("served_person_month")
