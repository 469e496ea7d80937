"""A real Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

A thin face of thuocdo.engines.spark_cluster (which `thuocdo cluster up` uses too): the Spark distribution inside
the pip-installed PySpark (``spark-class``), Java 17, and no network
beyond loopback. Three commands:

    python scripts/spark_cluster.py start [--workers 2] [--dir DIR]   # prints the master URL (spark://127.0.0.1:PORT)
    python scripts/spark_cluster.py stop [--dir DIR]
    python scripts/spark_cluster.py check --home STORE [--period 2022-Q1] [--by platform province]
        # start, compute the metric set with `--engine spark --master <url>` and with DuckDB, compare, stop

``check`` exits 0 when every table is the same (text and integers equal, numbers within a relative 1e-9: see
tests/engines/test_cross_engine.py), 1 otherwise. The processes' logs are in DIR (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from thuocdo.engines.spark_cluster import SparkCluster, start_cluster, stop_cluster

STATE = "cluster.json"


def start(folder: Path, workers: int = 2) -> SparkCluster:
    """Start a master and `workers` workers (thuocdo.engines.spark_cluster), their state kept in `folder`."""
    cluster = start_cluster(folder, workers, on_started=save)
    save(cluster)
    return cluster


def save(cluster: SparkCluster) -> None:
    (cluster.folder / STATE).write_text(json.dumps(cluster.to_json()))


def load(folder: Path) -> SparkCluster:
    return SparkCluster.from_json(json.loads((folder / STATE).read_text()))


def stop(cluster: SparkCluster) -> None:
    stop_cluster(cluster)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if math.isnan(a) or math.isnan(b):  # type: ignore[arg-type]
            return math.isnan(a) and math.isnan(b)  # type: ignore[arg-type]
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
    return a == b


#: for small test data on a small machine: one shuffle partition, no re-planning, the quick JIT only
QUICK = {"spark.sql.shuffle.partitions": "2", "spark.sql.adaptive.enabled": "false",
         "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
         "spark.executor.extraJavaOptions": "-XX:TieredStopAtLevel=1"}


def check(home: Path, folder: Path, period: str, breakdowns: list[str], workers: int = 2, quick: bool = False) -> bool:
    """Start a cluster, compute the metric set on it and on DuckDB, compare, stop. True when they agree."""
    from thuocdo.engines.spark import spark_session
    from thuocdo.workflows import metrics as metric_workflow

    t0 = time.monotonic()
    cluster = start(folder, workers)
    print(f"cluster up: {cluster.url} with {workers} workers ({time.monotonic() - t0:.1f} s)", flush=True)
    ok = True
    try:
        spark_session(cluster.url, {"spark.executor.memory": "768m", **(QUICK if quick else {})})  # the CLI's session
        print(f"application connected ({time.monotonic() - t0:.1f} s)", flush=True)
        for by in breakdowns:
            request = metric_workflow.metric_request(period, by)
            t = time.monotonic()
            duck = metric_workflow.metrics(home, request)
            t_duck = time.monotonic() - t
            t = time.monotonic()
            spark = metric_workflow.metrics(home, request, engine="spark", master=cluster.url)
            t_spark = time.monotonic() - t
            same = spark.schema == duck.schema and spark.num_rows == duck.num_rows and all(
                _same(s[c], d[c]) for s, d in zip(spark.to_pylist(), duck.to_pylist(), strict=True) for c in d)
            ok &= same
            print(f"{period} by {by}: {duck.num_rows} rows, DuckDB {t_duck:.1f} s, Spark cluster {t_spark:.1f} s: "
                  f"{'same' if same else 'DIFFERENT'}", flush=True)
    finally:
        spark_session(cluster.url).stop()
        stop(cluster)
    print(f"cluster stopped ({time.monotonic() - t0:.1f} s in all)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "check"):
        p = sub.add_parser(name)
        p.add_argument("--dir", type=Path, default=None, help="logs and state (default: a temporary folder)")
        if name != "stop":
            p.add_argument("--workers", type=int, default=2)
    sub.choices["check"].add_argument("--home", type=Path, required=True)
    sub.choices["check"].add_argument("--period", default="2022-Q1")
    sub.choices["check"].add_argument("--by", nargs="+", default=["platform", "province"])
    sub.choices["check"].add_argument("--quick", action="store_true", help="settings for small data (tests)")
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="thuocdo-spark-"))
    if args.command == "start":
        cluster = start(folder, args.workers)
        print(cluster.url)
        print(f"stop with: python {sys.argv[0]} stop --dir {folder}", file=sys.stderr)
        return 0
    if args.command == "stop":
        if args.dir is None:
            parser.error("stop needs --dir (printed by start)")
        stop(load(folder))
        return 0
    return 0 if check(args.home, folder, args.period, args.by, args.workers, args.quick) else 1


if __name__ == "__main__":
    sys.exit(main())
