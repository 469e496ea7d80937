"""The lakehouse's rollups kept by the default engine: DuckDB computes them, pyiceberg reads and commits the
Iceberg tables.

The same tables, the same bookkeeping and the same rules as on Spark (:mod:`thuocdo.rollups.lakehouse`,
:mod:`thuocdo.rollups.lakehouse_months`), so that either engine finds the other's work current and continues it:

* a day is stale when ``usage_records`` holds another number of records for it (its partition metadata) than
  ``person_day_built`` says its person-days were built from; it is rebuilt whole from its records
  (:data:`~thuocdo.rollups.definitions.PERSON_DAY_FROM_RECORDS`);
* a source-month's person-months are brought up to date from the ``person_day`` snapshot ``person_month_built``
  names: the days whose data files changed since are read at both snapshots, the person-months whose person-days
  differ are recomputed (:data:`~thuocdo.rollups.definitions.PERSON_MONTH`) and the month's other person-months
  copied;
* ``usage_month`` is summed again (:data:`~thuocdo.rollups.definitions.USAGE_MONTH`) for the source-months whose
  person_month files or weights differ from its stamp in ``usage_month_built``.

Every commit is conditional on its table not having changed since it was read: pyiceberg's own retry, which
would replay a write onto a newer state, is turned off (:func:`writable`), and an attempt that loses a race is
run again from fresh reads (:func:`thuocdo.rollups.lakehouse.retried`, as on Spark).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.engines.base import USAGE_WEEK_SCHEMA
from thuocdo.rollups.definitions import (
    PERSON_DAY_COLUMNS,
    PERSON_DAY_FROM_RECORDS,
    PERSON_MONTH,
    PERSON_MONTH_COLUMNS,
    USAGE_MONTH,
    reading,
    usage_week_sql,
)
from thuocdo.rollups.lakehouse import retried
from thuocdo.rollups.lakehouse_months import USAGE_MONTH_COLUMNS, MonthUpdate
from thuocdo.rollups.served import person_month_stamps, week_stamps, week_weights, weeks_of
from thuocdo.store.lakehouse import NAMESPACE, RECORD_ROWS, Lakehouse, iceberg_catalog, read
from thuocdo.store.sql import literal

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table


def writable(table: Table) -> Table:
    """The table as loaded, whose commits fail (``CommitFailedException``) if another commit reached it after it was
    loaded: pyiceberg's retries (which rebuild an append or an overwrite onto the newer snapshot unchecked) off."""
    from pyiceberg.table import Table, TableProperties

    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    metadata = table.metadata.model_copy(update={"properties": properties})
    return Table(table.name(), metadata, table.metadata_location, table.io, table.catalog, table.config)


def load(catalog: Catalog, name: str) -> Table:
    return writable(catalog.load_table(f"{NAMESPACE}.{name}"))


def replace(table: Table, rows: pa.Table, where: str) -> None:
    """Replace the table's rows matching `where` by `rows` in one commit (partitions that held none are simply
    added: pyiceberg's warning that the delete matched nothing is not a problem here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        table.overwrite(conform(rows, table), overwrite_filter=where)


def conform(rows: pa.Table, table: Table) -> pa.Table:
    """Rows in the table's column order and types (its required columns declared not null)."""
    schema = table.schema().as_arrow()
    return rows.select(schema.names).cast(schema)


def any_of(terms: Sequence[str]) -> str:
    """A pyiceberg row filter true where one of the terms is."""
    return " OR ".join(f"({t})" for t in terms) if terms else "false"


def days_of(source: str, days: Iterable[dt.date]) -> str:
    """A row filter on a table with ``source`` and ``day`` columns."""
    listed = ", ".join(f"'{d.isoformat()}'" for d in sorted(set(days)))
    return f"source = {literal(source)} AND day IN ({listed})"


def months_of(pairs: Iterable[tuple[str, str]]) -> str:
    """A row filter for (source, month) pairs, on a table with both columns (person_day, person_month,
    usage_month)."""
    return any_of([f"source = {literal(s)} AND month = {literal(m)}" for s, m in sorted(set(pairs))])


def snapshot_id(table: Table) -> int | None:
    snapshot = table.current_snapshot()
    return snapshot.snapshot_id if snapshot is not None else None


def _partition_counts(table: Table, snapshot: int | None = None) -> dict[tuple[str, dt.date], int]:
    """(source, day) → records, from a day-partitioned table's partition metadata (no data read)."""
    if (snapshot if snapshot is not None else snapshot_id(table)) is None:
        return {}
    found = table.inspect.partitions(snapshot_id=snapshot)
    return {(p["source"], p["day"]): int(n) for p, n in zip(found["partition"].to_pylist(),
                                                             found["record_count"].to_pylist(), strict=True)}


# -- person_day ----------------------------------------------------------------------------------------------
def stale_days(lake: Lakehouse, sources: Iterable[str] | None = None) -> dict[str, list[dt.date]]:
    """The days (per source) whose person_day rows were not built from the records now stored."""
    catalog = iceberg_catalog(lake)
    wanted = set(sources) if sources is not None else None
    counts = _partition_counts(catalog.load_table(f"{NAMESPACE}.usage_records"))
    built = {(r["source"], r["day"]): r["records"]
             for r in catalog.load_table(f"{NAMESPACE}.person_day_built").scan().to_arrow().to_pylist()}
    stale: dict[str, list[dt.date]] = {}
    for (source, day), n in counts.items():
        if (wanted is None or source in wanted) and built.get((source, day)) != n:
            stale.setdefault(source, []).append(day)
    return {s: sorted(days) for s, days in stale.items()}


#: at most about this many records are rebuilt into person-days in one commit (their rows are held in memory)
REBUILD_RECORDS = 4_000_000


def rebuild_days(lake: Lakehouse, source: str, days: list[dt.date]) -> None:
    """Rebuild the person_day rows of a source's days from its records, replacing those days' partitions, and record
    the counts they were built from (as :func:`thuocdo.rollups.lakehouse.rebuild_days`): in groups of consecutive
    days of about :data:`REBUILD_RECORDS` records, one commit each, each group from one snapshot."""
    if not days:
        return
    catalog = iceberg_catalog(lake)
    counts = _partition_counts(catalog.load_table(f"{NAMESPACE}.usage_records"))
    groups: list[list[dt.date]] = [[]]
    held = 0
    for day in sorted(set(days)):
        n = counts.get((source, day), 0)
        if groups[-1] and held + n > REBUILD_RECORDS:
            groups.append([])
            held = 0
        groups[-1].append(day)
        held += n
    for group in groups:
        _rebuild_group(catalog, source, group)


def _rebuild_group(catalog: Catalog, source: str, days: list[dt.date]) -> None:
    def attempt() -> None:
        # the days' person_day partitions as they are now, before the records are read: a writer that replaces
        # them in between makes this overwrite fail (its rows may be older than ours), and it is run again
        person_day = load(catalog, "person_day")
        records = catalog.load_table(f"{NAMESPACE}.usage_records")
        snapshot = snapshot_id(records)
        if snapshot is None:
            return
        reader = records.scan(row_filter=days_of(source, days), snapshot_id=snapshot,
                              selected_fields=("person", "platform", "day", "active_seconds", "bytes", "sessions",
                                               "installs", "province")).to_arrow_batch_reader()
        con = duckdb.connect()
        con.register("lake_records", reader)
        con.execute(f"""CREATE TEMP VIEW fresh AS
            SELECT person, platform, day, strftime(day, '%Y-%m') AS month, active_seconds AS active_seconds_n,
                   bytes AS bytes_n, sessions AS sessions_n, installs AS installs_n, province AS province_code
            FROM lake_records WHERE {RECORD_ROWS}""")
        rows = con.sql(f"SELECT $source AS source, {', '.join(PERSON_DAY_COLUMNS)} "
                       f"FROM ({PERSON_DAY_FROM_RECORDS}) ORDER BY day, platform, person",
                       params={"source": source}).to_arrow_table()
        con.close()
        replace(person_day, rows, days_of(source, days))
        counts = _partition_counts(records, snapshot)
        built = load(catalog, "person_day_built")
        wanted = sorted(set(days))
        replace(built, pa.table({
            "source": [source] * len(wanted), "day": pa.array(wanted, pa.date32()),
            "records": pa.array([counts.get((source, d), 0) for d in wanted], pa.int64())}), days_of(source, wanted))

    retried(attempt)


def bring_up_to_date(lake: Lakehouse, sources: Iterable[str] | None = None) -> dict[str, int]:
    """Rebuild every stale day (of the sources); return the days rebuilt per source."""
    done: dict[str, int] = {}
    for source, days in stale_days(lake, sources).items():
        rebuild_days(lake, source, days)
        done[source] = len(days)
    return done


# -- person_month --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _State:
    now: int | None  # the current person_day snapshot
    groups: dict[int | None, list[tuple[str, str]]]  # stale source-months by the snapshot they were built from


def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _day_files(person_day: Table, snapshot: int) -> set[tuple[str, dt.date, str]]:
    files = person_day.inspect.files(snapshot_id=snapshot)
    files = files.filter(pc.equal(files["content"], 0))
    return {(p["source"], p["day"], path) for p, path in zip(files["partition"].to_pylist(),
                                                             files["file_path"].to_pylist(), strict=True)}


def _stale_months(catalog: Catalog, person_day: Table, sources: set[str] | None) -> _State:
    """As :func:`thuocdo.rollups.lakehouse_months.stale_months`."""
    now = snapshot_id(person_day)
    if now is None:
        return _State(None, {})
    held = {(s, _month(d)) for s, d, _ in _day_files(person_day, now) if sources is None or s in sources}
    kept = {s.snapshot_id for s in person_day.metadata.snapshots}
    done = {(r["source"], r["month"]): r["person_day_snapshot"]
            for r in catalog.load_table(f"{NAMESPACE}.person_month_built").scan().to_arrow().to_pylist()}
    groups: dict[int | None, list[tuple[str, str]]] = {}
    for pair in sorted(held):
        old = done.get(pair)
        if old != now:
            groups.setdefault(old if old in kept else None, []).append(pair)
    return _State(now, groups)


def update_person_month(lake: Lakehouse, sources: Iterable[str] | None = None) -> MonthUpdate:
    """Bring person_month up to date with person_day (for the sources, or all): see the module's doc."""
    catalog = iceberg_catalog(lake)
    wanted = set(sources) if sources is not None else None

    def attempt() -> MonthUpdate:
        person_month = load(catalog, "person_month")
        person_day = catalog.load_table(f"{NAMESPACE}.person_day")
        state = _stale_months(catalog, person_day, wanted)
        if state.now is None or not state.groups:
            return MonthUpdate()
        return _update_person_month(catalog, person_day, person_month, state)

    return retried(attempt)


def _update_person_month(catalog: Catalog, person_day: Table, person_month: Table, state: _State) -> MonthUpdate:
    assert state.now is not None
    now = state.now
    columns = ("source", *PERSON_DAY_COLUMNS)
    con = duckdb.connect()
    whole = state.groups.get(None, [])
    # the person-months whose person-days differ between the snapshot a source-month was built from and now: a
    # person-day row held by one snapshot only (new, or changed) names a changed person-month
    changed_parts: list[pa.Table] = []
    for old, pairs in state.groups.items():
        if old is None:
            continue
        months = set(pairs)
        differ = {(s, d) for s, d, _ in _day_files(person_day, now) ^ _day_files(person_day, old)
                  if (s, _month(d)) in months}
        if not differ:
            continue
        by_source: dict[str, list[dt.date]] = {}
        for s, d in differ:
            by_source.setdefault(s, []).append(d)
        where = any_of([days_of(s, ds) for s, ds in sorted(by_source.items())])
        con.register("pm_now", read(person_day, columns, where, now))
        con.register("pm_old", read(person_day, columns, where, old))
        listed = ", ".join(columns)
        changed_parts.append(con.sql(f"""
            SELECT DISTINCT source, platform, person, month FROM (
                SELECT {listed} FROM (SELECT {listed}, 0 AS side FROM pm_now
                                      UNION ALL SELECT {listed}, 1 AS side FROM pm_old)
                GROUP BY {listed} HAVING min(side) = max(side))""").to_arrow_table())
    changed = pa.concat_tables(changed_parts) if changed_parts else None
    changed_pairs: list[tuple[str, str]] = []
    if changed is not None and changed.num_rows:
        con.register("pm_changed", changed)
        changed_pairs = sorted((s, m) for s, m in con.sql("SELECT DISTINCT source, month FROM pm_changed").fetchall())
    # the person-months to write: the new source-months' whole, one month at a time (a month's person-days in
    # memory, not a quarter's), and the changed persons' of their months with the other person-months as they were
    query = reading(PERSON_MONTH, {"person_day": "pm_person_day"}).sql(dialect="duckdb")
    aggregate = f"SELECT {', '.join(PERSON_MONTH_COLUMNS)} FROM ({query})"
    parts: list[pa.Table] = []
    for month in sorted({m for _, m in whole}):
        con.register("pm_person_day", read(person_day, columns, months_of(p for p in whole if p[1] == month), now))
        parts.append(con.sql(aggregate).to_arrow_table())
        con.unregister("pm_person_day")
    if changed_pairs:
        con.register("pm_days", read(person_day, columns, months_of(changed_pairs), now))
        con.register("pm_person_day", con.sql("""SELECT d.* FROM pm_days d SEMI JOIN pm_changed c
            ON d.source = c.source AND d.platform = c.platform AND d.person = c.person AND d.month = c.month""")
                     .to_arrow_table())
        parts.append(con.sql(aggregate).to_arrow_table())
        if snapshot_id(person_month) is not None:
            # the changed months' other person-months, as they were when this update read person_month
            con.register("pm_before", read(person_month, PERSON_MONTH_COLUMNS, months_of(changed_pairs)))
            parts.append(con.sql(f"""SELECT {', '.join(PERSON_MONTH_COLUMNS)} FROM pm_before m ANTI JOIN pm_changed c
                ON m.source = c.source AND m.platform = c.platform AND m.person = c.person AND m.month = c.month
            """).to_arrow_table())
    if parts:
        con.register("pm_rows", pa.concat_tables([p.cast(parts[0].schema) for p in parts]))
        rows = con.sql("SELECT * FROM pm_rows ORDER BY source, month, platform, person").to_arrow_table()
        replace(person_month, rows, months_of(whole + changed_pairs))
    con.close()
    pairs = sorted(pair for group in state.groups.values() for pair in group)
    built = load(catalog, "person_month_built")
    replace(built, pa.table({"source": [s for s, _ in pairs], "month": [m for _, m in pairs],
                             "person_day_snapshot": pa.array([now] * len(pairs), pa.int64())}), months_of(pairs))
    recomputed = changed.num_rows if changed is not None else 0
    return MonthUpdate(whole=len(whole), incremental=len(changed_pairs), person_months=recomputed,
                       snapshot=snapshot_id(catalog.load_table(f"{NAMESPACE}.person_month")) if parts else None)


# -- usage_month ---------------------------------------------------------------------------------------------
def update_usage_month(lake: Lakehouse, weights: pa.Table, stamps: dict[tuple[str, str], str],
                       sources: Iterable[str] | None = None) -> int:
    """Sum usage_month again for the source-months whose person-months or weights changed (`weights`: source,
    person, month, weight; `stamps`: their stamps per source-month), replacing their partitions; return how many
    source-months were summed (as :func:`thuocdo.rollups.lakehouse_months.update_usage_month`)."""
    catalog = iceberg_catalog(lake)
    wanted = set(sources) if sources is not None else None

    def attempt() -> int:
        usage_month = load(catalog, "usage_month")
        person_month = catalog.load_table(f"{NAMESPACE}.person_month")
        done = {(r["source"], r["month"]): (r["person_month_files"], r["weights"])
                for r in catalog.load_table(f"{NAMESPACE}.usage_month_built").scan().to_arrow().to_pylist()}
        stale = {pair: stamp for pair, stamp in person_month_stamps(person_month).items()
                 if (wanted is None or pair[0] in wanted) and done.get(pair) != (stamp, stamps.get(pair, ""))}
        if not stale:
            return 0
        con = duckdb.connect()
        con.register("um_person_month", read(person_month, PERSON_MONTH_COLUMNS, months_of(stale)))
        con.register("um_weights", weights)
        query = reading(USAGE_MONTH, {"person_month": "um_person_month", "weights": "um_weights"})
        rows = con.sql(f"SELECT {', '.join(USAGE_MONTH_COLUMNS)} FROM ({query.sql(dialect='duckdb')})") \
            .to_arrow_table()
        con.close()
        replace(usage_month, rows, months_of(stale))
        pairs = sorted(stale)
        built = load(catalog, "usage_month_built")
        replace(built, pa.table({
            "source": [s for s, _ in pairs], "month": [m for _, m in pairs],
            "person_month_files": [stale[p] for p in pairs], "weights": [stamps.get(p, "") for p in pairs]}),
            months_of(pairs))
        return len(stale)

    return retried(attempt)


# -- usage_week ----------------------------------------------------------------------------------------------
#: the stale weeks of a source computed together (their person-days held in memory at once)
WEEKS_AT_ONCE = 4


def update_usage_week(lake: Lakehouse, weights: pa.Table, stamps: dict[tuple[str, str], str],
                      sources: Iterable[str] | None = None) -> int:
    """Compute usage_week again for the source-weeks whose person_day files or weights changed
    (:func:`thuocdo.rollups.served.week_stamps`, :func:`~thuocdo.rollups.served.week_weights`), from their days'
    person-days, replacing their rows and recording what they were computed from; return how many source-weeks."""
    catalog = iceberg_catalog(lake)
    wanted = set(sources) if sources is not None else None

    def attempt() -> int:
        usage_week = load(catalog, "usage_week")
        person_day = catalog.load_table(f"{NAMESPACE}.person_day")
        now = snapshot_id(person_day)
        if now is None:
            return 0
        files = week_stamps(person_day, now)
        done = {(r["source"], r["week"]): (r["person_day_files"], r["weights"])
                for r in catalog.load_table(f"{NAMESPACE}.usage_week_built").scan().to_arrow().to_pylist()}
        stale = sorted(pair for pair, stamp in files.items() if (wanted is None or pair[0] in wanted)
                       and done.get(pair) != (stamp, week_weights(stamps, *pair)))
        if not stale:
            return 0
        con = duckdb.connect()
        con.register("uw_weights", weights)
        parts = []
        for source in sorted({s for s, _ in stale}):
            weeks = [w for s, w in stale if s == source]
            for at in range(0, len(weeks), WEEKS_AT_ONCE):
                chunk = weeks[at:at + WEEKS_AT_ONCE]
                days = [w + dt.timedelta(days=i) for w in chunk for i in range(7)]
                con.register("uw_person_day", read(person_day, ("source", *PERSON_DAY_COLUMNS), days_of(source, days),
                                                   now))
                parts.append(con.sql(usage_week_sql("uw_person_day", "uw_weights", chunk)).to_arrow_table()
                             .cast(USAGE_WEEK_SCHEMA))
                con.unregister("uw_person_day")
        con.close()
        replace(usage_week, pa.concat_tables(parts), weeks_of(stale))
        built = load(catalog, "usage_week_built")
        replace(built, pa.table({
            "source": [s for s, _ in stale], "week": pa.array([w for _, w in stale], pa.date32()),
            "person_day_files": [files[p] for p in stale], "weights": [week_weights(stamps, *p) for p in stale]}),
            weeks_of(stale))
        return len(stale)

    return retried(attempt)
