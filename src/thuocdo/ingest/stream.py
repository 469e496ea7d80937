"""Usage records that arrive over HTTP in small batches: accept them at once, merge them into the lake later.

Rewriting a day's partition for every batch of a thousand records would cost more than the records, so a
batch posted to the API goes through the same validation, pseudonymisation and keying as a file, is checked
against the stored keys (the lake's and the inbox's) and lands in the ``inbox`` table in one transaction with
its quarantined rows, its ledger entry and its audit entry. The answer names each record's fate. The inbox is
merged into the day partitions (:func:`flush_inbox`) in the background and before anything reads records:
the metric rollups and a file ingestion of the same source flush it first, so no reader misses a record
and no record is stored twice.

Several batches of one source can be accepted together (:func:`accept_usage` takes a list): the per-statement
cost is paid once per group instead of once per batch, while each batch keeps its own id, ledger entry and
per-record answer.
"""

from __future__ import annotations

import gzip
import uuid
import zlib
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.catalog import Catalog
from thuocdo.ingest import quarantine
from thuocdo.ingest.contracts import MAX_LINE_BYTES, USAGE
from thuocdo.ingest.pseudonymise import hmac_pads, person_key_sql
from thuocdo.ingest.readers import LINE, InputError, RawInput, Rejection
from thuocdo.ingest.usage import GOOD_ROWS_SQL, stage_person_days
from thuocdo.ingest.validate import INTEGER_FIELDS, pretype_integers, stage_usage
from thuocdo.store import Store
from thuocdo.store.lake import discard, finish, list_files, publish

#: the most records one request may carry, and the most bytes its body may have once decompressed
MAX_RECORDS = 100_000
MAX_BODY_BYTES = 64 << 20
#: inside a group, a record's line is its batch's position × LINE_BASE + its own number in the batch
LINE_BASE = 1_000_000


class BodyTooLarge(InputError):
    """The request is over the documented limits; nothing of it is stored."""


@dataclass(frozen=True)
class Writer:
    """Who writes: recorded in the audit log."""

    key_id: str | None
    role: str
    client: str | None = None


@dataclass
class Submission:
    """One posted batch of usage records (a :class:`RawInput` made by :func:`parse_records`)."""

    raw: RawInput
    writer: Writer
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Outcome:
    """What happened to one batch: counts, and for every record its status and (if rejected) problems."""

    batch_id: str
    source: str
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "source": self.source, "received": self.received, "stored": self.stored,
                "duplicates": self.duplicates, "rejected": self.rejected, "records": self.records}


# -- request bodies ----------------------------------------------------------------------------------------------
def parse_records(body: bytes, name: str, *, gzipped: bool = False) -> RawInput:
    """A request body (a JSON array of records, or NDJSON; gzip or not) as a RawInput of text columns.

    A record's number is its position in the array, or its line in NDJSON. Lines of NDJSON that are not
    UTF-8 or are too long are rejected on their own; a body that is not JSON at all raises InputError."""
    if gzipped or body[:2] == b"\x1f\x8b":
        body = _gunzip(body, name)
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"{name}: thân yêu cầu {len(body):,} byte, vượt giới hạn {MAX_BODY_BYTES:,} byte.")
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise InputError(f"{name}: thân yêu cầu rỗng, không có bản ghi nào.")
    if text.startswith(b"["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{name}: thân yêu cầu không phải JSON hợp lệ ({exc}).") from exc
        if not isinstance(items, list):
            raise InputError(f"{name}: thân yêu cầu phải là một mảng JSON các bản ghi hoặc NDJSON.")
        _check_count(len(items), name)
        return records_input(name, items, list(range(1, len(items) + 1)), [])
    items = []
    numbers: list[int] = []
    rejections: list[Rejection] = []
    for number, line in enumerate(text.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        if len(line) > MAX_LINE_BYTES:
            rejections.append(Rejection(number, "*", f"Dòng dài hơn {MAX_LINE_BYTES // 1024} KiB, không thể là một bản ghi hợp lệ."))
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                rejections.append(Rejection(number, "*", "Dòng không phải văn bản UTF-8."))
                continue
            items.append(None)  # not JSON: rejected by validation like any record that is not an object
        numbers.append(number)
    _check_count(len(items) + len(rejections), name)
    return records_input(name, items, numbers, rejections)


def records_input(name: str, items: list[Any], numbers: list[int], rejections: list[Rejection]) -> RawInput:
    """Parsed JSON records as the text columns of the usage contract, as validation expects them.

    A value is kept as the text JSON gives it (strings as they are, other values as JSON text), so that the
    same rules and messages apply as to a file; an item that is not an object is flagged (`_json_ok`). The
    pseudonymous `user_key` of repaired quarantine rows is not accepted from clients."""
    ok = [isinstance(item, dict) for item in items]
    records = [item if good else {} for item, good in zip(items, ok, strict=True)]
    columns: dict[str, pa.Array] = {}
    for f in USAGE.fields:
        if f == "user_key":
            columns[f] = pa.nulls(len(items), pa.string())
            continue
        values = [r.get(f) for r in records]
        columns[f] = _integers(values) if f in INTEGER_FIELDS else None
        if columns[f] is None:
            try:  # the common case: every value a string (or absent)
                columns[f] = pa.array(values, pa.string())
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                columns[f] = pa.array([_text(v) for v in values], pa.string())
    columns["_json_ok"] = pa.array(ok, pa.bool_())
    columns[LINE] = pa.array(numbers, pa.int64())
    return RawInput(name, "records", pa.table(columns), rejections)


def _integers(values: list[Any]) -> pa.Array | None:
    """An int64 column when every value is a JSON integer (or absent), else None (validation judges the text)."""
    if not all(type(v) is int or v is None for v in values):
        return None
    try:
        return pa.array(values, pa.int64())
    except (OverflowError, pa.ArrowInvalid):
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _gunzip(body: bytes, name: str) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise InputError(f"{name}: nội dung gzip hỏng ({exc}).") from exc
    if len(out) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"{name}: thân yêu cầu giải nén vượt giới hạn {MAX_BODY_BYTES:,} byte.")
    if not d.eof:
        raise InputError(f"{name}: nội dung gzip không đầy đủ.")
    return out


def _check_count(n: int, name: str) -> None:
    if n > MAX_RECORDS:
        raise BodyTooLarge(f"{name}: {n:,} bản ghi, vượt giới hạn {MAX_RECORDS:,} bản ghi mỗi yêu cầu.")


def gzip_body(body: bytes) -> bytes:
    """Compress a body (for clients and tests)."""
    return gzip.compress(body, compresslevel=5)


# -- accepting batches ---------------------------------------------------------------------------------------------
def accept_usage(store: Store, catalog: Catalog, source: str, submissions: list[Submission]) -> list[Outcome]:
    """Validate, key and deduplicate batches of one source; put their new records in the inbox, their rejected
    ones in the quarantine, and record each batch in the ledger and the audit log, all in one transaction."""
    if not submissions:
        return []
    con = store.con
    tables = []
    for i, sub in enumerate(submissions):
        t = sub.raw.table
        tables.append(t.set_column(t.column_names.index(LINE), LINE, pc.add(t[LINE], i * LINE_BASE)))
    group = RawInput(f"api:{source}", "records", pretype_integers(pa.concat_tables(tables), INTEGER_FIELDS))
    con.register("raw_in", group.table)
    con.register("req_map", pa.table({
        "req": pa.array(range(len(submissions)), pa.int64()),
        "batch_id": [s.batch_id for s in submissions], "file": [s.raw.name for s in submissions]}))
    try:
        ipad, opad = hmac_pads(store.secret)
        view = stage_usage(con, group, USAGE, catalog, person_key_sql("user_id"),
                           {"ipad": ipad, "opad": opad, "source": source}, rejected_view=False)
        _fresh_candidates(store, source)
        n_bad = con.execute("SELECT count(*) FROM typed_ok WHERE NOT ok").fetchall()[0][0]
        bad = n_bad > 0 or any(s.raw.rejections for s in submissions)
        rejected = ""
        if n_bad:  # the problem lists are worked out only when there is a bad record
            con.execute(view)
            con.execute("CREATE OR REPLACE TEMP TABLE rejected AS SELECT * FROM rejected_rows")
            rejected = f"""UNION ALL
                SELECT r._line // {LINE_BASE}, r._line % {LINE_BASE}, 'rejected', to_json(r.problems)::VARCHAR
                FROM rejected r"""
        if bad:
            _quarantine_rows(con, source, submissions, with_rows=n_bad > 0)
        status = con.execute(f"""
            SELECT _line // {LINE_BASE}, _line % {LINE_BASE}, 'stored', NULL FROM cand
            {rejected}
            UNION ALL
            SELECT _line // {LINE_BASE}, _line % {LINE_BASE}, 'duplicate', NULL FROM good ANTI JOIN cand USING (_line)
        """).fetchall()
        outcomes = _outcomes(source, submissions, status)
        con.register("ledger", pa.table({
            "batch_id": [o.batch_id for o in outcomes], "file": [s.raw.name for s in submissions],
            "received": pa.array([o.received for o in outcomes], pa.int64()),
            "stored": pa.array([o.stored for o in outcomes], pa.int64()),
            "duplicates": pa.array([o.duplicates for o in outcomes], pa.int64()),
            "rejected": pa.array([o.rejected for o in outcomes], pa.int64()),
            "key_id": [s.writer.key_id for s in submissions], "role": [s.writer.role for s in submissions],
            "client": [s.writer.client for s in submissions]}))
        with store.transaction():
            con.execute(f"""
                INSERT INTO inbox (source, batch_id, person, platform, day, month, active_seconds_n, bytes_n,
                                   sessions_n, installs_n, province_code, k1, k2)
                SELECT $source, m.batch_id, c.person, c.platform, c.day, c.month, c.active_seconds_n, c.bytes_n,
                       c.sessions_n, c.installs_n, c.province_code, c.k1, c.k2
                FROM cand c JOIN req_map m ON m.req = c._line // {LINE_BASE} ORDER BY c._line
            """, {"source": source})
            if bad:
                quarantine.insert(con, "SELECT * FROM q_batch")
            con.execute("INSERT INTO batches SELECT batch_id, $source, 'usage', file, NULL, now()::TIMESTAMP, received, "
                        "stored, duplicates, rejected FROM ledger", {"source": source})
            con.execute('INSERT INTO audit_log ("at", key_id, role, action, target, batch_id, received, stored, '
                        "duplicates, rejected, client) SELECT now()::TIMESTAMP, key_id, role, 'usage', $source, "
                        "batch_id, received, stored, duplicates, rejected, client FROM ledger", {"source": source})
    finally:
        for name in ("raw_in", "req_map", "ledger"):
            con.unregister(name)
    return outcomes


def record_write(con: Any, writer: Writer, action: str, target: str, batch_id: str | None, received: int,
                 stored: int, duplicates: int, rejected: int) -> None:
    """One line of the audit log (call inside the transaction that writes the data)."""
    con.execute("INSERT INTO audit_log (\"at\", key_id, role, action, target, batch_id, received, stored, duplicates, "
                "rejected, client) VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [writer.key_id, writer.role, action, target, batch_id, received, stored, duplicates, rejected,
                 writer.client])


def _fresh_candidates(store: Store, source: str) -> None:
    """`cand`: the good rows that are new: first of their key in the group, and in neither the inbox nor the lake."""
    con = store.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE good AS {GOOD_ROWS_SQL}", {"secret": store.secret.hex()})
    con.execute("CREATE OR REPLACE TEMP TABLE cand AS SELECT * FROM good "
                "QUALIFY row_number() OVER (PARTITION BY k1, k2 ORDER BY _line) = 1")
    con.execute("DELETE FROM cand USING inbox i WHERE i.source = $source AND i.day = cand.day AND i.k1 = cand.k1 "
                "AND i.k2 = cand.k2", {"source": source})
    days = [r[0] for r in con.execute("SELECT DISTINCT day FROM cand").fetchall()]
    key_files = store.files("record_keys", source=source, days=days) if days else []
    if key_files:
        con.execute("DELETE FROM cand USING read_parquet($files) k WHERE cand.day = k.day AND cand.k1 = k.k1 "
                    "AND cand.k2 = k.k2", {"files": key_files})


def _quarantine_rows(con: Any, source: str, submissions: list[Submission], *, with_rows: bool) -> None:
    """`q_batch`: the rejected records of every batch, pseudonymised, with their batch, name and number."""
    con.execute("CREATE OR REPLACE TEMP TABLE q_batch (batch_id VARCHAR, source VARCHAR, kind VARCHAR, file VARCHAR, "
                "line BIGINT, record VARCHAR, problems VARCHAR, fingerprint VARCHAR)")
    if with_rows:
        con.execute(f"""
            INSERT INTO q_batch BY NAME
            SELECT *, md5(record || problems) AS fingerprint FROM (
                SELECT m.batch_id, $source AS source, 'usage' AS kind, m.file, r._line % {LINE_BASE} AS line,
                       to_json({{'record_id': record_id, 'user_key': CAST(person AS VARCHAR), 'platform': platform,
                                'time': "time", 'active_seconds': active_seconds, 'bytes': bytes,
                                'sessions': sessions, 'installs': installs, 'province': province}})::VARCHAR AS record,
                       to_json(problems)::VARCHAR AS problems
                FROM rejected r JOIN req_map m ON m.req = r._line // {LINE_BASE})
        """, {"source": source})
    for sub in submissions:
        if sub.raw.rejections:
            con.register("q_rejections", quarantine.rejection_rows(sub.raw.rejections, batch_id=sub.batch_id,
                                                                   source=source, kind="usage", file=sub.raw.name))
            con.execute("INSERT INTO q_batch BY NAME SELECT * FROM q_rejections")
            con.unregister("q_rejections")


def _outcomes(source: str, submissions: list[Submission], status: list[tuple[int, int, str, str | None]]) -> list[Outcome]:
    outcomes = [Outcome(s.batch_id, source) for s in submissions]
    for req, number, state, problems in status:
        entry: dict[str, Any] = {"index": number, "status": state}
        if problems is not None:
            entry["problems"] = orjson.loads(problems)
        outcomes[req].records.append(entry)
    for sub, out in zip(submissions, outcomes, strict=True):
        for r in sub.raw.rejections:
            out.records.append({"index": r.line, "status": "rejected",
                                "problems": [{"field": r.field, "message": r.message}]})
        out.records.sort(key=lambda e: e["index"])
        for e in out.records:
            if e["status"] == "stored":
                out.stored += 1
            elif e["status"] == "duplicate":
                out.duplicates += 1
            else:
                out.rejected += 1
        out.received = len(out.records)
    return outcomes


# -- merging the inbox into the lake ----------------------------------------------------------------------------------
def inbox_size(store: Store) -> int:
    return store.con.execute("SELECT count(*) FROM inbox").fetchall()[0][0]  # type: ignore[no-any-return]


def flush_inbox(store: Store, source: str | None = None, *,
                commit_lock: AbstractContextManager[object] | None = None) -> int:
    """Merge the inbox (of one source, or all) into the day partitions; return how many records moved.

    Per source, one batch: the touched days are rewritten with the inbox's person-days and keys, and the new
    files are listed, the moved rows deleted from the inbox and their months marked for the rollup in one
    transaction. With `commit_lock`, only that transaction and the removal of the replaced files hold the
    lock: the server keeps accepting batches while the days are rewritten (through another connection, and
    with no other flush at the same time)."""
    con = store.con
    where = "" if source is None else "WHERE source = $source"
    sources = con.execute(f"SELECT source, max(seq) FROM inbox {where} GROUP BY source ORDER BY source",
                          {"source": source} if source is not None else {}).fetchall()
    moved = 0
    for src, last in sources:
        batch_id = "inbox-" + uuid.uuid4().hex
        try:
            con.execute("""
                CREATE OR REPLACE TEMP TABLE fresh AS
                SELECT person, platform, day, month, active_seconds_n, bytes_n, sessions_n, installs_n, province_code,
                       k1, k2
                FROM inbox WHERE source = $source AND seq <= $last
            """, {"source": src, "last": last})
            n, days = con.execute("SELECT count(*), list(DISTINCT day) FROM fresh").fetchall()[0]
            key_files = store.files("record_keys", source=src, days=days)
            stage_person_days(store, src, batch_id, key_files)
            files, replaces = publish(store)
            months = sorted({f.month for f in files if f.dataset == "person_day"})
            with commit_lock or nullcontext():
                with store.transaction():
                    list_files(store, files, batch_id, replaces)
                    con.execute("DELETE FROM inbox WHERE source = ? AND seq <= ?", [src, last])
                    for month in months:
                        con.execute("INSERT INTO dirty_months VALUES (?, ?) ON CONFLICT DO NOTHING", [src, month])
                finish(store, batch_id, replaces)
        except BaseException:
            discard(store, batch_id)
            raise
        finally:
            con.execute("DROP TABLE IF EXISTS fresh")
        moved += n
    return moved
