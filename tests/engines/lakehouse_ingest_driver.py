"""A Spark ingestion for tests/engines/test_lakehouse_ingest.py, in a process of its own (killed on purpose by
some tests): `thuocdo.workflows.ingest.ingest_spark`, printing one JSON line as each step starts and one with the
results at the end.

Usage: python lakehouse_ingest_driver.py HOME SOURCE FILE...
"""

from __future__ import annotations

import json
import sys

from thuocdo.workflows.ingest import ingest_spark


def main(home: str, source: str, files: list[str]) -> None:
    def on_step(name: str) -> None:
        print(json.dumps({"step": name}), flush=True)

    report = ingest_spark(home, files, source, on_step=on_step)
    print(json.dumps({"results": [{"file": r.file, "rows_read": r.rows_read, "stored": r.stored,
                                   "duplicates": r.duplicates, "rejected": r.rejected} for r in report.results],
                      "errors": report.errors, "days_rebuilt": report.days_rebuilt,
                      "merge_attempts": report.merge_attempts}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
