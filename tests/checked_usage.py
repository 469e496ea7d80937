"""A usage file's rows as the rules leave them (`check_usage` on a connection of its own): the good rows (line
first, every column) and the quarantine rows (line, record, problems), both in line order. For tests that compare
two ways of checking the same file."""

from __future__ import annotations

import duckdb

from thuocdo.catalog.loader import load_catalog
from thuocdo.ingest import usage
from thuocdo.ingest.readers import RawInput

Rows = list[tuple[object, ...]]


def checked_rows(raw: RawInput, secret: bytes, source: str = "s") -> tuple[Rows, Rows]:
    con = duckdb.connect()
    usage.check_usage(con, raw, source, secret, load_catalog(), "b", key_domain=source)
    good = con.execute("SELECT _line, * EXCLUDE (_line) FROM unique_good ORDER BY _line").fetchall()
    bad = con.execute("SELECT line, record, problems FROM q_batch ORDER BY line").fetchall()
    return good, bad
