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
    third = len(b) // 3
    first_part = write(tmp / "b.ndjson", to_ndjson_text(b[:third]))
    assert cli("ingest", "usage", first_part, "--source", "telco-b").exit_code == 0
    post_and_merge(tmp / "home", "telco-b", b[third:], parts=4)
    return FixtureStore(tmp / "home", {s: accepted(r) for s, r in fx.records_by_source.items()}, fx.weights_by_source)


def post_and_merge(home: Path, source: str, records: list[dict[str, str]], parts: int) -> None:
    """Deliver records as the API does, in `parts` posted batches, each merged from the inbox into the lake
    before the next: the days they touch are then held in several files, which every engine must collapse."""
    from thuocdo.catalog import load_catalog
    from thuocdo.ingest.bodies import parse_records
    from thuocdo.ingest.inbox import flush_inbox
    from thuocdo.ingest.stream import Submission, Writer, accept_usage
    from thuocdo.rollups.rebuild import rebuild_dirty
    from thuocdo.store import Store

    size = -(-len(records) // parts)
    with Store(home) as store:
        for i in range(parts):
            body = to_ndjson_text(records[i * size:(i + 1) * size]).encode()
            submission = Submission(parse_records(body, f"part-{i}"), Writer(None, "admin"))
            accept_usage(store, load_catalog(), source, [submission])
            flush_inbox(store)
        rebuild_dirty(store)  # as the command line does after an ingestion: the engines read the store read-only


#: the stored person-days (parameter $files: every person_day file) one row per person-day, written for the tests
#: apart from the engines' own collapse: a day's parts from several files (see post_and_merge) are active if
#: any part is, in the province of the part with most seconds (then the smallest code)
PERSON_DAYS = """
WITH parts AS (SELECT * FROM read_parquet($files, hive_partitioning = true)),
days AS (SELECT source, platform, person, day, month, bool_or(active) AS active FROM parts GROUP BY ALL),
provinces AS (SELECT source, platform, person, day, province FROM parts WHERE province IS NOT NULL
              QUALIFY row_number() OVER (PARTITION BY source, platform, person, day
                                         ORDER BY province_seconds DESC, province) = 1)
SELECT days.*, provinces.province FROM days LEFT JOIN provinces USING (source, platform, person, day)
"""


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
