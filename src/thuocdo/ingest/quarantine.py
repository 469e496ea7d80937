"""The quarantine: rejected rows kept aside (pseudonymised) with their problems, until repaired."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from thuocdo.ingest.readers import Rejection
from thuocdo.ingest.results import Problem

QUARANTINE_COLUMNS = ("batch_id", "source", "kind", "file", "line", "record", "problems", "fingerprint")
#: the rows :func:`insert` takes
SCHEMA = pa.schema([(c, pa.int64() if c == "line" else pa.string()) for c in QUARANTINE_COLUMNS])


def rejection_rows(rejections: list[Rejection], *, batch_id: str, source: str, kind: str, file: str) -> pa.Table:
    """Quarantine rows for lines that could not even be parsed (no content is kept: it may hold a raw id)."""
    problems = [json.dumps([{"field": r.field, "message": r.message}], ensure_ascii=False) for r in rejections]
    return pa.table({
        "batch_id": [batch_id] * len(rejections), "source": [source] * len(rejections),
        "kind": [kind] * len(rejections), "file": [file] * len(rejections),
        "line": pa.array([r.line for r in rejections], pa.int64()),
        "record": pa.nulls(len(rejections), pa.string()),
        "problems": problems,
        "fingerprint": [f"{file}:{r.line}:{p}" for r, p in zip(rejections, problems, strict=True)],
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
