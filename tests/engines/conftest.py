"""One set of cases for every engine: the randomised fixture of the foundation, stored once per test session.

Engines are fixture parameters: ``duckdb`` always, ``spark`` (marked ``spark``) when PySpark and Java are here.
The Spark session is shared by the whole test session (local[2]); each test module gets its own engine on it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write
from tests.random_fixture import make_fixture, to_csv_text, to_ndjson_text, weights_to_csv_text
from tests.test_engine_vs_reference import accepted

#: small data, short-lived JVM: one shuffle partition, no adaptive re-planning, the quick JIT only
TEST_SETTINGS = {"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false",
                 "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
ENGINE_NAMES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@dataclass(frozen=True)
class FixtureStore:
    home: Path
    records: dict[str, list[dict[str, str]]]  # the raw records the engine accepts, per source
    weights: dict[str, list[dict[str, str]]]


@pytest.fixture(scope="session")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> FixtureStore:
    """The fixture of tests/test_engine_vs_reference.py, ingested through the command line (two sources,
    panel weights, CSV and NDJSON). Tests that write to the store (sketches) work on a copy."""
    tmp = tmp_path_factory.mktemp("engines")
    fx = make_fixture(seed=20220401, n_records=3000)
    cli = Cli(tmp / "home")
    a, b = fx.records_by_source["panel-a"], fx.records_by_source["telco-b"]
    assert cli("ingest", "weights", write(tmp / "w.csv", weights_to_csv_text(fx.weights_by_source["panel-a"])),
               "--source", "panel-a").exit_code == 0
    for name, rows in (("a1.csv", a[: len(a) // 2]), ("a2.csv", a[len(a) // 2:])):
        assert cli("ingest", "usage", write(tmp / name, to_csv_text(rows)), "--source", "panel-a").exit_code == 0
    assert cli("ingest", "usage", write(tmp / "b.ndjson", to_ndjson_text(b)), "--source", "telco-b").exit_code == 0
    return FixtureStore(tmp / "home", {s: accepted(r) for s, r in fx.records_by_source.items()}, fx.weights_by_source)


def copy_home(store: FixtureStore, to: Path) -> Path:
    shutil.copytree(store.home, to)
    return to


def require_spark() -> None:
    """Skip unless PySpark and a Java runtime are installed."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java 17 (java on PATH or JAVA_HOME)")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    require_spark()
    from thuocdo.engines.spark import spark_session

    session = spark_session("local[2]", TEST_SETTINGS)
    yield session
    session.stop()
