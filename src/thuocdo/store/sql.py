"""SQL text for the store's database: values as literals, and engine-neutral SQL printed for DuckDB."""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def literal(value: object) -> str:
    """A value as a DuckDB SQL literal (strings quoted and escaped, lists as lists).

    >>> literal("it's"), literal([1, 2])
    ("'it''s'", '[1, 2]')
    """
    return exp.convert(value).sql(dialect="duckdb")


def duckdb_sql(sql: str) -> str:
    """Engine-neutral SQL (written in DuckDB's dialect) as DuckDB runs it."""
    return sqlglot.transpile(sql, read="duckdb", write="duckdb")[0]
