"""Spark ingestion into the lakehouse (issue 21): thuocdo on 1 and 2 workers, against the minimal person-day
pipeline written directly in Spark and against DuckDB ingestion, on the same CSV files, in one run.

    .venv/bin/python -m bench.lakehouse [--records 2000000] [--workdir DIR] [--keep] [--default-engine-only]

Data: bench/generate.py's quarter of usage records (2022-Q1, N records, N/20 persons, 50 platforms, files of
~1 M records). For each worker count W in (1, 2): `thuocdo cluster up --workers W` (SeaweedFS, PostgreSQL, Spark
standalone, 1 core and 1 GiB per worker, 1 GiB driver), then, each Spark application in its own process:

* ``minimal``: read the CSV files (header, text columns), hash the user id (sha2-256), the local day
  (Asia/Ho_Chi_Minh) of the ISO time, GROUP BY person × platform × day (sums, count), write Parquet to the object
  store: Spark's reference line, what a skilled Spark user writes for the person-day step, without any rule;
* ``thuocdo``: `ingest usage --engine spark`: every rule (validation with reasons, keyed pseudonym, record keys,
  exactly-once MERGE into Iceberg, quarantine, person-day rebuild of the touched days, the person-months of the
  persons they changed, the usage_month sums of their months, ledger);
* with 2 workers, ``late``: a late file of 1,000 records of one day into the store just written;
* with 2 workers, ``metrics``: the quarter's metric set (by platform, by province, by category) from the
  lakehouse's rollups, on Spark (``--engine spark``) and on the default engine (DuckDB reading the lakehouse's
  ``usage_month`` through pyiceberg).

With 2 workers also ``late`` by the default engine: another late file of 1,000 records (another day) ingested
into the cluster's lakehouse by DuckDB and pyiceberg (:mod:`thuocdo.ingest.lakehouse_ingest`).

Then ``duckdb``: `thuocdo ingest usage` of the same files into an embedded home (the month rollups included); and
the default engine's ingestion of the same files into a local lakehouse (SQLite catalog, file warehouse), then a
late file of 1,000 records into it.
CPU time is the sum over every process of the run (driver, master, workers, executors: /proc), so µs per
record compare the engines' work whatever the wall time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLK = os.sysconf("SC_CLK_TCK")

MINIMAL = """
import sys
from pyspark.sql import functions as F
from thuocdo.engines.spark import lakehouse_session
from thuocdo.workflows.cluster import lakehouse, spark_master
home, files = sys.argv[1], sys.argv[2:]
lake = lakehouse(home)
spark = lakehouse_session(lake, spark_master(home))
raw = spark.read.option("header", True).csv(files)
local = F.from_utc_timestamp(F.to_timestamp("time"), "Asia/Ho_Chi_Minh")
rows = raw.select(F.sha2("user_id", 256).alias("person"), "platform", F.to_date(local).alias("day"),
                  F.col("active_seconds").cast("bigint").alias("s"), F.col("bytes").cast("bigint").alias("b"))
out = rows.groupBy("person", "platform", "day").agg(F.sum("s").alias("active_seconds"),
                                                    F.sum("b").alias("bytes"), F.count("*").alias("records"))
out.write.mode("overwrite").parquet(f"s3a://{lake.bucket}/bench/minimal")
print(spark.read.parquet(f"s3a://{lake.bucket}/bench/minimal").count())
spark.stop()
"""

THUOCDO = """
import json, sys
from thuocdo.workflows.ingest import ingest_spark
home, source, files = sys.argv[1], sys.argv[2], sys.argv[3:]
report = ingest_spark(home, files, source)
print(json.dumps({"stored": sum(r.stored for r in report.results), "rejected": sum(r.rejected for r in report.results),
                  "days_rebuilt": report.days_rebuilt, "seconds": report.seconds, "errors": report.errors}))
"""

METRICS = """
import json, sys, time
from thuocdo.workflows import metrics as mw
home, engine = sys.argv[1], sys.argv[2]
requests = [mw.metric_request("2022-Q1", by) for by in ("platform", "province", "category")]
started = time.monotonic()
tables = mw.metrics_many(home, requests, engine=engine)
print(json.dumps({"rows": [t.num_rows for t in tables], "seconds": round(time.monotonic() - started, 2)}))
"""

DEFAULT_INTO_LAKEHOUSE = """
import json, sys
from thuocdo.ingest.lakehouse_ingest import ingest_usage_lakehouse
from thuocdo.store.lakehouse import Lakehouse
from thuocdo.workflows.ingest import spark_inputs
from thuocdo.workflows.store import open_store
home, lake_folder, source, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if lake_folder == "-":
    from thuocdo.workflows.cluster import lakehouse
    lake = lakehouse(home)
else:
    lake = Lakehouse.local(lake_folder)
with open_store(home) as store:
    given = spark_inputs(store, source)
report = ingest_usage_lakehouse(lake, files, source, given.secret, key_domain=given.key_domain,
                                weights=given.weights, weights_stamps=given.stamps)
print(json.dumps({"stored": sum(r.stored for r in report.results), "days_rebuilt": report.days_rebuilt,
                  "seconds": {k: round(v, 2) for k, v in report.seconds.items()}, "errors": report.errors}))
"""

DUCKDB = """
import json, sys
from pathlib import Path
from thuocdo.workflows.ingest import ingest
home, files = sys.argv[1], sys.argv[2:]
report = ingest(home, "usage", [Path(f) for f in files], "bench")
print(json.dumps({"stored": sum(r.stored for r in report.results)}))
"""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                for c in (t / "children").read_text().split()]
    except OSError:
        return []


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_of_tree(pids: list[int]) -> tuple[float, int]:
    """User + system seconds of the processes, of their reaped children and of every live descendant (the
    executors of a running application); and how many live descendants there are (Linux /proc)."""
    total, live = 0, 0
    for pid in pids:
        fields = _stat(pid)
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        stack = _children(pid)
        while stack:
            child = stack.pop()
            fields = _stat(child)
            if fields:
                live += 1
                total += sum(int(f) for f in fields[11:15])
                stack.extend(_children(child))
    return total / CLK, live


def _cluster_pids(home: Path) -> list[int]:
    from thuocdo.workflows.cluster import cluster_status

    parts = cluster_status(home) or []
    return [p.pid for part in parts for p in part.recorded]


def _settled(home: Path) -> float:
    """The cluster's CPU seconds once the executors of a finished application have exited and been reaped."""
    cpu, live = _cpu_of_tree(_cluster_pids(home))
    for _ in range(60):
        time.sleep(0.5)
        again, now_live = _cpu_of_tree(_cluster_pids(home))
        if now_live == live and abs(again - cpu) < 0.05:
            return again
        cpu, live = again, now_live
    return cpu


def run_app(code: str, args: list[str], home: Path | None) -> dict[str, Any]:
    """One application in its own process: wall seconds, CPU seconds (its own and the cluster's), its output."""
    before_cluster = _settled(home) if home else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed: {done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cluster_cpu = (_settled(home) - before_cluster) if home else 0.0
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu + cluster_cpu, 2), "driver_cpu_s": round(cpu, 2),
            "output": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
            "peak_driver_rss_mb": round(after.ru_maxrss / 1024)}


def late_file(path: Path, n: int = 1000, day: int = 15) -> Path:
    lines = ["record_id,user_id,platform,time,active_seconds,bytes,sessions"]
    lines += [f"late{day}-{i},late-user-{i % 300},zalo,2022-02-{day}T10:{i % 60:02d}:00+07:00,60,1000,1"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=4_000_000)
    parser.add_argument("--records-per-file", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--default-engine-only", action="store_true",
                        help="no cluster: the embedded store and the default engine's local lakehouse only")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from thuocdo.store import Store
    from thuocdo.workflows.cluster import cluster_down, cluster_up

    workdir, files = prepared(args, "thuocdo-bench-lakehouse-")
    size_mb = sum(Path(f).stat().st_size for f in files) / 1e6
    print(f"{args.records:,} records, {len(files)} CSV files, {size_mb:,.0f} MB, in {workdir}", flush=True)
    results: dict[str, Any] = {"records": args.records, "files": len(files), "csv_mb": round(size_mb)}
    try:
        for workers in () if args.default_engine_only else (1, 2):
            home = workdir / f"home-{workers}w"
            shutil.rmtree(home, ignore_errors=True)
            with Store(home):
                pass
            cluster_up(home, workers)
            try:
                for name, code, extra in (("minimal", MINIMAL, files), ("thuocdo", THUOCDO, ["bench", *files])):
                    result = run_app(code, [str(home), *extra], home)
                    result["records_per_s"] = round(args.records / result["wall_s"])
                    result["cpu_us_per_record"] = round(result["cpu_s"] / args.records * 1e6, 2)
                    results[f"spark_{name}_{workers}w"] = result
                    print(f"{workers} worker(s) {name}: {json.dumps(result)}", flush=True)
                if workers == 2:
                    late = run_app(THUOCDO, [str(home), "bench", str(late_file(workdir / "late.csv"))], home)
                    results["spark_late_day_2w"] = late
                    print(f"late file of 1,000 records: {json.dumps(late)}", flush=True)
                    late = run_app(DEFAULT_INTO_LAKEHOUSE, [str(home), "-", "bench",
                                                            str(late_file(workdir / "late16.csv", day=16))], home)
                    results["default_engine_late_day_2w"] = late
                    print(f"late file of 1,000 records, default engine into the lakehouse: {json.dumps(late)}",
                          flush=True)
                    for engine in ("spark", "duckdb"):
                        result = run_app(METRICS, [str(home), engine], home)
                        results[f"metrics_{engine}_2w"] = result
                        print(f"metric set of 2022-Q1 from the lakehouse, {engine}: {json.dumps(result)}", flush=True)
            finally:
                cluster_down(home)
        duck_home = workdir / "home-duckdb"
        shutil.rmtree(duck_home, ignore_errors=True)
        duck = run_app(DUCKDB, [str(duck_home), *files], None)
        duck["records_per_s"] = round(args.records / duck["wall_s"])
        duck["cpu_us_per_record"] = round(duck["cpu_s"] / args.records * 1e6, 2)
        results["duckdb"] = duck
        print(f"duckdb: {json.dumps(duck)}", flush=True)
        # the default engine into a local lakehouse (SQLite catalog, file warehouse): what the embedded store
        # would cost on Iceberg tables; then a late file into it
        local = workdir / "local-lake"
        shutil.rmtree(local, ignore_errors=True)
        into = run_app(DEFAULT_INTO_LAKEHOUSE, [str(duck_home), str(local), "bench-lake", *files], None)
        into["records_per_s"] = round(args.records / into["wall_s"])
        into["cpu_us_per_record"] = round(into["cpu_s"] / args.records * 1e6, 2)
        results["default_engine_local_lakehouse"] = into
        print(f"default engine into a local lakehouse: {json.dumps(into)}", flush=True)
        late = run_app(DEFAULT_INTO_LAKEHOUSE, [str(duck_home), str(local), "bench-lake",
                                                str(late_file(workdir / "late.csv"))], None)
        results["default_engine_local_lakehouse_late_day"] = late
        print(f"late file of 1,000 records into it: {json.dumps(late)}", flush=True)
        if not args.default_engine_only:
            s1, s2 = results["spark_thuocdo_1w"], results["spark_thuocdo_2w"]
            results["scaling_1_to_2_workers"] = round(s1["wall_s"] / s2["wall_s"], 2)
            results["thuocdo_vs_minimal_2w"] = round(s2["wall_s"] / results["spark_minimal_2w"]["wall_s"], 2)
            results["thuocdo_vs_minimal_cpu"] = round(s2["cpu_s"] / results["spark_minimal_2w"]["cpu_s"], 2)
    finally:
        finish(args, workdir, results)


def prepared(args: argparse.Namespace, prefix: str) -> tuple[Path, list[str]]:
    """The run's folder (`--workdir`, else a new temporary one) and its quarter of usage CSV files, generated
    (`--records`, `--records-per-file`) unless the folder has them already."""
    from bench.generate import generate

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=prefix))
    data = workdir / "data"
    if not data.exists() or not any(data.glob("*.csv")):
        generate(workdir, args.records, max(1, args.records // 20), records_per_file=args.records_per_file,
                 log=lambda *a: None)
    files = sorted(str(f) for f in data.glob("usage_*.csv")) or sorted(
        str(f) for f in data.glob("*.csv") if "weights" not in f.name and "provinces" not in f.name)
    return workdir, files


def finish(args: argparse.Namespace, workdir: Path, results: dict[str, Any]) -> None:
    """Print the run's results as the last line (one JSON object, with the load average), and remove a temporary
    folder unless `--keep`."""
    results["load_average"] = os.getloadavg()
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
