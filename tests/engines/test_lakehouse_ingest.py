"""Usage ingestion on Spark into the lakehouse (Iceberg on the object store, the cluster's PostgreSQL catalog), on
the two-worker cluster of `thuocdo cluster up`, held against DuckDB ingestion of the same files:

* the engines' fixture (two sources, CSV and NDJSON, bad rows, duplicates): the same batch results, the same
  quarantine (file, line, reasons), byte-identical person keys, and the same metrics (DuckDB, itself held against
  the independent reference in test_cross_engine.py, and the reference directly);
* two writers at once, one of them sending the same file twice at the same moment: every record once;
* the driver killed (``kill -9``) at several points, then the same command again: nothing lost, nothing doubled;
* a late file touches only its own day's person-days;
* the quarterly report from the lakehouse (``report --engine spark``) is the embedded one, word for word;
* the default engine (DuckDB) of the lakehouse's home lists and measures the sources Spark ingested, from the
  lakehouse's usage_month, as the embedded twin does, also after new weights Spark has not summed yet.

Every Spark application runs in a process of its own (lakehouse_ingest_driver.py, lakehouse_ingest_probe.py).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests import reference
from tests.conftest import Cli, write
from tests.engines.conftest import require_spark
from tests.lakehouse_files import person_months, small_file
from tests.random_fixture import FIXTURE_PLATFORMS, make_fixture, to_csv_text, to_ndjson_text, weights_to_csv_text
from tests.test_engine_vs_reference import COMPARED, RENAMED, accepted, resolve_province
from thuocdo.catalog import load_catalog
from thuocdo.engines.duckdb import DuckDBEngine
from thuocdo.ingest.landing import landing_bytes
from thuocdo.metrics import query as mq
from thuocdo.model.periods import Period
from thuocdo.rollups.served import lakehouse_weeks
from thuocdo.store import Store
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows import sources as sources_workflow
from thuocdo.workflows.cluster import lakehouse
from thuocdo.workflows.migrate import migrate
from thuocdo.workflows.quality import quality
from thuocdo.workflows.quarantine import quarantine_entries
from thuocdo.workflows.reports import followed_between
from thuocdo.workflows.retention import retention

pytestmark = pytest.mark.cluster

HERE = Path(__file__).parent
DRIVER, PROBE = HERE / "lakehouse_ingest_driver.py", HERE / "lakehouse_ingest_probe.py"
LANDED = "@landed"  # in a plan: the batches landed for the source (lakehouse_ingest_driver.py)
CASES = [("2022-Q1", "platform"), ("2022-Q1", "province"), ("2022-03", "platform"), ("2021-12", "province"),
         ("2022-03", "category")]
RELATIVE = 1e-9
#: the source whose batches are posted over HTTP and landed for Spark
POSTED = "posted"
#: operators declared with shared keys: unioned person-wise in their union and in the national estimate
SHARED = ("shared-x", "shared-y")
#: the source moved from the home's embedded store into the cluster's lakehouse (`thuocdo migrate`)
MOVED = "moved"
#: (period, by, source) of the selections whose persons are unioned: on Spark (the probe) and on the default engine
SELECTIONS = [("2022-03", "platform", "national"), ("2022-03", "province", "national"),
              ("2022-03", "platform", ",".join(SHARED)), ("2022-Q1", "platform", "national")]


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(HERE.parent.parent), *sys.path])}


def spark_ingest(home: Path, plan: list[tuple[str, list[Path]]],
                 conf: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run the driver on a plan of ingestions (one Spark application) to the end; the results of each."""
    done = subprocess.run([sys.executable, str(DRIVER), str(home), _plan(plan), json.dumps(conf or {})],
                          capture_output=True, text=True, env=_env(), timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [m for m in map(json.loads, json_lines(done.stdout)) if "results" in m]


def json_lines(stdout: str) -> list[str]:
    """The driver's JSON lines (the JVM may write a warning of its own to standard output)."""
    return [line for line in stdout.strip().splitlines() if line.startswith("{")]


def _plan(plan: list[tuple[str, list[Path]]]) -> str:
    return json.dumps([[source, [str(f) for f in files]] for source, files in plan])


def killed_ingest(home: Path, source: str, file: Path, step: str, delay: float) -> list[str]:
    """Start the driver and kill it (its JVM too) `delay` seconds after it announces `step`; the steps seen."""
    process = subprocess.Popen([sys.executable, str(DRIVER), str(home), _plan([(source, [file])])],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(),
                               start_new_session=True)
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        if not line.startswith("{"):  # a warning of the JVM's own
            continue
        message = json.loads(line)
        if "step" in message:
            seen.append(message["step"])
            if message["step"] == step:
                time.sleep(delay)
                break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return seen


def probe(home: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(PROBE), str(home), str(out), json.dumps(CASES),
                           json.dumps(SELECTIONS)], capture_output=True,
                          text=True, env=_env(), timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def duckdb_results(home: Path) -> dict[tuple[str, str], pa.Table]:
    catalog = load_catalog()
    with Store(home, read_only=True) as store:
        engine = DuckDBEngine(store)
        results = {}
        for period, by in CASES:
            request = metric_workflow.metric_request(period, by)
            results[(period, by)] = engine.run(mq.build(request), metric_workflow.relations(catalog, request))
    return results


def close(a: object, b: object) -> bool:
    none_a = a is None or (isinstance(a, float) and math.isnan(a))
    none_b = b is None or (isinstance(b, float) and math.isnan(b))
    if none_a or none_b:
        return none_a and none_b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=RELATIVE, abs_tol=RELATIVE)  # type: ignore[arg-type]


def assert_same_tables(spark: pa.Table, duck: pa.Table, where: str) -> None:
    assert spark.schema.names == duck.schema.names, where
    assert spark.num_rows == duck.num_rows > 0, where
    for d, s in zip(duck.to_pylist(), spark.to_pylist(), strict=True):
        for column, value in d.items():
            assert close(s[column], value), f"{where} {column}: spark {s[column]} ≠ duckdb {value} ({d})"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lakehouse home with its cluster running, for the module."""
    require_spark()
    home = tmp_path_factory.mktemp("lakehouse") / "home"
    cli = Cli(home)
    with Store(home):  # the store's secret, shared by twin homes
        pass
    up = cli("cluster", "up", "--workers", "2")
    assert up.exit_code == 0, up.stderr
    try:
        yield home
    finally:
        cli("cluster", "down")


def twin_home(lake_home: Path, path: Path) -> Path:
    """An embedded home with the lakehouse home's secret (so that both give the same person keys)."""
    path.mkdir(parents=True)
    shutil.copy2(lake_home / "secret.key", path / "secret.key")
    return path


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("lakehouse-files")
    fx = make_fixture(seed=20220401, n_records=3000)
    a, b = fx.records_by_source["panel-a"], fx.records_by_source["telco-b"]
    return {
        "weights": write(tmp / "w.csv", weights_to_csv_text(fx.weights_by_source["panel-a"])),
        "a": [write(tmp / "a1.csv", to_csv_text(a[: len(a) // 2])),
              write(tmp / "a2.csv", to_csv_text(a[len(a) // 2:]))],
        "b": write(tmp / "b.ndjson", to_ndjson_text(b)),
        "records": {s: accepted(r) for s, r in fx.records_by_source.items()},
        "weights_rows": fx.weights_by_source,
    }


def posted_records(seed: int, n: int) -> list[dict[str, Any]]:
    """Usage records of 2022-03 as a client posts them (JSON values), one of them bad."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = [
        {"record_id": f"p{seed}-{i}", "user_id": f"u{rng.randrange(150)}",
         "platform": rng.choice(["zalo", "facebook", "tiktok"]),
         "time": f"2022-03-{rng.randrange(1, 8):02d}T{rng.randrange(24):02d}:00:00+07:00",
         "active_seconds": rng.randrange(3600), "bytes": rng.randrange(10**8), "sessions": rng.randrange(1, 5),
         "province": rng.choice(["01", "79", "Đà Nẵng"])} for i in range(n)]
    records[7]["platform"] = "không-có"
    return records


#: the driver killed this long after it announces a step: in the records' merge, and in the person-day rebuild
KILL_POINTS = {"kill-merge": ("ghi bản ghi", 1.0), "kill-days": ("cập nhật người-ngày", 0.5)}


@dataclass
class Scenario:
    """Everything the module's tests check, run once: the Spark ingestions, the same files into an embedded
    twin home with DuckDB, and one probe of the lakehouse (metrics and tables)."""

    lake: Path
    duck: Path
    probe: Path
    runs: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> list[dict[str, Any]]:
        return pq.read_table(self.probe / f"table_{name}.parquet").to_pylist()

    def lake_rows(self, source: str, period: str = "2022-03", by: str = "platform") -> list[dict[str, Any]]:
        table = pq.read_table(self.probe / f"{period}_{by}.parquet")
        return [r for r in table.to_pylist() if r["source"] == source]

    def duck_rows(self, source: str, period: str = "2022-03", by: str = "platform") -> list[dict[str, Any]]:
        return [r for r in duckdb_results(self.duck)[(period, by)].to_pylist() if r["source"] == source]

    def duck_stored(self) -> dict[str, tuple[int, int]]:
        with Store(self.duck, read_only=True) as store:
            rows = store.con.sql("SELECT source, sum(stored), sum(rejected) FROM batches WHERE kind = 'usage' "
                                 "GROUP BY source").fetchall()
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}


@pytest.fixture(scope="module")
def scenario(cluster: Path, fixture_files: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    tmp = tmp_path_factory.mktemp("lakehouse-scenario")
    duck = twin_home(cluster, tmp / "duck")
    run = Scenario(cluster, duck, tmp / "probe")
    for home in (cluster, duck):
        assert Cli(home)("ingest", "weights", fixture_files["weights"], "--source", "panel-a").exit_code == 0
    cli = Cli(duck)
    # the driver killed at each point (in a run of its own)
    kill_files = {source: small_file(tmp / f"{source}.csv", 3) for source in KILL_POINTS}
    for source, (step, delay) in KILL_POINTS.items():
        run.runs[f"{source}-seen"] = killed_ingest(cluster, source, kill_files[source], step, delay)
    # then, in one application: the fixture's two sources, the killed commands again, a month's first days and
    # a late file of one of them
    march = small_file(tmp / "march.csv", 4, days=(1, 2, 3, 4, 5))
    late = small_file(tmp / "late.csv", 5, n=50, days=(2,))
    # two operators with shared keys and declared coverage (their persons overlap: the same 150 user ids)
    lines = ["province,month,subscribers"] + [f"{p},2022-03,{n}" for p, n in (("01", 120), ("79", 90), ("48", 60))]
    coverage = write(tmp / "coverage.csv", "\n".join(lines) + "\n")
    for home in (cluster, duck):
        for name in SHARED:
            assert Cli(home)("sources", "declare", name, "--kind", "census", "--link-key", "shared", "--coverage",
                             coverage).exit_code == 0
    # batches posted over HTTP for a source of the lakehouse, landed on the object store (the answer's part is
    # tested in tests/web/test_lakehouse_place.py): two batches, the first sent twice; the twin takes the same
    # records as files of the same names
    batches = [orjson.dumps(posted_records(8, 300)), b"\n".join(orjson.dumps(r) for r in posted_records(9, 200))]
    landed = [ingest_workflow.land_usage(cluster, POSTED, body) for body in (*batches, gzip.compress(batches[0]))]
    run.runs["landed"] = landed
    posted = []
    for uri, _ in landed[:2]:
        posted.append(tmp / "posted" / uri.rsplit("/", 1)[-1])
        posted[-1].parent.mkdir(exist_ok=True)
        posted[-1].write_bytes(landing_bytes(batches[len(posted) - 1], "lô"))
    # a source of the home's embedded store moved into the cluster's lakehouse (`thuocdo migrate`), then
    # continued by Spark: the file stored before the move again, and a late file of the same days
    moved_files = [small_file(tmp / "moved.csv", 15, n=900, days=(1, 2, 3)),
                   small_file(tmp / "moved-late.csv", 16, n=400, days=(2, 3))]
    assert not ingest_workflow.ingest(cluster, "usage", moved_files[:1], MOVED).errors
    run.runs["migrated"] = migrate(cluster, [MOVED])
    plan: list[tuple[str, list[Path]]] = [
        ("panel-a", fixture_files["a"]), ("telco-b", [fixture_files["b"]]),
        *[(source, [file]) for source, file in kill_files.items()],
        *[(name, [small_file(tmp / f"{name}.csv", 6 + i, n=600)]) for i, name in enumerate(SHARED)],
        (MOVED, moved_files), (POSTED, [Path(LANDED)]), ("late", [march]), ("late", [late])]
    done = spark_ingest(cluster, plan)
    run.runs |= {"panel-a": done[0], "telco-b": done[1], **{s: done[2 + i] for i, s in enumerate(kill_files)},
                 "late-first": done[-2], "late": done[-1], "late-file": late}
    run.runs[POSTED] = done[-3]
    run.runs[MOVED] = done[-4]
    for source, files in plan[:-1]:
        assert cli("ingest", "usage", *(posted if source == POSTED else files), "--source", source).exit_code in (0, 1)
    assert cli("ingest", "usage", late, "--source", "late").exit_code in (0, 1)

    # two drivers at once, one core each (one worker each): the same file into one source by both, then by the
    # first another file into another source while the second may still be at work
    one, other = small_file(tmp / "one.csv", 1), small_file(tmp / "other.csv", 2)
    plans = [[("conc-a", [one]), ("conc-b", [other])], [("conc-a", [one])]]
    processes = [subprocess.Popen([sys.executable, str(DRIVER), str(cluster), _plan(p),
                                   json.dumps({"spark.cores.max": "1"})], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=_env()) for p in plans]
    outputs = [p.communicate(timeout=900) for p in processes]
    assert all(p.returncode == 0 for p in processes), [o[1][-2000:] for o in outputs]
    first, second = ([m["results"][0] for m in map(json.loads, json_lines(o[0])) if "results" in m]
                     for o in outputs)
    run.runs["concurrent"] = [first[0], second[0], first[1]]  # conc-a twice, then conc-b
    for source, file in (("conc-a", one), ("conc-b", other)):
        assert cli("ingest", "usage", file, "--source", source).exit_code in (0, 1)

    # the default engine continues a source the lakehouse holds (DuckDB, pyiceberg on the object store): a file
    # Spark stored already (nothing new), then a day of its own; the twin takes that day too
    extra = small_file(tmp / "extra.csv", 13, n=80, days=(6,))
    run.runs["default-again"] = ingest_workflow.ingest(cluster, "usage", [march], "late")
    run.runs["default-extra"] = ingest_workflow.ingest(cluster, "usage", [extra], "late")
    run.runs["extra-file"] = extra
    assert cli("ingest", "usage", extra, "--source", "late").exit_code in (0, 1)
    # and a batch posted for it, landed, then ingested by the default engine (as `serve` does by default)
    body = orjson.dumps(posted_records(14, 100))
    uri, _ = ingest_workflow.land_usage(cluster, "late", body)
    run.runs["default-landed"] = ingest_workflow.ingest_landed(cluster, "late", engine="duckdb")
    run.runs["default-landed-uri"] = uri
    as_file = write(tmp / "posted" / uri.rsplit("/", 1)[-1], landing_bytes(body, "lô").decode())
    assert cli("ingest", "usage", as_file, "--source", "late").exit_code in (0, 1)

    probe(cluster, run.probe)
    # the quarterly report from the embedded twin (DuckDB); the probe wrote the lakehouse's (Spark)
    assert cli("report", "--period", "2022-Q1", "--source", "panel-a", "--format", "md", "--output",
               tmp / "report-duckdb").exit_code == 0
    run.runs["report-duckdb"] = tmp / "report-duckdb"
    run.runs["report-spark"] = run.probe / "report-spark"
    return run


def test_spark_ingestion_equals_duckdb_ingestion_and_the_reference(scenario: Scenario,
                                                                    fixture_files: dict[str, Any]) -> None:
    with Store(scenario.duck, read_only=True) as store:
        batches = store.con.sql("SELECT file, rows_read, stored, duplicates, rejected FROM batches "
                                "WHERE source IN ('panel-a', 'telco-b') AND kind = 'usage' "
                                "ORDER BY committed_at").fetchall()
        quarantine = store.con.sql("SELECT source, file, line, problems FROM quarantine "
                                   "WHERE source IN ('panel-a', 'telco-b')").fetchall()
        persons = store.con.sql("SELECT DISTINCT source, person FROM read_parquet($f, hive_partitioning = true) "
                                "WHERE source IN ('panel-a', 'telco-b')",
                                params={"f": store.files("person_day")}).fetchall()
    # the same batch results, file by file
    got = [(r["file"], r["rows_read"], r["stored"], r["duplicates"], r["rejected"])
           for source in ("panel-a", "telco-b") for r in scenario.runs[source]["results"]]
    assert got == [tuple(b) for b in batches] and len(got) == 3
    assert sum(r[3] for r in got) > 0 and sum(r[4] for r in got) > 0  # the fixture has duplicates and bad rows
    # the same quarantine (file, line, every reason), and byte-identical person keys
    lake_quarantine = [q for q in scenario.table("quarantine") if q["source"] in ("panel-a", "telco-b")]
    assert sorted((q["source"], q["file"], q["line"], q["problems"]) for q in lake_quarantine) == sorted(quarantine)
    records = [r for r in scenario.table("usage_records") if r["source"] in ("panel-a", "telco-b")]
    assert {(r["source"], r["person"]) for r in records} == set(persons)

    expected = duckdb_results(scenario.duck)
    catalog = load_catalog()
    for period, by in CASES:
        spark_table = pq.read_table(scenario.probe / f"{period}_{by}.parquet")
        mine = spark_table.filter(pa.compute.is_in(spark_table["source"], pa.array(["panel-a", "telco-b"])))
        theirs = expected[(period, by)]
        theirs = theirs.filter(pa.compute.is_in(theirs["source"], pa.array(["panel-a", "telco-b"])))
        assert_same_tables(mine, theirs, f"{period} {by}")
        if by == "category":
            continue
        reference_table = reference.reference_metrics(
            fixture_files["records"], fixture_files["weights_rows"], period, resolve_platform=catalog.resolve_platform,
            resolve_province=resolve_province, platform_info=FIXTURE_PLATFORMS, by_province=by == "province")
        keys = ["source", "platform"] + (["province"] if by == "province" else [])
        rows = {tuple(r[k] for k in keys): r for r in mine.to_pylist() if r.get("basis", "records") == "records"}
        for e in reference_table.to_dict("records"):
            key = tuple(None if (isinstance(e[k], float) and math.isnan(e[k])) else e[k] for k in keys)
            for column in COMPARED + list(RENAMED):
                assert close(rows[key][RENAMED.get(column, column)], e[column]), (period, key, column)


def assert_same_rows(spark: list[dict[str, Any]], duck: list[dict[str, Any]]) -> None:
    assert len(spark) == len(duck) > 0
    for s, d in zip(spark, duck, strict=True):
        assert all(close(s[c], v) for c, v in d.items()), (s, d)


def test_concurrent_writers_store_every_record_once(scenario: Scenario) -> None:
    stored = scenario.duck_stored()
    results = scenario.runs["concurrent"]
    # the two deliveries of the same file at the same moment: one stored it, the other found every record there
    assert sorted(r["stored"] for r in results[:2]) == [0, stored["conc-a"][0]]
    assert results[2]["stored"] == stored["conc-b"][0]
    for source in ("conc-a", "conc-b"):
        assert sum(r["source"] == source for r in scenario.table("usage_records")) == stored[source][0]
        assert_same_rows(scenario.lake_rows(source), scenario.duck_rows(source))


@pytest.mark.parametrize("source", sorted(KILL_POINTS))
def test_a_killed_driver_then_the_same_command_loses_and_doubles_nothing(scenario: Scenario, source: str) -> None:
    assert KILL_POINTS[source][0] in scenario.runs[f"{source}-seen"]
    stored, rejected = scenario.duck_stored()[source]
    assert sum(r["source"] == source for r in scenario.table("usage_records")) == stored
    assert_same_rows(scenario.lake_rows(source), scenario.duck_rows(source))
    again = scenario.runs[source]["results"][0]
    assert again["stored"] in (0, stored) and again["rejected"] == rejected


def test_spark_keeps_the_weekly_rollup_as_the_embedded_twin_and_readers_use_it(scenario: Scenario) -> None:
    """Each ingestion keeps the lakehouse's usage_week, on Spark as by the default engine and stamped alike: the
    embedded twin's rows, and current for the default engine's readers (no week computed from person-days)."""
    lake_weeks = scenario.table("usage_week")
    sources = {r["source"] for r in lake_weeks}
    assert {"panel-a", "telco-b", "late", MOVED, POSTED} <= sources
    with Store(scenario.duck, read_only=True) as store:
        duck = store.con.sql("SELECT * FROM usage_week").to_arrow_table().to_pylist()
    key = ("source", "platform", "week", "province")
    mine = {tuple(r[k] for k in key): r for r in lake_weeks}
    theirs = {tuple(r[k] for k in key): r for r in duck if r["source"] in sources}
    assert mine.keys() == theirs.keys()
    for k, row in theirs.items():
        assert all(close(mine[k][c], row[c]) for c in ("persons", "w_persons", "w2_persons")), (k, mine[k], row)
    weeks = sorted({r["week"] for r in lake_weeks})
    with Store(scenario.lake, read_only=True) as store:
        rows, missing = lakehouse_weeks(store, lakehouse(scenario.lake), ["panel-a", "telco-b", MOVED], weeks)
    assert missing == set()
    assert rows.num_rows == sum(r["source"] in ("panel-a", "telco-b", MOVED) for r in lake_weeks)


def test_a_late_file_rebuilds_only_its_days(scenario: Scenario) -> None:
    assert scenario.runs["late-first"]["days_rebuilt"] == 5
    late = scenario.runs["late"]
    assert late["results"][0]["stored"] == 50 and late["days_rebuilt"] == 1
    assert_same_rows(scenario.lake_rows("late"), scenario.duck_rows("late"))
    # the late run's commit to person_day replaced one partition (that day of that source); the first, five
    snapshots = {s["snapshot_id"]: s for s in scenario.table("person_day_snapshots")}
    for run, partitions in (("late", "1"), ("late-first", "5")):
        commit = snapshots[scenario.runs[run]["person_day_snapshot"]]
        summary = dict(commit["summary"])
        assert summary["changed-partition-count"] == partitions and commit["operation"] == "overwrite", summary


def test_a_source_moved_from_the_embedded_store_is_continued_by_spark(scenario: Scenario) -> None:
    """`thuocdo migrate` into the cluster's lakehouse (pyiceberg on the object store), then Spark: the file stored
    before the move stores nothing (its record keys moved), and a late file of the same days merges with the moved
    person-days as the embedded twin merges it (Spark's rebuild reads the records, not the key-only rows)."""
    (moved,) = scenario.runs["migrated"].moved
    assert moved.source == MOVED and moved.stored == moved.person_days + moved.keys and moved.keys > 800
    first, late = scenario.runs[MOVED]["results"]
    stored = scenario.duck_stored()[MOVED][0]
    assert first["stored"] == 0 and first["duplicates"] > 0
    assert late["stored"] == stored - moved.keys > 300
    assert scenario.runs[MOVED]["days_rebuilt"] == 2
    key_only = [r for r in scenario.table("usage_records") if r["source"] == MOVED and r["platform"] == ""]
    assert len(key_only) == moved.keys
    assert_same_rows(scenario.lake_rows(MOVED), scenario.duck_rows(MOVED))
    assert_same_rows(scenario.lake_rows(MOVED, "2022-Q1", "province"), scenario.duck_rows(MOVED, "2022-Q1", "province"))


def test_the_default_engine_continues_a_source_the_lakehouse_holds(scenario: Scenario) -> None:
    """Files of a lakehouse source ingested by the default engine go to the lakehouse's tables, exactly once
    whichever engine stored a record first; Spark then measures them as the embedded twin does (the late
    source's rows above)."""
    again, extra = scenario.runs["default-again"], scenario.runs["default-extra"]
    spark_first = scenario.runs["late-first"]["results"][0]
    assert [(r.stored, r.duplicates, r.rejected) for r in again.results] == [
        (0, spark_first["stored"] + spark_first["duplicates"], spark_first["rejected"])]
    good = {line.split(",")[0] for line in scenario.runs["extra-file"].read_text(encoding="utf-8").splitlines()[1:]
            if "-bad" not in line}
    assert [r.stored for r in extra.results] == [len(good)] and not extra.errors
    stored = [r for r in scenario.table("usage_records") if r["source"] == "late"]
    assert len(stored) == scenario.duck_stored()["late"][0]  # every record of the source once
    assert sum(r["batch_id"] == extra.results[0].batch_id for r in stored) == len(good)  # under its own batch
    # the posted batch: 100 records, one bad, ingested from the object store and moved to done/
    (landed,) = scenario.runs["default-landed"]["late"].results
    assert landed.file == scenario.runs["default-landed-uri"].rsplit("/", 1)[-1]
    assert (landed.stored, landed.rejected) == (99, 1)
    lines = [q for q in scenario.table("quarantine") if q["source"] == "late" and q["file"] == landed.file]
    assert [q["line"] for q in lines] == [8]  # record 8 of the answer
    assert ingest_workflow.has_landed(scenario.lake) is False


def test_a_late_file_recomputes_only_its_persons_months(scenario: Scenario) -> None:
    # the first file of the source: its month computed whole; the late file: only the person-months of the
    # (platform, person) pairs it holds (each of its records adds sessions, so each pair's person-day changes)
    first, late = scenario.runs["late-first"]["person_month"], scenario.runs["late"]["person_month"]
    assert (first["whole"], first["incremental"]) == (1, 0)
    good = [line.split(",") for line in scenario.runs["late-file"].read_text(encoding="utf-8").splitlines()[1:]
            if "-bad" not in line]
    assert (late["whole"], late["incremental"]) == (0, 1)
    assert late["person_months"] == len({(fields[2], fields[1]) for fields in good}) > 0
    # its commit replaced one partition of person_month (that source's month)
    snapshots = {s["snapshot_id"]: s for s in scenario.table("person_month_snapshots")}
    summary = dict(snapshots[late["snapshot"]]["summary"])
    assert summary["changed-partition-count"] == "1", summary
    # and the stored person-months are those of all the stored person-days
    months = sorted((r["platform"], r["person"], r["province"], r["active_days"], r["active_seconds"], r["bytes"],
                     r["sessions"], r["installs"]) for r in scenario.table("person_month") if r["source"] == "late")
    assert months == person_months([r for r in scenario.table("person_day") if r["source"] == "late"])


def test_the_report_from_the_lakehouse_is_the_embedded_one(scenario: Scenario) -> None:
    spark, duck = (sorted(scenario.runs[f"report-{e}"].glob("*.md")) for e in ("spark", "duckdb"))
    assert [f.name for f in spark] == [f.name for f in duck] and spark
    for a, b in zip(spark, duck, strict=True):
        mine, theirs = (without_completeness(f.read_text(encoding="utf-8")) for f in (a, b))
        assert mine == theirs


def without_completeness(report: str) -> str:
    """A report without its bullet on the sources' deliveries: the runs killed in this module after storing their
    records and before writing their ledger leave those records without a delivery in the lakehouse (the same
    command again counts them as duplicates), which the embedded twin never had. The deliveries of the sources
    ingested alike are compared in the quality test below."""
    lines = report.splitlines()
    kept = [line for line in lines if not line.startswith("- Độ đầy đủ của bản ghi sử dụng")]
    assert len(kept) == len(lines) - 1
    return "\n".join(kept)


def test_batches_posted_for_the_lakehouse_are_ingested_by_spark_once(scenario: Scenario) -> None:
    """Two batches landed (the first sent twice: one file), then ingested by Spark with the files' rules: the
    same records, quarantine and metrics as the twin's ingestion of the same records; the files moved to done/."""
    landed = scenario.runs["landed"]
    assert [new for _, new in landed] == [True, True, False] and landed[2][0] == landed[0][0]
    results = scenario.runs[POSTED]["results"]
    assert [r["file"] for r in results] == sorted(uri.rsplit("/", 1)[-1] for uri, _ in landed[:2])
    stored, rejected = scenario.duck_stored()[POSTED]
    # 300 + 200 records posted, one bad in each batch
    assert sum(r["stored"] for r in results) == stored == 498 and sum(r["rejected"] for r in results) == rejected == 2
    assert sum(r["source"] == POSTED for r in scenario.table("usage_records")) == stored
    assert_same_rows(scenario.lake_rows(POSTED), scenario.duck_rows(POSTED))
    with Store(scenario.duck, read_only=True) as store:
        duck_q = store.con.sql(f"SELECT file, line, problems FROM quarantine WHERE source = '{POSTED}'").fetchall()
    lake_q = [(r["file"], r["line"], r["problems"]) for r in scenario.table("quarantine") if r["source"] == POSTED]
    assert sorted(lake_q) == sorted(duck_q) and len(lake_q) == 2  # the bad record of each batch, at its line 8
    # `quarantine list` of the lakehouse's home shows them (read through pyiceberg), without an id
    listed = quarantine_entries(scenario.lake, POSTED).to_pylist()
    assert sorted((r["file"], r["line"], r["problems"]) for r in listed) == sorted(duck_q)
    assert all(r["id"] is None for r in listed)
    assert ingest_workflow.has_landed(scenario.lake) is False  # every landed file moved to done/


def test_unions_of_persons_over_the_lakehouse_give_the_embedded_figures_on_both_engines(scenario: Scenario) -> None:
    """The union of the shared operators and the national estimate (the panel, the shared operators' union
    expanded by their coverage): on Spark over the lakehouse (the probe), on the default engine of the lakehouse's
    home (person-days read from the lakehouse), and on the embedded twin."""
    requests = [metric_workflow.metric_request(period, by, source) for period, by, source in SELECTIONS]
    duck = metric_workflow.metrics_many(scenario.duck, requests)
    default = metric_workflow.metrics_many(scenario.lake, requests)
    for i, (period, by, source) in enumerate(SELECTIONS):
        assert duck[i].num_rows > 0 and set(duck[i].column("source").to_pylist()) == {source}
        assert_same_tables(default[i], duck[i], f"default engine: {source} {period} {by}")
        assert_same_tables(pq.read_table(scenario.probe / f"selection_{i}.parquet"), duck[i],
                           f"Spark: {source} {period} {by}")
    national = {r["platform"]: r for r in duck[0].to_pylist()}
    assert any("shared-x=" in (r["sources"] or "") for r in national.values())  # the union took part


def test_retention_over_the_lakehouse_is_the_embedded_twins_on_both_engines(scenario: Scenario) -> None:
    """The panel's January cohort followed two months: from the lakehouse's person_month on Spark (the probe)
    and through pyiceberg on the default engine, as from the twin's embedded person-months."""
    def table(home: Path) -> pa.Table:
        return retention(home, "2022-01", 2, source="panel-a", by_province=True).table

    duck = table(scenario.duck)
    assert duck.num_rows > 10 and set(duck.column("months_since").to_pylist()) == {0, 1, 2}
    assert_same_tables(table(scenario.lake), duck, "retention, default engine")
    assert_same_tables(pq.read_table(scenario.probe / "retention.parquet"), duck, "retention, Spark")
    # what the quarterly report follows between the quarters (the panel's persons, December to March)
    lake, twin = (followed_between(home, Period.parse("2022-Q1"), "panel-a") for home in (scenario.lake, scenario.duck))
    assert lake is not None and twin is not None and (lake.before, lake.after) == ("2021-12", "2022-03")
    assert_same_tables(lake.kept, twin.kept, "followed, kept")
    assert_same_tables(lake.returning, twin.returning, "followed, returning")


def test_the_quality_monitor_of_the_lakehouse_is_the_embedded_twins_on_both_engines(scenario: Scenario) -> None:
    """Each delivery's rows per day, as Spark ingestion records them (``batch_days``), give the twin's monitor:
    on the default engine (pyiceberg) and on Spark (the probe)."""
    for source in ("panel-a", "telco-b", POSTED):
        twin = quality(scenario.duck, source, "2022-Q1")
        assert twin.days.num_rows > 0 and sum(twin.days.column("records").to_pylist()) > 0
        lake = quality(scenario.lake, source, "2022-Q1")
        assert lake.days.to_pylist() == twin.days.to_pylist(), source
        assert lake.summary == twin.summary, source
        assert pq.read_table(scenario.probe / f"quality_{source}.parquet").to_pylist() == twin.days.to_pylist()
    rejected = sum(sum(quality(scenario.duck, s, "2022-Q1").days.column(c).to_pylist())
                   for s in ("panel-a", "telco-b") for c in ("rejected", "duplicates"))
    assert rejected > 0  # the fixture has bad rows and duplicates


def test_the_default_engine_measures_the_lakehouses_sources(scenario: Scenario, fixture_files: dict[str, Any],
                                                             tmp_path: Path) -> None:
    """Last in the module: it gives the panel new weights in both homes."""
    requests = [metric_workflow.metric_request(period, by) for period, by in CASES]

    def compare(where: str) -> list[pa.Table]:
        lake, duck = (metric_workflow.metrics_many(home, requests) for home in (scenario.lake, scenario.duck))
        for (period, by), mine, theirs in zip(CASES, lake, duck, strict=True):
            assert_same_tables(mine, theirs, f"{where}: {period} {by}")
        return lake

    before = compare("as ingested")
    listed = {r["source"]: r for r in sources_workflow.list_sources(scenario.lake)}
    assert {"panel-a", "telco-b", "late", "conc-a", "conc-b", *KILL_POINTS} <= set(listed)
    assert (listed["panel-a"]["kind"], listed["telco-b"]["kind"]) == ("panel", "census")
    assert listed["late"]["usage_months"] == 1 and listed["late"]["has_usage"]
    # new weights of the panel (each twice the old), stored in the homes: the lakehouse's usage_month of the
    # panel's months was summed with the old ones, and is summed again from the stored person-months
    doubled = [dict(r, weight=float(r["weight"]) * 2) for r in fixture_files["weights_rows"]["panel-a"]]
    path = write(tmp_path / "doubled.csv", weights_to_csv_text(doubled))
    for home in (scenario.lake, scenario.duck):
        assert Cli(home)("ingest", "weights", path, "--source", "panel-a").exit_code == 0
    after = compare("new weights")
    mau = [{(r["source"], r["platform"]): r["mau"] for r in t.to_pylist()} for t in (before[0], after[0])]
    assert any(not math.isclose(mau[1][k], v) for k, v in mau[0].items() if k[0] == "panel-a")  # it did change
