"""A Spark application for tests/engines/test_lakehouse_ingest.py, in a process of its own (a lakehouse session
needs a driver started with the Iceberg jars): the metric tables of the cases over the home's lakehouse, each
written as Parquet to OUT/<period>_<by>.parquet, and the lakehouse's tables read back as Parquet too, and the
quarterly report of panel-a (OUT/report-spark), and the metric tables of the selections (unions of persons: the
national estimate, a union of sources) on Spark, as OUT/selection_<i>.parquet, and a retention table
(OUT/retention.parquet).

Usage: python lakehouse_ingest_probe.py HOME OUT CASES_JSON SELECTIONS_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

from tests.engines.cluster_settings import SETTINGS
from thuocdo.catalog import load_catalog
from thuocdo.engines.spark import SparkEngine, lakehouse_session
from thuocdo.metrics import query as mq
from thuocdo.metrics.query import period_rows
from thuocdo.rollups.spark import SparkRollups
from thuocdo.store import Store
from thuocdo.store.lakehouse import table_name
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows.cluster import lakehouse, spark_master
from thuocdo.workflows.quality import quality
from thuocdo.workflows.reports import write_reports
from thuocdo.workflows.retention import retention

#: the sources whose deliveries the lakehouse and its embedded twin received alike (not the killed runs')
QUALITY_SOURCES = ("panel-a", "telco-b", "posted")


def main(home: Path, out: Path, cases: list[tuple[str, str]], selections: list[tuple[str, str, str]]) -> None:
    lake = lakehouse(home)
    spark = lakehouse_session(lake, spark_master(home), SETTINGS)
    months = sorted({row[1] for period, by in cases
                     for row in period_rows(metric_workflow.metric_request(period, by))})
    with Store(home, read_only=True) as store:
        engine = SparkRollups(SparkEngine(store, spark), lake=lake)
        engine.prepare(months)
        for period, by in cases:
            request = metric_workflow.metric_request(period, by)
            table = engine.run(mq.build(request), metric_workflow.relations(load_catalog(), request))
            pq.write_table(table, out / f"{period}_{by}.parquet")
    for name in ("usage_records", "person_day", "person_month", "quarantine", "batches", "usage_week"):
        pq.write_table(spark.table(table_name(lake, name)).toArrow(), out / f"table_{name}.parquet")
    # the quarterly report of panel-a, its tables from Spark over the lakehouse (the session above, still active)
    write_reports(home, "2022-Q1", ["md"], out / "report-spark", "panel-a", engine="spark")
    requests = [metric_workflow.metric_request(period, by, source) for period, by, source in selections]
    for i, table in enumerate(metric_workflow.metrics_many(home, requests, engine="spark")):
        pq.write_table(table, out / f"selection_{i}.parquet")
    # retention of the panel's January cohort, on Spark over the lakehouse's person_month
    pq.write_table(retention(home, "2022-01", 2, source="panel-a", by_province=True, engine="spark").table,
                   out / "retention.parquet")
    # the quality monitor of three sources, their persons and platforms per day counted by Spark
    for source in QUALITY_SOURCES:
        pq.write_table(quality(home, source, "2022-Q1", engine="spark").days, out / f"quality_{source}.parquet")
    for name in ("person_day", "person_month"):
        snapshots = spark.sql("SELECT snapshot_id, committed_at, operation, summary "
                              f"FROM {table_name(lake, name)}.snapshots")
        pq.write_table(snapshots.toArrow(), out / f"table_{name}_snapshots.parquet")
    spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), [tuple(c) for c in json.loads(sys.argv[3])],
         [tuple(c) for c in json.loads(sys.argv[4])])
