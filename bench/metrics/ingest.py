"""Measured: thuocdo's ingestion of the weights, then of the usage files (optionally profiled)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .common import SOURCE, Clock, log, manifest
from .profiler import Profiler

if TYPE_CHECKING:
    from thuocdo.ingest.results import BatchResult


def phase_ingest(workdir: Path, profile: bool) -> dict:
    """Ingest into a new store under ``workdir/home``; the time of each file and rollup, the lake's size."""
    from thuocdo.workflows import ingest as ingest_workflow

    m = manifest(workdir)
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    prof = Profiler() if profile else None
    if prof:
        prof.install()
    marks: list[tuple[str, float]] = []
    with Clock() as cw:
        w = ingest_workflow.ingest(home, "weights", [Path(m["weights_file"])], SOURCE)
    last = [time.perf_counter()]

    def on_file(path: Path, result: BatchResult | None) -> None:
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
        u = ingest_workflow.ingest(home, "usage", [Path(p) for p in m["usage_files"]], SOURCE, on_file=on_file,
                             on_rollup=on_rollup)
    stored = sum(r.stored for r in u.results)
    dups = sum(r.duplicates for r in u.results)
    rejected = u.rejected + w.rejected
    if u.errors or w.errors or rejected or dups or stored != m["records"]:
        raise SystemExit(f"ingestion not clean: stored={stored} duplicates={dups} rejected={rejected} "
                         f"errors={u.errors + w.errors}")
    lake = home / "lake"
    out = {"weights_s": cw.wall, "weights_cpu_s": cw.cpu, "usage_s": cu.wall, "usage_cpu_s": cu.cpu,
           "stored": stored, "weights_stored": w.results[0].stored,
           "marks": marks, "lake_mb": sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 1e6,
           "lake_files": sum(1 for _ in lake.rglob("*.parquet"))}
    if prof:
        out["profile"] = prof.report()
    return out
