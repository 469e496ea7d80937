"""Benchmark: a quarterly report and a set of selections (the national estimate, a union of sources) on Spark, over
a home whose cluster is running (``thuocdo --home HOME cluster up --workers 2``).

    python -m bench.spark_report HOME [--period 2022-Q1] [--source panel-a] [--output DIR]
                                      [--selection PERIOD:BY:SOURCE ...] [--conf KEY=VALUE ...]

Times, in one driver (its Spark session started first and not counted): ``write_reports(..., engine="spark")`` of
the source's Markdown report (the report's metric queries, each a Spark job), then ``metrics_many`` of the
selections. Run it with each tree in turn (``PYTHONPATH=.:<tree>/src``), each run in a new process, and compare the
reports written (the same file). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

#: the selections of tests/engines/test_lakehouse_ingest.py
SELECTIONS = ["2022-03:platform:national", "2022-03:province:national", "2022-03:platform:shared-x,shared-y",
              "2022-Q1:platform:national"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--period", default="2022-Q1")
    parser.add_argument("--source", default="panel-a")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--selection", action="append", help="PERIOD:BY:SOURCE (default: the lakehouse test's)")
    parser.add_argument("--conf", action="append", default=[], help="a Spark setting of the session, KEY=VALUE")
    args = parser.parse_args()

    from thuocdo.engines.spark import lakehouse_session
    from thuocdo.workflows import metrics as metric_workflow
    from thuocdo.workflows.cluster import lakehouse, spark_master
    from thuocdo.workflows.reports import write_reports

    conf = dict(item.split("=", 1) for item in args.conf)
    lakehouse_session(lakehouse(args.home), spark_master(args.home), conf)  # the session the workflows reuse
    output = args.output or Path(tempfile.mkdtemp(prefix="thuocdo-spark-report-"))
    started = time.monotonic()
    write_reports(args.home, args.period, ["md"], output, args.source, engine="spark")
    report = time.monotonic() - started
    requests = [metric_workflow.metric_request(*s.split(":", 2)) for s in args.selection or SELECTIONS]
    started = time.monotonic()
    metric_workflow.metrics_many(args.home, requests, engine="spark")
    print(json.dumps({"report_s": round(report, 1), "selections_s": round(time.monotonic() - started, 1),
                      "output": str(output)}))


if __name__ == "__main__":
    main()
