"""The Vietnamese dashboard: server-rendered pages over the same Service as the API.

Every figure comes from the Service (the metric tables, the index engine, the targets scorecard); this module
only chooses which periods a visitor may see, formats numbers the Vietnamese way and lays the tables out.
Visitors without an analyst key see published periods only, with panel figures from fewer than ``MIN_CELL``
panelists withheld (shown as "–"), exactly as the API and the reports do. Charts are inline SVG; the style
sheet and the font are served from ``/static``: the pages need no network.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from thuocdo.catalog.frameworks import framework_ids, load_framework
from thuocdo.indices.workflow import IndexRequestError, index_table, node_labels
from thuocdo.model.periods import Period, PeriodError
from thuocdo.reports import glossary
from thuocdo.reports import vietnamese as vn
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.web.access import Principal
from thuocdo.web.api import Caller
from thuocdo.web.service import Service

HERE = Path(__file__).parent
REPORT_FORMATS = (("pdf", "PDF"), ("docx", "Word (DOCX)"), ("html", "HTML"), ("md", "Markdown"))
NAV = (("/", "Tổng quan"), ("/nen-tang", "Nền tảng"), ("/tinh-thanh", "Tỉnh, thành phố"),
       ("/chi-so", "Chỉ số chuyển đổi số"), ("/bao-cao", "Báo cáo"))
STATUS_CLASS = {"achieved": "ok", "on_track": "ok", "behind": "warn", "not_yet": "warn", "missed": "bad",
                "no_data": "none"}
UNIT = {"percent": "%", "rank": "", "usd_bn": " tỷ USD", "percent_per_year": "%/năm", "count": ""}

router = APIRouter(include_in_schema=False)


@functools.cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        count=vn.format_persons, number=vn.format_number, percent=vn.format_percent, duration=vn.format_duration,
        mb=vn.format_mb, signed=vn.format_signed_percent, period=lambda p: _period_label(p, capital=False),
        Period=lambda p: _period_label(p, capital=True), target_value=_target_value)
    env.globals.update(nav=NAV, min_cell=MIN_CELL, count_fmt=vn.format_persons, pct_fmt=vn.format_percent,
                       minutes_fmt=lambda v: vn.format_number(v, 1), mb_fmt=lambda v: vn.format_number(v, 1),
                       duration_fmt=vn.format_duration, mb_unit_fmt=vn.format_mb)
    return env



class NotFound(LookupError):
    """A page asked for something that does not exist or is not published (the message is in Vietnamese)."""


def mount(app: FastAPI) -> None:
    """Add the dashboard pages and the static files (style sheet, font) to the app."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> HTMLResponse:
        return _page(request, "empty.j2", status=404, title="Không tìm thấy", message=str(exc))


# -- periods a visitor may see ---------------------------------------------------------------------------------------
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


def visible_periods(service: Service, who: Principal) -> Periods:
    months = service.months_with_data()
    quarters = sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in months}, reverse=True)
    if not who.sees_unpublished:
        months = [m for m in months if service.access.is_published(m)]
        quarters = [q for q in quarters if service.access.is_published(q)]
    return Periods(quarters, months)


def _chosen(periods: Periods, asked: str | None) -> str | None:
    if not asked:
        return periods.latest
    try:
        label = Period.parse(asked.strip()).label
    except PeriodError:
        raise NotFound(f"Kỳ '{asked[:16]}' không hợp lệ: dùng dạng YYYY-Qn hoặc YYYY-MM.") from None
    if label not in periods.choices:
        raise NotFound(f"Kỳ {_period_label(label)} chưa được công bố hoặc chưa có số liệu.")
    return label


def _period_label(label: str, capital: bool = False) -> str:
    if len(label) == 4:
        return ("Năm " if capital else "năm ") + label
    return vn.format_quarter(label, capital=capital)


def _collate(text: str) -> tuple[str, str]:
    """A sort key close to Vietnamese alphabetical order (Đ with D, accents second)."""
    base = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in base if not unicodedata.combining(c)).casefold(), text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _target_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "rank":
        return f"hạng {vn.format_number(value)}"
    decimals = 0 if float(value).is_integer() else (2 if abs(value) < 10 else 1)
    return vn.format_number(value, decimals) + UNIT.get(unit, "")


# -- rendering -------------------------------------------------------------------------------------------------------
def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(template).render(path=request.url.path, **context)
    return HTMLResponse(unicodedata.normalize("NFC", html), status_code=status)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and not math.isfinite(v):
                r[k] = None
    return rows


def _main_source(rows: list[dict[str, Any]], asked: str | None) -> str | None:
    """The source whose records the page shows: the one asked, else the records source with the most platforms."""
    counts: dict[str, int] = {}
    for r in rows:
        if r.get("basis", "records") == "records" and r.get("source"):
            counts[r["source"]] = counts.get(r["source"], 0) + 1
    if asked and asked in counts:
        return asked
    return max(sorted(counts), key=lambda s: counts[s]) if counts else None


def _platform_rows(service: Service, who: Principal, period: str, asked_source: str | None
                   ) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    rows = _rows(service.public_metrics(period, "platform", who))
    source = _main_source(rows, asked_source)
    sources = sorted({r["source"] for r in rows if r.get("basis") == "records" and r.get("source")})
    shown = [r for r in rows if r.get("basis") == "published" or r.get("source") == source]
    return shown, source, sources


def _no_data(request: Request, title: str) -> HTMLResponse:
    return _page(request, "empty.j2", title=title)


# -- pages ---------------------------------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: Caller, ky: str | None = None, nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    period = _chosen(periods, ky)
    if period is None:
        return _no_data(request, "Tổng quan")
    platforms, source, sources = _platform_rows(service, who, period, nguon)
    categories = [r for r in _rows(service.public_metrics(period, "category", who, source))
                  if r["metric"] == "mau"]
    domestic = sum(r["domestic_value"] or 0.0 for r in categories)
    foreign = sum(r["foreign_value"] or 0.0 for r in categories)
    total = domestic + foreign
    names = {c.id: _capital(c.name_vi) for c in service.catalog.categories}
    shares = sorted(({"category": r["category"], "name": names.get(r["category"], r["category"]),
                      "share": r["domestic_share"], "domestic": r["domestic_value"], "foreign": r["foreign_value"]}
                     for r in categories if r["total_value"]), key=lambda r: -(r["share"] or 0))
    years = _index_years(service, who)
    year = int(years[0]) if years else None  # the targets as of the latest published year
    targets: list[dict[str, Any]] | None = None
    if year is not None:
        targets = _rows(service.targets(year))
        for t in targets:
            t["css"] = STATUS_CLASS.get(t["status"], "none")
    leaders = {}
    for r in platforms:
        if r.get("mau") is not None and r["category"] not in leaders:
            leaders[r["category"]] = r
    return _page(request, "overview.j2", title="Tổng quan", period=period, periods=periods, source=source,
                 sources=sources, domestic=domestic, foreign=foreign, total=total,
                 share=domestic / total if total else None, ratio=domestic / foreign if foreign else None,
                 shares=shares, targets=targets, year=year, n_platforms=len(platforms),
                 source_label=glossary.source_label(source))


@router.get("/nen-tang", response_class=HTMLResponse)
def platforms_page(request: Request, who: Caller, ky: str | None = None, nhom: str | None = None,
                   nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    period = _chosen(periods, ky)
    if period is None:
        return _no_data(request, "Nền tảng")
    rows, source, sources = _platform_rows(service, who, period, nguon)
    known = {c.id: _capital(c.name_vi) for c in service.catalog.categories}
    present = [c for c in known if any(r["category"] == c for r in rows)]
    if nhom and nhom not in known:
        raise NotFound(f"Không có nhóm nền tảng '{nhom[:40]}'.")
    share_rows = {r["category"]: r for r in _rows(service.public_metrics(period, "category", who, source))
                  if r["metric"] == "mau"}
    groups = []
    for c in present if not nhom else [nhom]:
        members = [r for r in rows if r["category"] == c]
        members.sort(key=lambda r: (r.get("mau") is None, -(r.get("mau") or 0), r["name"]))
        groups.append({"id": c, "name": known[c], "rows": members, "share": share_rows.get(c, {}).get("domestic_share")})
    kind = "quý" if "Q" in period else "tháng"
    return _page(request, "platforms.j2", title="Nền tảng theo nhóm", period=period, periods=periods, groups=groups,
                 categories=[(c, known[c]) for c in present], chosen=nhom, source=source, sources=sources,
                 kind=kind, source_label=glossary.source_label(source),
                 any_suppressed=any(r.get("suppressed") for g in groups for r in g["rows"]))


@router.get("/nen-tang/{platform_id}", response_class=HTMLResponse)
def platform_page(request: Request, who: Caller, platform_id: str, ky: str | None = None,
                  nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    try:
        platform = service.catalog.platform(platform_id)
    except KeyError:
        raise NotFound(f"Không có nền tảng '{platform_id[:40]}' trong danh mục.") from None
    periods = visible_periods(service, who)
    period = _chosen(periods, ky)
    if period is None:
        return _no_data(request, platform.name)
    series = []
    source = nguon
    for month in periods.months:
        rows, source, _ = _platform_rows(service, who, month, source)
        row = next((r for r in rows if r["platform"] == platform.id), None)
        series.append({"period": month, "mau": row.get("mau") if row else None,
                       "minutes": row.get("minutes_per_day") if row else None,
                       "mb": row.get("mb_per_user") if row else None,
                       "suppressed": bool(row and row.get("suppressed"))})
    rows, source, sources = _platform_rows(service, who, period, source)
    current = next((r for r in rows if r["platform"] == platform.id), None)
    names = {p.code: p.short_name for p in service.catalog.provinces_new}
    provinces = [r for r in _rows(service.public_metrics(period, "province", who, source))
                 if r["platform"] == platform.id]
    for r in provinces:
        r["province_name"] = names.get(r["province"] or "", "Không rõ tỉnh")
    provinces.sort(key=lambda r: (r.get("mau") is None, -(r.get("mau") or 0), _collate(r["province_name"])))
    chart = line_chart([(s["period"], s["mau"]) for s in series], vn.format_persons)
    return _page(request, "platform.j2", title=platform.name, platform=platform, period=period, periods=periods,
                 current=current, series=series, chart=chart, provinces=provinces, source=source, sources=sources,
                 category=_capital(glossary.category_name(service.catalog, platform.category)),
                 source_label=glossary.source_label(source),
                 any_suppressed=any(r.get("suppressed") for r in provinces) or any(s["suppressed"] for s in series))


@router.get("/tinh-thanh", response_class=HTMLResponse)
def provinces_page(request: Request, who: Caller, ky: str | None = None,
                   nen_tang: Annotated[str | None, Query(alias="nen-tang")] = None,
                   don_vi: Annotated[str, Query(alias="don-vi")] = "34", nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    period = _chosen(periods, ky)
    if period is None:
        return _no_data(request, "Tỉnh, thành phố")
    rows = _rows(service.public_metrics(period, "province", who, nguon))
    source = _main_source(rows, nguon)
    rows = [r for r in rows if r.get("source") == source]
    national, _, _ = _platform_rows(service, who, period, source)
    choices = sorted({(r["platform"], r["name"]) for r in rows if r.get("province")}, key=lambda x: x[1])
    ids = [c[0] for c in choices]
    if nen_tang and nen_tang not in ids:
        raise NotFound(f"Không có số liệu theo tỉnh của nền tảng '{nen_tang[:40]}' trong kỳ này.")
    if not nen_tang and ids:
        ranked = [r for r in national if r["platform"] in ids and r.get("mau") is not None]
        nen_tang = max(ranked, key=lambda r: r["mau"])["platform"] if ranked else ids[0]
    names = {p.code: p.short_name for p in service.catalog.provinces_new}
    table = [dict(r, province_name=names.get(r["province"], r["province"]))
             for r in rows if r["platform"] == nen_tang and r.get("province")]
    table.sort(key=lambda r: (r.get("penetration") is None, -(r.get("penetration") or 0), _collate(r["province_name"])))
    for i, r in enumerate(table, 1):
        r["position"] = i if r.get("penetration") is not None else None
    old = [{"code": p.code, "name": p.name, "new_name": names.get(p.new_code, p.new_code), "new_code": p.new_code}
           for p in service.catalog.provinces_old]
    return _page(request, "provinces.j2", title="Tỉnh, thành phố", period=period, periods=periods, units=don_vi,
                 platform=nen_tang, choices=choices, table=table, old=old, source=source,
                 platform_name=dict(choices).get(nen_tang or "", ""), source_label=glossary.source_label(source),
                 any_suppressed=any(r.get("suppressed") for r in table))


def _index_years(service: Service, who: Principal) -> list[str]:
    """Years whose index results and targets the visitor may see: published years (any year for analysts)."""
    years = {p for p in service.access.publications() if len(p) == 4}
    if who.sees_unpublished:
        years |= {m[:4] for m in service.months_with_data()} | {str(y) for y in range(2020, dt.date.today().year + 1)}
    return sorted(years, reverse=True)


@router.get("/chi-so", response_class=HTMLResponse)
def index_page(request: Request, who: Caller, bo: str = "dti-2022", nam: str | None = None, cap: str = "province",
               don_vi: Annotated[str | None, Query(alias="don-vi")] = None) -> HTMLResponse:
    service = _service(request)
    if bo not in framework_ids():
        raise NotFound(f"Không có bộ chỉ số '{bo[:40]}'.")
    framework = load_framework(bo)
    if cap not in framework.levels:
        raise NotFound(f"Bộ chỉ số này không có cấp '{cap[:20]}'.")
    years = _index_years(service, who)
    if nam is not None and nam not in years:
        raise NotFound(f"Năm {nam[:8]} chưa được công bố.")
    own = [y for y in years if int(y) in framework.years] or years  # the framework's own editions first
    year = nam or (own[0] if own else None)
    units = don_vi if cap == "province" and don_vi in ("63", "34") else None
    context: dict[str, Any] = dict(title="Chỉ số chuyển đổi số", framework=framework, frameworks=framework_ids(),
                                   years=years, year=year, level=cap, units=units, rows=[], error=None)
    if year is not None:
        try:
            run = service.index(bo, year, cap, units)
        except (IndexRequestError, KeyError, ValueError) as exc:
            context["error"] = str(exc)
        else:
            labels = node_labels(run)
            table = _rows(index_table(run))
            n = len(table)
            for r in table:
                lo, hi = r.get("rank_p05"), r.get("rank_p95")
                r["bar"] = None if lo is None or hi is None or n < 2 else {
                    "left": 100 * (lo - 1) / (n - 1), "width": max(100 * (hi - lo) / (n - 1), 0.8),
                    "dot": 100 * ((r.get("rank") or lo) - 1) / (n - 1)}
            main = [c for c in run.level.main_indices if c in (table[0] if table else {})]
            context.update(rows=table, units=run.units, has_change=any(r.get("rank_change") is not None for r in table), main=[(c, labels.get(c, c)) for c in main],
                           level_label=run.level.label_vi, scale=run.level.scale)
    return _page(request, "index.j2", **context)


@router.get("/bao-cao", response_class=HTMLResponse)
def reports_page(request: Request, who: Caller) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    return _page(request, "reports.j2", title="Báo cáo", quarters=periods.quarters, formats=REPORT_FORMATS)


# -- charts ---------------------------------------------------------------------------------------------------------------
def line_chart(points: list[tuple[str, float | None]], label: Any, width: int = 1100, height: int = 300) -> dict[str, Any]:
    """An SVG line chart's geometry: one point per period (None: a gap), y from 0, four gridlines."""
    left, right, top, bottom = 90, 40, 16, 40
    values = [v for _, v in points if v is not None]
    top_value = _nice(max(values)) if values else 1.0
    n = max(len(points) - 1, 1)
    x = [left + (width - left - right) * i / n for i in range(len(points))]

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_value)

    segments, current = [], []
    dots = []
    for (period, v), xi in zip(points, x):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{xi:.1f},{y(v):.1f}")
        dots.append({"x": round(xi, 1), "y": round(y(v), 1), "title": f"{_period_label(period, True)}: {label(v)}"})
    if current:
        segments.append(current)
    grid = [{"y": round(y(top_value * k / 4), 1), "label": label(top_value * k / 4)} for k in range(5)]
    step = max(1, math.ceil(len(points) / 9))
    ticks = [{"x": round(xi, 1), "label": f"{int(p[5:7])}/{p[:4]}"} for i, ((p, _), xi) in enumerate(zip(points, x))
             if i % step == 0 and "Q" not in p]
    return {"width": width, "height": height, "lines": [" ".join(s) for s in segments], "dots": dots, "grid": grid,
            "ticks": ticks, "left": left, "right": width - right, "bottom": height - bottom}


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (the top of a chart's axis)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= value)
