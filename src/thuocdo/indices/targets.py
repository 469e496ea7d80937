"""The national targets scorecard: the gap to each target, the pace observed over every year with data, the
pace still needed, and a status a ministry can defend.

**Units.** A share (``percent``) moves in percentage points, an amount (``usd_bn``, ``count``) relatively (a
compound rate), a rank (``rank``, lower is better) in places; a target that is itself a growth rate
(``percent_per_year``) is compared as it stands.

**Observed pace** is the slope of a least-squares line through *every* year with data up to the year of the
scorecard (on the logarithm of the value for amounts), so one odd year does not decide the status; it needs at
least two years, and the number of points is reported with it. **Needed pace** is what takes the latest value
to the target by the target year: (target − latest) ÷ years left in points or places, (target ÷ latest)^(1/years
left) − 1 for amounts.

**Statuses** (every one defined in :data:`STATUS_DEFINITIONS`, printed as the scorecard's legend):

- ``achieved`` (Đã đạt): the latest value meets the target — equal counts as met;
- ``missed`` (Không đạt): a value for the target year (or later) exists and does not meet it: final;
- ``on_track`` (Đúng tiến độ): before that, with a trend of two years or more, the observed pace is at least
  the needed pace (equal, at the printed precision, counts as on track);
- ``behind`` (Chậm tiến độ): the trend moves toward the target, slower than needed;
- ``moving_away`` (Đi ngược mục tiêu): the trend stands still or moves away from the target;
- ``not_yet`` (Chưa đạt): not met, not final, and no trend to judge the pace by (one year of data, or a
  growth-rate target);
- ``no_data`` (Chưa có số liệu).

>>> from thuocdo.catalog.frameworks import Target
>>> t = Target("t", "online_dossiers", "Hồ sơ trực tuyến toàn trình", "percent", 1, 2025, 80.0, "749", "")
>>> s = assess(t, as_of=2024, series={2023: 38.0, 2024: 45.8})
>>> round(s.gap, 1), round(s.observed_per_year, 1), round(s.needed_per_year, 1), s.trend_points, s.status
(34.2, 7.8, 34.2, 2, 'behind')
>>> r = Target("r", "egdi_rank", "Thứ hạng EGDI", "rank", -1, 2030, 50.0, "749", "")
>>> s = assess(r, as_of=2024, series={2022: 86, 2024: 71})
>>> s.gap, s.needed_per_year, s.observed_per_year, s.attainment, s.status
(21.0, 3.5, 7.5, None, 'on_track')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from thuocdo.catalog.frameworks import Target

STATUS_VI = {
    "achieved": "Đã đạt",
    "on_track": "Đúng tiến độ",
    "behind": "Chậm tiến độ",
    "moving_away": "Đi ngược mục tiêu",
    "not_yet": "Chưa đạt",
    "missed": "Không đạt",
    "no_data": "Chưa có số liệu",
}
STATUS_DEFINITIONS = {
    "achieved": "giá trị mới nhất đạt hoặc vượt mục tiêu (bằng mục tiêu được tính là đạt; với thứ hạng: bằng "
                "hoặc cao hơn hạng mục tiêu).",
    "missed": "đã có số liệu của năm hạn (hoặc sau đó) mà giá trị chưa đạt mục tiêu; đây là kết luận cuối cùng.",
    "on_track": "chưa đến năm hạn; xu hướng tính từ hai năm số liệu trở lên có tốc độ bằng hoặc nhanh hơn tốc độ "
                "cần để đạt mục tiêu đúng hạn (bằng nhau khi làm tròn như bảng được tính là đúng tiến độ).",
    "behind": "chưa đến năm hạn; xu hướng đi về phía mục tiêu nhưng chậm hơn tốc độ cần.",
    "moving_away": "chưa đến năm hạn; xu hướng đứng yên hoặc đi ra xa mục tiêu.",
    "not_yet": "chưa đạt, chưa có số liệu năm hạn và chưa đủ hai năm số liệu để tính xu hướng (hoặc chỉ tiêu là "
               "một tốc độ tăng trưởng, được so trực tiếp với mục tiêu).",
    "no_data": "chưa có giá trị nào đến năm báo cáo.",
}
UNIT_VI = {"percent": "%", "rank": "bậc", "usd_bn": "tỷ USD", "percent_per_year": "%/năm", "count": ""}
#: how each unit's pace is measured: share points, relative (compound) growth, or places per year
PACE_UNIT = {"percent": "points", "percent_open": "points", "usd_bn": "relative", "count": "relative",
             "rank": "places"}
#: paces are compared at the precision they are printed with (one decimal of points, places or percent)
PACE_DECIMALS = {"points": 1, "places": 1, "relative": 3}


@dataclass(frozen=True)
class Trend:
    points: int  # years with data in the fit
    first_year: int
    last_year: int
    per_year: float  # points or places gained per year (toward better), or relative growth per year


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    as_of: int
    actual: float | None
    actual_year: int | None
    attainment: float | None  # actual ÷ target, for shares and amounts only (not for ranks nor growth rates)
    gap: float | None  # what is still missing, in the target's unit (places for ranks); ≤ 0 when reached
    gap_relative: float | None  # for amounts: target ÷ actual − 1
    needed_per_year: float | None  # points, places or relative growth per year still needed
    observed_per_year: float | None  # the fitted trend's pace, in the same measure
    trend_points: int  # years with data behind the observed pace (0 without a trend)
    trend_from: int | None
    pace_unit: str | None  # "points" | "relative" | "places"
    status: str  # a key of STATUS_VI
    series: tuple[tuple[int, float], ...] = ()  # the (year, value) pairs used, oldest first

    @property
    def status_vi(self) -> str:
        return STATUS_VI[self.status]


def trend(series: Mapping[int, float], unit: str, direction: int) -> Trend | None:
    """The least-squares trend through every year of `series` (at least two), in the unit's pace measure.

    >>> trend({2022: 10.0, 2023: 13.0, 2024: 14.0}, "percent", 1).per_year
    2.0
    >>> round(trend({2022: 100.0, 2024: 121.0}, "usd_bn", 1).per_year, 4)
    0.1
    """
    pace = PACE_UNIT.get(unit)
    years = sorted(series)
    if pace is None or len(years) < 2:
        return None
    ys = [series[y] for y in years]
    if pace == "relative":
        if min(ys) <= 0:
            return None
        ys = [math.log(v) for v in ys]
    mx, my = sum(years) / len(years), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(years, ys, strict=True)) / sum((x - mx) ** 2 for x in years)
    per_year = math.exp(slope) - 1 if pace == "relative" else slope * (1 if direction > 0 else -1)
    return Trend(len(years), years[0], years[-1], per_year)


def needed_pace(target: Target, latest: float, latest_year: int) -> float | None:
    """The pace that takes `latest` to the target by the target year (None when no year is left)."""
    pace = PACE_UNIT.get(target.unit)
    years = target.year - latest_year
    if pace is None or years <= 0:
        return None
    if pace == "relative":
        return (target.target / latest) ** (1.0 / years) - 1.0 if latest > 0 else None
    return (target.target - latest) / years * (1 if target.direction > 0 else -1)


def assess(target: Target, *, as_of: int, series: Mapping[int, float]) -> TargetStatus:
    """The status of a target seen from year ``as_of``, from its indicator's values by year (those after
    ``as_of`` are ignored)."""
    known = {y: v for y, v in series.items() if y <= as_of and not math.isnan(v)}
    pace_unit = PACE_UNIT.get(target.unit)
    if not known:
        return TargetStatus(target, as_of, None, None, None, None, None, None, None, 0, None, pace_unit, "no_data")
    used = tuple(sorted(known.items()))
    actual_year = max(known)
    actual = known[actual_year]
    higher = target.direction > 0
    reached = actual >= target.target if higher else actual <= target.target
    gap = (target.target - actual) if higher else (actual - target.target)
    growth_target = target.unit == "percent_per_year"
    attainment = actual / target.target if higher and target.target and not growth_target else None
    gap_relative = target.target / actual - 1 if pace_unit == "relative" and actual > 0 else None
    fitted = None if growth_target else trend(known, target.unit, target.direction)
    observed = fitted.per_year if fitted else None
    needed = None if reached or growth_target else needed_pace(target, actual, actual_year)
    if reached:
        status = "achieved"
    elif actual_year >= target.year:
        status = "missed"
    elif observed is None or needed is None or pace_unit is None:
        status = "not_yet"
    elif observed <= 0:
        status = "moving_away"
    else:
        digits = PACE_DECIMALS[pace_unit]
        status = "on_track" if round(observed, digits) >= round(needed, digits) else "behind"
    return TargetStatus(target, as_of, actual, actual_year, attainment, gap, gap_relative, needed, observed,
                        fitted.points if fitted else 0, fitted.first_year if fitted else None, pace_unit, status, used)
