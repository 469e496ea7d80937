"""A real standalone cluster on loopback (a master and two workers started from the pip-installed PySpark):
the metric set computed through it equals DuckDB's. Runs scripts/spark_cluster.py in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engines.conftest import FixtureStore, copy_home, require_spark

SCRIPT = Path(__file__).parents[2] / "scripts" / "spark_cluster.py"


@pytest.mark.slow
@pytest.mark.spark
def test_standalone_cluster_gives_duckdbs_numbers(fixture_store: FixtureStore, tmp_path: Path) -> None:
    require_spark()
    home = copy_home(fixture_store, tmp_path / "home")
    result = subprocess.run([sys.executable, str(SCRIPT), "check", "--home", str(home),
                             "--dir", str(tmp_path / "cluster"), "--period", "2022-Q1", "--by", "platform", "--quick"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 workers" in result.stdout and "by platform: 15 rows" in result.stdout and ": same" in result.stdout
    assert "cluster stopped" in result.stdout


@pytest.mark.spark
def test_each_input_file_is_one_task(spark: Any) -> None:
    """Regression: the files of a Spark ingestion were hash-partitioned by index, which put 2 files in one task
    (no parallelism) and 4 in 3; each file is its own partition."""
    from thuocdo.ingest.spark_ingest import InputFile, file_frame

    for n in (1, 2, 4, 7):
        frame = file_frame(spark, [InputFile(i, f"/data/{i}.csv") for i in range(n)])
        assert [len(part) for part in frame.rdd.glom().collect()] == [1] * n
