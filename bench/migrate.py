"""An embedded store moved to a local lakehouse (`thuocdo migrate`, issue 21): what the move costs, and what the
metric set and a late file cost afterwards against the embedded store, side by side in one run.

    .venv/bin/python -m bench.migrate [--records 2000000] [--workdir DIR] [--keep]

Data: bench/generate.py's quarter of usage records (2022-Q1, N records, N/20 persons, 50 platforms, files of ~1 M
records). Each step runs in its own process (wall seconds, CPU seconds, peak RSS):

* ``ingest``: `thuocdo ingest usage` of the files into an embedded home (rollups included);
* the home is copied; ``migrate``: `thuocdo migrate` of the copy into its local lakehouse (SQLite catalog, file
  warehouse): person-days and record keys into ``usage_records``, the rollups there, the comparison with the
  store's figures, the removal from the store;
* ``metrics``: the quarter's metric set (by platform, by province, by category) on the default engine, from the
  embedded home and from the moved one, alternated, twice each;
* ``late``: a late file of 1,000 records of one day into each.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.lakehouse import DUCKDB, METRICS, finish, late_file, prepared, run_app

MIGRATE = """
import json, sys
from thuocdo.workflows.migrate import migrate
done = migrate(sys.argv[1])
print(json.dumps([{"source": m.source, "days": m.days, "person_days": m.person_days, "keys": m.keys,
                   "stored": m.stored, "batches": m.batches} for m in done.moved]))
"""

LATE = """
import json, sys
from pathlib import Path
from thuocdo.workflows.ingest import ingest
report = ingest(sys.argv[1], "usage", [Path(sys.argv[2])], "bench")
print(json.dumps({"stored": sum(r.stored for r in report.results), "errors": report.errors}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--records-per-file", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir, files = prepared(args, "thuocdo-bench-migrate-")
    print(f"{args.records:,} records, {len(files)} CSV files, in {workdir}", flush=True)
    results: dict[str, Any] = {"records": args.records, "files": len(files)}
    try:
        embedded, moved = workdir / "home-embedded", workdir / "home-moved"
        for home in (embedded, moved):
            shutil.rmtree(home, ignore_errors=True)
        results["ingest"] = run_app(DUCKDB, [str(embedded), *files], None)
        print(f"ingest: {json.dumps(results['ingest'])}", flush=True)
        shutil.copytree(embedded, moved)
        results["migrate"] = run_app(MIGRATE, [str(moved)], None)
        results["migrate"]["records_per_s"] = round(args.records / results["migrate"]["wall_s"])
        print(f"migrate: {json.dumps(results['migrate'])}", flush=True)
        for run in (1, 2):
            for name, home in (("embedded", embedded), ("moved", moved)):
                result = run_app(METRICS, [str(home), "duckdb"], None)
                results[f"metrics_{name}_{run}"] = result
                print(f"metric set of 2022-Q1, {name}, run {run}: {json.dumps(result)}", flush=True)
        for name, home in (("embedded", embedded), ("moved", moved)):
            late = run_app(LATE, [str(home), str(late_file(workdir / f"late-{name}.csv"))], None)
            results[f"late_{name}"] = late
            print(f"late file of 1,000 records, {name}: {json.dumps(late)}", flush=True)
    finally:
        finish(args, workdir, results)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
