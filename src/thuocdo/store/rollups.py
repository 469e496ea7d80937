"""Keep the rollups in step: rebuild the person-month files and the monthly sums of every dirty month.

A month is marked dirty in the same transaction that changes its records or weights, and is rebuilt (in
one transaction that also clears the mark) before any metric reads it, so a query never sees stale sums.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlglot
from sqlglot import exp

from thuocdo.metrics.rollups import PERSON_MONTH, USAGE_MONTH
from thuocdo.store.home import Store
from thuocdo.store.lake import finish, list_files, publish, stage_partitions


def _duckdb(sql: str) -> str:
    return sqlglot.transpile(sql, read="duckdb", write="duckdb")[0]


def literal(value: object) -> str:
    """A value as a DuckDB SQL literal (strings quoted and escaped, lists as lists)."""
    return exp.convert(value).sql(dialect="duckdb")


def dirty_months(store: Store) -> list[tuple[str, str]]:
    return [(s, m) for s, m in store.con.execute("SELECT source, month FROM dirty_months ORDER BY source, month").fetchall()]


def rebuild_dirty(store: Store, on_month: Callable[[str, str], None] | None = None) -> int:
    """Bring every rollup up to date (records waiting in the inbox are merged into the lake first)."""
    from thuocdo.ingest.inbox import flush_inbox

    flush_inbox(store)
    months = dirty_months(store)
    for source, month in months:
        rebuild_month(store, source, month)
        if on_month:
            on_month(source, month)
    return len(months)


def rebuild_month(store: Store, source: str, month: str) -> None:
    con = store.con
    batch_id = "rollup-" + uuid.uuid4().hex
    day_files = store.files("person_day", source=source, months=[month])
    old = store.files("person_month", source=source, months=[month])
    if day_files:
        con.execute(f"CREATE OR REPLACE TEMP VIEW person_day AS SELECT {literal(source)} AS source, * "
                    f"FROM read_parquet({literal(day_files)})")
        stage_partitions(store, "person_month", source, batch_id,
                         f"SELECT * FROM ({_duckdb(PERSON_MONTH)})", {},
                         replaces=old, daily=False)
    files, replaces = publish(store)
    with store.transaction():
        list_files(store, files, batch_id, replaces)
        con.execute("DELETE FROM usage_month WHERE source = ? AND month = ?", [source, month])
        if files:
            paths = [str(store.lake / f.relative) for f in files]
            con.execute(f"CREATE OR REPLACE TEMP VIEW person_month AS SELECT * FROM read_parquet({literal(paths)})")
            con.execute(f"INSERT INTO usage_month BY NAME {_duckdb(USAGE_MONTH)}")
        con.execute("DELETE FROM dirty_months WHERE source = ? AND month = ?", [source, month])
    finish(store, batch_id, replaces)
