"""`thuocdo metrics --engine spark` through the command line: the same JSON as the default engine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.engines.conftest import FixtureStore, copy_home


def test_master_needs_the_spark_engine(fixture_store: FixtureStore, tmp_path: Path) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    result = cli("metrics", "--period", "2022-Q1", "--master", "local[2]")
    assert result.exit_code == 2 and "--engine spark" in result.stderr


@pytest.mark.spark
def test_cli_spark_engine_gives_the_default_numbers(fixture_store: FixtureStore, spark: Any, tmp_path: Path) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    default = cli.metrics("2022-Q1")
    on_spark = cli.metrics("2022-Q1", "--engine", "spark", "--master", "local[2]")
    assert len(on_spark) == len(default) > 5
    for d, s in zip(default, on_spark):
        assert list(s) == list(d)
        for key, value in d.items():
            if isinstance(value, float):
                assert math.isclose(s[key], value, rel_tol=1e-9), (d["platform"], key)
            else:
                assert s[key] == value, (d["platform"], key)
