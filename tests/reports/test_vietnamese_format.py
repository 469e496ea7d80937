"""Numbers, dates and periods as Vietnamese readers write them; the report modules' runnable examples."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib

import pytest

from thuocdo.reports.vietnamese import (
    format_change,
    format_date,
    format_duration,
    format_mb,
    format_number,
    format_percent,
    format_persons,
    format_quarter,
    format_ratio,
    format_signed_percent,
    join_names,
    roman,
)


@pytest.mark.parametrize(("value", "text"), [
    (74_700_000, "74,7 triệu"), (67_800_000, "67,8 triệu"), (3_650_000, "3,65 triệu"), (7_820_000, "7,82 triệu"),
    (19_900_000, "19,9 triệu"), (135_700_000, "136 triệu"), (4_600_000, "4,6 triệu"), (610_512, "611.000"),
    (999, "999"), (0, "0"), (None, "–"), (float("nan"), "–"), (2_500_000_000, "2,5 tỷ"),
])
def test_persons(value: float | None, text: str) -> None:
    assert format_persons(value) == text


def test_four_significant_digits_for_visits() -> None:
    assert format_persons(135.7e6, 4) == "135,7 triệu" and format_persons(41.07e6, 4) == "41,07 triệu"
    assert format_persons(2.17e6, 4) == "2,17 triệu" and format_persons(109_000, 4) == "109.000"


def test_numbers_percent_ratio_mb() -> None:
    assert format_number(3_098_490_000) == "3.098.490.000"
    assert format_percent(0.5884) == "58,84%" and format_percent(0.4116) == "41,16%"
    assert format_ratio(591 / 413.3) == "1,43 lần"
    assert format_mb(591) == "591 MB" and format_mb(413.3) == "413,3 MB" and format_mb(1800) == "1,8 GB"
    assert format_signed_percent(-0.8) == "−80,0%" and format_signed_percent(0.052) == "+5,2%"
    assert format_change(-0.8) == "giảm 80,0%" and format_change(0.00001) == "không đổi"


def test_periods_dates_durations() -> None:
    assert format_quarter("2022-Q1") == "quý I/2022" and format_quarter("2021-Q4") == "quý IV/2021"
    assert format_quarter("2021-12") == "tháng 12/2021" and format_quarter("2022-Q3", capital=True) == "Quý III/2022"
    assert format_date(dt.date(2022, 4, 1)) == "ngày 01 tháng 4 năm 2022"
    assert format_duration(80) == "1 giờ 20 phút" and format_duration(28) == "28 phút"
    assert format_duration(34 + 52 / 60, seconds=True) == "34 phút 52 giây"
    assert [roman(i) for i in (1, 2, 3, 4, 9, 13)] == ["I", "II", "III", "IV", "IX", "XIII"]
    assert join_names(["Zalo", "Mocha"]) == "Zalo và Mocha"
    assert join_names(["Messenger", "Viber", "Telegram"]) == "Messenger, Viber và Telegram"


@pytest.mark.parametrize("name", ["thuocdo.reports.uncertainty", "thuocdo.reports.context"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
