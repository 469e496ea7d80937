"""Running the phases, each in its own process (``python -m bench.metrics --phase NAME --workdir DIR``), so
that each peak RSS is that phase's own; a phase writes what it measured to ``phase_NAME.json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .common import REPO_ROOT, code_revision, log, peak_rss_mb
from .formats import phase_formats
from .ingest import phase_ingest
from .ladder import phase_ladder
from .late import phase_late
from .minimal import phase_minimal
from .pandas_phase import phase_pandas
from .prepare import phase_prepare
from .sql import phase_sql
from .thuocdo_phase import phase_thuocdo


@dataclass
class PhaseResults:
    """What each phase process reported (``pandas`` is None when skipped)."""

    prepare: dict
    minimal: dict
    ingest: dict
    thuocdo: dict
    sql: dict
    late: dict
    pandas: dict | None
    formats: dict | None = None  # --formats: CSV, gzip CSV and Parquet ingested in turn
    ladder: dict | None = None  # --ladder: the minimal pipeline with thuocdo's rules added one at a time


def run_child(phase: str, workdir: Path, profile: bool) -> None:
    """In the phase's own process: run it and write its measurements, the revision, peak RSS and load."""
    phases: dict[str, Callable[[], dict]] = {
        "prepare": lambda: phase_prepare(workdir), "ingest": lambda: phase_ingest(workdir, profile),
        "thuocdo": lambda: phase_thuocdo(workdir), "sql": lambda: phase_sql(workdir),
        "pandas": lambda: phase_pandas(workdir), "minimal": lambda: phase_minimal(workdir),
        "late": lambda: phase_late(workdir), "formats": lambda: phase_formats(workdir),
        "ladder": lambda: phase_ladder(workdir)}
    fn = phases[phase]
    load0 = os.getloadavg()[0]
    revision = code_revision()
    out = fn()
    out["revision"] = revision
    out["peak_rss_mb"] = peak_rss_mb()
    out["load"] = max(load0, os.getloadavg()[0])
    (workdir / f"phase_{phase}.json").write_text(json.dumps(out))


def run_phase(name: str, workdir: Path, extra: list[str] | None = None) -> dict:
    """Run one phase in a new process (which finds this package from any working directory)."""
    cmd = [sys.executable, "-m", __package__, "--phase", name, "--workdir", str(workdir), *(extra or [])]
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": python_path}, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed (exit {proc.returncode})")
    out = json.loads((workdir / f"phase_{name}.json").read_text())
    out["process_s"] = time.perf_counter() - t0
    log(f"  ({name}: thuocdo {out.get('revision', '?')}, peak RSS {out['peak_rss_mb']:,.0f} MB)")
    return out


def run_phases(workdir: Path, profile: bool, with_pandas: bool, formats: bool = False,
               ladder: bool = False) -> PhaseResults:
    """The baselines' preparation, the minimal person-day pipeline, thuocdo's ingestion and metric set, the SQL
    query, pandas, then a late file into thuocdo's store."""
    log("preparing the baselines (not measured): CSV → DuckDB table, duplicate check, Parquet copy")
    prep = run_phase("prepare", workdir)
    log(f"  loaded in {prep['load_s']:.1f} s; {prep['person_platform_days']:,} person-platform-days, "
        f"{prep['persons_seen']:,} persons, up to {prep['max_records_per_person_platform_day']} records per "
        f"person-platform-day (mean {prep['mean_records_per_person_platform_day']:.2f})")
    log("minimal person-day pipeline (the reference line of ingestion)")
    minimal = run_phase("minimal", workdir)
    steps = None
    if ladder:
        log("the minimal pipeline with thuocdo's rules added one at a time (each rung twice, in turn)")
        steps = run_phase("ladder", workdir)
    log("thuocdo ingestion")
    ing = run_phase("ingest", workdir, ["--profile"] if profile else [])
    log("thuocdo metric set (8 calls, twice)")
    td = run_phase("thuocdo", workdir)
    log("hand-written DuckDB SQL (twice)")
    sql = run_phase("sql", workdir)
    pdx = None
    if with_pandas:
        log("pandas")
        pdx = run_phase("pandas", workdir)
    log("thuocdo: a late file of 1,000 records into the store (after the metric phases, which it would change)")
    late = run_phase("late", workdir)
    fmt = None
    if formats:
        log("thuocdo ingestion of the same records as CSV, gzip CSV and Parquet (copies written first, untimed)")
        fmt = run_phase("formats", workdir)
    return PhaseResults(prepare=prep, minimal=minimal, ingest=ing, thuocdo=td, sql=sql, late=late, pandas=pdx,
                        formats=fmt, ladder=steps)
