"""The rollups' SQL is parsed once per process: what callers get must not depend on what earlier callers did."""

from __future__ import annotations

from sqlglot import exp

from thuocdo.rollups.definitions import USAGE_MONTH, reading, rollup_sql
from thuocdo.store.sql import duckdb_sql


def _tables(tree: exp.Expr) -> set[str]:
    return {t.name for t in tree.find_all(exp.Table)}


def test_a_changed_parse_does_not_reach_the_next_caller() -> None:
    first = rollup_sql(USAGE_MONTH)
    for table in first.find_all(exp.Table):  # a caller editing its tree in place
        table.set("this", exp.to_identifier("elsewhere"))
    assert _tables(first) == {"elsewhere"}
    assert _tables(rollup_sql(USAGE_MONTH)) == {"person_month", "weights", "pw"}


def test_each_reading_renames_only_its_own_views() -> None:
    one = reading(USAGE_MONTH, {"person_month": "pm_one"}).sql("duckdb")
    two = reading(USAGE_MONTH, {"weights": "w_two"}).sql("duckdb")
    assert "pm_one" in one and "w_two" not in one and "weights AS w" in one
    assert "w_two" in two and "pm_one" not in two and "person_month AS pm" in two
    assert _tables(rollup_sql(USAGE_MONTH)) == {"person_month", "weights", "pw"}


def test_printing_for_duckdb_gives_the_same_text_every_time() -> None:
    sql = "SELECT CAST(LEAST(SUM(CAST(n AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS n FROM t"
    expected = "SELECT CAST(LEAST(SUM(n), 9223372036854775807) AS BIGINT) AS n FROM t"
    assert duckdb_sql(sql) == expected
    assert duckdb_sql(sql) == expected
