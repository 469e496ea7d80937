"""SQL text for the store's database: values as literals, and engine-neutral SQL printed for DuckDB."""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp


def literal(value: object) -> str:
    """A value as a DuckDB SQL literal (strings quoted and escaped, lists as lists).

    >>> literal("it's"), literal([1, 2])
    ("'it''s'", '[1, 2]')
    """
    return exp.convert(value).sql(dialect="duckdb")


@functools.lru_cache(maxsize=512)
def duckdb_sql(sql: str) -> str:
    """Engine-neutral SQL (written in DuckDB's dialect) as DuckDB runs it: the wide sums of integers
    (:func:`exact_sums`) taken as DuckDB takes them. Cached: a command prints the same few rollups again and again,
    and parsing one costs milliseconds (a late file's rollups printed seven, 0.1-0.2 s of its time).

    >>> duckdb_sql("SELECT CAST(LEAST(SUM(CAST(n AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS n FROM t")
    'SELECT CAST(LEAST(SUM(n), 9223372036854775807) AS BIGINT) AS n FROM t'
    """
    return exact_sums(sqlglot.parse_one(sql, read="duckdb")).sql(dialect="duckdb")


def exact_sums(query: exp.Expr) -> exp.Expr:
    """`query` with each ``SUM(CAST(x AS DECIMAL(38, 0)))`` read as ``SUM(x)``.

    The engine-neutral rollups sum integer columns wide, cast to DECIMAL(38, 0), so that Spark (whose SUM of a
    BIGINT is a BIGINT) does not overflow. DuckDB sums integers into a HUGEINT, exact to 38 digits as well: the
    same value without a decimal conversion of every row, which costs about as much as the aggregation itself.
    Only integer columns are summed that way (a fractional value would be rounded by the cast, not by SUM)."""
    def uncast(node: exp.Expr) -> exp.Expr:
        if (isinstance(node, exp.Sum) and isinstance(node.this, exp.Cast)
                and node.this.to.sql(dialect="duckdb") == "DECIMAL(38, 0)"):
            return exp.Sum(this=node.this.this.copy())
        return node

    return query.transform(uncast)
