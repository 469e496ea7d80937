"""The quarantine: rejected rows kept aside (pseudonymised) with their problems, until repaired."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pyarrow as pa

from thuocdo.ingest.readers import Rejection
from thuocdo.ingest.results import Problem

QUARANTINE_COLUMNS = ("batch_id", "source", "kind", "file", "line", "record", "problems", "fingerprint")
#: the rows :func:`insert` takes
SCHEMA = pa.schema([(c, pa.int64() if c == "line" else pa.string()) for c in QUARANTINE_COLUMNS])
#: what a posted batch's rows are said to come from in their fingerprint: a retried batch has a new name
POSTED = "api"


def fingerprint_sql(origin: str = "file") -> str:
    """SQL for a quarantine row's identity (over columns `line`, `record`, `problems` and the SQL `origin`: the
    file's name, or :data:`POSTED`): where the rejected line came from and what it holds. One row per rejected
    line, each line kept once however often it is sent (same origin, line, content and problems)."""
    return (f"md5(concat_ws(chr(31), {origin}, coalesce(CAST(line AS VARCHAR), ''), coalesce(record, ''), "
            "problems))")


def fingerprint(origin: str, line: int | None, record: str | None, problems: str) -> str:
    """:func:`fingerprint_sql` computed in Python."""
    text = "\x1f".join([origin, "" if line is None else str(line), record or "", problems])
    return hashlib.md5(text.encode()).hexdigest()


def rejection_rows(rejections: list[Rejection], *, batch_id: str, source: str, kind: str, file: str,
                   origin: str | None = None) -> pa.Table:
    """Quarantine rows for lines that could not even be parsed (no content is kept: it may hold a raw id).
    `origin` stands for `file` in their fingerprint (:func:`fingerprint_sql`)."""
    problems = [json.dumps([{"field": r.field, "message": r.message}], ensure_ascii=False) for r in rejections]
    return pa.table({
        "batch_id": [batch_id] * len(rejections), "source": [source] * len(rejections),
        "kind": [kind] * len(rejections), "file": [file] * len(rejections),
        "line": pa.array([r.line for r in rejections], pa.int64()),
        "record": pa.nulls(len(rejections), pa.string()),
        "problems": problems,
        "fingerprint": [fingerprint(origin or file, r.line, None, p)
                        for r, p in zip(rejections, problems, strict=True)],
    })


def insert_sql(relation: str) -> str:
    """The statement inserting the rows of `relation` (columns QUARANTINE_COLUMNS) not already open in the
    quarantine (same source, kind and fingerprint)."""
    return f"""
        INSERT INTO quarantine (batch_id, source, kind, file, line, record, problems, status, created_at, fingerprint)
        SELECT DISTINCT ON (q.source, q.kind, q.fingerprint) q.batch_id, q.source, q.kind, q.file, q.line, q.record,
               q.problems, 'open', now()::TIMESTAMP, q.fingerprint
        FROM {relation} q
        WHERE NOT EXISTS (SELECT 1 FROM quarantine o WHERE o.status = 'open' AND o.source = q.source
                          AND o.kind = q.kind AND o.fingerprint = q.fingerprint)
    """


def insert(con: duckdb.DuckDBPyConnection, relation_sql: str) -> int:
    """Insert rows not already open in the quarantine (same source, kind and fingerprint); return how many."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE q_new AS {relation_sql}")
    before = int(con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0])
    con.execute(insert_sql("q_new"))
    return int(con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]) - before


def problems_of(rows: list[tuple[str, int | None, str]]) -> list[Problem]:
    """Problems from (file, line, problems-json) rows."""
    out: list[Problem] = []
    for file, line, problems in rows:
        for p in json.loads(problems):
            out.append(Problem(file, line, p["field"], p["message"]))
    return out
