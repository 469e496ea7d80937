"""Reporting periods (months and quarters) and the Vietnamese local day.

>>> p = Period.parse("2022-Q1")
>>> p.months
('2022-01', '2022-02', '2022-03')
>>> p.days, p.previous().label, p.year_ago().label
(90, '2021-Q4', '2021-Q1')
>>> Period.parse("2022-03").previous().label
'2022-02'
>>> Period.parse("0000-01")
Traceback (most recent call last):
...
thuocdo.model.periods.PeriodError: Kỳ '0000-01' không hợp lệ: năm phải từ 2000 đến 2099.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

#: Vietnam keeps UTC+7 all year (no daylight saving since 1975).
VIETNAM_UTC_OFFSET = dt.timedelta(hours=7)
VIETNAM_TZ = dt.timezone(VIETNAM_UTC_OFFSET, "Asia/Ho_Chi_Minh")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
#: the years a period may name: those of the records thuocdo accepts (2000–2100, local time)
FIRST_YEAR, LAST_YEAR = 2000, 2099


class PeriodKind(Enum):
    MONTH = "month"
    QUARTER = "quarter"


class PeriodError(ValueError):
    """A period text that is neither YYYY-MM nor YYYY-Qn."""


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: PeriodKind
    index: int  # month 1..12 or quarter 1..4

    @classmethod
    def parse(cls, text: str) -> Period:
        text = text.strip()
        year = _MONTH.match(text) or _QUARTER.match(text)
        if year and not FIRST_YEAR <= int(year.group(1)) <= LAST_YEAR:
            raise PeriodError(f"Kỳ '{text}' không hợp lệ: năm phải từ {FIRST_YEAR} đến {LAST_YEAR}.")
        if m := _MONTH.match(text):
            month = int(m.group(2))
            if 1 <= month <= 12:
                return cls(int(m.group(1)), PeriodKind.MONTH, month)
        if m := _QUARTER.match(text):
            return cls(int(m.group(1)), PeriodKind.QUARTER, int(m.group(2)))
        raise PeriodError(f"Kỳ '{text}' không hợp lệ: dùng dạng YYYY-MM (tháng) hoặc YYYY-Qn (quý), "
                          "ví dụ 2022-01 hoặc 2022-Q1.")

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.index:02d}"
        return f"{self.year:04d}-Q{self.index}"

    @property
    def month_numbers(self) -> tuple[int, ...]:
        if self.kind is PeriodKind.MONTH:
            return (self.index,)
        first = 3 * (self.index - 1) + 1
        return (first, first + 1, first + 2)

    @property
    def months(self) -> tuple[str, ...]:
        return tuple(f"{self.year:04d}-{m:02d}" for m in self.month_numbers)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month_numbers[0], 1)

    @property
    def last_day(self) -> dt.date:
        last = self.month_numbers[-1]
        return dt.date(self.year, last, calendar.monthrange(self.year, last)[1])

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        size = 12 if self.kind is PeriodKind.MONTH else 4
        if self.index > 1:
            return Period(self.year, self.kind, self.index - 1)
        return Period(self.year - 1, self.kind, size)

    def year_ago(self) -> Period:
        return Period(self.year - 1, self.kind, self.index)

    def __str__(self) -> str:
        return self.label


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def days_in_month(month: str) -> int:
    year, mon = (int(x) for x in month.split("-"))
    return calendar.monthrange(year, mon)[1]
