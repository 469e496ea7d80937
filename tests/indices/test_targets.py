"""The scorecard maths, case by case, worked by hand."""

from __future__ import annotations

import pytest

from thuocdo.catalog.frameworks import Target
from thuocdo.indices.targets import STATUS_VI, assess


def share(target: float, year: int) -> Target:
    return Target("t", "online_dossiers", "Hồ sơ trực tuyến toàn trình", "percent", 1, year, target, "seed 001", "")


def rank(target: float, year: int) -> Target:
    return Target("r", "egdi_rank", "Thứ hạng EGDI", "rank", -1, year, target, "749/QĐ-TTg", "")


def test_a_share_behind_its_pace() -> None:
    s = assess(share(80, 2025), as_of=2024, actual=45.8, actual_year=2024, previous=38.0, previous_year=2023)
    assert s.attainment == pytest.approx(45.8 / 80)
    assert s.gap == pytest.approx(34.2)
    assert s.needed_per_year == pytest.approx(80 / 45.8 - 1)  # one year left: +74.7%
    assert s.observed_per_year == pytest.approx(45.8 / 38.0 - 1)  # +20.5% last year
    assert (s.status, s.status_vi) == ("behind", "Chậm tiến độ")


def test_compound_growth_over_several_years() -> None:
    s = assess(share(30, 2030), as_of=2024, actual=18.3, actual_year=2024, previous=16.5, previous_year=2023)
    assert s.needed_per_year == pytest.approx((30 / 18.3) ** (1 / 6) - 1)  # 8.59% a year for six years
    assert s.status == "on_track"  # 18.3 / 16.5 − 1 = 10.9% ≥ 8.59%


def test_a_deadline_passed_or_reached() -> None:
    assert assess(share(50, 2024), as_of=2024, actual=45.8, actual_year=2024).status == "missed"
    reached = assess(share(80, 2025), as_of=2025, actual=83.0, actual_year=2025)
    assert (reached.status, reached.needed_per_year) == ("achieved", None) and reached.gap == pytest.approx(-3.0)
    assert assess(share(80, 2030), as_of=2024, actual=60.0, actual_year=2024).status == "not_yet"  # no earlier value


def test_a_rank_target_counts_places() -> None:
    s = assess(rank(50, 2030), as_of=2024, actual=71, actual_year=2024, previous=86, previous_year=2022)
    assert (s.gap, s.needed_per_year, s.observed_per_year) == (21, 3.5, 7.5)  # 21 places in 6 years; 15 in 2
    assert s.attainment == pytest.approx(50 / 71) and s.status == "on_track"
    assert assess(rank(70, 2025), as_of=2025, actual=65, actual_year=2024).status == "achieved"


def test_a_growth_target_and_no_data() -> None:
    growth = Target("g", "ndxp_transactions_growth", "Tăng trưởng giao dịch", "percent_per_year", 1, 2025, 20, "x", "")
    s = assess(growth, as_of=2024, actual=15.0, actual_year=2024, previous=10.0, previous_year=2023)
    assert (s.needed_per_year, s.observed_per_year, s.status) == (None, None, "not_yet")
    empty = assess(share(80, 2025), as_of=2024, actual=None, actual_year=None)
    assert (empty.status, empty.status_vi) == ("no_data", STATUS_VI["no_data"])
