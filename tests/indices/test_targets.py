"""The scorecard maths, case by case, worked by hand: unit-aware gaps and paces, a trend through every year
with data, and statuses that are each defined."""

from __future__ import annotations

import pytest

from thuocdo.catalog.frameworks import Target
from thuocdo.indices.targets import STATUS_DEFINITIONS, STATUS_VI, assess


def share(target: float, year: int) -> Target:
    return Target("t", "online_dossiers", "Hồ sơ trực tuyến toàn trình", "percent", 1, year, target, "seed 001", "")


def rank(target: float, year: int) -> Target:
    return Target("r", "egdi_rank", "Thứ hạng EGDI", "rank", -1, year, target, "749/QĐ-TTg", "")


def amount(target: float, year: int) -> Target:
    return Target("a", "platform_digital_economy_revenue", "Doanh thu", "usd_bn", 1, year, target, "1437", "")


def test_a_share_is_measured_in_points_per_year() -> None:
    s = assess(share(80, 2025), as_of=2024, series={2023: 38.0, 2024: 45.8})
    assert s.gap == pytest.approx(34.2)  # points, not a ratio
    assert s.observed_per_year == pytest.approx(7.8)  # 45.8 − 38.0 in one year
    assert s.needed_per_year == pytest.approx(34.2)  # one year left
    assert (s.trend_points, s.trend_from, s.pace_unit) == (2, 2023, "points")
    assert (s.status, s.status_vi) == ("behind", "Chậm tiến độ")


def test_the_trend_uses_every_year_not_the_last_two() -> None:
    """10, 20, 12, 22 over 2021–2024: least-squares slope Σdx·dy / Σdx² = 14 / 5 = 2.8 points a year (the last
    two years alone would say 10); 40% by 2030 needs (40 − 22) / 6 = 3.0 a year: behind."""
    s = assess(share(40, 2030), as_of=2024, series={2021: 10.0, 2022: 20.0, 2023: 12.0, 2024: 22.0})
    assert s.observed_per_year == pytest.approx(2.8) and s.trend_points == 4
    assert s.needed_per_year == pytest.approx(3.0) and s.status == "behind"


def test_an_amount_is_measured_relatively() -> None:
    s = assess(amount(52, 2025), as_of=2024, series={2023: 32.0, 2024: 40.0})
    assert s.gap == pytest.approx(12.0) and s.gap_relative == pytest.approx(0.3)
    assert s.observed_per_year == pytest.approx(0.25)  # 40 / 32 − 1
    assert s.needed_per_year == pytest.approx(0.3)  # 52 / 40 − 1, one year left
    assert s.status == "behind" and s.pace_unit == "relative"


def test_a_rank_counts_places_and_has_no_ratio() -> None:
    s = assess(rank(50, 2030), as_of=2024, series={2022: 86, 2024: 71})
    assert (s.gap, s.needed_per_year, s.observed_per_year) == (21, 3.5, 7.5)  # 21 places in 6 years; 15 in 2
    assert s.attainment is None  # no "target ÷ actual" for a rank
    assert s.status == "on_track" and s.pace_unit == "places"
    assert assess(rank(70, 2025), as_of=2025, series={2024: 65}).status == "achieved"


def test_a_tie_is_stated_either_way() -> None:
    assert assess(share(80, 2025), as_of=2025, series={2025: 80.0}).status == "achieved"  # equal is reached
    tie = assess(share(50, 2024), as_of=2024, series={2022: 40.0, 2023: 45.0})  # 5 a year, 5 needed
    assert tie.observed_per_year == pytest.approx(tie.needed_per_year) and tie.status == "on_track"


def test_not_met_yet_and_missed_are_different() -> None:
    missed = assess(share(50, 2024), as_of=2024, series={2024: 45.8})
    assert (missed.status, missed.status_vi) == ("missed", "Không đạt")  # the target year's value falls short
    waiting = assess(share(50, 2024), as_of=2024, series={2023: 45.0})  # no value for 2024 yet: not final
    assert (waiting.status, waiting.status_vi) == ("not_yet", "Chưa đạt")
    assert assess(share(80, 2030), as_of=2024, series={2024: 60.0}).status == "not_yet"  # one year: no trend


def test_moving_away_from_the_target() -> None:
    s = assess(share(60, 2026), as_of=2024, series={2023: 50.0, 2024: 48.0})
    assert s.observed_per_year == pytest.approx(-2.0) and s.status == "moving_away"


def test_values_after_the_year_are_ignored_and_growth_targets_compare_as_they_stand() -> None:
    s = assess(share(80, 2025), as_of=2023, series={2023: 38.0, 2024: 45.8})
    assert (s.actual, s.actual_year, s.trend_points) == (38.0, 2023, 0)
    growth = Target("g", "ndxp_transactions_growth", "Tăng trưởng giao dịch", "percent_per_year", 1, 2025, 20, "x", "")
    g = assess(growth, as_of=2024, series={2023: 10.0, 2024: 15.0})
    assert (g.needed_per_year, g.observed_per_year, g.attainment, g.status) == (None, None, None, "not_yet")
    empty = assess(share(80, 2025), as_of=2024, series={})
    assert (empty.status, empty.status_vi) == ("no_data", STATUS_VI["no_data"])


def test_every_status_has_a_definition() -> None:
    assert STATUS_DEFINITIONS.keys() == STATUS_VI.keys()
    assert all(text.endswith(".") for text in STATUS_DEFINITIONS.values())
