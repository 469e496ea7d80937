"""`thuocdo metrics --explain` prints the engine-neutral query per dialect without running it (golden files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlglot

from tests.conftest import Cli


@pytest.mark.parametrize("by", ["platform", "province", "category"])
@pytest.mark.parametrize("dialect", ["duckdb", "spark", "clickhouse"])
def test_explain_golden(cli: Cli, home: Path, by: str, dialect: str, golden: Callable[[str, str], None]) -> None:
    result = cli("metrics", "--period", "2022-Q1", "--by", by, "--explain", "--dialect", dialect)
    assert result.exit_code == 0, result.stderr
    golden(f"metrics-2022-Q1-{by}.{dialect}.sql", result.stdout)
    statements = [s for s in sqlglot.parse(result.stdout, read=dialect) if s is not None]
    assert len(statements) == 4  # person_month, usage_month and usage_week rollups, metric query: valid in the dialect
    assert not home.exists()  # explaining touches no store


def test_explain_names_the_compared_periods(cli: Cli) -> None:
    sql = cli("metrics", "--period", "2022-03", "--explain").stdout
    assert "'2022-02'" in sql and "'2021-03'" in sql and "'2022-03'" in sql
