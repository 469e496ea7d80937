"""The national targets scorecard: attainment, gap, the growth per year still needed, and a status.

For a target on a level (a share, an amount): attainment = actual ÷ target, gap = target − actual, and the
growth still needed is the compound rate (target ÷ actual)^(1/years left) − 1. For a rank (lower is better):
attainment = target ÷ actual, gap = actual − target places, and the need is in places per year. A positive
gap is the distance still to cover; zero or negative means the target is reached.

>>> from thuocdo.catalog.frameworks import Target
>>> t = Target("t", "online_dossiers", "Hồ sơ trực tuyến toàn trình", "percent", 1, 2025, 80.0, "749", "")
>>> s = assess(t, as_of=2024, actual=45.8, actual_year=2024, previous=30.0, previous_year=2023)
>>> round(s.attainment, 4), round(s.gap, 1), round(s.needed_per_year, 4), s.status
(0.5725, 34.2, 0.7467, 'behind')
>>> r = Target("r", "egdi_rank", "Thứ hạng EGDI", "rank", -1, 2030, 50.0, "749", "")
>>> s = assess(r, as_of=2024, actual=71, actual_year=2024, previous=86, previous_year=2022)
>>> round(s.attainment, 4), s.gap, s.needed_per_year, s.observed_per_year, s.status
(0.7042, 21.0, 3.5, 7.5, 'on_track')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from thuocdo.catalog.frameworks import Target

STATUS_VI = {
    "achieved": "Đã đạt",
    "on_track": "Đúng tiến độ",
    "behind": "Chậm tiến độ",
    "not_yet": "Chưa đạt",
    "missed": "Không đạt",
    "no_data": "Chưa có số liệu",
}
UNIT_VI = {"percent": "%", "rank": "bậc", "usd_bn": "tỷ USD", "percent_per_year": "%/năm", "count": ""}


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    as_of: int
    actual: float | None
    actual_year: int | None
    attainment: float | None
    gap: float | None
    needed_per_year: float | None  # relative growth per year (0.12 = 12%), or places per year for ranks
    observed_per_year: float | None  # the same measure over the latest earlier value, for comparison
    status: str  # a key of STATUS_VI

    @property
    def status_vi(self) -> str:
        return STATUS_VI[self.status]


def _pace(target: Target, start: float, end: float, years: float) -> float | None:
    """Change per year from start to end: places for ranks, compound growth otherwise."""
    if years <= 0:
        return None
    if target.unit == "rank":
        return (start - end) / years
    if start <= 0 or end < 0:
        return None
    return float((end / start) ** (1.0 / years) - 1.0)


def assess(target: Target, *, as_of: int, actual: float | None, actual_year: int | None,
           previous: float | None = None, previous_year: int | None = None) -> TargetStatus:
    """The status of a target seen from year ``as_of``, given the latest actual value up to then (and an earlier
    one, if any, to compare the pace so far with the pace still needed)."""
    if actual is None or actual_year is None or math.isnan(actual):
        return TargetStatus(target, as_of, None, None, None, None, None, None, "no_data")
    higher = target.direction > 0
    reached = actual >= target.target if higher else actual <= target.target
    gap = (target.target - actual) if higher else (actual - target.target)
    if higher:
        attainment = actual / target.target if target.target else None
    else:
        attainment = target.target / actual if actual else None
    growth_target = target.unit == "percent_per_year"  # the actual is itself a growth rate
    years_left = target.year - actual_year  # the years from the latest value to the target year
    needed = None if reached or growth_target else _pace(target, actual, target.target, years_left)
    observed = None
    if previous is not None and previous_year is not None and not growth_target and previous_year < actual_year:
        observed = _pace(target, previous, actual, actual_year - previous_year)
    if reached:
        status = "achieved"
    elif years_left <= 0:
        status = "missed"
    elif needed is not None and observed is not None:
        status = "on_track" if observed >= needed else "behind"
    else:
        status = "not_yet"
    return TargetStatus(target, as_of, actual, actual_year, attainment, gap, needed, observed, status)
