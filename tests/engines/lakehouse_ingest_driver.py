"""Spark ingestions for tests/engines/test_lakehouse_ingest.py, in a process of its own (killed on purpose by
some tests): `thuocdo.workflows.ingest.ingest_spark` for each (source, files) of a plan, one after the other in
one Spark application, printing one JSON line as each step starts and one with each ingestion's results.

Usage: python lakehouse_ingest_driver.py HOME PLAN_JSON  (PLAN_JSON: [[source, [file, ...]], ...]; the files
       ["@landed"]: the batches landed for the source)
       python lakehouse_ingest_driver.py HOME PLAN_JSON CONF_JSON  (Spark settings of the application, over
       the cluster tests' own: tests/engines/cluster_settings.py)
"""

from __future__ import annotations

import dataclasses
import json
import sys

from tests.engines.cluster_settings import SETTINGS
from thuocdo.workflows.ingest import ingest_landed, ingest_spark

#: in a plan, the files of an ingestion that takes the batches landed for its source (posted over HTTP)
LANDED = "@landed"


def main(home: str, plan: list[tuple[str, list[str]]], conf: dict[str, str]) -> None:
    def on_step(name: str) -> None:
        print(json.dumps({"step": name}), flush=True)

    for source, files in plan:
        if files == [LANDED]:
            report = ingest_landed(home, source, engine="spark", on_step=on_step, conf=SETTINGS | conf)[source]
        else:
            report = ingest_spark(home, files, source, on_step=on_step, conf=SETTINGS | conf)
        print(json.dumps({"source": source, "results": [
            {"file": r.file, "rows_read": r.rows_read, "stored": r.stored, "duplicates": r.duplicates,
             "rejected": r.rejected} for r in report.results],
            "errors": report.errors, "days_rebuilt": report.days_rebuilt,
            "merge_attempts": report.merge_attempts, "person_day_snapshot": report.person_day_snapshot,
            "person_month": dataclasses.asdict(report.person_month)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
