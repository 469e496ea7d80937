"""The person-day rollup of the lakehouse, on Spark: ``person_day`` rebuilt from ``usage_records`` for the days
whose records changed, and read back for the metric queries; and what every rollup of the lakehouse shares (the
tables, snapshots, retries after a lost commit race). The month rollups are :mod:`thuocdo.rollups.lakehouse_months`.

A day is *stale* when the number of records ``usage_records`` holds for it (the Iceberg ``partitions`` metadata
table: no scan) differs from the number its ``person_day`` rows were built from (``person_day_built``). Records
are only ever added, so equal counts mean the same records. Every ingestion rebuilds the stale days of its source
after its commit; a run interrupted between the two, or two writers racing on a day, leave a day stale and the
next ingestion or metric query rebuilds it. A late day costs that day, never the month.

The rule is :data:`thuocdo.rollups.definitions.PERSON_DAY_FROM_RECORDS`, the one the embedded store uses,
printed for Spark by SQLGlot.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from thuocdo.engines.spark import spark_sql
from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_DAY_FROM_RECORDS, rollup_sql
from thuocdo.store.lakehouse import RECORD_ROWS, Lakehouse, create_tables_sql, table_name

#: how often a rebuild that lost a race with a concurrent commit to the same partitions is run again
REBUILD_ATTEMPTS = 8

T = TypeVar("T")

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def ensure_tables(spark: SparkSession, lake: Lakehouse) -> None:
    """Create the lakehouse's namespace and tables where missing (:data:`thuocdo.store.lakehouse.TABLES`)."""
    for statement in create_tables_sql(lake):
        spark.sql(statement)


def quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def current_snapshot(spark: SparkSession, table: str) -> int | None:
    """The snapshot the table's main branch points at (None for a table never written)."""
    rows = spark.sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = 'main'").collect()
    return int(rows[0][0]) if rows else None


def stale_days(spark: SparkSession, lake: Lakehouse, sources: Iterable[str] | None = None) -> dict[str, list[dt.date]]:
    """The days (per source) whose person_day rows were not built from the records now stored."""
    records, built = table_name(lake, "usage_records"), table_name(lake, "person_day_built")
    where = f"WHERE p.partition.source IN ({quoted(sources)})" if sources is not None else ""
    rows = spark.sql(f"""
        SELECT p.partition.source AS source, p.partition.day AS day
        FROM {records}.partitions p
        LEFT JOIN {built} b ON b.source = p.partition.source AND b.day = p.partition.day
        {where} {"AND" if where else "WHERE"} (b.records IS NULL OR b.records <> p.record_count)
    """).collect()
    stale: dict[str, list[dt.date]] = {}
    for source, day in rows:
        stale.setdefault(source, []).append(day)
    return {s: sorted(days) for s, days in stale.items()}


def rebuild_days(spark: SparkSession, lake: Lakehouse, source: str, days: list[dt.date]) -> None:
    """Rebuild the person_day rows of a source's days from its records at one snapshot (the rows read from its
    data, their record counts from its partition metadata), replacing those days' partitions."""
    if not days:
        return
    records, person_day = table_name(lake, "usage_records"), table_name(lake, "person_day")

    def attempt() -> None:
        # the days' person_day partitions as they are now, before the records are read: a writer that replaces
        # them in between makes this overwrite fail (its rows may be older than ours), and it is run again
        before = current_snapshot(spark, person_day)
        snapshot = current_snapshot(spark, records)
        if snapshot is not None:
            _rebuild(spark, lake, source, days, snapshot, before)

    retried(attempt)


def retried(run: Callable[[], T]) -> T:
    """`run` again, after a growing pause, while it fails by losing a race with a concurrent Iceberg commit
    (:data:`REBUILD_ATTEMPTS` times at most); each run reads the tables afresh."""
    for attempt in range(1, REBUILD_ATTEMPTS + 1):
        try:
            return run()
        except Exception as exc:
            if attempt == REBUILD_ATTEMPTS or not is_conflict(exc):
                raise
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
    raise AssertionError("unreachable")


def is_conflict(exc: Exception) -> bool:
    """Whether a failed Iceberg commit lost a race with a concurrent commit (and may be run again)."""
    if type(exc).__name__ in ("CommitFailedException", "ValidationException"):  # pyiceberg's
        return True
    text = str(exc)
    return any(s in text for s in ("ValidationException", "CommitFailedException", "Found conflicting",
                                   "Cannot commit", "conflicting files"))


def _rebuild(spark: SparkSession, lake: Lakehouse, source: str, days: list[dt.date], snapshot: int,
             before: int | None) -> None:
    records, person_day = table_name(lake, "usage_records"), table_name(lake, "person_day")
    day_list = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
    spark.read.option("versionAsOf", snapshot).table(records).createOrReplaceTempView("lake_records_at")
    spark.sql(f"""
        SELECT person, platform, day, date_format(day, 'yyyy-MM') AS month, active_seconds AS active_seconds_n,
               bytes AS bytes_n, sessions AS sessions_n, installs AS installs_n, province AS province_code
        FROM lake_records_at WHERE source = '{source.replace("'", "''")}' AND day IN ({day_list}) AND {RECORD_ROWS}
    """).createOrReplaceTempView("fresh")
    rows: DataFrame = spark.sql(spark_sql(rollup_sql(PERSON_DAY_FROM_RECORDS)))
    from pyspark.sql import functions as F

    rows = rows.withColumn("source", F.lit(source)).select("source", *PERSON_DAY_COLUMNS)
    rows = rows.repartition("day").sortWithinPartitions("platform", "person")
    writer = rows.writeTo(person_day).option("isolation-level", "serializable")
    if before is not None:
        writer = writer.option("validate-from-snapshot-id", str(before))
    writer.overwritePartitions()
    # the days' record counts at the snapshot read, as stale_days compares them: from the partition metadata
    # (exact: copy-on-write tables have no delete files), not a second read of the records
    counts = spark.sql(f"""
        SELECT partition.source AS source, partition.day AS day, record_count AS records
        FROM {records}.partitions VERSION AS OF {snapshot}
        WHERE partition.source = '{source.replace("'", "''")}' AND partition.day IN ({day_list})
    """)
    counts.createOrReplaceTempView("built_counts")
    spark.sql(f"""
        MERGE INTO {table_name(lake, "person_day_built")} t USING built_counts s
        ON t.source = s.source AND t.day = s.day
        WHEN MATCHED THEN UPDATE SET t.records = s.records
        WHEN NOT MATCHED THEN INSERT (source, day, records) VALUES (s.source, s.day, s.records)
    """)


def bring_up_to_date(spark: SparkSession, lake: Lakehouse, sources: Iterable[str] | None = None) -> dict[str, int]:
    """Rebuild every stale day (of the sources); return the days rebuilt per source."""
    done: dict[str, int] = {}
    for source, days in stale_days(spark, lake, sources).items():
        rebuild_days(spark, lake, source, days)
        done[source] = len(days)
    return done


def person_day(spark: SparkSession, lake: Lakehouse, months: Iterable[str]) -> DataFrame:
    """The lakehouse's person_day rows of the months (stale days rebuilt first)."""
    bring_up_to_date(spark, lake)
    wanted = sorted(set(months))
    frame = spark.table(table_name(lake, "person_day"))
    if wanted:
        frame = frame.where(f"month IN ({quoted(wanted)})")
    return frame.select(*PERSON_DAY_COLUMNS, "source")
