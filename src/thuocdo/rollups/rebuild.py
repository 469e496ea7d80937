"""Keep the rollups in step: rebuild the person-month files and the monthly sums of every dirty month.

A month is marked dirty in the same transaction that changes its records or weights, and is rebuilt (in
one transaction that also clears the mark) before any metric reads it, so a query never sees stale sums.
Records still waiting in the ingestion inbox are merged into the lake first: that sequence ("flush, then
rebuild") is the workflows' (:func:`thuocdo.workflows.store.bring_up_to_date`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

from thuocdo.rollups.definitions import (
    PERSON_DAY_COLUMNS,
    PERSON_DAY_MERGE,
    PERSON_MONTH,
    USAGE_MONTH,
    USAGE_WEEK_COLUMNS,
    usage_week_sql,
)
from thuocdo.store.home import Store
from thuocdo.store.lake import finish, list_files, publish, stage_partitions
from thuocdo.store.sql import duckdb_sql as _duckdb
from thuocdo.store.sql import literal


def person_day_files(store: Store, months: Sequence[str], source: str | None = None,
                     days: Sequence[dt.date] | None = None) -> list[tuple[str, str, bool]]:
    """The listed person_day files of the months (of one source, or all; of `days` only, when given) as
    (source, absolute path, whether its day is held in several files). A merge of the inbox appends a file to a
    day (see ``thuocdo.ingest.inbox.flush_inbox``); the rows of such days must be collapsed
    (:data:`PERSON_DAY_MERGE`)."""
    rows = store.con.execute(
        "SELECT source, path, count(*) OVER (PARTITION BY source, day) > 1 FROM lake_files "
        "WHERE dataset = 'person_day' AND list_contains(?, month) AND (? IS NULL OR source = ?) "
        "AND (?::DATE[] IS NULL OR list_contains(?::DATE[], day)) ORDER BY source, path",
        [list(months), source, source, None if days is None else list(days),
         None if days is None else list(days)]).fetchall()
    return [(src, str(store.lake / path), several) for src, path, several in rows]


def person_days_sql(store: Store, source: str, months: Sequence[str],
                    days: Sequence[dt.date] | None = None) -> str | None:
    """A query of a source's stored person-days in the months (of `days` only, when given), one row per
    person-day, with a `source` column (None when there are none): the days held in one file are read as they
    are, the days held in several are collapsed (:data:`PERSON_DAY_MERGE`)."""
    files = person_day_files(store, months, source, days)
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


def weeks_of_month(month: str) -> list[dt.date]:
    """The Mondays of the weeks overlapping a month.

    >>> weeks_of_month("2022-02")[0], weeks_of_month("2022-02")[-1], len(weeks_of_month("2022-02"))
    (datetime.date(2022, 1, 31), datetime.date(2022, 2, 28), 5)
    """
    first = dt.date.fromisoformat(month + "-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    monday = first - dt.timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += dt.timedelta(weeks=1)
    return weeks


def weekly_rows_sql(store: Store, source: str, weeks: Sequence[dt.date]) -> str | None:
    """The usage_week rows of a source's weeks, from its stored person-days of their days (None: none)."""
    days = [w + dt.timedelta(days=i) for w in weeks for i in range(7)]
    person_days = person_days_sql(store, source, sorted({d.strftime("%Y-%m") for d in days}), days)
    if person_days is None:
        return None
    store.con.execute(f"CREATE OR REPLACE TEMP VIEW week_person_day AS {person_days}")
    store.con.execute("CREATE OR REPLACE TEMP VIEW week_weights AS SELECT source, person, month, weight FROM weights "
                      f"WHERE source = {literal(source)}")
    return _duckdb(usage_week_sql("week_person_day", "week_weights", weeks))


def stage_weeks(store: Store, source: str, weeks: Sequence[dt.date]) -> None:
    """Compute a source's usage_week rows of `weeks` into the temporary table ``weeks_staged`` (to be stored by
    :func:`store_weeks` inside the rollup's transaction)."""
    sql = weekly_rows_sql(store, source, weeks) if weeks else None
    columns = ", ".join(USAGE_WEEK_COLUMNS)
    store.con.execute(f"CREATE OR REPLACE TEMP TABLE weeks_staged AS SELECT {columns} FROM ({sql}) AS w" if sql else
                      f"CREATE OR REPLACE TEMP TABLE weeks_staged AS SELECT {columns} FROM usage_week WHERE false")


def store_weeks(store: Store, source: str, month: str, weeks: Sequence[dt.date]) -> None:
    """Inside a transaction: replace the source's usage_week rows of `weeks` by ``weeks_staged``, clear their
    marks, and note that the month's weeks are computed."""
    con = store.con
    con.execute("DELETE FROM usage_week WHERE source = ? AND list_contains(?::DATE[], week)", [source, list(weeks)])
    con.execute("INSERT INTO usage_week BY NAME SELECT * FROM weeks_staged")
    con.execute("DELETE FROM dirty_weeks WHERE source = ? AND list_contains(?::DATE[], week)", [source, list(weeks)])
    con.execute("INSERT INTO usage_week_months VALUES (?, ?) ON CONFLICT DO NOTHING", [source, month])
    con.execute("DROP TABLE IF EXISTS weeks_staged")


def weeks_to_rebuild(store: Store, source: str, month: str, incremental: bool) -> list[dt.date]:
    """The weeks overlapping a dirty month whose figures may have changed: those of the days its changes touched
    when they listed them and the month's person-months are recomputed for the persons touched (`incremental`),
    else every week overlapping it."""
    overlapping = weeks_of_month(month)
    if not incremental:
        return overlapping
    marked = {r[0] for r in store.con.execute("SELECT DISTINCT week FROM dirty_weeks WHERE source = ?",
                                              [source]).fetchall()}
    return [w for w in overlapping if w in marked]


def rebuild_missing_weeks(store: Store) -> int:
    """Compute the weekly figures of every month with person-days whose weeks were never computed (a store older
    than ``usage_week``); how many months."""
    missing = store.con.execute(
        "SELECT DISTINCT source, month FROM lake_files WHERE dataset = 'person_day' "
        "AND (source, month) NOT IN (SELECT (source, month) FROM usage_week_months) ORDER BY source, month").fetchall()
    for source, month in missing:
        weeks = weeks_of_month(month)
        stage_weeks(store, source, weeks)
        with store.transaction():
            store_weeks(store, source, month, weeks)
    return len(missing)


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
    rebuild_missing_weeks(store)
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
    touched = None
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
    weeks = weeks_to_rebuild(store, source, month, touched is not None)
    stage_weeks(store, source, weeks)
    files, replaces = publish(store)
    with store.transaction():
        list_files(store, files, batch_id, replaces)
        store_weeks(store, source, month, weeks)
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
