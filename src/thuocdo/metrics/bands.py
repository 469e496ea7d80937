"""MAU bands: how many platforms have more than 10 million monthly active users, how many 5 to 10 million, …,
and how many of them are Vietnamese (the seeds' "7 ứng dụng có trên 10 triệu người dùng").

A band is ``[band_low, band_high)``: a platform with exactly the threshold's MAU goes in the upper band. The
thresholds are strictly decreasing and positive; the bands are one above the first threshold (no upper bound),
one between each pair, and one below the last (from 0). A platform counts in the band of its ``mau`` in the
metric table of the period (a quarter: the mean of its months), of the source asked (by default the national
estimate when it can be made); a platform without a figure (withheld from the public, or not measured) is in no
band and is counted apart.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence

import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.model.periods import Period

#: the seeds' thresholds: 10 M, 5 M, 1 M
DEFAULT_THRESHOLDS = (10_000_000, 5_000_000, 1_000_000)

SCHEMA = pa.schema([("band_low", pa.float64()), ("band_high", pa.float64()), ("platforms", pa.int64()),
                    ("vn_platforms", pa.int64()), ("foreign_platforms", pa.int64()), ("names", pa.string())])


class ThresholdError(ValueError):
    """Thresholds that do not make bands (not numbers, not positive, not strictly decreasing)."""


def parse_thresholds(text: str | Sequence[float] | None) -> tuple[float, ...]:
    """The thresholds of a ``--thresholds 10000000,5000000,1000000`` value (None: the default ones)."""
    if text is None:
        return tuple(float(t) for t in DEFAULT_THRESHOLDS)
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise ThresholdError(f"Ngưỡng '{text}' không hợp lệ: cần các số dương cách nhau bởi dấu phẩy, giảm dần "
                             "(ví dụ 10000000,5000000,1000000).") from exc
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ThresholdError(f"Ngưỡng '{text}' không hợp lệ: mọi ngưỡng phải là số dương.")
    if any(a <= b for a, b in itertools.pairwise(values)):
        raise ThresholdError(f"Ngưỡng '{text}' không hợp lệ: các ngưỡng phải giảm dần nghiêm ngặt.")
    return values


def bands(metrics: pa.Table, catalog: Catalog, thresholds: Sequence[float], on: dt.date) -> tuple[pa.Table, int]:
    """The bands of a metric table by platform (columns ``platform``, ``mau``; one row per platform), the
    platforms' names as of `on`; and how many platforms have no figure."""
    limits: list[tuple[float, float | None]] = [(thresholds[0], None)]
    limits += [(low, high) for high, low in itertools.pairwise(thresholds)]
    limits.append((0.0, thresholds[-1]))
    members: list[list[tuple[float, str, str]]] = [[] for _ in limits]
    missing = 0
    for row in metrics.select(["platform", "mau"]).to_pylist():
        mau = row["mau"]
        if mau is None or math.isnan(mau):
            missing += 1
            continue
        i = next(i for i, (low, _) in enumerate(limits) if mau >= low)
        platform = catalog.platform(row["platform"])
        members[i].append((mau, catalog.platform_name(platform.id, on), platform.origin))
    rows = []
    for (low, high), found in zip(limits, members, strict=True):
        found.sort(key=lambda m: (-m[0], m[1]))
        vn = sum(1 for m in found if m[2] == "vn")
        rows.append({"band_low": float(low), "band_high": None if high is None else float(high),
                     "platforms": len(found), "vn_platforms": vn, "foreign_platforms": len(found) - vn,
                     "names": ", ".join(m[1] for m in found)})
    return pa.Table.from_pylist(rows, schema=SCHEMA), missing


def platform_bands(maus: Iterable[tuple[str, float | None]], catalog: Catalog, period: str) -> tuple[pa.Table, int]:
    """:func:`bands` of (platform, MAU) pairs of a period at the default thresholds, the platforms named as on the
    period's last day."""
    pairs = list(maus)
    table = pa.table({"platform": pa.array([p for p, _ in pairs], pa.string()),
                      "mau": pa.array([m for _, m in pairs], pa.float64())})
    return bands(table, catalog, parse_thresholds(None), Period.parse(period).last_day)
