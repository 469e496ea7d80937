"""A period outside the years thuocdo knows is a clear error (exit 2), never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import Cli


@pytest.mark.parametrize("period", ["0000-01", "0001-Q1", "1999-12", "2100-01"])
def test_a_period_outside_the_known_years_is_refused(cli: Cli, period: str) -> None:
    result = cli("metrics", "--period", period)
    assert result.exit_code == 2
    assert "năm phải từ 2000 đến 2099" in result.stderr


def test_the_edges_are_accepted(cli: Cli) -> None:
    for period in ("2000-01", "2099-Q4"):
        result = cli("metrics", "--period", period, "--explain")
        assert result.exit_code == 0, result.stderr
