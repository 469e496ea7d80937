"""Keep the rollups in step: rebuild the person-month files and the monthly sums of every dirty month.

A month is marked dirty in the same transaction that changes its records or weights, and is rebuilt (in
one transaction that also clears the mark) before any metric reads it, so a query never sees stale sums.
Records still waiting in the ingestion inbox are merged into the lake first: that sequence ("flush, then
rebuild") is the workflows' (:func:`thuocdo.workflows.store.bring_up_to_date`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_DAY_MERGE, PERSON_MONTH, USAGE_MONTH
from thuocdo.store.home import Store
from thuocdo.store.lake import finish, list_files, publish, stage_partitions
from thuocdo.store.sql import duckdb_sql as _duckdb
from thuocdo.store.sql import literal


def person_day_files(store: Store, months: Sequence[str], source: str | None = None) -> list[tuple[str, str, bool]]:
    """The listed person_day files of the months (of one source, or all) as (source, absolute path, whether
    its day is held in several files). A merge of the inbox appends a file to a day (see
    ``thuocdo.ingest.inbox.flush_inbox``); the rows of such days must be collapsed (:data:`PERSON_DAY_MERGE`)."""
    rows = store.con.execute(
        "SELECT source, path, count(*) OVER (PARTITION BY source, day) > 1 FROM lake_files "
        "WHERE dataset = 'person_day' AND list_contains(?, month) AND (? IS NULL OR source = ?) ORDER BY source, path",
        [list(months), source, source]).fetchall()
    return [(src, str(store.lake / path), several) for src, path, several in rows]


def person_days_sql(store: Store, source: str, months: Sequence[str]) -> str | None:
    """A query of a source's stored person-days in the months, one row per person-day, with a `source` column
    (None when there are none): the days held in one file are read as they are, the days held in several
    are collapsed (:data:`PERSON_DAY_MERGE`)."""
    files = person_day_files(store, months, source)
    single = [path for _, path, several in files if not several]
    several = [path for _, path, split in files if split]
    columns = ", ".join(PERSON_DAY_COLUMNS)
    parts = []
    if single:
        parts.append(f"SELECT {literal(source)} AS source, {columns} FROM read_parquet({literal(single)})")
    if several:
        parts.append(f"SELECT * FROM (WITH person_day_parts AS (SELECT {literal(source)} AS source, {columns} "
                     f"FROM read_parquet({literal(several)})) {_duckdb(PERSON_DAY_MERGE)})")
    return " UNION ALL ".join(parts) or None


def dirty_months(store: Store) -> list[tuple[str, str]]:
    rows = store.con.execute("SELECT source, month FROM dirty_months ORDER BY source, month").fetchall()
    return [(s, m) for s, m in rows]


def rebuild_dirty(store: Store, on_month: Callable[[str, str], None] | None = None) -> int:
    """Rebuild the rollups of every dirty month; return how many months were rebuilt."""
    months = dirty_months(store)
    for source, month in months:
        rebuild_month(store, source, month)
        if on_month:
            on_month(source, month)
    return len(months)


#: a month's person-months are recomputed only for the persons changed when they are at most this share of the
#: month's person-months; beyond it, reading the whole month once is cheaper than filtering it
INCREMENTAL_SHARE = 0.2


def rebuild_month(store: Store, source: str, month: str, *, incremental: bool = True) -> None:
    """Bring a dirty month's rollups up to date: its person_month file and its usage_month rows.

    When the changes listed the persons they touched (``dirty_persons``) and those are few, only their
    person-months are recomputed (:data:`PERSON_MONTH` over their person-days) and the month's other rows are
    copied as they are: the same rows a rebuild from every person-day gives, at the cost of the persons touched
    and one copy of the month's person-months rather than a new aggregation of all its person-days. The
    month's usage_month rows are then summed again from its person_month file, as after a full rebuild."""
    con = store.con
    batch_id = "rollup-" + uuid.uuid4().hex
    person_days = person_days_sql(store, source, [month])
    old = store.files("person_month", source=source, months=[month])
    if person_days:
        touched = _touched_persons(store, source, month, old) if incremental else None
        if touched is None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW person_day AS {person_days}")
            sql = f"SELECT * FROM ({_duckdb(PERSON_MONTH)})"
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE touched_persons AS SELECT DISTINCT person FROM dirty_persons "
                        "WHERE source = $source AND month = $month", {"source": source, "month": month})
            # their person-days read once (PERSON_MONTH reads person_day twice), then their person-months
            con.execute(f"CREATE OR REPLACE TEMP TABLE person_day_touched AS SELECT * FROM ({person_days}) "
                        "SEMI JOIN touched_persons USING (person)")
            con.execute("CREATE OR REPLACE TEMP VIEW person_day AS SELECT * FROM person_day_touched")
            con.execute(f"CREATE OR REPLACE TEMP TABLE person_month_changed AS {_duckdb(PERSON_MONTH)}")
            sql = (f"SELECT * FROM read_parquet({literal(old)}) ANTI JOIN touched_persons USING (person) "
                   "UNION ALL BY NAME SELECT * FROM person_month_changed")
        stage_partitions(store, "person_month", source, batch_id, sql, {}, replaces=old, daily=False)
    files, replaces = publish(store)
    with store.transaction():
        list_files(store, files, batch_id, replaces)
        con.execute(f"DELETE FROM {store.stored_usage_month} WHERE source = ? AND month = ?", [source, month])
        if files:
            paths = [str(store.lake / f.relative) for f in files]
            con.execute(f"CREATE OR REPLACE TEMP VIEW person_month AS SELECT * FROM read_parquet({literal(paths)})")
            con.execute(f"INSERT INTO {store.stored_usage_month} BY NAME {_duckdb(USAGE_MONTH)}")
        con.execute("DELETE FROM dirty_months WHERE source = ? AND month = ?", [source, month])
        con.execute("DELETE FROM dirty_persons WHERE source = ? AND month = ?", [source, month])
    con.execute("DROP TABLE IF EXISTS touched_persons; DROP TABLE IF EXISTS person_day_touched; "
                "DROP TABLE IF EXISTS person_month_changed")
    finish(store, batch_id, replaces)


def _touched_persons(store: Store, source: str, month: str, person_month_files: list[str]) -> int | None:
    """How many persons of the month changed, when their person-months can be recomputed alone (None: rebuild
    the month whole: no person_month file yet, changes that did not list their persons or listed every person
    (a NULL person), or too many)."""
    if not person_month_files:
        return None
    touched, every, held = store.con.execute(
        "SELECT (SELECT count(DISTINCT person) FROM dirty_persons WHERE source = $source AND month = $month), "
        "(SELECT count(*) FROM dirty_persons WHERE source = $source AND month = $month AND person IS NULL), "
        "(SELECT sum(rows) FROM lake_files WHERE dataset = 'person_month' AND source = $source AND month = $month)",
        {"source": source, "month": month}).fetchall()[0]
    if every or not touched or not held or touched > INCREMENTAL_SHARE * held:
        return None
    return int(touched)
