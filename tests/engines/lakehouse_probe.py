"""The Spark side of tests/engines/test_lakehouse_cluster.py, in a process of its own.

A Spark driver gets the Iceberg, S3A and JDBC jars only when its JVM starts, and the test process already has
a JVM (the local Spark session the other engine tests share), so the cluster's session runs here:

    python tests/engines/lakehouse_probe.py HOME

It opens one Spark session on the home's cluster, prints a JSON line about it, then runs each JSON line read
on standard input (``{"sql": "..."}``) and prints the resulting rows as one JSON line (dates as ISO text), until
standard input ends.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from typing import Any

from tests.engines.cluster_settings import SETTINGS
from thuocdo.workflows.cluster import cluster_session


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value


def main(home: str) -> None:
    t0 = time.monotonic()
    spark = cluster_session(home, SETTINGS)
    deadline = time.monotonic() + 120
    tracker = spark.sparkContext._jsc.sc()
    while tracker.getExecutorMemoryStatus().size() - 1 < 2 and time.monotonic() < deadline:  # minus the driver
        time.sleep(0.2)
    print(json.dumps({"master": spark.sparkContext.master, "executors": tracker.getExecutorMemoryStatus().size() - 1,
                      "seconds": time.monotonic() - t0}), flush=True)
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                rows = spark.sql(request["sql"]).collect()
            except Exception as exc:  # noqa: BLE001 - handed to the test, which fails with it
                print(json.dumps({"error": str(exc)[:4000]}), flush=True)
                continue
            print(json.dumps([{k: _plain(v) for k, v in r.asDict().items()} for r in rows]), flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
