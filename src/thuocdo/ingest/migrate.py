"""Moving a source's usage data from the embedded store into a lakehouse (``thuocdo migrate``), so that an existing
store keeps working when its home moves to Iceberg tables.

The embedded store keeps person-days and record keys, not the records themselves. A lakehouse's ``usage_records``
is the truth its person-days are rebuilt from, and the gate that stores a record once. A source moves there as:

* **its person-days, each as at most two records** of its day (:data:`SPLIT_SQL`): one with the person-day's
  province, the seconds of its province (``province_seconds``) and its other measures, and one without a province
  with the rest of its seconds. Rebuilt by :data:`thuocdo.rollups.definitions.PERSON_DAY_FROM_RECORDS`, they give
  the person-day back, row for row: the same sums, activity, province and province seconds. A late record of that
  day then meets them as it met the person-day in the embedded store (:data:`PERSON_DAY_MERGE` ranks the parts of a
  day the way the rebuild ranks records). Their record keys are made from the person-day (``md5`` of a prefix no
  record key has, the platform, the person, the day and the part), so a second run stores nothing new.
* **its record keys** as key-only rows (:data:`thuocdo.store.lakehouse.RECORD_ROWS`): a file ingested before the
  move and sent again afterwards is still found stored, by either engine.
* **its ledger** (``batches``, ``batch_days``): the quality monitor reads a lakehouse source's deliveries there.

Days are moved in groups of about :data:`GROUP_ROWS` rows, each by the exactly-once gate of the lakehouse's own
ingestion (:func:`thuocdo.ingest.lakehouse_ingest.merge_records`): a group already there stores nothing. A run
killed at any point is run again from the start and ends in the same tables. The store's rows are removed only
by the caller, after it has checked that the lakehouse's ``usage_month`` equals the store's
(:mod:`thuocdo.workflows.migrate`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.ingest.lakehouse_ingest import merge_records
from thuocdo.ingest.spark_ingest import BATCH_DAYS_SCHEMA, BATCHES_SCHEMA, SparkIngestReport
from thuocdo.rollups.definitions import PERSON_DAY_MERGE
from thuocdo.rollups.lakehouse import retried
from thuocdo.rollups.lakehouse_duckdb import conform, load, snapshot_id
from thuocdo.store import Store
from thuocdo.store.sql import literal

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

#: at most about this many rows (person-days and record keys) are moved in one commit
GROUP_ROWS = 1_000_000

#: what a moved person-day's record keys are made from begins with this (a record's key begins with the secret)
MIGRATED = "thuocdo-migrated"

#: a record key (UBIGINT halves of an md5) as the lakehouse stores it (BIGINT, shifted, as Spark's ingestion does)
_SIGNED = "CAST(CAST({} AS HUGEINT) - 9223372036854775808 AS BIGINT)"

#: the person-days of ``person_day_parts`` (one source's stored rows) as records (see the module's doc): kind,
#: line and the record columns of :data:`thuocdo.ingest.lakehouse_ingest.RECORD_COLUMNS`; parameter $batch
SPLIT_SQL = f"""
WITH pd AS ({PERSON_DAY_MERGE}),
parts AS (
    SELECT platform, person, day, province, coalesce(province_seconds, active_seconds) AS active_seconds, bytes,
           sessions, installs, 1 AS part
    FROM pd WHERE province IS NOT NULL
    UNION ALL
    SELECT platform, person, day, NULL, active_seconds - province_seconds, 0, 0, 0, 2
    FROM pd WHERE province IS NOT NULL AND active_seconds > province_seconds
    UNION ALL
    SELECT platform, person, day, NULL, active_seconds, bytes, sessions, installs, 1
    FROM pd WHERE province IS NULL
), keyed AS (
    SELECT *, md5_number(concat_ws(chr(31), '{MIGRATED}', platform, person, day, part)) AS h FROM parts
)
SELECT 'good' AS kind, row_number() OVER () AS line, day, {_SIGNED.format("h >> 64")} AS k1,
       {_SIGNED.format("h & 18446744073709551615")} AS k2, person, platform, active_seconds, bytes, sessions,
       installs, province, $batch AS batch_id
FROM keyed
"""

#: the record keys of ``record_keys_parts`` as key-only rows (platform empty, no measures); parameter $batch
KEY_ROWS_SQL = f"""
SELECT 'good' AS kind, -row_number() OVER () AS line, day, {_SIGNED.format("k1")} AS k1, {_SIGNED.format("k2")} AS k2,
       0::BIGINT AS person, '' AS platform, 0::BIGINT AS active_seconds, 0::BIGINT AS bytes, 0::BIGINT AS sessions,
       0::BIGINT AS installs, NULL::VARCHAR AS province, $batch AS batch_id
FROM record_keys_parts
"""


@dataclass
class MovedSource:
    """What moving a source found in the store, and what it stored (0 when a run finds it all there already)."""

    source: str
    days: int = 0
    person_days: int = 0  # the records its person-days were made into
    keys: int = 0  # its record keys
    stored: int = 0  # of those rows, how many were stored now
    batches: int = 0  # ledger rows stored now
    report: SparkIngestReport | None = None  # the rollups' update


def day_groups(store: Store, source: str) -> list[list[dt.date]]:
    """The source's stored days, in groups of consecutive days of about :data:`GROUP_ROWS` rows."""
    rows = store.con.execute("SELECT day, sum(rows) FROM lake_files WHERE source = ? AND day IS NOT NULL AND "
                             "dataset IN ('person_day', 'record_keys') GROUP BY day ORDER BY day", [source]).fetchall()
    groups: list[list[dt.date]] = [[]]
    held = 0
    for day, n in rows:
        if groups[-1] and held + int(n) > GROUP_ROWS:
            groups.append([])
            held = 0
        groups[-1].append(day)
        held += int(n)
    return [g for g in groups if g]


def moved_rows(store: Store, source: str, days: Sequence[dt.date]) -> pa.Table:
    """The rows that stand for the source's stored `days` in ``usage_records``: its person-days as records and its
    record keys as key-only rows, shaped as a checked file's good rows (``merge_records`` reads them)."""
    con = store.con
    batch = f"{MIGRATED}:{source}"
    person_days = store.files("person_day", source=source, days=list(days))
    keys = store.files("record_keys", source=source, days=list(days))
    parts = []
    if person_days:
        con.execute(f"CREATE OR REPLACE TEMP VIEW person_day_parts AS SELECT {literal(source)} AS source, platform, "
                    "person, day, month, active_seconds, bytes, sessions, installs, active, province, province_seconds "
                    f"FROM read_parquet({literal(person_days)}, union_by_name = true)")
        parts.append(con.sql(SPLIT_SQL, params={"batch": batch}).to_arrow_table())
    if keys:
        con.execute(f"CREATE OR REPLACE TEMP VIEW record_keys_parts AS SELECT day, k1, k2 "
                    f"FROM read_parquet({literal(keys)}, union_by_name = true)")
        parts.append(con.sql(KEY_ROWS_SQL, params={"batch": batch}).to_arrow_table())
    con.execute("DROP VIEW IF EXISTS person_day_parts; DROP VIEW IF EXISTS record_keys_parts")
    return pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})


def move_days(catalog: Catalog, store: Store, source: str, moved: MovedSource,
              on_group: Callable[[int, int], None] | None = None) -> None:
    """Store the source's days in the lakehouse's ``usage_records``, a group of days per commit (see the module's
    doc); `on_group` is told (groups done, groups) as each is committed."""
    groups = day_groups(store, source)
    report = SparkIngestReport()
    for n, days in enumerate(groups, 1):
        rows = moved_rows(store, source, days)
        if rows.num_rows:
            key_rows = int(pc.sum(pc.equal(rows["platform"], "")).as_py() or 0)
            moved.keys += key_rows
            moved.person_days += rows.num_rows - key_rows
            moved.stored += sum(merge_records(catalog, rows, source, report).values())
        moved.days += len(days)
        if on_group:
            on_group(n, len(groups))


def move_ledger(catalog: Catalog, store: Store, source: str) -> int:
    """Add the source's usage batches and their rows per day that ``batches`` does not hold yet; how many."""
    given = store.con.sql("SELECT batch_id, source, kind, file, file_sha256, rows_read, stored, duplicates, rejected, "
                          "NULL::VARCHAR AS error, committed_at FROM batches WHERE source = $source AND kind = 'usage' "
                          "ORDER BY committed_at, batch_id", params={"source": source}).to_arrow_table()
    if not given.num_rows:
        return 0
    days = store.con.sql("SELECT batch_id, source, day, good, stored, rejected FROM batch_days WHERE source = $source "
                         "AND batch_id IN (SELECT batch_id FROM batches WHERE source = $source AND kind = 'usage')",
                         params={"source": source}).to_arrow_table()

    added = _add_new(catalog, "batches", given.cast(BATCHES_SCHEMA), source)
    _add_new(catalog, "batch_days", days.cast(BATCH_DAYS_SCHEMA), source)  # each table by itself: a run killed
    return added  # between the two commits adds the days the next time


def _add_new(catalog: Catalog, name: str, rows: pa.Table, source: str) -> int:
    """Append the rows of batches that the table does not hold yet for the source (one commit, retried after a
    concurrent one); how many rows were appended."""
    def attempt() -> int:
        table = load(catalog, name)
        held: set[str] = set()
        if snapshot_id(table) is not None:
            held = set(table.scan(row_filter=f"source = {literal(source)}",
                                  selected_fields=("batch_id",)).to_arrow()["batch_id"].to_pylist())
        new = rows.filter(pa.array([b not in held for b in rows["batch_id"].to_pylist()], pa.bool_()))
        if new.num_rows:
            table.append(conform(new, table))
        return int(new.num_rows)

    return retried(attempt)


__all__ = ["GROUP_ROWS", "MIGRATED", "MovedSource", "day_groups", "move_days", "move_ledger", "moved_rows"]
