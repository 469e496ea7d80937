"""Usage records that arrive over HTTP in small batches: accept them at once, merge them into the lake later.

Rewriting a day's partition for every batch of a thousand records would cost more than the records, so a
batch posted to the API goes through the same validation, pseudonymisation and keying as a file, is checked
against the stored keys (the lake's and the inbox's) and lands in the ``inbox`` table in one transaction with
its quarantined rows, its ledger entry and its audit entry. The answer names each record's fate. The inbox is
merged into the day partitions (:func:`flush_inbox`) in the background and before anything reads records:
the metric rollups and a file ingestion of the same source flush it first, so no reader misses a record
and no record is stored twice.

Accepting is two steps, so that a server can overlap them. :func:`stage_batches` does everything that needs no
store (validation, the person keys, the record keys) on a private in-memory database. :func:`commit_staged`
then checks the staged records against the inbox and the lake's keys and commits them. Several batches of one
source go through each step together: the per-statement cost is paid once per group instead of once per
batch, while each batch keeps its own id, ledger entry and per-record answer. :func:`accept_usage` runs both
steps in one call.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.catalog import Catalog
from thuocdo.ingest import quarantine
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.keys import LakeKeys
from thuocdo.ingest.pseudonymise import hmac_pads, person_key_sql
from thuocdo.ingest.readers import LINE, RawInput, Rejection
from thuocdo.ingest.usage import GOOD_ROWS_SQL, stage_person_days
from thuocdo.ingest.validate import INTEGER_FIELDS, pretype_integers, stage_usage
from thuocdo.store import Store
from thuocdo.store.lake import discard, finish, list_files, publish

#: inside a group, a record's line is its batch's position × LINE_BASE + its own number in the batch
LINE_BASE = 1_000_000


@dataclass(frozen=True)
class Writer:
    """Who writes: recorded in the audit log."""

    key_id: str | None
    role: str
    client: str | None = None


@dataclass
class Submission:
    """One posted batch of usage records (a :class:`RawInput` made by :func:`thuocdo.ingest.bodies.parse_records`)."""

    raw: RawInput
    writer: Writer
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Outcome:
    """What happened to one batch: counts, and for every record its status and (if rejected) problems.

    The per-record list is built when asked for (:attr:`records`), in the thread that answers the request,
    from the record numbers and their states (0 stored, 1 duplicate, 2 rejected)."""

    batch_id: str
    source: str
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    states: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    problems: dict[int, str] = field(default_factory=dict)  # record number -> its problems (JSON text)
    unreadable: list[Rejection] = field(default_factory=list)  # lines of NDJSON that could not be read

    @property
    def records(self) -> list[dict[str, Any]]:
        records = [{"index": n, "status": _STATES[s]} for n, s in
                   zip(self.numbers.tolist(), self.states.tolist(), strict=True)]
        if self.problems:
            for entry in records:
                if entry["status"] == "rejected":
                    entry["problems"] = orjson.loads(self.problems[entry["index"]])
        if self.unreadable:
            records.extend({"index": r.line, "status": "rejected", "problems": [{"field": r.field, "message": r.message}]}
                           for r in self.unreadable)
            records.sort(key=lambda e: e["index"])
        return records

    def as_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "source": self.source, "received": self.received, "stored": self.stored,
                "duplicates": self.duplicates, "rejected": self.rejected, "records": self.records}


_STATES = ("stored", "duplicate", "rejected")


# -- accepting batches ---------------------------------------------------------------------------------------------
@dataclass
class Staged:
    """Batches of one source validated, pseudonymised and keyed: all the work that needs no store. What is left
    (:func:`commit_staged`) is the check against the stored keys and the commit.

    A record's `_line` is its batch's position in `submissions` × LINE_BASE + its number in the batch."""

    source: str
    submissions: list[Submission]
    good: pa.Table        # the good records, keyed (GOOD_ROWS_SQL)
    rejected: pa.Table    # _line, problems (JSON text) of the records found bad
    quarantine: pa.Table  # their quarantine rows, with the lines that could not be read


def staging_connection() -> duckdb.DuckDBPyConnection:
    """A private in-memory database for :func:`stage_batches`: statements there do not touch the store."""
    con = duckdb.connect()
    con.execute("SET threads = 1")  # a group of batches is small; parallel plans would only cost
    return con


def stage_batches(con: duckdb.DuckDBPyConnection, catalog: Catalog, secret: bytes, source: str,
                  submissions: list[Submission]) -> Staged:
    """Validate, pseudonymise and key batches of one source on `con` (see :func:`staging_connection`)."""
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
        ipad, opad = hmac_pads(secret)
        view = stage_usage(con, group, USAGE, catalog, person_key_sql("user_id"),
                           {"ipad": ipad, "opad": opad, "source": source}, rejected_view=False)
        good = con.sql(GOOD_ROWS_SQL, params={"secret": secret.hex()}).to_arrow_table()
        n_bad = group.table.num_rows - good.num_rows  # `typed` has one row per record (its joins are on distinct values)
        rejected = pa.table({LINE: pa.array([], pa.int64()), "problems": pa.array([], pa.string())})
        if n_bad:  # the problem lists are worked out only when there is a bad record
            con.execute(view)
            con.execute("CREATE OR REPLACE TEMP TABLE rejected AS SELECT * FROM rejected_rows")
            rejected = con.sql(f"SELECT {LINE}, to_json(problems)::VARCHAR AS problems FROM rejected").to_arrow_table()
        if n_bad or any(s.raw.rejections for s in submissions):
            _quarantine_rows(con, source, submissions, with_rows=n_bad > 0)
            q = con.sql("SELECT * FROM q_batch").to_arrow_table()
        else:
            q = quarantine.SCHEMA.empty_table()
    finally:
        for name in ("raw_in", "req_map"):
            con.unregister(name)
    return Staged(source, submissions, good, rejected, q)


def commit_staged(store: Store, staged: list[Staged], lake_keys: LakeKeys) -> list[Outcome]:
    """Keep the staged records that are new (first of their key in the group, in neither the inbox nor the
    lake); put them in the inbox, the rejected ones in the quarantine, and record each batch in the ledger and
    the audit log, all in one transaction. The staged groups (of one source) are committed together."""
    source = staged[0].source
    submissions = [s for st in staged for s in st.submissions]
    goods, rejected = [], []
    offset = 0
    for st in staged:
        shift = offset * LINE_BASE
        goods.append(st.good.set_column(st.good.column_names.index(LINE), LINE, pc.add(st.good[LINE], shift)))
        rejected.append(st.rejected.set_column(0, LINE, pc.add(st.rejected[LINE], shift)))
        offset += len(st.submissions)
    good = pa.concat_tables(goods)
    bad = pa.concat_tables(rejected)
    quarantined = pa.concat_tables([st.quarantine for st in staged])
    fresh = good.filter(_first_of_key(good))
    con = store.con
    con.register("cand_keys", fresh.select([LINE, "day", "k1", "k2"]))
    try:
        in_inbox = con.execute(f"""
            SELECT c.{LINE} FROM cand_keys c
            SEMI JOIN (SELECT day, k1, k2 FROM inbox WHERE source = $source) i USING (day, k1, k2)
        """, {"source": source}).fetchnumpy()[LINE]
        new = ~np.isin(fresh[LINE].to_numpy(), in_inbox)
        new &= ~lake_keys.stored(store, source, fresh["day"], fresh["k1"], fresh["k2"])
        fresh = fresh.filter(pa.array(new))
        outcomes = _outcomes(source, submissions, good[LINE].to_numpy(), fresh[LINE].to_numpy(), bad)
        batch_ids = pa.array([s.batch_id for s in submissions])
        con.register("cand", fresh.append_column("batch_id", pc.take(batch_ids, pc.divide(fresh[LINE], LINE_BASE))))
        con.register("ledger", pa.table({
            "batch_id": [o.batch_id for o in outcomes], "file": [s.raw.name for s in submissions],
            "received": pa.array([o.received for o in outcomes], pa.int64()),
            "stored": pa.array([o.stored for o in outcomes], pa.int64()),
            "duplicates": pa.array([o.duplicates for o in outcomes], pa.int64()),
            "rejected": pa.array([o.rejected for o in outcomes], pa.int64()),
            "key_id": [s.writer.key_id for s in submissions], "role": [s.writer.role for s in submissions],
            "client": [s.writer.client for s in submissions]}))
        with store.transaction():
            seq = con.execute("SELECT nextval('inbox_seq')").fetchall()[0][0]  # one per group: merges take whole groups
            con.execute("""
                INSERT INTO inbox (seq, source, batch_id, person, platform, day, month, active_seconds_n, bytes_n,
                                   sessions_n, installs_n, province_code, k1, k2)
                SELECT $seq, $source, batch_id, person, platform, day, month, active_seconds_n, bytes_n, sessions_n,
                       installs_n, province_code, k1, k2
                FROM cand
            """, {"seq": seq, "source": source})
            if quarantined.num_rows:
                con.register("q_batch", quarantined)
                quarantine.insert(con, "SELECT * FROM q_batch")
            con.execute("INSERT INTO batches SELECT batch_id, $source, 'usage', file, NULL, now()::TIMESTAMP, received, "
                        "stored, duplicates, rejected FROM ledger", {"source": source})
            con.execute('INSERT INTO audit_log ("at", key_id, role, action, target, batch_id, received, stored, '
                        "duplicates, rejected, client) SELECT now()::TIMESTAMP, key_id, role, 'usage', $source, "
                        "batch_id, received, stored, duplicates, rejected, client FROM ledger", {"source": source})
    finally:
        for name in ("cand_keys", "cand", "ledger", "q_batch"):
            with suppress(Exception):
                con.unregister(name)
    return outcomes


def accept_usage(store: Store, catalog: Catalog, source: str, submissions: list[Submission],
                 lake_keys: LakeKeys | None = None) -> list[Outcome]:
    """Stage and commit batches of one source in one go (the server runs the two steps in separate threads)."""
    if not submissions:
        return []
    con = staging_connection()
    try:
        staged = stage_batches(con, catalog, store.secret, source, submissions)
    finally:
        con.close()
    return commit_staged(store, [staged], lake_keys or LakeKeys())


def record_write(con: Any, writer: Writer, action: str, target: str, batch_id: str | None, received: int,
                 stored: int, duplicates: int, rejected: int) -> None:
    """One line of the audit log (call inside the transaction that writes the data)."""
    con.execute("INSERT INTO audit_log (\"at\", key_id, role, action, target, batch_id, received, stored, duplicates, "
                "rejected, client) VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [writer.key_id, writer.role, action, target, batch_id, received, stored, duplicates, rejected,
                 writer.client])


def _first_of_key(good: pa.Table) -> pa.Array:
    """True for the first record (smallest line) of each record key in the group."""
    if good.num_rows == 0:
        return pa.array([], pa.bool_())
    k1, k2, line = (good[c].to_numpy() for c in ("k1", "k2", LINE))
    order = np.lexsort((line, k2, k1))
    s1, s2 = k1[order], k2[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1])
    mask = np.zeros(len(order), dtype=bool)
    mask[order[first]] = True
    return pa.array(mask)


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


def _outcomes(source: str, submissions: list[Submission], good_lines: np.ndarray, stored_lines: np.ndarray,
              bad: pa.Table) -> list[Outcome]:
    """Each batch's outcome: every record stored, duplicate or rejected, in record order."""
    bad_lines = bad[LINE].to_numpy()
    lines = np.concatenate([good_lines, bad_lines])
    state = np.concatenate([np.where(np.isin(good_lines, stored_lines), 0, 1), np.full(len(bad_lines), 2)])
    order = np.argsort(lines, kind="stable")
    lines, state = lines[order], state[order]
    bounds = np.searchsorted(lines // LINE_BASE, np.arange(len(submissions) + 1))
    problems = dict(zip(bad_lines.tolist(), bad["problems"].to_pylist(), strict=True)) if len(bad_lines) else {}
    outcomes = []
    for req, sub in enumerate(submissions):
        seg = slice(bounds[req], bounds[req + 1])
        numbers, states = lines[seg] % LINE_BASE, state[seg]
        counts = np.bincount(states, minlength=3)
        out = Outcome(sub.batch_id, source, received=len(numbers) + len(sub.raw.rejections), stored=int(counts[0]),
                      duplicates=int(counts[1]), rejected=int(counts[2]) + len(sub.raw.rejections),
                      numbers=numbers, states=states, unreadable=list(sub.raw.rejections))
        if counts[2]:
            out.problems = {n % LINE_BASE: problems[n] for n in lines[seg][states == 2].tolist()}
        outcomes.append(out)
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
