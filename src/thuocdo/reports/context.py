"""The report's inputs (metric tables as the public may see them) and typed views of their rows.

Nothing here computes a metric: rows are read as they are, a panel figure is marked suppressed when the
disclosure rules withheld it (:mod:`thuocdo.reports.disclosure`: a ``suppressed`` column) or when it rests on
fewer than ``MIN_CELL`` panelists, and its margin of error comes from :mod:`thuocdo.reports.uncertainty`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from thuocdo.metrics.national import NATIONAL
from thuocdo.metrics.quality import Summary
from thuocdo.model.periods import Period
from thuocdo.reports.uncertainty import MIN_CELL, margin_of_error, suppressed

#: how many quarters the trend charts cover (the report's quarter and the five before it)
TREND_QUARTERS = 6


@dataclass(frozen=True)
class Followed:
    """The persons of a source followed between the last month of the quarter before (`before`) and the last
    month of the quarter (`after`), per platform (:mod:`thuocdo.metrics.retention`): `kept`, the cohort of
    `before` followed to `after` (its share still active); `returning`, the cohort of `after` followed back to
    `before` (its share active then already: the rest are new users)."""

    source: str
    before: str
    after: str
    kept: pa.Table
    returning: pa.Table


@dataclass(frozen=True)
class ReportInputs:
    """Metric tables for one quarter: by platform and by category for it and the quarters before (oldest
    first), by province for it, and by platform for its months and those of the quarter before."""

    period: str
    platforms: dict[str, pa.Table]
    categories: dict[str, pa.Table]
    provinces: pa.Table
    months: dict[str, pa.Table] = field(default_factory=dict)
    kpis: pa.Table | None = None  # published figures of the quarter (platform, period, metric, value, source)
    min_cell: int = MIN_CELL
    #: published figures up to the quarter's end, the latest of each platform and metric (operator KPIs of a
    #: year, downloads of a month…), with their periods and sources
    history: pa.Table | None = None
    panel: dict[str, int] = field(default_factory=dict)  # month → panelists with a weight (the panel's size)
    followed: Followed | None = None  # retention between the quarters, from one source's persons
    quality: dict[str, Summary] = field(default_factory=dict)  # each records source's deliveries in the quarter

    @property
    def quarter(self) -> Period:
        return Period.parse(self.period)


def trend_periods(period: str, n: int = TREND_QUARTERS) -> list[str]:
    """The quarter and the n − 1 quarters before it, oldest first.

    >>> trend_periods("2022-Q1", 3)
    ['2021-Q3', '2021-Q4', '2022-Q1']
    """
    p = Period.parse(period)
    out = [p]
    for _ in range(n - 1):
        out.append(out[-1].previous())
    return [q.label for q in reversed(out)]


def _f(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


@dataclass(frozen=True)
class PlatformRow:
    platform: str
    name: str
    category: str
    origin: str
    basis: str  # "records" (panel estimate) | "published"
    source: str | None
    published_source: str | None
    mau: float | None
    dau: float | None
    minutes: float | None
    mb: float | None
    installs: float | None
    sample: float | None
    rank: int | None
    mau_previous: float | None
    change_previous: float | None
    mau_year_ago: float | None
    change_year: float | None
    penetration: float | None
    smartphone_users: float | None
    visits: float | None
    web_rank: float | None
    downloads_total: float | None
    margin: float | None  # half-width of the 95% interval of mau
    suppressed: bool
    province: str | None = None
    suppression: str | None = None  # "small_sample" | "complementary" when withheld
    started_after_year_ago: bool = False  # the platform started after the same period a year before
    sources: str | None = None  # the sources of a fused figure and their shares ("a=0.6;b=0.4")
    wau: float | None = None  # weekly active users (mean over the period's whole weeks)

    @property
    def measured(self) -> bool:
        """A panel estimate that may be printed."""
        return self.basis == "records" and not self.suppressed and self.mau is not None

    @property
    def domestic(self) -> bool:
        return self.origin == "vn"


def platform_rows(table: pa.Table, min_cell: int = MIN_CELL) -> list[PlatformRow]:
    rows = []
    for r in table.to_pylist():
        sample = _f(r.get("sample_persons"))
        mau = _f(r.get("mau"))
        basis = r.get("basis") or "records"
        margin = None
        high = _f(r.get("mau_high"))
        if basis == "records" and mau is not None and high is not None and r.get("source") == NATIONAL:
            margin = high - mau  # the national estimate's own interval (thuocdo.metrics.national)
        elif basis == "records" and mau and sample:
            margin = margin_of_error(mau, sample, w2=_f(r.get("w2_persons")), universe=_f(r.get("universe")))
        rank = r.get("rank_in_category")
        rows.append(PlatformRow(
            platform=r["platform"], name=r["name"], category=r["category"], origin=r["origin"], basis=basis,
            source=r.get("source"), published_source=r.get("published_source"), mau=mau, dau=_f(r.get("dau")),
            minutes=_f(r.get("minutes_per_day")), mb=_f(r.get("mb_per_user")), installs=_f(r.get("installs")),
            sample=sample, rank=int(rank) if rank is not None else None,
            mau_previous=_f(r.get("mau_previous")), change_previous=_f(r.get("mau_change_previous")),
            mau_year_ago=_f(r.get("mau_year_ago")), change_year=_f(r.get("mau_change_year")),
            penetration=_f(r.get("penetration")), smartphone_users=_f(r.get("smartphone_users")),
            visits=_f(r.get("visits")), web_rank=_f(r.get("web_rank")), downloads_total=_f(r.get("downloads_total")),
            margin=margin,
            suppressed=basis == "records" and (bool(r.get("suppressed")) or suppressed(sample, min_cell)),
            province=r.get("province"), suppression=r.get("suppression"), sources=r.get("sources"),
            wau=_f(r.get("wau")),
        ))
    return rows


def category_shares(table: pa.Table, metric: str = "mau") -> dict[str, dict[str, float | None]]:
    """category → {domestic, foreign, total, share, ratio, withheld} for one metric of a by-category table
    (``withheld``: the platforms left out of the totals by disclosure control)."""
    out: dict[str, dict[str, float | None]] = {}
    for r in table.to_pylist():
        if r["metric"] == metric:
            out[r["category"]] = {"domestic": _f(r["domestic_value"]), "foreign": _f(r["foreign_value"]),
                                  "total": _f(r["total_value"]), "share": _f(r["domestic_share"]),
                                  "ratio": _f(r["domestic_foreign_ratio"]), "withheld": _f(r.get("withheld"))}
    return out
