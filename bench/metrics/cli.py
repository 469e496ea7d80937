"""The benchmark's command line: options, the data set (generated or reused), the phases, the report, and
the clean-up of the work directory."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import __doc__ as benchmark_doc
from .common import code_revision, log, manifest
from .phases import run_child, run_phases
from .report import check_agreement, print_report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options; ``--phase`` (hidden) runs one phase in this process."""
    ap = argparse.ArgumentParser(prog=f"python -m {__package__}", description=benchmark_doc.split("\n\n")[0])
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
    ap.add_argument("--formats", action="store_true", help="also ingest the records as gzip CSV and as Parquet")
    ap.add_argument("--ladder", action="store_true",
                    help="also run the minimal pipeline with thuocdo's rules added one at a time (ladder.py)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def write_manifest(args: argparse.Namespace, workdir: Path) -> dict:
    """Generate the data set (or reuse the one in ``workdir`` with ``--reuse-data``) and describe it in
    ``manifest.json`` for the phases."""
    if args.reuse_data and (workdir / "manifest.json").exists():
        m = manifest(workdir)
        if m["records"] != args.records:
            raise SystemExit(f"--reuse-data: {workdir} holds {m['records']:,} records, not {args.records:,}")
        m["with_pandas"] = not args.skip_pandas
        log(f"reusing {m['records']:,} records in {workdir}")
    else:
        from ..generate import generate

        persons = args.persons or max(1, args.records // 20)
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
    return m


def clean_workdir(workdir: Path, keep: bool, created: bool) -> None:
    """Remove the work directory the benchmark created, or only what it wrote into a given one."""
    if not keep and created:
        shutil.rmtree(workdir, ignore_errors=True)
    elif not keep:
        for name in ("data", "home"):
            shutil.rmtree(workdir / name, ignore_errors=True)
        shutil.rmtree(workdir / "formats", ignore_errors=True)
        for pattern in ("raw.duckdb*", "*.parquet", "phase_*.json", "manifest.json", "late.csv"):
            for p in workdir.glob(pattern):
                p.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (exit status 1 when an engine disagrees with thuocdo), or one phase with ``--phase``."""
    args = parse_args(argv)
    if args.phase:  # child process
        run_child(args.phase, args.workdir, args.profile)
        return 0

    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 120)
    log(f"thuocdo {code_revision()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="thuocdo-bench-"))
    created = args.workdir is None or not args.workdir.exists()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        m = write_manifest(args, workdir)
        results = run_phases(workdir, profile=args.profile, with_pandas=not args.skip_pandas, formats=args.formats,
                              ladder=args.ladder)
        rows_compared, checks = check_agreement(workdir, results)
        print_report(console, m, results, checks, rows_compared)
        return 0 if all(bad == 0 for _, (bad, _, _) in checks) else 1
    finally:
        clean_workdir(workdir, keep=args.keep, created=created)
