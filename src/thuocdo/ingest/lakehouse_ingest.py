"""Usage ingestion by the default engine into the lakehouse: the stages of Spark's ingestion
(:mod:`thuocdo.ingest.spark_ingest`), run by DuckDB in this process and committed to the same Iceberg tables
through pyiceberg.

For each file, one after the other (one file in memory at a time):

1. it is checked by :func:`thuocdo.ingest.spark_ingest.check_file`, the very function a Spark task runs (the rules
   of :func:`thuocdo.ingest.usage.check_usage`): the same quarantine rows, user keys and record keys;
2. the exactly-once gate: the first occurrence of each record key in the file is kept; the keys
   ``usage_records`` already holds for the days touched are read at its current snapshot, and the others
   appended by a commit that fails if any commit reached the table since that snapshot (by either engine); it is
   then run again from a fresh read, so a record is stored once whoever delivers it (an earlier file first);
3. its rejected lines not yet in ``quarantine`` (per source and fingerprint) are added, the same way.

Then, once: the rollups of the touched days, persons and months are brought up to date
(:mod:`thuocdo.rollups.lakehouse_duckdb`: a late day costs its day), and the ledger written (one ``batches`` row
per file and its ``batch_days`` rows).

A run killed before a file's commit stored nothing of it; killed after, the same command again finds its records
stored (0 new) and brings the rollups up to date. This is what the HTTP collector and a small late file of a source
held in the lakehouse need: no Spark job, no cluster, the same tables and rules.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.ingest.readers import ahead
from thuocdo.ingest.spark_ingest import (
    WEIGHTS_SCHEMA,
    InputFile,
    SparkIngestReport,
    TaskSettings,
    check_file,
    ledger,
    list_inputs,
    s3_settings,
)
from thuocdo.rollups.lakehouse import retried
from thuocdo.rollups.lakehouse_duckdb import (
    conform,
    days_of,
    load,
    rebuild_days,
    snapshot_id,
    stale_days,
    update_person_month,
    update_usage_month,
    update_usage_week,
)
from thuocdo.store.lakehouse import NAMESPACE, Lakehouse, create_tables, iceberg_catalog, read
from thuocdo.store.sql import literal

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

#: the columns of a stored usage record
RECORD_COLUMNS = ("day", "k1", "k2", "person", "platform", "active_seconds", "bytes", "sessions", "installs",
                  "province", "batch_id")


def ingest_usage_lakehouse(lake: Lakehouse, paths: Sequence[str], source: str, secret: bytes, *, key_domain: str,
                           weights: pa.Table | None = None, weights_stamps: dict[tuple[str, str], str] | None = None,
                           on_step: Callable[[str], None] | None = None) -> SparkIngestReport:
    """Ingest usage files (local, or ``s3://`` on a cluster's lakehouse) into the lakehouse's tables, as
    :func:`thuocdo.ingest.spark_ingest.ingest_usage_spark` does (the same arguments, the same report), with
    DuckDB in this process (see the module's doc). The files are checked and their records committed one after
    the other (one file in memory at a time; an earlier file's record is the one kept), then the rollups are
    brought up to date once."""
    def step(name: str) -> None:
        if on_step:
            on_step(name)

    def lap(name: str) -> None:  # the time since the last lap, added to the step's (files take turns)
        elapsed = time.monotonic() - started - sum(report.seconds.values())
        report.seconds[name] = report.seconds.get(name, 0.0) + elapsed

    report = SparkIngestReport()
    started = time.monotonic()
    create_tables(lake)
    s3 = None if lake.local_folder else s3_settings(lake)
    inputs = list_inputs(paths, s3)
    settings = TaskSettings(source, secret, s3, uuid.uuid4().hex, key_domain)
    catalog = iceberg_catalog(lake)
    summaries: dict[int, tuple[str, dict[str, Any]]] = {}
    stored_days: dict[tuple[str, str], int] = {}
    for item, check in _checked_ahead(inputs, settings):
        step(f"kiểm tra và ghi {item.name}")
        checked = check.result()
        rows = checked.filter(pc.equal(checked["kind"], "summary"))
        batch_id, summary = rows["batch_id"][0].as_py(), json.loads(rows["summary"][0].as_py())
        summaries[item.index] = (batch_id, summary)
        lap("check")
        if "error" not in summary:
            stored_days |= merge_records(catalog, checked, source, report)
            lap("merge")
            if summary.get("rejected"):  # a file's quarantine rows, counted
                _quarantine(catalog, checked, source)
            lap("quarantine")

    update_rollups(lake, source, report, weights, weights_stamps, step=step, lap=lap)

    step("ghi sổ lô")
    batches, batch_days = ledger(report, inputs, summaries, source, stored_days)
    for name, rows in (("batches", batches), ("batch_days", batch_days)):
        if rows.num_rows:
            table = catalog.load_table(f"{NAMESPACE}.{name}")
            table.append(conform(rows, table))
    lap("ledger")
    return report


def update_rollups(lake: Lakehouse, source: str, report: SparkIngestReport, weights: pa.Table | None = None,
                   weights_stamps: dict[tuple[str, str], str] | None = None, *,
                   step: Callable[[str], None] = lambda _: None, lap: Callable[[str], None] = lambda _: None) -> None:
    """Bring the source's rollups up to date with its records: its stale days' person-days, then the person-months
    of the persons whose person-days changed, then its usage_month rows and its changed weeks' usage_week rows (with
    the source's weights); what was done is added to `report`. `step` is told each step as it starts, `lap` each
    step's name once it is done."""
    catalog = iceberg_catalog(lake)
    step("cập nhật người-ngày")
    for stale_source, stale in stale_days(lake, [source]).items():
        rebuild_days(lake, stale_source, stale)
        report.days_rebuilt += len(stale)
        report.person_day_snapshot = snapshot_id(catalog.load_table(f"{NAMESPACE}.person_day"))
    lap("person_day")

    step("cập nhật người-tháng")
    report.person_month = update_person_month(lake, [source])
    lap("person_month")

    step("cập nhật tổng hợp tháng")
    weights = weights if weights is not None else WEIGHTS_SCHEMA.empty_table()
    report.usage_months = update_usage_month(lake, weights, weights_stamps or {}, [source])
    lap("usage_month")

    step("cập nhật tổng hợp tuần")
    report.usage_weeks = update_usage_week(lake, weights, weights_stamps or {}, [source])
    lap("usage_week")


def merge_records(catalog: Catalog, checked: pa.Table, source: str,
                  report: SparkIngestReport) -> dict[tuple[str, str], int]:
    """A file's good records not yet stored, appended to ``usage_records`` by a commit that fails if another
    reached the table since its keys were read (then read again); the records stored per (batch id, ISO day)."""
    con = duckdb.connect()
    con.register("checked", checked)
    unique = con.sql(f"""
        SELECT {', '.join(RECORD_COLUMNS)} FROM checked WHERE kind = 'good'
        QUALIFY row_number() OVER (PARTITION BY day, k1, k2 ORDER BY line) = 1""").to_arrow_table()
    con.register("unique_records", unique)
    days = [d for (d,) in con.sql("SELECT DISTINCT day FROM unique_records").fetchall()]

    def merge() -> pa.Table:
        report.merge_attempts += 1
        records = load(catalog, "usage_records")
        if snapshot_id(records) is not None and days:
            held = read(records, ("day", "k1", "k2"), days_of(source, days))
        else:
            held = pa.table({"day": pa.array([], pa.date32()), "k1": pa.array([], pa.int64()),
                             "k2": pa.array([], pa.int64())})
        con.register("held_keys", held)
        new = con.sql("SELECT $source AS source, u.* FROM unique_records u ANTI JOIN held_keys h "
                      "ON u.day = h.day AND u.k1 = h.k1 AND u.k2 = h.k2", params={"source": source}).to_arrow_table()
        if new.num_rows:
            records.append(conform(new, records))
        return new

    con.register("stored_records", retried(merge))
    stored = {(b, d.isoformat()): int(n) for b, d, n in con.sql(
        "SELECT batch_id, day, count(*) FROM stored_records GROUP BY ALL").fetchall()}
    con.close()
    return stored


def _quarantine(catalog: Catalog, checked: pa.Table, source: str) -> None:
    """A file's rejected lines not yet in ``quarantine`` for the source (by fingerprint), appended the same way."""
    con = duckdb.connect()
    con.register("checked", checked)

    def attempt() -> None:
        table = load(catalog, "quarantine")
        held = (table.scan(row_filter=f"source = {literal(source)} AND kind = 'usage'",
                           selected_fields=("fingerprint",)).to_arrow()
                if snapshot_id(table) is not None else pa.table({"fingerprint": pa.array([], pa.string())}))
        con.register("held_fingerprints", held)
        rows = con.sql("""
            SELECT batch_id, $source AS source, 'usage' AS kind, file, line, record, problems, fingerprint,
                   current_timestamp AS created_at
            FROM checked WHERE kind = 'quarantine'
              AND fingerprint NOT IN (SELECT fingerprint FROM held_fingerprints)
            QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY line) = 1""",
                       params={"source": source}).to_arrow_table()
        if rows.num_rows:
            table.append(conform(rows, table))

    retried(attempt)
    con.close()


def _checked_ahead(inputs: Sequence[InputFile], settings: TaskSettings) -> Iterator[tuple[InputFile, Future[pa.Table]]]:
    """Each file with its check (:func:`check_file`), the next file's run in a thread while the current one is
    committed (DuckDB works outside the interpreter's lock): at most two files' rows in memory."""
    def check(item: InputFile) -> pa.Table:
        with tempfile.TemporaryDirectory(prefix="thuocdo-lakehouse-") as workdir:
            return check_file(item, settings, Path(workdir))

    return ahead(inputs, check, "thuocdo-check")
