"""The periods a dashboard visitor may see, the period a page shows, and how periods are named."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from thuocdo.model.periods import Period, PeriodError
from thuocdo.reports import vietnamese as vn
from thuocdo.workflows.access import Principal
from thuocdo.workflows.service import Service


class NotFound(LookupError):
    """A page asked for something that does not exist or is not published (the message is in Vietnamese)."""


@dataclass(frozen=True)
class Periods:
    quarters: list[str]  # newest first
    months: list[str]  # oldest first (the time series)

    @property
    def choices(self) -> list[str]:
        return self.quarters + sorted(self.months, reverse=True)

    @property
    def latest(self) -> str | None:
        return self.quarters[0] if self.quarters else (self.months[-1] if self.months else None)


def all_periods(service: Service) -> Periods:
    """Every month with usage data and the quarters holding them, published or not."""
    months = service.months_with_data()
    return Periods(sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in months}, reverse=True), months)


def visible_periods(service: Service, who: Principal) -> Periods:
    every = all_periods(service)
    quarters, months = every.quarters, every.months
    if not who.sees_unpublished:
        months = [m for m in months if service.access.is_published(m)]
        quarters = [q for q in quarters if service.access.is_published(q)]
    return Periods(quarters, months)


def chosen_period(periods: Periods, asked: str | None) -> str | None:
    if not asked:
        return periods.latest
    try:
        label = Period.parse(asked.strip()).label
    except PeriodError:
        raise NotFound(f"Kỳ '{asked[:16]}' không hợp lệ: dùng dạng YYYY-Qn hoặc YYYY-MM.") from None
    if label not in periods.choices:
        raise NotFound(f"Kỳ {period_label(label)} chưa được công bố hoặc chưa có số liệu.")
    return label


def period_label(label: str, capital: bool = False) -> str:
    if len(label) == 4:
        return ("Năm " if capital else "năm ") + label
    return vn.format_quarter(label, capital=capital)


def index_years(service: Service, who: Principal) -> list[str]:
    """Years whose index results and targets the visitor may see: published years (any year for analysts)."""
    years = {p for p in service.access.publications() if len(p) == 4}
    if who.sees_unpublished:
        years |= {m[:4] for m in service.months_with_data()} | {str(y) for y in range(2020, dt.date.today().year + 1)}
    return sorted(years, reverse=True)
