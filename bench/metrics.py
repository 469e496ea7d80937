"""Benchmark: thuocdo's ingestion and metric set vs a hand-written DuckDB query and pandas, on the same data.

    python bench/metrics.py [--records N] [--persons P] [--platforms K] [--workdir DIR] [--keep]

1. Generates N usage records for 2022-Q1 (``bench/generate.py``; not measured) as CSV files, a weights file
   for every person-month and a province lookup.
2. Prepares the baselines (not measured): loads the raw CSVs once into a DuckDB database (``time`` typed as
   TIMESTAMPTZ, numbers as BIGINT), checks that the data hold no duplicates, exports Parquet copies for pandas.
3. Measures, each engine in its own subprocess (so each peak RSS is its own):
   a. thuocdo ingestion: ``workflows.ingest`` of the weights, then of the usage files (validation, keyed
      hashing, deduplication, partition writing, rollup rebuild);
   b. thuocdo's metric set: ``workflows.metrics`` for 2022-01, 2022-02, 2022-03 and 2022-Q1, by platform and
      by province (8 calls), run twice: the second (warm) run is the one compared;
   c. one hand-written DuckDB SQL query over the raw table computing the same numbers (run twice, warm kept);
   d. the pandas groupby/nunique an analyst would write (load from Parquet timed apart, not included).
4. Checks that all agree (every platform × period [× province] metric within 1e-9 relative), prints a table
   and ends with one JSON line: records, ingest_records_per_s, thuocdo_s, duckdb_sql_s, pandas_s, peak_rss_mb
   (peak_rss_mb: the highest peak RSS of the thuocdo processes, ingestion and metrics; the baselines' peaks are
   in the table).

``--profile`` times every step and SQL statement of thuocdo's ingestion (by wrapping them from here; a few
microseconds per call) and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

PERIODS = ("2022-01", "2022-02", "2022-03", "2022-Q1")
BREAKDOWNS = ("platform", "province")
METRICS = ("mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs")
SOURCE = "bench"
NATIONAL = ""  # the province key of the by-platform rows
#: (period, month, months in period, days in period)
PERIOD_ROWS = [("2022-01", "2022-01", 1, 31), ("2022-02", "2022-02", 1, 28), ("2022-03", "2022-03", 1, 31),
               ("2022-Q1", "2022-01", 3, 90), ("2022-Q1", "2022-02", 3, 90), ("2022-Q1", "2022-03", 3, 90)]
REL_TOL = 1e-9


def peak_rss_mb() -> float:
    """Peak RSS of this process and of its finished children (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


class Clock:
    """Wall and CPU time (all threads of this process) of a block: contention from other processes on the
    machine inflates wall time much more than CPU time, so both are reported."""

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Phases (each runs in its own process: `metrics.py --phase NAME --workdir DIR`)
# ---------------------------------------------------------------------------------------------------------------
def manifest(workdir: Path) -> dict:
    return json.loads((workdir / "manifest.json").read_text())


def phase_prepare(workdir: Path) -> dict:
    """Untimed: raw CSVs → DuckDB table (and Parquet for pandas); check that there is no duplicate."""
    import duckdb

    m = manifest(workdir)
    db = workdir / "raw.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    cols = {"user_id": "VARCHAR", "platform": "VARCHAR", "time": "TIMESTAMPTZ", "active_seconds": "BIGINT",
            "bytes": "BIGINT", "sessions": "BIGINT", "installs": "BIGINT", "province": "VARCHAR"}
    if m["record_ids"]:
        cols = {"record_id": "VARCHAR", **cols}
    t0 = time.perf_counter()
    con.execute("CREATE TABLE raw AS SELECT * FROM read_csv($files, header = true, columns = $cols)",
                {"files": m["usage_files"], "cols": cols})
    con.execute("CREATE TABLE weights AS SELECT * FROM read_csv($f, header = true, "
                "columns = {'user_id': 'VARCHAR', 'month': 'VARCHAR', 'weight': 'DOUBLE'})", {"f": m["weights_file"]})
    con.execute("CREATE TABLE provinces AS SELECT * FROM read_csv($f, header = true, "
                "columns = {'value': 'VARCHAR', 'code': 'VARCHAR'})", {"f": m["provinces_file"]})
    load_s = time.perf_counter() - t0
    n, bad_time, unmapped = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE "time" IS NULL OR CAST(timezone('Asia/Ho_Chi_Minh', "time") AS DATE)
                                          NOT BETWEEN DATE '2022-01-01' AND DATE '2022-03-31'),
               count(*) FILTER (WHERE p.code IS NULL)
        FROM raw LEFT JOIN provinces p ON raw.province = p.value""").fetchone()
    if m["record_ids"]:
        distinct = con.execute("SELECT count(DISTINCT record_id) FROM raw").fetchone()[0]
    else:  # the content key, as the contract defines it (resolved province)
        distinct = con.execute("""SELECT count(*) FROM (SELECT DISTINCT user_id, platform, "time", active_seconds,
                                  bytes, sessions, installs, p.code FROM raw LEFT JOIN provinces p
                                  ON raw.province = p.value)""").fetchone()[0]
    if n != m["records"] or distinct != n or bad_time or unmapped:
        raise SystemExit(f"generated data unusable: rows={n} expected={m['records']} distinct keys={distinct} "
                         f"unparsed times or days outside 2022-Q1={bad_time} unmapped provinces={unmapped}")
    homes = con.execute("""SELECT count(*) FROM (SELECT user_id FROM raw JOIN provinces p ON raw.province = p.value
                           GROUP BY user_id HAVING count(DISTINCT p.code) > 1)""").fetchone()[0]
    if homes:
        raise SystemExit(f"{homes} persons have more than one province: the baselines' province rule needs one")
    stats = con.execute("""
        WITH d AS (SELECT user_id, platform, CAST(timezone('Asia/Ho_Chi_Minh', "time") AS DATE) AS day, count(*) AS n
                   FROM raw GROUP BY ALL)
        SELECT count(*), (SELECT count(DISTINCT user_id) FROM raw), max(n), avg(n) FROM d""").fetchone()
    if m["with_pandas"]:
        con.execute(f"COPY raw TO '{workdir / 'raw.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"COPY weights TO '{workdir / 'weights.parquet'}' (FORMAT parquet)")
        con.execute(f"COPY provinces TO '{workdir / 'provinces.parquet'}' (FORMAT parquet)")
    con.close()
    return {"load_s": load_s, "person_platform_days": stats[0], "persons_seen": stats[1],
            "max_records_per_person_platform_day": stats[2], "mean_records_per_person_platform_day": stats[3]}


def phase_ingest(workdir: Path, profile: bool) -> dict:
    from thuocdo import workflows

    m = manifest(workdir)
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    prof = Profiler() if profile else None
    if prof:
        prof.install()
    marks: list[tuple[str, float]] = []
    with Clock() as cw:
        w = workflows.ingest(home, "weights", [Path(m["weights_file"])], SOURCE)
    last = [time.perf_counter()]

    def on_file(path: Path, result) -> None:
        now = time.perf_counter()
        marks.append((path.name, now - last[0]))
        last[0] = now
        stored = f"{result.stored:,}" if result else "ERROR"
        log(f"    {path.name}: {marks[-1][1]:6.2f} s, {stored} stored")

    def on_rollup(source: str, month: str) -> None:
        now = time.perf_counter()
        marks.append((f"rollup {month}", now - last[0]))
        last[0] = now

    with Clock() as cu:
        u = workflows.ingest(home, "usage", [Path(p) for p in m["usage_files"]], SOURCE, on_file=on_file,
                             on_rollup=on_rollup)
    stored = sum(r.stored for r in u.results)
    dups = sum(r.duplicates for r in u.results)
    rejected = u.rejected + w.rejected
    if u.errors or w.errors or rejected or dups or stored != m["records"]:
        raise SystemExit(f"ingestion not clean: stored={stored} duplicates={dups} rejected={rejected} "
                         f"errors={u.errors + w.errors}")
    lake = home / "lake"
    out = {"weights_s": cw.wall, "weights_cpu_s": cw.cpu, "usage_s": cu.wall, "usage_cpu_s": cu.cpu, "stored": stored, "weights_stored": w.results[0].stored,
           "marks": marks, "lake_mb": sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 1e6,
           "lake_files": sum(1 for _ in lake.rglob("*.parquet"))}
    if prof:
        out["profile"] = prof.report()
    return out


def phase_thuocdo(workdir: Path) -> dict:
    import pyarrow as pa

    from thuocdo import workflows

    home = workdir / "home"
    runs = []
    tables: list = []
    for attempt in range(2):
        calls = {}
        tables = []
        with Clock() as total:
            for period in PERIODS:
                for by in BREAKDOWNS:
                    with Clock() as c:
                        table = workflows.metrics(home, workflows.metric_request(period, by, SOURCE))
                    calls[f"{period} by {by}"] = c.wall
                    tables.append((by, table))
        runs.append({"total_s": total.wall, "cpu_s": total.cpu, "calls": calls})
    rows = {c: [] for c in ("period", "platform", "province", *METRICS)}
    for by, table in tables:
        d = table.to_pydict()
        for i in range(table.num_rows):
            rows["period"].append(d["period"][i])
            rows["platform"].append(d["platform"][i])
            rows["province"].append(d["province"][i] if by == "province" else NATIONAL)
            for c in METRICS:
                rows[c].append(d[c][i])
    write_result(workdir / "result_thuocdo.parquet", pa.table(rows))
    return {"cold_s": runs[0]["total_s"], "warm_s": runs[1]["total_s"], "cold_cpu_s": runs[0]["cpu_s"],
            "warm_cpu_s": runs[1]["cpu_s"], "calls": runs[1]["calls"]}


#: the hand-written query: raw records → person × platform × day → person × platform × month (+ weight)
#: → platform (× province) × month → periods. Persons are the raw user_id; the province of a person-month is
#: min(code) (each generated person has one home province, so thuocdo's rule reduces to it).
BASELINE_SQL = """
WITH rec AS (
    SELECT r.user_id, r.platform, CAST(timezone('Asia/Ho_Chi_Minh', r."time") AS DATE) AS day,
           r.active_seconds, r.bytes, r.sessions, r.installs, p.code AS province
    FROM raw AS r LEFT JOIN provinces AS p ON r.province = p.value
), person_day AS (
    SELECT user_id, platform, day, bool_or(sessions > 0 OR active_seconds > 0) AS active,
           sum(active_seconds) AS secs, sum(bytes) AS bytes, sum(sessions) AS sessions,
           sum(installs) AS installs, min(province) AS province
    FROM rec GROUP BY user_id, platform, day
), person_month AS (
    SELECT user_id, platform, strftime(day, '%Y-%m') AS month, count(*) FILTER (WHERE active) AS active_days,
           sum(secs) AS secs, sum(bytes) AS bytes, sum(sessions) AS sessions, sum(installs) AS installs,
           min(province) AS province
    FROM person_day GROUP BY ALL
), weighted AS (
    SELECT pm.*, coalesce(w.weight, 1.0) AS w
    FROM person_month AS pm LEFT JOIN weights AS w ON w.user_id = pm.user_id AND w.month = pm.month
), monthly AS (
    SELECT platform, CASE WHEN grouping(province) = 1 THEN '' ELSE province END AS province, month,
           coalesce(sum(w) FILTER (WHERE active_days > 0), 0) AS mau_m, sum(w * active_days) AS wdays,
           sum(w * secs) AS wsec, sum(w * bytes) AS wbytes, sum(w * sessions) AS wsess, sum(w * installs) AS winst
    FROM weighted GROUP BY GROUPING SETS ((platform, month), (platform, province, month))
), periods(period, month, n_months, n_days) AS (
    VALUES {periods}
)
SELECT p.period, m.platform, m.province,
       sum(m.mau_m) / max(p.n_months) AS mau,
       sum(m.wdays) / max(p.n_days) AS dau,
       sum(m.wsec) / 60.0 / nullif(sum(m.wdays), 0) AS minutes_per_day,
       avg(CASE WHEN m.mau_m > 0 THEN m.wbytes / 1e6 / m.mau_m END) AS mb_per_user,
       sum(m.wsess) AS sessions, sum(m.winst) AS installs
FROM monthly AS m JOIN periods AS p ON m.month = p.month
GROUP BY p.period, m.platform, m.province
""".replace("{periods}", ", ".join(f"('{p}', '{m}', {n}, {d})" for p, m, n, d in PERIOD_ROWS))


def phase_sql(workdir: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(workdir / "raw.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    clocks = []
    table = None
    for _ in range(2):
        with Clock() as c:
            table = con.sql(BASELINE_SQL).to_arrow_table()
        clocks.append(c)
    con.close()
    write_result(workdir / "result_sql.parquet", table)
    return {"cold_s": clocks[0].wall, "warm_s": clocks[1].wall, "cold_cpu_s": clocks[0].cpu,
            "warm_cpu_s": clocks[1].cpu}


def phase_pandas(workdir: Path) -> dict:
    import pandas as pd
    import pyarrow as pa

    t0 = time.perf_counter()
    raw = pd.read_parquet(workdir / "raw.parquet",
                          columns=["user_id", "platform", "time", "active_seconds", "bytes", "sessions", "installs",
                                   "province"])
    weights = pd.read_parquet(workdir / "weights.parquet")
    provinces = pd.read_parquet(workdir / "provinces.parquet")
    load_s = time.perf_counter() - t0

    with Clock() as c:
        out = pandas_metrics(raw, weights, provinces)
    write_result(workdir / "result_pandas.parquet", pa.Table.from_pandas(out, preserve_index=False))
    return {"load_s": load_s, "compute_s": c.wall, "compute_cpu_s": c.cpu}


def pandas_metrics(raw, weights, provinces):
    """What an analyst writes: local day and month, active flag, per person-month sums and nunique active days,
    weights merged, then per platform (× province) × month and per period."""
    import numpy as np
    import pandas as pd

    df = raw
    local = df["time"].dt.tz_convert("Asia/Ho_Chi_Minh")
    df["day"] = local.dt.tz_localize(None).dt.normalize()
    df["month"] = local.dt.month  # one year: the month number is enough
    df["province"] = df["province"].map(dict(zip(provinces["value"], provinces["code"])))
    df["active"] = (df["sessions"] > 0) | (df["active_seconds"] > 0)
    keys = ["user_id", "platform", "month"]
    pm = df.groupby(keys, sort=False).agg(secs=("active_seconds", "sum"), bytes=("bytes", "sum"),
                                          sessions=("sessions", "sum"), installs=("installs", "sum"),
                                          province=("province", "min"))
    pm["active_days"] = df[df["active"]].groupby(keys, sort=False)["day"].nunique()
    pm["active_days"] = pm["active_days"].fillna(0)
    weights = weights.assign(month=weights["month"].str.slice(5, 7).astype("int64"))
    pm = pm.reset_index().merge(weights, on=["user_id", "month"], how="left")
    pm["w"] = pm["weight"].fillna(1.0)
    pm["mau_m"] = np.where(pm["active_days"] > 0, pm["w"], 0.0)
    pm["wdays"] = pm["w"] * pm["active_days"]
    for src, dst in (("secs", "wsec"), ("bytes", "wbytes"), ("sessions", "wsess"), ("installs", "winst")):
        pm[dst] = pm["w"] * pm[src]
    sums = ["mau_m", "wdays", "wsec", "wbytes", "wsess", "winst"]
    national = pm.groupby(["platform", "month"], sort=False)[sums].sum().reset_index()
    national["province"] = NATIONAL
    by_province = pm.groupby(["platform", "province", "month"], sort=False)[sums].sum().reset_index()
    monthly = pd.concat([national, by_province], ignore_index=True)
    periods = pd.DataFrame([(p, int(m[5:]), n, d) for p, m, n, d in PERIOD_ROWS],
                           columns=["period", "month", "n_months", "n_days"])
    x = monthly.merge(periods, on="month")
    x["mb_m"] = np.where(x["mau_m"] > 0, x["wbytes"] / 1e6 / x["mau_m"].where(x["mau_m"] > 0), np.nan)
    g = x.groupby(["period", "platform", "province"], sort=False).agg(
        mau_sum=("mau_m", "sum"), n_months=("n_months", "max"), wdays=("wdays", "sum"), n_days=("n_days", "max"),
        wsec=("wsec", "sum"), mb_per_user=("mb_m", "mean"), sessions=("wsess", "sum"), installs=("winst", "sum"))
    g["mau"] = g["mau_sum"] / g["n_months"]
    g["dau"] = g["wdays"] / g["n_days"]
    g["minutes_per_day"] = g["wsec"] / 60.0 / g["wdays"].where(g["wdays"] > 0)
    return g.reset_index()[["period", "platform", "province", *METRICS]]


def write_result(path: Path, table) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {"period": table["period"].cast(pa.string()), "platform": table["platform"].cast(pa.string()),
            "province": table["province"].cast(pa.string())}
    for c in METRICS:
        cols[c] = table[c].cast(pa.float64())
    pq.write_table(pa.table(cols), path)


# ---------------------------------------------------------------------------------------------------------------
# Profiling thuocdo's ingestion from the outside
# ---------------------------------------------------------------------------------------------------------------
class Profiler:
    """Wraps thuocdo's ingestion steps and every SQL statement of the store's connection with timers."""

    STEPS = {
        "thuocdo.ingest.usage": ["read_input", "_sha256", "stage_usage", "_quarantine_bad_rows", "_store_good_rows",
                                 "stage_person_days", "stage_partitions", "commit_batch"],
        "thuocdo.workflows": ["rebuild_dirty", "ingest_weights"],
        "thuocdo.store.rollups": ["stage_partitions"],
    }

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = defaultdict(list)
        self.sql: dict[str, list[float]] = defaultdict(list)

    def install(self) -> None:
        import importlib

        from thuocdo.store import home as home_mod

        for module_name, names in self.STEPS.items():
            module = importlib.import_module(module_name)
            for name in names:
                if hasattr(module, name):  # thuocdo's internals move; time what is there
                    setattr(module, name, self._timed(f"{module_name.rsplit('.', 1)[-1]}.{name}", getattr(module, name)))
        original_init = home_mod.Store.__init__
        profiler = self

        def init(store, *args, **kwargs):
            original_init(store, *args, **kwargs)
            store.con = _TimedConnection(store.con, profiler.sql)

        home_mod.Store.__init__ = init

    def _timed(self, label: str, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.steps[label].append(time.perf_counter() - t0)

        return wrapper

    def report(self) -> dict:
        def summary(d):
            return sorted(([k, len(v), sum(v)] for k, v in d.items()), key=lambda r: -r[2])

        return {"steps": summary(self.steps), "sql": summary(self.sql)[:25]}


def _statement_label(sql: object) -> str:
    """A statement's first words with literals (paths, dates, ids) blanked, so repeated statements group."""
    text = re.sub(r"'[^']*'", "'…'", " ".join(str(sql).split()))
    return text[:110]


class _TimedConnection:
    def __init__(self, con, sink) -> None:
        self._con = con
        self._sink = sink

    def execute(self, sql, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self._sink[_statement_label(sql)].append(time.perf_counter() - t0)

    def __getattr__(self, name):
        return getattr(self._con, name)


# ---------------------------------------------------------------------------------------------------------------
# Comparison and report
# ---------------------------------------------------------------------------------------------------------------
def load_result(path: Path) -> dict[tuple[str, str, str], tuple]:
    import pyarrow.parquet as pq

    d = pq.read_table(path).to_pydict()
    return {(d["period"][i], d["platform"][i], d["province"][i] or NATIONAL): tuple(d[c][i] for c in METRICS)
            for i in range(len(d["period"]))}


def _close(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        none_a = a is None or (isinstance(a, float) and math.isnan(a))
        none_b = b is None or (isinstance(b, float) and math.isnan(b))
        return none_a and none_b
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) or abs(a - b) < 1e-12


def compare(reference: dict, other: dict) -> tuple[int, float, list[str]]:
    """(mismatching cells, largest relative difference, examples)."""
    problems: list[str] = []
    bad = 0
    worst = 0.0
    for key in sorted(set(reference) | set(other)):
        if key not in reference or key not in other:
            bad += 1
            problems.append(f"{key}: only in {'thuocdo' if key in reference else 'baseline'}")
            continue
        for name, a, b in zip(METRICS, reference[key], other[key]):
            if not _close(a, b):
                bad += 1
                problems.append(f"{key} {name}: {a!r} vs {b!r}")
            elif a is not None and b is not None and not (isinstance(a, float) and math.isnan(a)) and max(abs(a), abs(b)) > 0:
                worst = max(worst, abs(a - b) / max(abs(a), abs(b)))
    return bad, worst, problems[:10]


def run_phase(name: str, workdir: Path, extra: list[str] | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--workdir", str(workdir), *(extra or [])]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed (exit {proc.returncode})")
    out = json.loads((workdir / f"phase_{name}.json").read_text())
    out["process_s"] = time.perf_counter() - t0
    log(f"  ({name}: thuocdo {out.get('revision', '?')}, peak RSS {out['peak_rss_mb']:,.0f} MB)")
    return out


def code_revision() -> str:
    """The commit measured, marked dirty when src/ has uncommitted changes."""
    root = BENCH_DIR.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(revision unknown)"
    return f"{rev}{' + uncommitted changes in src/' if dirty else ''}"


def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--persons", type=int, default=None, help="default: records / 20")
    ap.add_argument("--platforms", type=int, default=50)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (data, store, results)")
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--no-record-id", action="store_true", help="generate no record_id: the content is the key")
    ap.add_argument("--skip-pandas", action="store_true", help="skip the pandas baseline (for very large N)")
    ap.add_argument("--profile", action="store_true", help="time every ingestion step and SQL statement")
    ap.add_argument("--reuse-data", action="store_true", help="reuse the data already generated in --workdir")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.phase:  # child process
        workdir = args.workdir
        fn = {"prepare": lambda: phase_prepare(workdir), "ingest": lambda: phase_ingest(workdir, args.profile),
              "thuocdo": lambda: phase_thuocdo(workdir), "sql": lambda: phase_sql(workdir),
              "pandas": lambda: phase_pandas(workdir)}[args.phase]
        load0 = os.getloadavg()[0]
        revision = code_revision()
        out = fn()
        out["revision"] = revision
        out["peak_rss_mb"] = peak_rss_mb()
        out["load"] = max(load0, os.getloadavg()[0])
        (workdir / f"phase_{args.phase}.json").write_text(json.dumps(out))
        return 0

    from rich.console import Console
    from rich.table import Table

    from generate import generate

    console = Console(width=None if sys.stdout.isatty() else 120)
    log(f"thuocdo {code_revision()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}")
    persons = args.persons or max(1, args.records // 20)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="thuocdo-bench-"))
    created = args.workdir is None or not args.workdir.exists()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.reuse_data and (workdir / "manifest.json").exists():
            m = manifest(workdir)
            if m["records"] != args.records:
                raise SystemExit(f"--reuse-data: {workdir} holds {m['records']:,} records, not {args.records:,}")
            m["with_pandas"] = not args.skip_pandas
            log(f"reusing {m['records']:,} records in {workdir}")
        else:
            log(f"generating {args.records:,} records, {persons:,} persons, {args.platforms} platforms in {workdir}")
            t0 = time.perf_counter()
            ds = generate(workdir, args.records, persons, args.platforms, seed=args.seed,
                          record_ids=not args.no_record_id, log=log)
            m = {"records": ds.records, "persons": persons, "platforms": ds.platforms, "record_ids": ds.record_ids,
                 "usage_files": [str(p) for p in ds.usage_files], "weights_file": str(ds.weights_file),
                 "provinces_file": str(ds.provinces_file), "csv_mb": ds.csv_bytes / 1e6,
                 "generate_s": time.perf_counter() - t0, "with_pandas": not args.skip_pandas}
            log(f"  generated in {m['generate_s']:.1f} s ({m['csv_mb']:,.0f} MB of CSV in {len(ds.usage_files)} files)")
        (workdir / "manifest.json").write_text(json.dumps(m))

        log("preparing the baselines (not measured): CSV → DuckDB table, duplicate check, Parquet copy")
        prep = run_phase("prepare", workdir)
        log(f"  loaded in {prep['load_s']:.1f} s; {prep['person_platform_days']:,} person-platform-days, "
            f"{prep['persons_seen']:,} persons, up to {prep['max_records_per_person_platform_day']} records per "
            f"person-platform-day (mean {prep['mean_records_per_person_platform_day']:.2f})")
        log("thuocdo ingestion")
        ing = run_phase("ingest", workdir, ["--profile"] if args.profile else [])
        log("thuocdo metric set (8 calls, twice)")
        td = run_phase("thuocdo", workdir)
        log("hand-written DuckDB SQL (twice)")
        sql = run_phase("sql", workdir)
        pdx = None
        if not args.skip_pandas:
            log("pandas")
            pdx = run_phase("pandas", workdir)

        ref = load_result(workdir / "result_thuocdo.parquet")
        checks = [("DuckDB SQL", compare(ref, load_result(workdir / "result_sql.parquet")))]
        if pdx:
            checks.append(("pandas", compare(ref, load_result(workdir / "result_pandas.parquet"))))
        agree = all(c[1][0] == 0 for c in checks)

        n = m["records"]
        ingest_s = ing["usage_s"]
        rps = n / ingest_s
        thuocdo_s = td["warm_s"]
        thuocdo_peak = max(ing["peak_rss_mb"], td["peak_rss_mb"])
        table = Table(title=f"thuocdo benchmark: {n:,} records, {m['persons']:,} persons, {len(m['platforms'])} "
                            f"platforms, 2022-Q1 ({m['csv_mb']:,.0f} MB CSV, {len(m['usage_files'])} files)")
        for col in ("step", "wall time", "CPU time", "ratio / rate", "peak RSS", "load"):
            table.add_column(col, justify="left" if col == "step" else "right")

        def ratio(x: float) -> str:
            return f"{x / thuocdo_s:,.1f}× thuocdo"

        table.add_row("thuocdo ingest: weights", fmt_s(ing["weights_s"]), fmt_s(ing["weights_cpu_s"]),
                      f"{ing['weights_stored'] / ing['weights_s']:,.0f} rows/s", "", "")
        table.add_row("thuocdo ingest: usage (incl. rollups)", fmt_s(ingest_s), fmt_s(ing["usage_cpu_s"]),
                      f"{rps:,.0f} records/s", f"{ing['peak_rss_mb']:,.0f} MB", f"{ing['load']:.1f}")
        table.add_row("thuocdo metric set, cold (8 calls)", fmt_s(td["cold_s"]), fmt_s(td["cold_cpu_s"]), "", "", "")
        table.add_row("thuocdo metric set, warm (8 calls)", fmt_s(thuocdo_s), fmt_s(td["warm_cpu_s"]), "1.0×",
                      f"{td['peak_rss_mb']:,.0f} MB", f"{td['load']:.1f}")
        table.add_row("DuckDB SQL over raw table, cold", fmt_s(sql["cold_s"]), fmt_s(sql["cold_cpu_s"]), "", "", "")
        table.add_row("DuckDB SQL over raw table, warm", fmt_s(sql["warm_s"]), fmt_s(sql["warm_cpu_s"]),
                      ratio(sql["warm_s"]), f"{sql['peak_rss_mb']:,.0f} MB", f"{sql['load']:.1f}")
        if pdx:
            table.add_row("pandas: load from Parquet (not counted)", fmt_s(pdx["load_s"]), "", "", "", "")
            table.add_row("pandas: compute", fmt_s(pdx["compute_s"]), fmt_s(pdx["compute_cpu_s"]),
                          ratio(pdx["compute_s"]), f"{pdx['peak_rss_mb']:,.0f} MB", f"{pdx['load']:.1f}")
        for name, (bad, worst, _) in checks:
            table.add_row(f"agreement thuocdo vs {name}", "", "", "OK" if bad == 0 else f"{bad} cells differ",
                          f"max rel diff {worst:.1e}", "")
        console.print(table)
        log("load = highest 1-minute load average seen at the start or end of the step (2 cores: above ~1.2 means "
            "other processes competed with the measurement; CPU time is less affected than wall time)")
        log(f"thuocdo lake: {ing['lake_files']:,} Parquet files, {ing['lake_mb']:,.0f} MB; rows compared: {len(ref):,}")
        log("ingestion steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in ing["marks"]))
        log("warm metric calls: " + ", ".join(f"{k} {v:.2f} s" for k, v in td["calls"].items()))
        if "profile" in ing:
            print_profile(console, ing["profile"], ingest_s + ing["weights_s"])
        for name, (bad, _, examples) in checks:
            for e in examples:
                log(f"  MISMATCH {name}: {e}")
        print(json.dumps({"records": n, "ingest_records_per_s": round(rps), "thuocdo_s": round(thuocdo_s, 3),
                          "duckdb_sql_s": round(sql["warm_s"], 3),
                          "pandas_s": round(pdx["compute_s"], 3) if pdx else None,
                          "peak_rss_mb": round(thuocdo_peak)}))
        return 0 if agree else 1
    finally:
        if not args.keep and created:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not args.keep:  # a given, existing workdir: remove only what the benchmark writes
            for name in ("data", "home"):
                shutil.rmtree(workdir / name, ignore_errors=True)
            for pattern in ("raw.duckdb*", "*.parquet", "phase_*.json", "manifest.json"):
                for p in workdir.glob(pattern):
                    p.unlink(missing_ok=True)


def print_profile(console, profile: dict, total: float) -> None:
    from rich.table import Table

    t = Table(title="thuocdo ingestion, by step (inclusive; nested steps overlap)")
    for c in ("step", "calls", "time", "share of ingest"):
        t.add_column(c, justify="left" if c == "step" else "right")
    for name, calls, secs in profile["steps"]:
        t.add_row(name, str(calls), f"{secs:.2f} s", f"{secs / total:.0%}")
    console.print(t)
    t = Table(title="thuocdo ingestion, slowest SQL statements (summed over files)")
    for c in ("statement", "calls", "time", "share of ingest"):
        t.add_column(c, justify="left" if c == "statement" else "right")
    for name, calls, secs in profile["sql"]:
        t.add_row(name, str(calls), f"{secs:.2f} s", f"{secs / total:.0%}")
    console.print(t)


if __name__ == "__main__":
    sys.exit(main())
