"""Scale benchmark (issue 6): the full quarterly metric set on DuckDB, on Spark local and via stored sketches.

    .venv/bin/python bench/scale.py [--sizes 1000000 10000000] [--phases ...] [--workdir DIR]
                                    [--spark-master local[2]] [--clean]

For each size N it writes a store whose lake holds N person_day rows of 2022-Q1 (one source, no panel weights,
50 platforms with Zipf popularity, N/40 persons with a heavy-tailed activity and one home province each, 90 daily
files sorted by platform and person, as ingestion writes them) and lists them in the manifest, then measures,
each phase in its own process (so that its peak memory is its own):

* ``rollup``: thuocdo's ingestion-side rollup (person_day → person_month files → usage_month), DuckDB;
* ``duckdb``: the metric set (by platform, by province, by category) from the rollup: thuocdo's normal path;
* ``duckdb-raw``: the same from the raw person_day files (both rollups and the metric queries, nothing kept);
* ``spark``: the same on Spark (``SparkRollups``: rollups from person_day, then the metric queries);
* ``sketch-build``: the sketch_day dataset (DataSketches HLL, lg_k 12) built from person_day (embedded);
* ``sketch-mau``: monthly and quarterly distinct persons per platform, and per province, from the sketches.

Records/s is N ÷ seconds. Peak memory is the phase's peak resident set (Python and DuckDB in one process;
for Spark the driver JVM's, which in local mode also runs the executors, plus Python's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SOURCE = "bench"
PERIOD = "2022-Q1"
MONTHS = ("2022-01", "2022-02", "2022-03")
FIRST_DAY = dt.date(2022, 1, 1)
N_DAYS = 90
N_PLATFORMS = 50
PHASES = ("rollup", "duckdb", "duckdb-raw", "spark", "sketch-build", "sketch-mau")


# -- data ------------------------------------------------------------------------------------------------------
def generate(home: Path, n: int, seed: int = 6) -> None:
    """A store with n person_day rows of 2022-Q1, listed in the manifest, its months marked for the rollup.

    Written day by day (memory bounded by one day's rows, ≈ n/90): each day draws its distinct (person,
    platform) pairs, so (person, platform, day) is unique as ingestion guarantees.
    """
    from thuocdo.catalog import load_catalog
    from thuocdo.store import Store

    catalog = load_catalog()
    platforms = pa.array([p.id for p in catalog.platforms][:N_PLATFORMS])
    provinces = pa.array(sorted(p.code for p in catalog.provinces_new))
    rng = np.random.default_rng(seed)
    persons = max(n // 40, 1000)
    popularity = 1.0 / np.arange(1, N_PLATFORMS + 1)
    popularity /= popularity.sum()
    with Store(home) as store:
        rows = []
        for d in range(N_DAYS):
            n_day = n // N_DAYS + (1 if d < n % N_DAYS else 0)
            key = np.empty(0, dtype=np.int64)
            while len(key) < n_day:  # heavy users collide: draw 8% more, then again if still short
                want = int((n_day - len(key)) * 1.08) + 16
                person = (persons * rng.random(want) ** 2).astype(np.int64)  # heavy users first
                platform = rng.choice(N_PLATFORMS, size=want, p=popularity)
                key = np.unique(np.concatenate([key, person * N_PLATFORMS + platform]))
            key = key[rng.permutation(len(key))[:n_day]]
            platform, person = key % N_PLATFORMS, key // N_PLATFORMS
            m = len(key)
            active = rng.random(m) < 0.9
            seconds = np.where(active, rng.lognormal(6, 1.2, m).astype(np.int64), 0)
            date = FIRST_DAY + dt.timedelta(days=d)
            month = date.strftime("%Y-%m")
            part = pa.table({
                "platform": platforms.take(pa.array(platform)),
                "person": person * 2654435761 - (1 << 40),  # spread like keyed hashes
                "day": pa.array(np.full(m, np.datetime64(date, "D"))),
                "month": pa.array(np.full(m, month)),
                "active_seconds": seconds, "bytes": seconds * rng.integers(1_000, 60_000, m),
                "sessions": np.where(active, 1 + rng.poisson(2, m), 0),
                "installs": (rng.random(m) < 0.002).astype(np.int64),
                "active": active, "province": provinces.take(pa.array((person * 7919) % len(provinces))),
                "province_seconds": seconds,
            })
            part = part.sort_by([("platform", "ascending"), ("person", "ascending")])
            relative = f"person_day/source={SOURCE}/month={month}/day={date.isoformat()}/bench_{d}.parquet"
            (store.lake / relative).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, store.lake / relative, compression="zstd")
            rows.append((relative, "person_day", SOURCE, month, date, "bench", part.num_rows))
        store.con.executemany("INSERT INTO lake_files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        for month in MONTHS:
            store.con.execute("INSERT INTO dirty_months VALUES (?, ?) ON CONFLICT DO NOTHING", [SOURCE, month])


# -- phases ----------------------------------------------------------------------------------------------------
def metric_set(engine: object) -> int:
    from thuocdo.catalog import load_catalog
    from thuocdo.metrics import query as mq
    from thuocdo.workflows import metrics as metric_workflow

    catalog, rows = load_catalog(), 0
    for by in ("platform", "province", "category"):
        request = metric_workflow.metric_request(PERIOD, by)
        rows += engine.run(mq.build(request), metric_workflow.relations(catalog, request)).num_rows  # type: ignore[attr-defined]
    return rows


class RawDuckDB:
    """The metric set straight from person_day on DuckDB: both rollups, then the queries, in one connection."""

    name = "duckdb-raw"

    def __init__(self, store: object) -> None:
        import duckdb
        import sqlglot

        from thuocdo.rollups.definitions import PERSON_MONTH, USAGE_MONTH

        self.con = duckdb.connect()
        files = store.files("person_day")  # type: ignore[attr-defined]
        self.con.execute(f"CREATE VIEW person_day AS SELECT '{SOURCE}' AS source, * FROM read_parquet({files!r})")
        self.con.execute("CREATE TABLE weights (source VARCHAR, person BIGINT, month VARCHAR, weight DOUBLE)")
        self.con.execute("CREATE TABLE aggregates (source VARCHAR, platform VARCHAR, period VARCHAR, metric VARCHAR, "
                         "value DOUBLE)")
        pm = sqlglot.transpile(PERSON_MONTH, read="duckdb", write="duckdb")[0]
        um = sqlglot.transpile(USAGE_MONTH, read="duckdb", write="duckdb")[0]
        self.con.execute(f"CREATE VIEW person_month AS {pm}")
        self.con.execute(f"CREATE TABLE usage_month AS {um}")

    def run(self, query: object, relations: object) -> pa.Table:
        for name in ("platforms", "periods", "smartphones"):
            self.con.register(name, getattr(relations, name))
        return self.con.sql(query.sql(dialect="duckdb")).to_arrow_table()  # type: ignore[attr-defined]


def run_phase(phase: str, home: Path, master: str) -> dict[str, object]:
    from thuocdo.store import Store

    started = time.perf_counter()
    extra: dict[str, object] = {}
    if phase == "rollup":
        from thuocdo.rollups.rebuild import rebuild_dirty

        with Store(home, sweep=False) as store:
            rebuild_dirty(store)
    elif phase in ("duckdb", "duckdb-raw"):
        from thuocdo.engines.duckdb import DuckDBEngine

        with Store(home, read_only=True) as store:
            extra["rows"] = metric_set(DuckDBEngine(store) if phase == "duckdb" else RawDuckDB(store))
    elif phase == "spark":
        from thuocdo.engines.spark import SparkEngine, spark_session
        from thuocdo.rollups.spark import SparkRollups

        spark = spark_session(master, {"spark.driver.memory": "8g"})
        extra["session_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        with Store(home, read_only=True) as store:
            extra["rows"] = metric_set(SparkRollups(SparkEngine(store, spark)))
        jvm = int(spark.sparkContext._jvm.ProcessHandle.current().pid())  # type: ignore[union-attr]
        extra["jvm_peak_mb"] = _peak_mb(jvm)
        extra["jvm_cpu_s"] = _cpu_s(jvm)
    elif phase == "sketch-build":
        from thuocdo.rollups import sketches

        with Store(home, sweep=False) as store:
            extra["months"] = len(sketches.build_sketch_days(store))
            extra["cells"] = store.con.sql(
                "SELECT sum(rows) FROM lake_files WHERE dataset = 'sketch_day'").fetchall()[0][0]
    elif phase == "sketch-mau":
        from thuocdo.rollups import sketches

        with Store(home, read_only=True) as store:
            quarter = (FIRST_DAY, FIRST_DAY + dt.timedelta(days=N_DAYS - 1))
            cells = sketches.sketch_days(store, *quarter)  # read once, then unions per month, quarter, province
            monthly = [sketches.union_cells(cells.filter(pc.equal(cells.column("month"), m)), ["platform"])
                       for m in MONTHS]
            distinct_q = sketches.union_cells(cells, ["platform"])
            by_province = sketches.union_cells(cells, ["province"])
            extra["rows"] = sum(t.num_rows for t in monthly) + distinct_q.num_rows + by_province.num_rows
            exact = store.con.sql(
                "SELECT platform, sum(persons) FROM usage_month WHERE month = '2022-01' GROUP BY 1").fetchall()
            est = {r["platform"]: r["estimate"] for r in monthly[0].to_pylist()}
            worst = max((abs(est[p] - n) / n for p, n in exact if n), default=float("nan"))
            extra["max_rel_error_mau"] = round(worst, 5)
            extra["rse"] = round(sketches.relative_standard_error(), 5)
    else:
        raise SystemExit(f"unknown phase {phase}")
    seconds = time.perf_counter() - started
    return {"phase": phase, "seconds": round(seconds, 2), "python_peak_mb": _peak_mb(os.getpid()),
            "python_cpu_s": _cpu_s(os.getpid()), **extra}


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def _load() -> float:
    """The 1-minute load average (what ``uptime`` shows first)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def _peak_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


# -- driver ----------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/thuocdo-scale"))
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--clean", action="store_true", help="delete each size's store once its phases ran")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # a child: one phase, one JSON line
        print(json.dumps(run_phase(args.phase, args.home, args.spark_master)), flush=True)
        return
    results = []
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'records':>12} {'phase':<13} {'seconds':>8} {'records/s':>12} {'peak MB':>8} {'CPU s':>7} "
          f"{'load':>9}  notes", flush=True)
    for n in args.sizes:
        home = args.workdir / f"n{n}"
        if not (home / "thuocdo.duckdb").exists():
            t, load = time.perf_counter(), _load()
            generate(home, n)
            print(f"{n:>12,} {'generate':<13} {time.perf_counter() - t:>8.1f} {'':>12} {'':>8} {'':>7} "
                  f"{load:>4.1f}-{_load():<4.1f}", flush=True)
        for phase in args.phases:
            load = _load()
            child = subprocess.run([sys.executable, __file__, "--phase", phase, "--home", str(home),
                                    "--spark-master", args.spark_master], capture_output=True, text=True, check=False)
            lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
            if child.returncode or not lines:
                print(f"{n:>12,} {phase:<13} failed: {child.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(lines[-1]) | {"records": n, "load_before": load, "load_after": _load()}
            results.append(r)
            (args.workdir / "results.json").write_text(json.dumps(results, indent=1))
            peak = int(r["python_peak_mb"]) + int(r.get("jvm_peak_mb", 0))
            cpu = float(r["python_cpu_s"]) + float(r.get("jvm_cpu_s", 0))
            notes = {k: v for k, v in r.items() if k not in (
                "phase", "seconds", "python_peak_mb", "python_cpu_s", "records", "load_before", "load_after")}
            print(f"{n:>12,} {phase:<13} {r['seconds']:>8.1f} {n / max(r['seconds'], 1e-9):>12,.0f} {peak:>8,} "
                  f"{cpu:>7.1f} {load:>4.1f}-{r['load_after']:<4.1f}  {notes}", flush=True)
        if args.clean:
            shutil.rmtree(home)


if __name__ == "__main__":
    main()
