"""Usage records that arrive over HTTP in small batches: accept them at once, merge them into the lake later.

Rewriting a day's partition for every batch of a thousand records would cost more than the records, so a
batch posted to the API goes through the same validation, pseudonymisation and keying as a file, is checked
against the stored keys (the lake's and the inbox's) and lands in the inbox (:mod:`thuocdo.ingest.inbox`) in
one transaction with its quarantined rows, its ledger entry and its audit entry. The answer names each
record's fate. The inbox is merged into the day partitions later (:func:`thuocdo.ingest.inbox.flush_inbox`).

Accepting is two steps, so that a server can overlap them. Staging does everything that needs no store
(validation, the person keys, the record keys): :func:`thuocdo.ingest.arrow_staging.stage_clean` for the usual batch
whose every record is plainly good, :func:`stage_batches` on a private in-memory database for any other.
:func:`commit_staged` then checks the staged records against the stored keys and commits them. Several batches
of one source are committed together (and staged together by :func:`stage_batches`): the per-statement cost
is paid once per group instead of once per batch, while each batch keeps its own id, ledger entry and
per-record answer. :func:`accept_usage` runs both steps in one call.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.catalog import Catalog
from thuocdo.ingest import inbox, quarantine
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.keys import StoredKeys
from thuocdo.ingest.pseudonymise import person_key_params, person_key_sql
from thuocdo.ingest.readers import LINE, InputError, RawInput, Rejection
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.usage import GOOD_ROWS_SQL
from thuocdo.ingest.validate import INTEGER_FIELDS, pretype_integers, stage_usage
from thuocdo.store import Store
from thuocdo.store import sources as registry
from thuocdo.store.sql import literal

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
    """One posted batch of usage records (a :class:`RawInput` made by :func:`thuocdo.ingest.bodies.parse_records`).

    `clean` holds its good rows when the batch was staged already (:func:`thuocdo.ingest.arrow_staging.stage_clean`),
    their persons keyed in `key_domain` (None: the source's name, the domain of a private source)."""

    raw: RawInput
    writer: Writer
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    clean: pa.Table | None = None
    key_domain: str | None = None


@dataclass
class Outcome(BatchResult):
    """The result of one posted batch: a :class:`BatchResult` (its `file` is the batch's name) with, for every
    record, its status and (if rejected) its problems.

    The per-record list is built when asked for (:attr:`records`), in the thread that answers the request,
    from the record numbers and their states (0 stored, 1 duplicate, 2 rejected, 3 pending: landed for the
    lakehouse, stored or found a duplicate when Spark ingests it, :mod:`thuocdo.ingest.landing`)."""

    numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    states: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    record_problems: dict[int, str] = field(default_factory=dict)  # record number -> its problems (JSON text)
    unreadable: list[Rejection] = field(default_factory=list)  # lines of NDJSON that could not be read

    @property
    def received(self) -> int:
        """The records of the batch (its rows read)."""
        return self.rows_read

    @property
    def records(self) -> list[dict[str, Any]]:
        records = [{"index": n, "status": _STATES[s]} for n, s in
                   zip(self.numbers.tolist(), self.states.tolist(), strict=True)]
        if self.record_problems:
            for entry in records:
                if entry["status"] == "rejected":
                    entry["problems"] = orjson.loads(self.record_problems[entry["index"]])
        if self.unreadable:
            records.extend({"index": r.line, "status": "rejected",
                            "problems": [{"field": r.field, "message": r.message}]} for r in self.unreadable)
            records.sort(key=lambda e: e["index"])
        return records

    @property
    def pending(self) -> int:
        """The records landed for the lakehouse, not yet stored or found duplicates."""
        return int((self.states == 3).sum())

    def as_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "source": self.source, "received": self.received, "stored": self.stored,
                "duplicates": self.duplicates, "rejected": self.rejected, "pending": self.pending,
                "records": self.records}


_STATES = ("stored", "duplicate", "rejected", "pending")


# -- accepting batches ---------------------------------------------------------------------------------------------
@dataclass
class Staged:
    """Batches of one source validated, pseudonymised and keyed: all the work that needs no store. What is left
    (:func:`commit_staged`) is the check against the stored keys and the commit.

    A record's `_line` is its batch's position in `submissions` × LINE_BASE + its number in the batch; its person
    is keyed in `key_domain` (:func:`thuocdo.store.sources.key_domain`)."""

    source: str
    submissions: list[Submission]
    good: pa.Table        # the good records, keyed (GOOD_ROWS_SQL)
    rejected: pa.Table    # _line, problems (JSON text) and local day (NULL: no readable time) of the records found bad
    quarantine: pa.Table  # their quarantine rows, with the lines that could not be read
    key_domain: str


def staged_clean(source: str, submission: Submission) -> Staged:
    """A batch whose good rows were worked out without SQL (all its records good), ready to commit."""
    assert submission.clean is not None
    domain = source if submission.key_domain is None else submission.key_domain
    return Staged(source, [submission], submission.clean, _NO_REJECTED, quarantine.SCHEMA.empty_table(), domain)


_NO_REJECTED = pa.table({LINE: pa.array([], pa.int64()), "problems": pa.array([], pa.string()),
                         "day": pa.array([], pa.date32())})


def staging_connection() -> duckdb.DuckDBPyConnection:
    """A private in-memory database for :func:`stage_batches`: statements there do not touch the store."""
    con = duckdb.connect()
    con.execute("SET threads = 1")  # a group of batches is small; parallel plans would only cost
    return con


def stage_batches(con: duckdb.DuckDBPyConnection, catalog: Catalog, secret: bytes, source: str,
                  submissions: list[Submission], key_domain: str | None = None) -> Staged:
    """Validate, pseudonymise and key batches of one source on `con` (see :func:`staging_connection`), its
    persons in `key_domain` (:func:`thuocdo.store.sources.key_domain`; None: the source's name, the domain of a
    private source)."""
    domain = source if key_domain is None else key_domain
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
        view = stage_usage(con, group, USAGE, catalog, person_key_sql("user_id"), person_key_params(secret, domain),
                           rejected_view=False)
        good = con.sql(GOOD_ROWS_SQL, params={"secret": secret.hex()}).to_arrow_table()
        # `typed` has one row per record (its joins are on distinct values)
        n_bad = group.table.num_rows - good.num_rows
        rejected = _NO_REJECTED
        if n_bad:  # the problem lists are worked out only when there is a bad record
            con.execute(view)
            con.execute("CREATE OR REPLACE TEMP TABLE rejected AS SELECT * FROM rejected_rows")
            rejected = con.sql(f"SELECT {LINE}, to_json(problems)::VARCHAR AS problems, _day AS day "
                               "FROM rejected").to_arrow_table()
        if n_bad or any(s.raw.rejections for s in submissions):
            _quarantine_rows(con, source, submissions, with_rows=n_bad > 0)
            q = con.sql("SELECT * FROM q_batch").to_arrow_table()
        else:
            q = quarantine.SCHEMA.empty_table()
    finally:
        for name in ("raw_in", "req_map"):
            con.unregister(name)
    return Staged(source, submissions, good, rejected, q, domain)


def commit_staged(store: Store, staged: list[Staged], stored_keys: StoredKeys) -> list[Outcome]:
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
    fresh = fresh.filter(pa.array(~stored_keys.stored(store, source, fresh["day"], fresh["k1"], fresh["k2"])))
    outcomes = _outcomes(source, submissions, good[LINE].to_numpy(), fresh[LINE].to_numpy(), bad)
    batch_ids = pa.array([s.batch_id for s in submissions])
    posted_rows = fresh.append_column("batch_id", pc.take(batch_ids, pc.divide(fresh[LINE], LINE_BASE)))
    # the two tables below are read by name from this frame (DuckDB's scan of Python variables)
    posted_batches = pa.table({  # noqa: F841
        "batch_id": batch_ids, "file": [s.raw.name for s in submissions],
        "received": pa.array([o.received for o in outcomes], pa.int64()),
        "stored": pa.array([o.stored for o in outcomes], pa.int64()),
        "duplicates": pa.array([o.duplicates for o in outcomes], pa.int64()),
        "rejected": pa.array([o.rejected for o in outcomes], pa.int64()),
        "key_id": [s.writer.key_id for s in submissions], "role": [s.writer.role for s in submissions],
        "client": [s.writer.client for s in submissions]})
    posted_rejects = quarantined  # noqa: F841
    posted_days = _batch_days(submissions, good, fresh, bad)  # noqa: F841
    src = literal(source)
    segment = inbox.write_segment(store, source, posted_rows) if posted_rows.num_rows else None
    # one call for the whole transaction: each call into the database gives up the GIL and must win it back
    script = f"""
        BEGIN TRANSACTION;
        {inbox.segment_sql(source, segment, posted_rows) + ";" if segment else ""}
        {quarantine.insert_sql("posted_rejects") + ";" if quarantined.num_rows else ""}
        INSERT INTO batches SELECT batch_id, {src}, 'usage', file, NULL, now()::TIMESTAMP, received, stored, duplicates,
                                   rejected FROM posted_batches;
        INSERT INTO batch_days SELECT batch_id, {src}, day, good, stored, rejected FROM posted_days;
        INSERT INTO audit_log ("at", key_id, role, action, target, batch_id, received, stored, duplicates, rejected,
                               client)
        SELECT now()::TIMESTAMP, key_id, role, 'usage', {src}, batch_id, received, stored, duplicates, rejected, client
        FROM posted_batches;
        COMMIT
    """
    try:
        store.con.execute(script)
    except BaseException:
        with suppress(duckdb.Error):
            store.con.execute("ROLLBACK")
        if segment:
            inbox.remove_segment(store, segment)
        raise
    stored_keys.added(source, fresh["day"], fresh["k1"], fresh["k2"])
    return outcomes


def _batch_days(submissions: list[Submission], good: pa.Table, fresh: pa.Table, bad: pa.Table) -> pa.Table:
    """Each batch's rows per local day (``batch_days``): good (`good`), stored (`fresh`) and rejected (`bad`, and
    the lines that could not be read, without a day), the batch told by the line's position (LINE_BASE)."""
    counts: dict[tuple[int, object], list[int]] = {}
    for column, table in enumerate((good, fresh, bad)):
        if not table.num_rows:
            continue
        grouped = pa.table({"req": pc.divide(table[LINE], LINE_BASE), "day": table["day"]}) \
            .group_by(["req", "day"]).aggregate([([], "count_all")])
        for req, day, n in zip(*(grouped[c].to_pylist() for c in ("req", "day", "count_all")), strict=True):
            counts.setdefault((req, day), [0, 0, 0])[column] += n
    for req, sub in enumerate(submissions):
        if sub.raw.rejections:
            counts.setdefault((req, None), [0, 0, 0])[2] += len(sub.raw.rejections)
    keys = sorted(counts, key=lambda k: (k[0], str(k[1])))
    return pa.table({"batch_id": [submissions[req].batch_id for req, _ in keys],
                     "day": pa.array([day for _, day in keys], pa.date32()),
                     "good": pa.array([counts[k][0] for k in keys], pa.int64()),
                     "stored": pa.array([counts[k][1] for k in keys], pa.int64()),
                     "rejected": pa.array([counts[k][2] for k in keys], pa.int64())})


def accept_usage(store: Store, catalog: Catalog, source: str, submissions: list[Submission],
                 stored_keys: StoredKeys | None = None) -> list[Outcome]:
    """Stage and commit batches of one source in one go (the server runs the two steps in separate threads).
    Batches staged already (`clean`) must have been keyed in the source's key domain."""
    if not submissions:
        return []
    if all(s.clean is not None for s in submissions):
        staged = [staged_clean(source, s) for s in submissions]
        domain = registry.key_domain(store, source)
        for st in staged:
            check_key_domain(st, domain)
        return commit_staged(store, staged, stored_keys or StoredKeys())
    con = staging_connection()
    try:
        group = stage_batches(con, catalog, store.secret, source, submissions, registry.key_domain(store, source))
    finally:
        con.close()
    return commit_staged(store, [group], stored_keys or StoredKeys())


class KeyDomainChanged(InputError):
    """Batches keyed in a domain that is no longer their source's: the source was declared with another link key
    while they were staged. They are refused whole (nothing stored) and may be sent again."""


def check_key_domain(staged: Staged, key_domain: str) -> None:
    """Refuse staged batches whose persons were keyed in another domain than their source's `key_domain` now."""
    if staged.key_domain != key_domain:
        raise KeyDomainChanged(f"Nguồn {staged.source} vừa được khai báo lại với khóa liên kết khác trong lúc lô đang "
                               "được xử lý: lô chưa được lưu; hãy gửi lại.")


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
            SELECT *, {quarantine.fingerprint_sql(literal(quarantine.POSTED))} AS fingerprint FROM (
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
                                                                   source=source, kind="usage", file=sub.raw.name,
                                                                   origin=quarantine.POSTED))
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
        out = Outcome(sub.raw.name, source, "usage", sub.batch_id, rows_read=len(numbers) + len(sub.raw.rejections),
                      stored=int(counts[0]), duplicates=int(counts[1]),
                      rejected=int(counts[2]) + len(sub.raw.rejections),
                      numbers=numbers, states=states, unreadable=list(sub.raw.rejections))
        if counts[2]:
            out.record_problems = {n % LINE_BASE: problems[n] for n in lines[seg][states == 2].tolist()}
        outcomes.append(out)
    return outcomes
