"""Usage ingestion on Apache Spark into the lakehouse (Iceberg tables on the object store).

The rules are not written again for Spark: every file is one Spark task that runs the rules of
:func:`thuocdo.ingest.usage.check_usage` (the same reader, the same validation with the same Vietnamese reasons,
the same keyed pseudonym, the same record key) with DuckDB inside the task, so a file gives the same user keys,
the same quarantine rows and the same good records on either engine. Spark does what needs the whole data set:

1. the good records of all files, the first occurrence of each record key kept (by file, then line);
2. one ``MERGE INTO usage_records … WHEN NOT MATCHED THEN INSERT``: the table format's atomic commit is the
   exactly-once gate. It runs with serializable isolation: a writer that committed matching keys in between
   makes the merge fail validation, and it is run again against the new snapshot (:data:`MERGE_ATTEMPTS`);
3. the rejected lines into ``quarantine`` (once per source and fingerprint, as on the embedded store);
4. the person-day rows of the stale days rebuilt, then the person-month rows of the persons whose person-days
   changed, then the usage_month sums of the months those are in (:mod:`thuocdo.rollups.lakehouse`,
   :mod:`thuocdo.rollups.lakehouse_months`: a late day costs its day and its persons, not a new aggregation of
   the month);
5. one ledger row per file in ``batches``.

A run killed at any point leaves either nothing of its records or all of them (step 2 is one commit); the same
command run again stores nothing twice and rebuilds what step 4 had not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.readers import InputError, read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.usage import check_usage, file_sha256
from thuocdo.rollups.lakehouse import current_snapshot, ensure_tables, is_conflict, rebuild_days, stale_days
from thuocdo.rollups.lakehouse_months import (
    MonthUpdate,
    update_person_month,
    update_usage_month,
    update_usage_week,
)
from thuocdo.store.lakehouse import Lakehouse, table_name

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: how often a merge that lost a race to a concurrent commit is run again
MERGE_ATTEMPTS = 8

#: what a file task gives back: its good records, its quarantine rows and one summary row
TASK_SCHEMA = pa.schema([
    ("kind", pa.string()), ("file_index", pa.int32()), ("batch_id", pa.string()),
    ("day", pa.date32()), ("k1", pa.int64()), ("k2", pa.int64()), ("person", pa.int64()), ("platform", pa.string()),
    ("active_seconds", pa.int64()), ("bytes", pa.int64()), ("sessions", pa.int64()), ("installs", pa.int64()),
    ("province", pa.string()), ("line", pa.int64()),
    ("file", pa.string()), ("record", pa.string()), ("problems", pa.string()), ("fingerprint", pa.string()),
    ("summary", pa.string()),
])
_SPARK_TASK_SCHEMA = ", ".join(
    f"{f.name} {'INT' if f.type == pa.int32() else 'BIGINT' if f.type == pa.int64() else 'DATE' if f.type == pa.date32() else 'STRING'}"  # noqa: E501
    for f in TASK_SCHEMA)


@dataclass(frozen=True)
class InputFile:
    index: int
    uri: str  # a local path, or s3://bucket/key

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TaskSettings:
    """What a file task needs (it travels to the executors with the task): the source, the store's secret and
    the source's key domain for the keyed pseudonym, and how to reach the object store for ``s3://`` inputs."""

    source: str
    secret: bytes
    s3: dict[str, str] | None
    run_id: str  # a file's batch id is derived from it: a task computed again gives the same ids
    key_domain: str  # the source's name, or the shared domain (thuocdo.store.sources.key_domain)

    def batch_id(self, item: InputFile) -> str:
        return hashlib.md5(f"{self.run_id}/{item.index}/{item.uri}".encode()).hexdigest()


@dataclass
class SparkIngestReport:
    results: list[BatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    days_rebuilt: int = 0
    person_day_snapshot: int | None = None  # the person_day snapshot of this run's last rebuild
    person_month: MonthUpdate = field(default_factory=MonthUpdate)  # what the update of person_month did
    usage_months: int = 0  # source-months whose usage_month rows were summed again
    usage_weeks: int = 0  # source-weeks whose usage_week rows were computed again
    merge_attempts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def s3_settings(lake: Lakehouse) -> dict[str, str]:
    return {"endpoint": lake.s3_endpoint, "access_key": lake.access_key, "secret_key": lake.secret_key,
            "region": lake.region}


def _filesystem(s3: dict[str, str]) -> Any:
    from pyarrow import fs

    scheme, _, host = s3["endpoint"].partition("://")
    return fs.S3FileSystem(access_key=s3["access_key"], secret_key=s3["secret_key"], endpoint_override=host,
                           scheme=scheme, region=s3["region"], force_virtual_addressing=False)


def list_inputs(paths: Sequence[str], s3: dict[str, str] | None) -> list[InputFile]:
    """The files named: local files, and every object under each ``s3://`` (or ``s3a://``) prefix."""
    found: list[str] = []
    for given in paths:
        if given.startswith(("s3://", "s3a://")):
            if s3 is None:
                raise InputError(f"{given}: chưa có kho đối tượng (hãy chạy thuocdo cluster up).")
            from pyarrow import fs

            filesystem = _filesystem(s3)
            location = given.split("://", 1)[1]
            info = filesystem.get_file_info(location)
            if info.type == fs.FileType.File:
                found.append(f"s3://{location}")
                continue
            objects = filesystem.get_file_info(fs.FileSelector(location.rstrip("/"), recursive=True,
                                                               allow_not_found=True))
            keys = sorted(f"s3://{o.path}" for o in objects if o.type == fs.FileType.File)
            if not keys:
                raise InputError(f"{given}: không có tệp nào.")
            found.extend(keys)
        else:
            found.append(str(Path(given).resolve()))
    return [InputFile(i, uri) for i, uri in enumerate(found)]


# -- the file task (runs in a Spark executor) --------------------------------------------------------------
def check_file(item: InputFile, settings: TaskSettings, workdir: Path) -> pa.Table:
    """The rules of one file (:func:`thuocdo.ingest.usage.check_usage`) as rows of :data:`TASK_SCHEMA`."""
    import duckdb

    from thuocdo.catalog import load_catalog

    batch_id = settings.batch_id(item)
    summary: dict[str, Any] = {"name": item.name}
    parts: list[pa.Table] = []
    try:
        if item.uri.startswith("s3://"):
            if settings.s3 is None:
                raise InputError(f"{item.uri}: chưa có kho đối tượng.")
            path = workdir / item.name
            filesystem = _filesystem(settings.s3)
            with filesystem.open_input_stream(item.uri[len("s3://"):]) as src, open(path, "wb") as out:
                while chunk := src.read(8 << 20):
                    out.write(chunk)
        else:
            path = Path(item.uri)
        summary["sha256"] = file_sha256(path) if path.is_file() else None
        raw = read_input(path, USAGE)
        con = duckdb.connect()
        con.execute(f"SET threads = {_task_cores()}")  # the cores Spark gave the task, not the machine's
        checked = check_usage(con, raw, settings.source, settings.secret, load_catalog(), batch_id,
                              key_domain=settings.key_domain)
        summary |= {"rows": checked.rows, "read_rejections": len(raw.rejections), "rejected": checked.rejected,
                    "good": checked.good, "in_file_duplicates": checked.in_file_duplicates,
                    "days": [[day.isoformat() if day else None, good, bad]
                             for day, (good, bad) in checked.days.items()]}
        parts.append(con.sql(f"""
            SELECT 'good' AS kind, {item.index}::INTEGER AS file_index, '{batch_id}' AS batch_id, day,
                   CAST(CAST(k1 AS HUGEINT) - 9223372036854775808 AS BIGINT) AS k1,
                   CAST(CAST(k2 AS HUGEINT) - 9223372036854775808 AS BIGINT) AS k2, person, platform,
                   active_seconds_n AS active_seconds, bytes_n AS bytes, sessions_n AS sessions,
                   installs_n AS installs, province_code AS province, _line AS line
            FROM unique_good""").to_arrow_table())
        parts.append(con.sql(f"""
            SELECT 'quarantine' AS kind, {item.index}::INTEGER AS file_index, batch_id, file, line, record,
                   problems, fingerprint FROM q_batch""").to_arrow_table())
        con.close()
    except InputError as exc:
        summary["error"] = str(exc).replace(str(workdir) + "/", "")
    parts.append(pa.table({"kind": ["summary"], "file_index": pa.array([item.index], pa.int32()),
                           "batch_id": [batch_id], "summary": [json.dumps(summary)]}))
    return pa.concat_tables([_conform(p) for p in parts])


def _task_cores() -> int:
    """The cores of the running Spark task (``spark.task.cpus``); the machine's outside a task."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return max(1, context.cpus()) if context is not None else max(1, os.cpu_count() or 1)


def _conform(table: pa.Table) -> pa.Table:
    columns = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
               for f in TASK_SCHEMA]
    return pa.Table.from_arrays(columns, schema=TASK_SCHEMA)


def _task(settings: TaskSettings, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for index, uri in zip(batch.column("index").to_pylist(), batch.column("uri").to_pylist(), strict=True):
            with tempfile.TemporaryDirectory(prefix="thuocdo-task-") as workdir:
                yield from check_file(InputFile(index, uri), settings, Path(workdir)).to_batches(max_chunksize=1 << 17)


# -- the job (runs in the driver) --------------------------------------------------------------------------
def file_frame(spark: SparkSession, inputs: Sequence[InputFile]) -> DataFrame:
    """The input files as a DataFrame of one file per partition, so that each is one task. (``parallelize``
    cuts a list into equal slices; hash partitioning by the file's index does not: it put two files in one
    task, and four in three.)"""
    slices = spark.sparkContext.parallelize([(f.index, f.uri) for f in inputs], max(1, len(inputs)))
    return spark.createDataFrame(slices, "index INT, uri STRING")


#: the lakehouse's ledger: one row per file (``batches``), and per file and local day (``batch_days``)
BATCHES_SCHEMA = pa.schema([
    ("batch_id", pa.string()), ("source", pa.string()), ("kind", pa.string()), ("file", pa.string()),
    ("file_sha256", pa.string()), ("rows_read", pa.int64()), ("stored", pa.int64()), ("duplicates", pa.int64()),
    ("rejected", pa.int64()), ("error", pa.string()), ("committed_at", pa.timestamp("us", tz="UTC"))])
BATCH_DAYS_SCHEMA = pa.schema([("batch_id", pa.string()), ("source", pa.string()), ("day", pa.date32()),
                               ("good", pa.int64()), ("stored", pa.int64()), ("rejected", pa.int64())])


def ledger(report: SparkIngestReport, inputs: Sequence[InputFile], summaries: dict[int, tuple[str, dict[str, Any]]],
           source: str, stored_days: dict[tuple[str, str], int]) -> tuple[pa.Table, pa.Table]:
    """A run's ledger rows (:data:`BATCHES_SCHEMA`, :data:`BATCH_DAYS_SCHEMA`) from its files' summaries and the
    records each stored per day (`stored_days`: (batch id, ISO day) → records); each file's result or error is
    added to `report`."""
    stored: dict[str, int] = {}
    for (batch_id, _), n in stored_days.items():
        stored[batch_id] = stored.get(batch_id, 0) + n
    now = dt.datetime.now(dt.UTC)
    rows = []
    for item in inputs:
        batch_id, summary = summaries[item.index]
        if "error" in summary:
            report.errors.append(summary["error"])
        else:
            n_stored = stored.get(batch_id, 0)
            read_rejections = summary["read_rejections"]
            result = BatchResult(item.name, source, "usage", batch_id, rows_read=summary["rows"] + read_rejections,
                                 stored=n_stored, duplicates=summary["good"] - n_stored,
                                 rejected=summary["rejected"])
            report.results.append(result)
        rows.append({"batch_id": batch_id, "source": source, "kind": "usage", "file": item.uri,
                     "file_sha256": summary.get("sha256"), "rows_read": summary.get("rows"),
                     "stored": stored.get(batch_id, 0) if "error" not in summary else 0,
                     "duplicates": (summary["good"] - stored.get(batch_id, 0)) if "error" not in summary else 0,
                     "rejected": summary.get("rejected", 0), "error": summary.get("error"), "committed_at": now})
    per_day = [{"batch_id": batch_id, "source": source, "day": dt.date.fromisoformat(day) if day else None,
                "good": good, "stored": stored_days.get((batch_id, day), 0) if day else 0, "rejected": bad}
               for batch_id, summary in summaries.values() if "error" not in summary
               for day, good, bad in summary["days"]]
    return (pa.Table.from_pylist(rows, schema=BATCHES_SCHEMA),
            pa.Table.from_pylist(per_day, schema=BATCH_DAYS_SCHEMA))


#: the weights of a source as the usage_month rollup joins them
WEIGHTS_SCHEMA = pa.schema([("source", pa.string()), ("person", pa.int64()), ("month", pa.string()),
                            ("weight", pa.float64())])


def ingest_usage_spark(spark: SparkSession, lake: Lakehouse, paths: Sequence[str], source: str, secret: bytes,
                       *, key_domain: str, weights: pa.Table | None = None,
                       weights_stamps: dict[tuple[str, str], str] | None = None,
                       on_step: Callable[[str], None] | None = None) -> SparkIngestReport:
    """Ingest usage files (local or ``s3://``) into the lakehouse's tables for a source whose persons are keyed in
    `key_domain`, weighted by `weights` (:data:`WEIGHTS_SCHEMA`, stamped per month by `weights_stamps`; both read
    by the driver from the home's store: :func:`thuocdo.store.sources.key_domain`,
    :func:`thuocdo.rollups.served.weights_stamps`; see the module's doc)."""
    def step(name: str) -> None:
        if on_step:
            on_step(name)

    report = SparkIngestReport()
    started = time.monotonic()
    ensure_tables(spark, lake)
    inputs = list_inputs(paths, s3_settings(lake))
    settings = TaskSettings(source, secret, s3_settings(lake), uuid.uuid4().hex, key_domain)
    step("kiểm tra tệp")
    files = file_frame(spark, inputs)
    checked = files.mapInArrow(partial(_task, settings), _SPARK_TASK_SCHEMA)
    from pyspark import StorageLevel

    checked = checked.persist(StorageLevel.DISK_ONLY)
    summaries = {int(r["file_index"]): (r["batch_id"], json.loads(r["summary"]))
                 for r in checked.where("kind = 'summary'").select("file_index", "batch_id", "summary").collect()}
    report.seconds["check"] = time.monotonic() - started

    step("ghi bản ghi")
    good = checked.where("kind = 'good'")
    good.createOrReplaceTempView("good_records")
    # the first occurrence of a record key among all the files of the run (by file, then line)
    spark.sql("""
        SELECT r.* FROM (
            SELECT min_by(named_struct('day', day, 'k1', k1, 'k2', k2, 'person', person, 'platform', platform,
                                       'active_seconds', active_seconds, 'bytes', bytes, 'sessions', sessions,
                                       'installs', installs, 'province', province, 'batch_id', batch_id),
                          named_struct('f', file_index, 'l', line)) AS r
            FROM good_records GROUP BY day, k1, k2)
    """).createOrReplaceTempView("unique_records")
    records = table_name(lake, "usage_records")
    quoted = source.replace("'", "''")
    merge = f"""
        MERGE INTO {records} t
        USING (SELECT '{quoted}' AS source, * FROM unique_records) s
        ON t.source = '{quoted}' AND t.day = s.day AND t.k1 = s.k1 AND t.k2 = s.k2
        WHEN MATCHED AND s.batch_id IS NULL THEN UPDATE SET t.batch_id = s.batch_id
        WHEN NOT MATCHED THEN INSERT (source, day, k1, k2, person, platform, active_seconds, bytes, sessions,
                                      installs, province, batch_id)
             VALUES (s.source, s.day, s.k1, s.k2, s.person, s.platform, s.active_seconds, s.bytes, s.sessions,
                     s.installs, s.province, s.batch_id)
    """
    # (the matched clause never applies: it makes the merge a row-level operation, which Iceberg validates
    # against concurrent commits; an insert-only merge would be a plain append, never checked)
    for attempt in range(1, MERGE_ATTEMPTS + 1):
        report.merge_attempts = attempt
        try:
            spark.sql(merge)
            break
        except Exception as exc:
            if attempt == MERGE_ATTEMPTS or not is_conflict(exc):
                raise
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
    report.seconds["merge"] = time.monotonic() - started - sum(report.seconds.values())

    step("cách ly dòng lỗi")
    quarantine = checked.where("kind = 'quarantine'")
    quarantine.createOrReplaceTempView("quarantine_rows")
    if any(summary.get("rejected") for _, summary in summaries.values()):  # a file's quarantine rows, counted
        spark.sql(f"""
            MERGE INTO {table_name(lake, "quarantine")} t
            USING (SELECT batch_id, '{quoted}' AS source, 'usage' AS kind, file, line, record, problems,
                          fingerprint, current_timestamp() AS created_at
                   FROM (SELECT *, row_number() OVER (PARTITION BY fingerprint ORDER BY file_index, line) AS n
                         FROM quarantine_rows) WHERE n = 1) s
            ON t.source = s.source AND t.kind = s.kind AND t.fingerprint = s.fingerprint
            WHEN NOT MATCHED THEN INSERT *
        """)

    step("cập nhật người-ngày")
    batch_ids = [b for b, _ in summaries.values()]
    days = [r[0] for r in good.select("day").distinct().collect()]
    stored_days: dict[tuple[str, str], int] = {}  # (batch, day) -> records stored
    if days and batch_ids:
        day_list = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
        ids = ", ".join(f"'{b}'" for b in batch_ids)
        stored_days = {(r[0], r[1].isoformat()): int(r[2]) for r in spark.sql(
            f"SELECT batch_id, day, count(*) FROM {records} WHERE source = '{quoted}' AND day IN ({day_list}) "
            f"AND batch_id IN ({ids}) GROUP BY batch_id, day").collect()}
    for stale_source, stale in stale_days(spark, lake, [source]).items():
        rebuild_days(spark, lake, stale_source, stale)
        report.days_rebuilt += len(stale)
        report.person_day_snapshot = current_snapshot(spark, table_name(lake, "person_day"))
    report.seconds["person_day"] = time.monotonic() - started - sum(report.seconds.values())

    step("cập nhật người-tháng")
    report.person_month = update_person_month(spark, lake, [source])
    report.seconds["person_month"] = time.monotonic() - started - sum(report.seconds.values())

    step("cập nhật tổng hợp tháng")
    weighted = spark.createDataFrame(weights if weights is not None else WEIGHTS_SCHEMA.empty_table())
    report.usage_months = update_usage_month(spark, lake, weighted, weights_stamps or {}, [source])
    report.seconds["usage_month"] = time.monotonic() - started - sum(report.seconds.values())

    step("cập nhật tổng hợp tuần")
    report.usage_weeks = update_usage_week(spark, lake, weighted, weights_stamps or {}, [source])
    report.seconds["usage_week"] = time.monotonic() - started - sum(report.seconds.values())

    step("ghi sổ lô")
    batches, batch_days = ledger(report, inputs, summaries, source, stored_days)
    spark.createDataFrame(batches).writeTo(table_name(lake, "batches")).append()
    if batch_days.num_rows:
        spark.createDataFrame(batch_days).writeTo(table_name(lake, "batch_days")).append()
    checked.unpersist()
    report.seconds["ledger"] = time.monotonic() - started - sum(report.seconds.values())
    return report
