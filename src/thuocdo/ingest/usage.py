"""Ingest one file of usage records as one atomic batch.

Steps: read → validate (all problems of every row) → pseudonymise (keyed hash of user_id) → key each record
(record_id, or the row's content) → drop duplicates (within the file and against the stored keys of the same
days) → merge into one row per (person, platform, day) → append them to the touched day partitions (rewriting
only the days' smaller files) under new names → list the new files, unlist the rewritten ones, record the batch,
its quarantined rows and the months whose rollups must be brought up to date, all in one transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from thuocdo.catalog import Catalog
from thuocdo.ingest import quarantine
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.ledger import commit_batch
from thuocdo.ingest.person_days import files_to_rewrite, stage_person_days
from thuocdo.ingest.pseudonymise import person_key_params, person_key_sql
from thuocdo.ingest.readers import InputError, RawInput, read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.validate import (
    FIRST_UTC,
    INTEGER_FIELDS,
    LAST_UTC,
    pretype_integers,
    pretype_persons,
    pretype_times,
    stage_usage,
)
from thuocdo.store import Store
from thuocdo.store import sources as registry
from thuocdo.store.lake import discard

#: the key of a record within its source: its record_id, or else its parsed content (keyed with the secret)
RECORD_KEY_SQL = ("CASE WHEN record_id IS NOT NULL THEN $secret || chr(31) || 'i' || record_id ELSE $secret || "
                  "chr(31) || concat_ws(chr(31), 'c', person, platform_id, epoch_us(ts_utc), active_seconds_n, "
                  "bytes_n, sessions_n, installs_n, coalesce(province_code, '')) END")
#: the good rows of `typed_ok`, keyed (k1, k2 = the two halves of the record key's md5); parameter $secret
GOOD_ROWS_SQL = f"""
    SELECT person, platform_id AS platform, day, strftime(day, '%Y-%m') AS month, active_seconds_n, bytes_n,
           sessions_n, installs_n, province_code, CAST(h >> 64 AS UBIGINT) AS k1,
           CAST(h & 18446744073709551615 AS UBIGINT) AS k2, _line
    FROM (SELECT *, md5_number({RECORD_KEY_SQL}) AS h FROM typed_ok WHERE ok)
"""


@dataclass(frozen=True)
class ReadFile:
    """A usage file read (no database needed: a workflow may read the next file while one is being stored)."""

    raw: RawInput
    sha256: str


def read_usage_file(path: Path) -> ReadFile:
    """Read a usage file, its integers and plain times typed already (:func:`check_usage` would type them: done
    here, in the thread that reads ahead, it overlaps the storing of the file before)."""
    raw = read_input(path, USAGE)
    return ReadFile(_pretyped(raw), file_sha256(path))


def _pretyped(raw: RawInput) -> RawInput:
    """The input with its integer columns and plain times typed by Arrow (not NDJSON's: typed by its reader)."""
    if raw.format == "ndjson":
        return raw
    return dataclasses.replace(raw, table=pretype_times(pretype_integers(raw.table, INTEGER_FIELDS)))


def ingest_usage_file(store: Store, path: Path, source: str, catalog: Catalog,
                      read: ReadFile | None = None) -> BatchResult:
    """Ingest a usage file, read here or already (`read`, from :func:`read_usage_file` of the same path)."""
    read = read or read_usage_file(path)
    return ingest_usage(store, read.raw, source, catalog, file_sha256=read.sha256)


def ingest_usage(store: Store, raw: RawInput, source: str, catalog: Catalog, *, file_sha256: str | None = None,
                 kind: str = "usage", resolves: list[int] | None = None) -> BatchResult:
    """Ingest a read file; `resolves` lists quarantine entries this batch supersedes (a repair).

    Records of the source waiting in the inbox must have been merged into the lake first
    (:func:`thuocdo.ingest.inbox.flush_inbox`), so that this batch is checked against them."""
    batch_id = uuid.uuid4().hex
    try:
        return _ingest(store, raw, source, catalog, batch_id, file_sha256, kind, resolves or [])
    except BaseException:
        discard(store, batch_id)  # staged files of a failed batch are never published by a later one
        raise
    finally:  # the batch's new rows name the persons it touched (ledger.mark_dirty_persons): never a later one's
        with contextlib.suppress(duckdb.Error):
            store.con.execute("DROP TABLE IF EXISTS fresh")
        # and what the file's checks left (its typed rows, ids, quarantine rows) holds no memory after it
        with contextlib.suppress(duckdb.Error):
            store.con.execute("DROP VIEW IF EXISTS rejected_rows; DROP VIEW IF EXISTS typed_ok; "
                              "DROP TABLE IF EXISTS typed; DROP TABLE IF EXISTS persons; DROP TABLE IF EXISTS good; "
                              "DROP TABLE IF EXISTS unique_good; DROP TABLE IF EXISTS q_usage; "
                              "DROP TABLE IF EXISTS q_batch")


def _ingest(store: Store, raw: RawInput, source: str, catalog: Catalog, batch_id: str, file_sha256: str | None,
            kind: str, resolves: list[int]) -> BatchResult:
    checked = check_usage(store.con, raw, source, store.secret, catalog, batch_id, kind,
                          key_domain=registry.key_domain(store, source))
    stored, duplicates, stored_days = _store_good_rows(store, source, batch_id)
    duplicates += checked.in_file_duplicates
    # every row is accounted for, or nothing is stored
    if stored + duplicates + checked.rejected - len(raw.rejections) != checked.rows:
        raise RuntimeError(f"{raw.name}: {checked.rows} rows read but {stored} stored, {duplicates} duplicates and "
                           f"{checked.rejected - len(raw.rejections)} rejected")
    result = BatchResult(raw.name, source, kind, batch_id, rows_read=checked.rows + len(raw.rejections),
                         stored=stored, duplicates=duplicates, rejected=checked.rejected)
    days = [(day, good, stored_days.get(day, 0) if day else 0, bad) for day, (good, bad) in checked.days.items()]
    commit_batch(store, result, file_sha256=file_sha256, resolves=resolves, days=days)
    return result


@dataclass(frozen=True)
class CheckedUsage:
    """What the rules made of a read file: `rows` data rows (the reader's rejections not included), `rejected`
    quarantine rows (those included), `good` keyed good rows of which `in_file_duplicates` repeat an earlier line;
    `days`: per local day of activity, its good rows and its rejected rows (None: rejected rows without a readable
    time, and the lines that could not be read)."""

    rows: int
    rejected: int
    good: int
    in_file_duplicates: int
    days: dict[dt.date | None, tuple[int, int]]


def check_usage(con: duckdb.DuckDBPyConnection, raw: RawInput, source: str, secret: bytes, catalog: Catalog,
                batch_id: str, kind: str = "usage", *, key_domain: str) -> CheckedUsage:
    """The rules of DESIGN.md for one read file of usage records, run by DuckDB on `con`, written once for every
    engine (Spark runs them in its tasks, :mod:`thuocdo.ingest.spark`). Persons are keyed in the source's
    `key_domain` (:func:`thuocdo.store.sources.key_domain`: its name, or the shared domain). Leaves two temporary
    tables:
    ``unique_good`` (the good rows with their person key, local day, month, typed measures, province code, record
    key k1/k2 and line; the first line of each record key in the file) and ``q_batch`` (the quarantine rows:
    every problem of every rejected line, with file, line and field)."""
    raw = _pretyped(raw)  # a no-op for a file read by read_usage_file
    if raw.format != "ndjson":
        raw = dataclasses.replace(raw, table=pretype_persons(raw.table, secret, key_domain))
    con.register("raw_in", raw.table)
    try:
        stage_usage(con, raw, USAGE, catalog, person_key_sql("user_id"), person_key_params(secret, key_domain))
        n_rows = con.execute("SELECT count(*) FROM typed").fetchall()[0][0]
        if n_rows == 0 and not raw.rejections:
            raise InputError(f"Tệp {raw.name}: không có dòng dữ liệu nào (chỉ có tiêu đề hoặc dòng trống).")
        rejected = _quarantine_bad_rows(con, raw, source, batch_id, kind)
        con.execute(f"CREATE OR REPLACE TEMP TABLE good AS {GOOD_ROWS_SQL}", {"secret": secret.hex()})
    finally:
        con.unregister("raw_in")
    n_good, n_keys = con.execute("SELECT count(*), count(DISTINCT (k1, k2)) FROM good").fetchall()[0]
    days = day_counts(con, len(raw.rejections), typed_rejected=rejected > len(raw.rejections))
    if n_keys == n_good:  # the usual case: no duplicate inside the file
        con.execute("DROP TABLE IF EXISTS unique_good; ALTER TABLE good RENAME TO unique_good")
    else:  # the first occurrence in the file wins
        con.execute("CREATE OR REPLACE TEMP TABLE unique_good AS SELECT * FROM good "
                    "QUALIFY row_number() OVER (PARTITION BY k1, k2 ORDER BY _line) = 1; DROP TABLE good")
    return CheckedUsage(int(n_rows), rejected, int(n_good), int(n_good - n_keys), days)


def day_counts(con: duckdb.DuckDBPyConnection, unreadable: int, *,
               typed_rejected: bool = True) -> dict[dt.date | None, tuple[int, int]]:
    """Per local day: (good rows, rejected rows) of the input checked on `con` (the table ``good``, the bad rows of
    ``typed_ok`` unless `typed_rejected` is false: there are none); the `unreadable` lines (the reader's
    rejections) have no day (None), nor have bad rows whose time could not be read."""
    bad_rows = (f"UNION ALL SELECT CASE WHEN ts_utc >= {FIRST_UTC} AND ts_utc < {LAST_UTC} THEN day END, 0, 1 "
                "FROM typed_ok WHERE NOT ok") if typed_rejected else ""
    rows = con.execute(f"""
        SELECT day, sum(good)::BIGINT, sum(bad)::BIGINT FROM (
            SELECT day, 1 AS good, 0 AS bad FROM good {bad_rows})
        GROUP BY day""").fetchall()
    counts: dict[dt.date | None, tuple[int, int]] = {day: (int(good), int(bad)) for day, good, bad in rows}
    if unreadable:
        good, bad = counts.get(None, (0, 0))
        counts[None] = (good, bad + unreadable)
    return counts


def _quarantine_bad_rows(con: duckdb.DuckDBPyConnection, raw: RawInput, source: str, batch_id: str,
                         kind: str) -> int:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE q_usage AS
        SELECT '{batch_id}' AS batch_id, $source AS source, '{kind}' AS kind, $file AS file, _line AS line,
               to_json({{'record_id': record_id, 'user_key': CAST(person AS VARCHAR), 'platform': platform,
                        'time': "time", 'active_seconds': active_seconds, 'bytes': bytes, 'sessions': sessions,
                        'installs': installs, 'province': province}})::VARCHAR AS record,
               to_json(problems)::VARCHAR AS problems
        FROM rejected_rows
    """, {"source": source, "file": raw.name})
    con.register("q_rejections", quarantine.rejection_rows(raw.rejections, batch_id=batch_id, source=source,
                                                           kind=kind, file=raw.name))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE q_batch AS
        SELECT *, {quarantine.fingerprint_sql()} AS fingerprint FROM q_usage
        UNION ALL BY NAME SELECT * FROM q_rejections
    """)
    con.unregister("q_rejections")
    return int(con.execute("SELECT count(*) FROM q_batch").fetchall()[0][0])


def _store_good_rows(store: Store, source: str, batch_id: str) -> tuple[int, int, dict[dt.date, int]]:
    """Stage the rows of `unique_good` not stored yet as new partition files; return (stored, duplicates, the
    rows stored per day).

    The rows are checked against every stored key of the days they touch, then appended to those days as a merge
    of the inbox is (:func:`thuocdo.ingest.person_days.files_to_rewrite`: only the day's files no larger than the
    new rows are rewritten with them), so that a small late file costs what its own rows cost."""
    con = store.con
    con.execute("DROP TABLE IF EXISTS fresh; ALTER TABLE unique_good RENAME TO fresh")
    n_good = con.execute("SELECT count(*) FROM fresh").fetchall()[0][0]
    days = [r[0] for r in con.execute("SELECT DISTINCT day FROM fresh").fetchall()]
    key_files = store.files("record_keys", source=source, days=days) if days else []
    if key_files:
        con.execute("DELETE FROM fresh USING read_parquet($files) k "
                    "WHERE fresh.day = k.day AND fresh.k1 = k.k1 AND fresh.k2 = k.k2", {"files": key_files})
    new_rows = dict(con.execute("SELECT day, count(*) FROM fresh GROUP BY day").fetchall())
    n_fresh = sum(new_rows.values())
    if n_fresh:
        stage_person_days(store, source, batch_id, key_files=files_to_rewrite(store, "record_keys", source, new_rows),
                          day_files=files_to_rewrite(store, "person_day", source, new_rows))
    return n_fresh, n_good - n_fresh, new_rows


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex (the ledger's identity of a delivered file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
