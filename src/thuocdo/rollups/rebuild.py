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
from dataclasses import dataclass, field

from thuocdo.rollups import person_rollups
from thuocdo.rollups.definitions import (
    PERSON_DAY_COLUMNS,
    PERSON_DAY_MERGE,
    PERSON_MONTH,
    USAGE_MONTH,
    USAGE_WEEK,
    person_week_sql,
    reading,
)
from thuocdo.rollups.person_rollups import MONTHLY, WEEKLY
from thuocdo.store.home import Store
from thuocdo.store.lake import finish, list_files, publish
from thuocdo.store.sql import duckdb_sql as _duckdb
from thuocdo.store.sql import literal


def person_day_files(store: Store, months: Sequence[str], source: str | None = None,
                     days: Sequence[dt.date] | None = None) -> list[tuple[str, str, bool]]:
    """The listed person_day files of the months (of one source, or all; of `days` only, when given) as
    (source, absolute path, whether it is its day's largest file). A late file or a merge of the inbox appends a
    file to a day (see ``thuocdo.ingest.person_days``); every file holds one row per person-day, so the rows of
    a day's largest file that its other files do not name are whole, and the others must be collapsed
    (:data:`PERSON_DAY_MERGE`; :func:`person_days_sql`, and ``rollups.spark`` the same way)."""
    rows = store.con.execute(
        "SELECT source, path, row_number() OVER (PARTITION BY source, day ORDER BY rows DESC, path) = 1 "
        "FROM lake_files WHERE dataset = 'person_day' AND list_contains(?, month) AND (? IS NULL OR source = ?) "
        "AND (?::DATE[] IS NULL OR list_contains(?::DATE[], day)) ORDER BY source, path",
        [list(months), source, source, None if days is None else list(days),
         None if days is None else list(days)]).fetchall()
    return [(src, str(store.lake / path), largest) for src, path, largest in rows]


def person_days_sql(store: Store, source: str, months: Sequence[str],
                    days: Sequence[dt.date] | None = None, *, persons: str | None = None) -> str | None:
    """A query of a source's stored person-days in the months (of `days` only, when given; of the persons of the
    relation `persons` only, when given), one row per person-day, with a `source` column (None when there are
    none).

    A day held in one file is read as it is. A day held in several (a late delivery or a merge of the inbox
    appended to it) is collapsed (:data:`PERSON_DAY_MERGE`), but only where its files overlap: a file holds one row
    per person-day, so the rows of the day's largest file that no other file of the day names are already whole
    and pass through; the others (usually a few late ones) go through the collapse with the rows they meet. That
    keeps the collapse's hash table at the size of the late files rather than of the day (at 100 M records, where
    every day had a late file, it was a second aggregation of the month's 13.4 M person-days). The person-days of a
    few persons are read in one scan, filtered by person first, and collapsed whatever their files."""
    files = person_day_files(store, months, source, days)
    largest = [path for _, path, first in files if first]
    others = [path for _, path, first in files if not first]
    columns = ", ".join(PERSON_DAY_COLUMNS)
    name = literal(source)
    if not largest:
        return None
    if persons is not None:
        return (f"SELECT * FROM (WITH person_day_parts AS (SELECT {name} AS source, {columns} "
                f"FROM read_parquet({literal(largest + others)}) SEMI JOIN {persons} USING (person)) "
                f"{_duckdb(PERSON_DAY_MERGE)})")
    if not others:
        return f"SELECT {name} AS source, {columns} FROM read_parquet({literal(largest)})"
    met = f"(SELECT platform, person, day FROM read_parquet({literal(others)}))"
    parts = [f"SELECT {name} AS source, {columns} FROM read_parquet({literal(largest)}) "
             f"ANTI JOIN {met} USING (platform, person, day)",
             f"SELECT * FROM (WITH person_day_parts AS (SELECT {name} AS source, {columns} "
             f"FROM read_parquet({literal(largest)}) SEMI JOIN {met} USING (platform, person, day) "
             f"UNION ALL SELECT {name} AS source, {columns} FROM read_parquet({literal(others)})) "
             f"{_duckdb(PERSON_DAY_MERGE)})"]
    return " UNION ALL ".join(parts)


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


def _week_days(weeks: Sequence[dt.date]) -> list[dt.date]:
    return [w + dt.timedelta(days=i) for w in weeks for i in range(7)]


def _week_person_days(store: Store, source: str, weeks: Sequence[dt.date], persons: str | None = None) -> str | None:
    days = _week_days(weeks)
    return person_days_sql(store, source, sorted({d.strftime("%Y-%m") for d in days}), days, persons=persons)


@dataclass
class WeekPlan:
    """What the rollup of a month does to its weeks: `whole` weeks built again from every person-day, `patched`
    weeks brought up to date for the persons touched (their sums by difference when `by_difference`)."""

    whole: list[dt.date] = field(default_factory=list)
    patched: list[dt.date] = field(default_factory=list)
    by_difference: bool = False

    @property
    def weeks(self) -> list[dt.date]:
        return sorted(self.whole + self.patched)


def stage_weeks(store: Store, source: str, batch_id: str, weeks: Sequence[dt.date], *, incremental: bool) -> WeekPlan:
    """Stage the person_week files of a source's `weeks` (to be listed, and their sums stored, by
    :func:`store_weeks` inside the rollup's transaction). With `incremental`, a week that has a base and whose
    months listed the persons their changes touched (``dirty_persons``, no NULL) is brought up to date for those
    persons only; the others are built whole."""
    con = store.con
    plan = WeekPlan()
    if not weeks:
        return plan
    patchable: set[dt.date] = set()
    if incremental:
        values = ", ".join(f"(DATE '{w}', '{w.strftime('%Y-%m')}', '{(w + dt.timedelta(days=6)).strftime('%Y-%m')}')"
                           for w in weeks)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE touched_week AS
            SELECT DISTINCT w.week, d.person FROM (VALUES {values}) AS w(week, first_month, last_month)
            JOIN dirty_persons AS d ON d.source = $source AND d.month IN (w.first_month, w.last_month)""",
                    {"source": source})
        every = {r[0] for r in con.execute("SELECT week FROM touched_week WHERE person IS NULL").fetchall()}
        based = {r[0] for r in con.execute(
            "SELECT DISTINCT day FROM lake_files WHERE dataset = $d AND source = $source AND list_contains($w, day)",
            {"d": WEEKLY.name, "source": source, "w": list(weeks)}).fetchall()}
        patchable = {w for w in weeks if w in based and w not in every}
    plan.whole = [w for w in weeks if w not in patchable]
    plan.patched = [w for w in weeks if w in patchable]
    if plan.whole:
        base, patches = person_rollups.files(store, WEEKLY, source, plan.whole)
        person_days = _week_person_days(store, source, plan.whole)
        if person_days is not None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW week_person_day AS {person_days}")
            person_rollups.stage_base(store, WEEKLY, source, batch_id,
                                      _duckdb(person_week_sql("week_person_day", plan.whole)), base + patches)
        else:
            store.pending.replaces.extend(base + patches)
    if plan.patched:
        base, patches = person_rollups.files(store, WEEKLY, source, plan.patched)
        person_days = _week_person_days(store, source, plan.patched, "(SELECT DISTINCT person FROM touched_week)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE week_person_day_touched AS SELECT * FROM ({person_days})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE person_week_changed AS SELECT * FROM "
                    f"({_duckdb(person_week_sql('week_person_day_touched', plan.patched))}) "
                    "SEMI JOIN touched_week USING (week, person)")
        plan.by_difference = person_rollups.stage_patch(store, WEEKLY, source, batch_id, base, patches,
                                                        touched="touched_week", changed="person_week_changed")
    return plan


def store_weeks(store: Store, source: str, month: str, plan: WeekPlan) -> None:
    """Inside a transaction, once the files staged by :func:`stage_weeks` are listed: bring the source's
    usage_week rows of the plan's weeks up to date, clear their marks, and note that the month's weeks are
    computed."""
    con = store.con
    whole = plan.whole + ([] if plan.by_difference else plan.patched)
    if whole:
        con.execute("DELETE FROM usage_week WHERE source = ? AND list_contains(?::DATE[], week)", [source, whole])
        held = person_rollups.held_sql(store, WEEKLY, source, whole)
        if held is not None:
            summed = reading(USAGE_WEEK, {"person_week": "week_rows"}).sql("duckdb")
            con.execute(f"INSERT INTO usage_week BY NAME WITH week_rows AS ({held}) {summed}")
    if plan.by_difference:
        person_rollups.apply_delta(store, WEEKLY, *person_rollups.files(store, WEEKLY, source, plan.patched),
                                   "usage_week", changed="person_week_changed")
    con.execute("DELETE FROM dirty_weeks WHERE source = ? AND list_contains(?::DATE[], week)", [source, plan.weeks])
    con.execute("INSERT INTO usage_week_months VALUES (?, ?) ON CONFLICT DO NOTHING", [source, month])


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
        batch_id = "rollup-" + uuid.uuid4().hex
        plan = stage_weeks(store, source, batch_id, weeks_of_month(month), incremental=False)
        files, replaces = publish(store)
        with store.transaction():
            list_files(store, files, batch_id, replaces)
            store_weeks(store, source, month, plan)
        finish(store, batch_id, replaces)
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
    """Bring a dirty month's rollups up to date: its person-months and person-weeks, and its usage_month and
    usage_week rows.

    When the changes listed the persons they touched (``dirty_persons``) and those are few, only their
    person-months and their person-weeks of the weeks the changes touched are recomputed (:data:`PERSON_MONTH`,
    :func:`person_week_sql` over their person-days): they go to the patches, and the sums are brought up to date
    by difference (:mod:`thuocdo.rollups.person_rollups`), at the cost of the persons touched rather than of the
    month. Otherwise the month's person-months and its weeks' person-weeks are built whole from every person-day
    (new bases, no patch) and their sums summed again from them."""
    con = store.con
    batch_id = "rollup-" + uuid.uuid4().hex
    person_days = person_days_sql(store, source, [month])
    base, patches = person_rollups.files(store, MONTHLY, source, [month])
    touched = None
    by_difference = False
    if person_days:
        touched = _touched_persons(store, source, month, base) if incremental else None
        if touched is None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW person_day AS {person_days}")
            person_rollups.stage_base(store, MONTHLY, source, batch_id, f"SELECT * FROM ({_duckdb(PERSON_MONTH)})",
                                      base + patches)
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE touched_month AS SELECT DISTINCT month, person "
                        "FROM dirty_persons WHERE source = $source AND month = $month",
                        {"source": source, "month": month})
            # their person-days read once (PERSON_MONTH reads person_day twice), then their person-months
            touched_days = person_days_sql(store, source, [month], persons="touched_month")
            con.execute(f"CREATE OR REPLACE TEMP TABLE person_day_touched AS SELECT * FROM ({touched_days})")
            con.execute("CREATE OR REPLACE TEMP VIEW person_day AS SELECT * FROM person_day_touched")
            con.execute(f"CREATE OR REPLACE TEMP TABLE person_month_changed AS {_duckdb(PERSON_MONTH)}")
            by_difference = person_rollups.stage_patch(store, MONTHLY, source, batch_id, base, patches,
                                                       touched="touched_month", changed="person_month_changed")
    plan = stage_weeks(store, source, batch_id, weeks_to_rebuild(store, source, month, touched is not None),
                       incremental=touched is not None)
    files, replaces = publish(store)
    with store.transaction():
        list_files(store, files, batch_id, replaces)
        store_weeks(store, source, month, plan)
        if by_difference:
            person_rollups.apply_delta(store, MONTHLY, *person_rollups.files(store, MONTHLY, source, [month]),
                                       store.stored_usage_month, changed="person_month_changed")
        else:
            con.execute(f"DELETE FROM {store.stored_usage_month} WHERE source = ? AND month = ?", [source, month])
            held = person_rollups.person_month_sql(store, source, [month])
            if held is not None:
                con.execute(f"CREATE OR REPLACE TEMP VIEW person_month AS {held}")
                con.execute(f"INSERT INTO {store.stored_usage_month} BY NAME {_duckdb(USAGE_MONTH)}")
        con.execute("DELETE FROM dirty_months WHERE source = ? AND month = ?", [source, month])
        con.execute("DELETE FROM dirty_persons WHERE source = ? AND month = ?", [source, month])
    for table in ("touched_month", "person_day_touched", "person_month_changed", "person_month_before", "touched_week",
                  "week_person_day_touched", "person_week_changed", "person_week_before"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
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
