"""What the parent and the phase processes share: the metric set's shape, clocks, logging, the manifest."""

from __future__ import annotations

import json
import resource
import subprocess
import time
from pathlib import Path

#: the repository holding ``bench/`` and ``src/``
REPO_ROOT = Path(__file__).resolve().parents[2]

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
    """Print a progress line at once (the phases' own output interleaves with it)."""
    print(msg, flush=True)


def manifest(workdir: Path) -> dict:
    """The generated data set's description (``manifest.json``), written by the parent before the phases."""
    return json.loads((workdir / "manifest.json").read_text())


def code_revision() -> str:
    """The commit measured, marked dirty when src/ has uncommitted changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(revision unknown)"
    return f"{rev}{' + uncommitted changes in src/' if dirty else ''}"


def fmt_s(x: float | None) -> str:
    """Seconds for the table (a dash when not measured)."""
    return "—" if x is None else f"{x:,.2f} s"
