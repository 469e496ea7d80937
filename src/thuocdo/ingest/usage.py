"""Ingest one file of usage records as one atomic batch.

Steps: read → validate (all problems of every row) → pseudonymise (keyed hash of user_id) → key each record
(record_id, or the row's content) → drop duplicates (within the file and against the stored keys of the same
days) → merge into one row per (person, platform, day) → rewrite the touched day partitions under new names →
list the new files, unlist the old ones, record the batch, its quarantined rows and the months whose rollups
must be rebuilt, all in one transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from thuocdo.catalog import Catalog
from thuocdo.ingest import quarantine
from thuocdo.ingest.contracts import MAX_USER_ID, USAGE
from thuocdo.ingest.pseudonymise import hmac_pads, person_key_sql
from thuocdo.ingest.readers import InputError, RawInput, read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.validate import INTEGER_FIELDS, pretype_integers, stage_usage
from thuocdo.store import Store
from thuocdo.metrics.rollups import PERSON_DAY_MERGE
from thuocdo.store.lake import commit_batch, discard, stage_partitions
from thuocdo.store.rollups import PERSON_DAY_COLUMNS

#: the score that picks a person-day's province: the record with most active seconds, then the smallest code
PROVINCE_SCORE = "CASE WHEN province_code IS NOT NULL THEN active_seconds_n * 1000 + (999 - CAST(province_code AS INTEGER)) END"


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


def ingest_usage_file(store: Store, path: Path, source: str, catalog: Catalog) -> BatchResult:
    raw = read_input(path, USAGE)
    return ingest_usage(store, raw, source, catalog, file_sha256=_sha256(path))


def ingest_usage(store: Store, raw: RawInput, source: str, catalog: Catalog, *, file_sha256: str | None = None,
                 kind: str = "usage", resolves: list[int] | None = None) -> BatchResult:
    """Ingest a read file; `resolves` lists quarantine entries this batch supersedes (a repair)."""
    from thuocdo.ingest.inbox import flush_inbox

    flush_inbox(store, source)  # records accepted over HTTP are in the lake before this batch is checked against it
    batch_id = uuid.uuid4().hex
    try:
        return _ingest(store, raw, source, catalog, batch_id, file_sha256, kind, resolves or [])
    except BaseException:
        discard(store, batch_id)  # staged files of a failed batch are never published by a later one
        raise


def _ingest(store: Store, raw: RawInput, source: str, catalog: Catalog, batch_id: str, file_sha256: str | None,
            kind: str, resolves: list[int]) -> BatchResult:
    con = store.con
    table = raw.table if raw.format == "ndjson" else pretype_integers(raw.table, INTEGER_FIELDS)
    con.register("raw_in", table)
    try:
        ipad, opad = hmac_pads(store.secret)
        stage_usage(con, raw, USAGE, catalog, person_key_sql("user_id"), {"ipad": ipad, "opad": opad, "source": source})
        n_rows = con.execute("SELECT count(*) FROM typed").fetchall()[0][0]
        if n_rows == 0 and not raw.rejections:
            raise InputError(f"Tệp {raw.name}: không có dòng dữ liệu nào (chỉ có tiêu đề hoặc dòng trống).")
        rejected = _quarantine_bad_rows(store, raw, source, batch_id, kind)
        stored, duplicates = _store_good_rows(store, source, batch_id)
    finally:
        con.unregister("raw_in")
    if stored + duplicates + rejected - len(raw.rejections) != n_rows:  # every row is accounted for, or nothing is stored
        raise RuntimeError(f"{raw.name}: {n_rows} rows read but {stored} stored, {duplicates} duplicates and "
                           f"{rejected - len(raw.rejections)} rejected")
    result = BatchResult(raw.name, source, kind, batch_id, rows_read=n_rows + len(raw.rejections), stored=stored,
                         duplicates=duplicates, rejected=rejected)
    commit_batch(store, result, file_sha256=file_sha256, resolves=resolves)
    return result


def _quarantine_bad_rows(store: Store, raw: RawInput, source: str, batch_id: str, kind: str) -> int:
    con = store.con
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
    con.execute("""
        CREATE OR REPLACE TEMP TABLE q_batch AS
        SELECT *, md5(record || problems) AS fingerprint FROM q_usage
        UNION ALL BY NAME SELECT * FROM q_rejections
    """)
    con.unregister("q_rejections")
    return con.execute("SELECT count(*) FROM q_batch").fetchall()[0][0]  # type: ignore[index]


def _store_good_rows(store: Store, source: str, batch_id: str) -> tuple[int, int]:
    """Stage the deduplicated good rows as new partition files; return (stored, duplicates)."""
    con = store.con
    con.execute(f"DROP TABLE IF EXISTS fresh; CREATE OR REPLACE TEMP TABLE good AS {GOOD_ROWS_SQL}",
                {"secret": store.secret.hex()})
    n_good, n_keys = con.execute("SELECT count(*), count(DISTINCT (k1, k2)) FROM good").fetchall()[0]
    if n_keys == n_good:  # the usual case: no duplicate inside the file
        con.execute("ALTER TABLE good RENAME TO fresh")
    else:  # the first occurrence in the file wins
        con.execute("CREATE OR REPLACE TEMP TABLE fresh AS SELECT * FROM good "
                    "QUALIFY row_number() OVER (PARTITION BY k1, k2 ORDER BY _line) = 1")
    days = [r[0] for r in con.execute("SELECT DISTINCT day FROM fresh").fetchall()]
    key_files = store.files("record_keys", source=source, days=days) if days else []
    if key_files:
        con.execute("DELETE FROM fresh USING read_parquet($files) k WHERE fresh.day = k.day AND fresh.k1 = k.k1 AND fresh.k2 = k.k2",
                    {"files": key_files})
    n_fresh = con.execute("SELECT count(*) FROM fresh").fetchall()[0][0]  # type: ignore[index]
    if n_fresh:
        stage_person_days(store, source, batch_id, key_files)
    return n_fresh, n_good - n_fresh


def stage_person_days(store: Store, source: str, batch_id: str, key_files: list[str],
                      day_files: list[str] | None = None) -> None:
    """Stage the new rows of the temporary table `fresh` as one person_day file and one record_keys file per
    day they touch, merged with the listed files `day_files` and `key_files`, which they replace. By default
    `day_files` are all the person_day files of the touched days (a file ingestion rewrites them whole); a
    merge of the inbox passes only some, and appends to the days (:func:`thuocdo.ingest.inbox.flush_inbox`)."""
    con = store.con
    if day_files is None:
        days = [r[0] for r in con.execute("SELECT DISTINCT day FROM fresh").fetchall()]
        day_files = store.files("person_day", source=source, days=days)
    new_rows = f"""
        SELECT platform, person, day, month, CAST(sum(active_seconds_n) AS BIGINT) AS active_seconds,
               CAST(sum(bytes_n) AS BIGINT) AS bytes, CAST(sum(sessions_n) AS BIGINT) AS sessions,
               CAST(sum(installs_n) AS BIGINT) AS installs,
               bool_or(sessions_n > 0 OR active_seconds_n > 0) AS active,
               arg_max(province_code, {PROVINCE_SCORE}) AS province,
               max(CASE WHEN province_code IS NOT NULL THEN active_seconds_n END) AS province_seconds
        FROM fresh GROUP BY platform, person, day, month
    """
    merged = new_rows
    if day_files:  # one row per person-day: the new rows collapsed with those of the replaced files
        columns = ", ".join(PERSON_DAY_COLUMNS)
        merged = (f"SELECT {columns} FROM (WITH person_day_parts AS (SELECT NULL AS source, * FROM ({new_rows}) "
                  f"UNION ALL SELECT NULL AS source, {columns} FROM read_parquet($old)) {PERSON_DAY_MERGE})")
    stage_partitions(store, "person_day", source, batch_id, merged, {"old": day_files} if day_files else {},
                     replaces=day_files)
    keys = "SELECT day, month, k1, k2 FROM fresh"
    if key_files:
        keys += " UNION ALL SELECT day, month, k1, k2 FROM read_parquet($old_keys)"
    stage_partitions(store, "record_keys", source, batch_id, keys, {"old_keys": key_files} if key_files else {},
                     replaces=key_files)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
