"""The month rollups of the lakehouse, on Spark: ``person_month`` recomputed for the persons whose person-days
changed, and ``usage_month`` summed again for the source-months whose person-months or weights changed.

``person_month`` follows ``person_day`` (:func:`update_person_month`): each source-month remembers the
``person_day`` snapshot it was last brought up to date from (``person_month_built``); the next update compares that
snapshot's data files with the current ones (Iceberg's ``files`` metadata table, time-travelled: no data read) to
find the days that changed, reads only those days at both snapshots to find the person-months whose person-days
differ, recomputes them from the month's person-days, and replaces the month's partition with them and the other
person-months as they were. A late day costs its day and the touched persons, never a new aggregation of the
month; a run interrupted before ``person_month_built`` is written only makes the next update recompute the same
persons again. ``usage_month`` (:func:`update_usage_month`) is stamped per source-month with what it was summed
from (``usage_month_built``), which :mod:`thuocdo.rollups.served` checks too.

The rules are :data:`~thuocdo.rollups.definitions.PERSON_MONTH` and :data:`~thuocdo.rollups.definitions.USAGE_MONTH`,
the ones the embedded store uses, printed for Spark by SQLGlot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thuocdo.engines.base import USAGE_WEEK_SCHEMA
from thuocdo.engines.spark import spark_sql, split_cte
from thuocdo.rollups.definitions import (
    PERSON_DAY_COLUMNS,
    PERSON_MONTH,
    PERSON_MONTH_COLUMNS,
    USAGE_MONTH,
    reading,
    rollup_sql,
    usage_week_sql,
)
from thuocdo.rollups.lakehouse import bring_up_to_date, current_snapshot, quoted, retried
from thuocdo.rollups.served import week_weights
from thuocdo.store.lakehouse import Lakehouse, table_name

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class MonthUpdate:
    """What an update of person_month did."""

    whole: int = 0  # source-months computed from all their person-days (never built before)
    incremental: int = 0  # source-months whose changed person-months alone were recomputed
    person_months: int = 0  # person-months recomputed in the incremental ones
    snapshot: int | None = None  # the person_month snapshot committed (None: nothing was stale)


def _month_bounds(month: str) -> tuple[str, str]:
    first = dt.date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first.isoformat(), following.isoformat()


def _months_filter(pairs: Iterable[tuple[str, str]], source: str = "source", day: str = "day") -> str:
    """A predicate on (source, day) columns holding the days of the source-months (so Iceberg prunes partitions)."""
    terms = []
    for name, month in sorted(set(pairs)):
        first, following = _month_bounds(month)
        terms.append(f"({source} = {quoted([name])} AND {day} >= DATE '{first}' AND {day} < DATE '{following}')")
    return "(" + " OR ".join(terms) + ")" if terms else "FALSE"


def _dates(days: Iterable[dt.date]) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(days))


def _days_filter(days: Iterable[tuple[str, dt.date]]) -> str:
    by_source: dict[str, list[dt.date]] = {}
    for name, day in days:
        by_source.setdefault(name, []).append(day)
    terms = [f"(source = {quoted([name])} AND day IN ({_dates(ds)}))" for name, ds in sorted(by_source.items())]
    return "(" + " OR ".join(terms) + ")" if terms else "FALSE"


def stale_months(spark: SparkSession, lake: Lakehouse,
                 sources: Iterable[str] | None = None) -> tuple[int | None, dict[int | None, list[tuple[str, str]]]]:
    """The current person_day snapshot, and the source-months whose person_month rows were not brought up to date
    from it, grouped by the snapshot they were (None: never built, or built from a snapshot no longer kept)."""
    person_day, built = table_name(lake, "person_day"), table_name(lake, "person_month_built")
    now = current_snapshot(spark, person_day)
    if now is None:
        return None, {}
    wanted = list(sources) if sources is not None else None
    where = f"WHERE partition.source IN ({quoted(wanted)})" if wanted else ("WHERE FALSE" if wanted == [] else "")
    held = spark.sql(f"SELECT DISTINCT partition.source, date_format(partition.day, 'yyyy-MM') "
                     f"FROM {person_day}.files VERSION AS OF {now} {where}").collect()
    kept = {int(r[0]) for r in spark.sql(f"SELECT snapshot_id FROM {person_day}.snapshots").collect()}
    done = {(r[0], r[1]): int(r[2]) for r in spark.sql(
        f"SELECT source, month, person_day_snapshot FROM {built}").collect()}
    groups: dict[int | None, list[tuple[str, str]]] = {}
    for name, month in held:
        old = done.get((name, month))
        if old != now:
            groups.setdefault(old if old in kept else None, []).append((name, month))
    return now, {old: sorted(pairs) for old, pairs in groups.items()}


def update_person_month(spark: SparkSession, lake: Lakehouse, sources: Iterable[str] | None = None) -> MonthUpdate:
    """Bring person_month up to date with person_day (for the sources, or all): see the module's doc. The commit
    replaces the changed source-months' partitions, validated against every commit to them since this update read
    person_month (an update that loses the race runs again on the newer state)."""
    wanted = list(sources) if sources is not None else None

    def attempt() -> MonthUpdate:
        before = current_snapshot(spark, table_name(lake, "person_month"))
        now, groups = stale_months(spark, lake, wanted)
        if now is None or not groups:
            return MonthUpdate()
        return _update_person_month(spark, lake, now, groups, before)

    return retried(attempt)


def _changed_days(spark: SparkSession, person_day: str, now: int, old: int,
                  pairs: list[tuple[str, str]]) -> list[tuple[str, dt.date]]:
    """The days of the source-months whose data files differ between two person_day snapshots."""
    where = _months_filter(pairs, "partition.source", "partition.day")
    files = ("SELECT partition.source AS source, partition.day AS day, file_path "
             f"FROM {person_day}.files VERSION AS OF {{snapshot}} WHERE {where}")
    rows = spark.sql(f"""
        SELECT DISTINCT source, day FROM (
            (SELECT * FROM ({files.format(snapshot=now)}) EXCEPT SELECT * FROM ({files.format(snapshot=old)}))
            UNION ALL
            (SELECT * FROM ({files.format(snapshot=old)}) EXCEPT SELECT * FROM ({files.format(snapshot=now)})))
    """).collect()
    return [(r[0], r[1]) for r in rows]


def _person_month_rows(spark: SparkSession, person_days: DataFrame) -> tuple[DataFrame, DataFrame]:
    """:data:`PERSON_MONTH` over the given person-days (views named apart from the metric queries' own), and its
    one aggregation of the person-days (``agg``, referred to twice), computed once and kept on disk (to be
    unpersisted by the caller once the rows are written)."""
    from pyspark import StorageLevel

    person_days.createOrReplaceTempView("lakehouse_pm_person_day")
    views = {"person_day": "lakehouse_pm_person_day", "agg": "lakehouse_pm_agg"}
    agg, rest = (reading(q.sql(dialect="duckdb"), views) for q in split_cte(rollup_sql(PERSON_MONTH), "agg"))
    kept = spark.sql(spark_sql(agg)).persist(StorageLevel.DISK_ONLY)
    kept.createOrReplaceTempView(views["agg"])
    return spark.sql(spark_sql(rest)).select(*PERSON_MONTH_COLUMNS), kept


def _pairs_filter(pairs: Iterable[tuple[str, str]]) -> str:
    """A predicate on the (source, month) columns of person_month (its partition columns)."""
    terms = [f"(source = {quoted([name])} AND month = {quoted([month])})" for name, month in sorted(set(pairs))]
    return "(" + " OR ".join(terms) + ")" if terms else "FALSE"


def _update_person_month(spark: SparkSession, lake: Lakehouse, now: int,
                         groups: dict[int | None, list[tuple[str, str]]], before: int | None) -> MonthUpdate:
    from pyspark import StorageLevel

    person_day, person_month = table_name(lake, "person_day"), table_name(lake, "person_month")
    columns = ", ".join(["source", *PERSON_DAY_COLUMNS])
    at_now = f"SELECT {columns} FROM {person_day} VERSION AS OF {now}"
    whole = groups.get(None, [])
    # the person-months whose person-days differ between the snapshot a source-month was built from and now
    keys: list[DataFrame] = []
    for old, pairs in groups.items():
        days = _changed_days(spark, person_day, now, old, pairs) if old is not None else []
        if days:
            # a person-day row held by one snapshot only (new, or changed) names a changed person-month: one read
            # of the days at each snapshot, one aggregation
            at = (f"SELECT {columns}, {{side}} AS side FROM {person_day} VERSION AS OF {{snapshot}} "
                  f"WHERE {_days_filter(days)}")
            keys.append(spark.sql(f"""
                SELECT DISTINCT source, platform, person, month FROM (
                    SELECT {columns} FROM ({at.format(side=0, snapshot=now)} UNION ALL
                                          {at.format(side=1, snapshot=old)})
                    GROUP BY {columns} HAVING min(side) = max(side))"""))
    changed: DataFrame | None = None
    changed_pairs: list[tuple[str, str]] = []
    recomputed = 0
    if keys:
        changed = keys[0]
        for more in keys[1:]:
            changed = changed.unionByName(more)
        changed = changed.persist(StorageLevel.DISK_ONLY)
        counts = changed.groupBy("source", "month").count().collect()
        changed_pairs = sorted((r[0], r[1]) for r in counts)
        recomputed = sum(int(r[2]) for r in counts)
        changed.createOrReplaceTempView("lakehouse_pm_changed")
    # the person-days to aggregate: the new source-months whole, and the changed persons' days of their months
    parts: list[DataFrame] = []
    if whole:
        parts.append(spark.sql(f"{at_now} WHERE {_months_filter(whole)}"))
    if changed_pairs:
        parts.append(spark.sql(f"""
            SELECT d.* FROM ({at_now} WHERE {_months_filter(changed_pairs)}) d
            LEFT SEMI JOIN lakehouse_pm_changed c
              ON d.source = c.source AND d.platform = c.platform AND d.person = c.person AND d.month = c.month"""))
    snapshot = None
    agg: DataFrame | None = None
    if parts:
        person_days = parts[0]
        for more in parts[1:]:
            person_days = person_days.unionByName(more)
        rows, agg = _person_month_rows(spark, person_days)
        if changed_pairs and before is not None:
            # the changed months' other person-months, as they were when this update read person_month
            kept = spark.sql(f"""
                SELECT m.* FROM (SELECT * FROM {person_month} VERSION AS OF {before}
                                 WHERE {_pairs_filter(changed_pairs)}) m
                LEFT ANTI JOIN lakehouse_pm_changed c
                  ON m.source = c.source AND m.platform = c.platform AND m.person = c.person AND m.month = c.month""")
            rows = rows.unionByName(kept.select(*PERSON_MONTH_COLUMNS))
        rows = rows.repartition("source", "month").sortWithinPartitions("platform", "person")
        writer = rows.writeTo(person_month).option("isolation-level", "serializable")
        if before is not None:
            writer = writer.option("validate-from-snapshot-id", str(before))
        writer.overwritePartitions()
        snapshot = current_snapshot(spark, person_month)
    for frame in (agg, changed):
        if frame is not None:
            frame.unpersist()
    pairs = [pair for group in groups.values() for pair in group]
    spark.createDataFrame([(name, month, now) for name, month in pairs],
                          "source STRING, month STRING, person_day_snapshot BIGINT").createOrReplaceTempView(
        "lakehouse_pm_built")
    spark.sql(f"""
        MERGE INTO {table_name(lake, "person_month_built")} t USING lakehouse_pm_built s
        ON t.source = s.source AND t.month = s.month
        WHEN MATCHED THEN UPDATE SET t.person_day_snapshot = s.person_day_snapshot
        WHEN NOT MATCHED THEN INSERT (source, month, person_day_snapshot)
             VALUES (s.source, s.month, s.person_day_snapshot)""")
    return MonthUpdate(whole=len(whole), incremental=len(changed_pairs), person_months=recomputed, snapshot=snapshot)


# -- usage_month -------------------------------------------------------------------------------------------------
#: the columns of a usage_month row
USAGE_MONTH_COLUMNS = ("source", "platform", "month", "province", "persons", "w_persons", "w2_persons",
                       "w_active_days", "w_seconds", "w_bytes", "w_sessions", "w_installs")

#: Spark's :func:`thuocdo.store.lakehouse.files_stamp` of each person_month partition's data files
_FILES_STAMP = "md5(array_join(array_sort(collect_list(file_path)), ','))"


def stale_usage_months(spark: SparkSession, lake: Lakehouse, weights: dict[tuple[str, str], str],
                       sources: Iterable[str] | None = None) -> dict[tuple[str, str], str]:
    """The source-months whose usage_month rows were not summed from their current person_month files with their
    current weights (`weights`: each source-month's stamp, none for a source without weights), with those files'
    stamp."""
    person_month, built = table_name(lake, "person_month"), table_name(lake, "usage_month_built")
    wanted = list(sources) if sources is not None else None
    where = "WHERE content = 0" + (f" AND partition.source IN ({quoted(wanted)})" if wanted else "")
    if wanted == []:
        return {}
    files = {(r[0], r[1]): r[2] for r in spark.sql(
        f"SELECT partition.source, partition.month, {_FILES_STAMP} FROM {person_month}.files {where} "
        "GROUP BY partition.source, partition.month").collect()}
    done = {(r[0], r[1]): (r[2], r[3]) for r in spark.sql(
        f"SELECT source, month, person_month_files, weights FROM {built}").collect()}
    return {pair: stamp for pair, stamp in files.items() if done.get(pair) != (stamp, weights.get(pair, ""))}


def update_usage_month(spark: SparkSession, lake: Lakehouse, weights: DataFrame, stamps: dict[tuple[str, str], str],
                       sources: Iterable[str] | None = None) -> int:
    """Sum usage_month again (:data:`USAGE_MONTH`) for the source-months whose person-months or weights changed
    (`weights`: source, person, month, weight; `stamps`: their stamps per source-month), replacing their
    partitions; return how many source-months were summed."""
    wanted = list(sources) if sources is not None else None
    usage_month = table_name(lake, "usage_month")

    def attempt() -> int:
        before = current_snapshot(spark, usage_month)
        stale = stale_usage_months(spark, lake, stamps, wanted)
        if not stale:
            return 0
        spark.sql(f"SELECT * FROM {table_name(lake, 'person_month')} WHERE {_pairs_filter(stale)}") \
            .createOrReplaceTempView("lakehouse_um_person_month")
        weights.createOrReplaceTempView("lakehouse_um_weights")
        query = reading(USAGE_MONTH, {"person_month": "lakehouse_um_person_month",
                                      "weights": "lakehouse_um_weights"})
        rows = spark.sql(spark_sql(query)).select(*USAGE_MONTH_COLUMNS).repartition("source", "month")
        _replace_stamped(spark, lake, rows, "usage_month", before, "month STRING", "person_month_files",
                         [(name, month, files, stamps.get((name, month), ""))
                          for (name, month), files in sorted(stale.items())])
        return len(stale)

    return retried(attempt)


#: Spark's Monday of a day (dayofweek: 1 Sunday … 7 Saturday), as :func:`thuocdo.rollups.served.monday`
_MONDAY = "date_sub(partition.day, (dayofweek(partition.day) + 5) % 7)"


def stale_usage_weeks(spark: SparkSession, lake: Lakehouse, weights: dict[tuple[str, str], str],
                      sources: Iterable[str] | None = None) -> dict[tuple[str, dt.date], str]:
    """The source-weeks whose usage_week rows were not computed from the person_day files their days have now with
    their current weights (:func:`thuocdo.rollups.served.week_stamps`, :func:`~thuocdo.rollups.served.week_weights`:
    the same stamps as the default engine's), with those files' stamp."""
    person_day, built = table_name(lake, "person_day"), table_name(lake, "usage_week_built")
    wanted = list(sources) if sources is not None else None
    if wanted == []:
        return {}
    where = "WHERE content = 0" + (f" AND partition.source IN ({quoted(wanted)})" if wanted else "")
    files = {(r[0], r[1]): r[2] for r in spark.sql(
        f"SELECT partition.source, {_MONDAY} AS week, {_FILES_STAMP} FROM {person_day}.files {where} "
        "GROUP BY partition.source, week").collect()}
    done = {(r[0], r[1]): (r[2], r[3]) for r in spark.sql(
        f"SELECT source, week, person_day_files, weights FROM {built}").collect()}
    return {pair: stamp for pair, stamp in files.items() if done.get(pair) != (stamp, week_weights(weights, *pair))}


def update_usage_week(spark: SparkSession, lake: Lakehouse, weights: DataFrame, stamps: dict[tuple[str, str], str],
                      sources: Iterable[str] | None = None) -> int:
    """Compute usage_week again (:func:`thuocdo.rollups.definitions.usage_week_sql`) for the source-weeks whose
    days' person_day files or weights changed, replacing their partitions and recording what they were computed
    from (as the default engine's :func:`thuocdo.rollups.lakehouse_duckdb.update_usage_week`); return how many."""
    wanted = list(sources) if sources is not None else None
    usage_week = table_name(lake, "usage_week")

    def attempt() -> int:
        before = current_snapshot(spark, usage_week)
        stale = stale_usage_weeks(spark, lake, stamps, wanted)
        if not stale:
            return 0
        days = [(name, week + dt.timedelta(days=i)) for name, week in stale for i in range(7)]
        spark.sql(f"SELECT * FROM {table_name(lake, 'person_day')} WHERE {_days_filter(days)}") \
            .createOrReplaceTempView("lakehouse_uw_person_day")
        weights.createOrReplaceTempView("lakehouse_uw_weights")
        weeks = sorted({week for _, week in stale})
        query = rollup_sql(usage_week_sql("lakehouse_uw_person_day", "lakehouse_uw_weights", weeks))
        rows = spark.sql(spark_sql(query)).select(*USAGE_WEEK_SCHEMA.names).repartition("source", "week")
        _replace_stamped(spark, lake, rows, "usage_week", before, "week DATE", "person_day_files",
                         [(name, week, files, week_weights(stamps, name, week))
                          for (name, week), files in sorted(stale.items())])
        return len(stale)

    return retried(attempt)


def _replace_stamped(spark: SparkSession, lake: Lakehouse, rows: DataFrame, table: str, before: int | None,
                     key: str, files: str, stamped: list[tuple[object, ...]]) -> None:
    """Replace the partitions of `rows` in the rollup `table` (a commit that reached it since snapshot `before`
    makes this fail, and the caller run again), then record in ``TABLE_built`` what each (source, `key`) was made
    from: `stamped` rows of source, key, the `files` stamp and the weights' stamp (`key`: its column and type)."""
    writer = rows.writeTo(table_name(lake, table)).option("isolation-level", "serializable")
    if before is not None:
        writer = writer.option("validate-from-snapshot-id", str(before))
    writer.overwritePartitions()
    column = key.split(maxsplit=1)[0]
    spark.createDataFrame(stamped, f"source STRING, {key}, {files} STRING, weights STRING") \
        .createOrReplaceTempView(f"lakehouse_{table}_built")
    spark.sql(f"""
        MERGE INTO {table_name(lake, f"{table}_built")} t USING lakehouse_{table}_built s
        ON t.source = s.source AND t.{column} = s.{column}
        WHEN MATCHED THEN UPDATE SET t.{files} = s.{files}, t.weights = s.weights
        WHEN NOT MATCHED THEN INSERT (source, {column}, {files}, weights)
             VALUES (s.source, s.{column}, s.{files}, s.weights)""")


def usage_month(spark: SparkSession, lake: Lakehouse, months: Iterable[str], weights: DataFrame,
                stamps: dict[tuple[str, str], str]) -> DataFrame:
    """The lakehouse's usage_month rows of the months, every rollup brought up to date first."""
    bring_up_to_date(spark, lake)
    update_person_month(spark, lake)
    update_usage_month(spark, lake, weights, stamps)
    wanted = sorted(set(months))
    frame = spark.table(table_name(lake, "usage_month"))
    if wanted:
        frame = frame.where(f"month IN ({quoted(wanted)})")
    return frame.select(*USAGE_MONTH_COLUMNS)
