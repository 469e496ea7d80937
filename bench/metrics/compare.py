"""The phases' results (one Parquet file each) and their agreement with thuocdo's, cell by cell."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from .common import METRICS, NATIONAL, REL_TOL

if TYPE_CHECKING:
    import pyarrow

#: one engine's results: (period, platform, province) → the metrics' values
Result = dict[tuple[str, str, str], tuple]


def load_result(path: Path) -> Result:
    """A result file written by ``write_result``, keyed by period, platform and province."""
    import pyarrow.parquet as pq

    d = pq.read_table(path).to_pydict()
    return {(d["period"][i], d["platform"][i], d["province"][i] or NATIONAL): tuple(d[c][i] for c in METRICS)
            for i in range(len(d["period"]))}


def _close(a: float | None, b: float | None) -> bool:
    """Equal within ``REL_TOL`` (or both missing: None or NaN)."""
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        none_a = a is None or (isinstance(a, float) and math.isnan(a))
        none_b = b is None or (isinstance(b, float) and math.isnan(b))
        return none_a and none_b
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) or abs(a - b) < 1e-12


def compare(reference: Result, other: Result) -> tuple[int, float, list[str]]:
    """(mismatching cells, largest relative difference, examples)."""
    problems: list[str] = []
    bad = 0
    worst = 0.0
    for key in sorted(set(reference) | set(other)):
        if key not in reference or key not in other:
            bad += 1
            problems.append(f"{key}: only in {'thuocdo' if key in reference else 'baseline'}")
            continue
        for name, a, b in zip(METRICS, reference[key], other[key], strict=True):
            if not _close(a, b):
                bad += 1
                problems.append(f"{key} {name}: {a!r} vs {b!r}")
            elif (a is not None and b is not None and not (isinstance(a, float) and math.isnan(a))
                  and max(abs(a), abs(b)) > 0):
                worst = max(worst, abs(a - b) / max(abs(a), abs(b)))
    return bad, worst, problems[:10]


def write_result(path: Path, table: pyarrow.Table) -> None:
    """An engine's results with the same column names and types for all: strings, then float64 metrics."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {"period": table["period"].cast(pa.string()), "platform": table["platform"].cast(pa.string()),
            "province": table["province"].cast(pa.string())}
    for c in METRICS:
        cols[c] = table[c].cast(pa.float64())
    pq.write_table(pa.table(cols), path)
