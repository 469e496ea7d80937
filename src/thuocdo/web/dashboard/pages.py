"""The dashboard's pages: overview, platforms, one platform, provinces, the composite index, the reports, and
the quality of the sources' deliveries (for admins, analysts and each source's own key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from thuocdo.catalog.frameworks import framework_ids, load_framework
from thuocdo.catalog.provinces import REORGANISATION_DATE
from thuocdo.indices.runs import IndexRequestError, index_table, node_labels
from thuocdo.model.periods import Period
from thuocdo.reports import glossary
from thuocdo.reports import vietnamese as vn
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.web.api import Caller
from thuocdo.web.dashboard.chart import line_chart, small_chart
from thuocdo.web.dashboard.figures import asked, band_rows, landing, main_source, platform_rows, table_rows
from thuocdo.web.dashboard.format import (
    NAV,
    QUALITY_CLASS,
    STATUS_CLASS,
    WEB_DIR,
    capital,
    collate,
    page,
    withheld_kind,
    withheld_kinds,
)
from thuocdo.web.dashboard.maps import tile_map
from thuocdo.web.dashboard.names import last_day, platforms_as_of, province_names, tile_labels
from thuocdo.web.dashboard.periods import (
    NotFound,
    Periods,
    all_periods,
    chosen_period,
    index_years,
    visible_periods,
)
from thuocdo.workflows.access import Principal
from thuocdo.workflows.estimates import NotPublic
from thuocdo.workflows.quality import NoData
from thuocdo.workflows.reports import naming_day, period_true_names
from thuocdo.workflows.service import Service

REPORT_FORMATS = (("pdf", "PDF"), ("docx", "Word (DOCX)"), ("html", "HTML"), ("md", "Markdown"))

router = APIRouter(include_in_schema=False)


def mount(app: FastAPI) -> None:
    """Add the dashboard pages and the static files (style sheet, font) to the app."""
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(router)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> HTMLResponse:
        return page(request, "empty.j2", status=404, title="Không tìm thấy", message=str(exc))

    @app.exception_handler(NotPublic)
    async def _not_public(request: Request, exc: NotPublic) -> HTMLResponse:
        return page(request, "empty.j2", status=403, title="Không được xem", message=str(exc))


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _no_data(request: Request, title: str) -> HTMLResponse:
    return page(request, "empty.j2", title=title)


def _opening(service: Service, who: Principal, periods: Periods, ky: str | None,
             nguon: str | None) -> tuple[str | None, str | None]:
    """The period and source a page shows: those asked; without a period, the national panel's latest quarter
    (:func:`thuocdo.web.dashboard.figures.landing`), not whatever small source reached a later one."""
    if ky:
        return chosen_period(periods, ky), nguon
    land = landing(service, who, periods.quarters)
    if land is None:
        return periods.latest, nguon
    return land[0], nguon or land[1]


def _quarter_of(period: str) -> str:
    return period if "Q" in period else f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"


#: the overview's trend charts cover at most this many quarters, up to the one shown
TREND_QUARTERS = 8


def _category_trends(service: Service, who: Principal, periods: Periods, period: str, source: str | None
                     ) -> tuple[list[str], list[dict[str, Any]]]:
    """Per category, the monthly users of Vietnamese and of foreign platforms (sums over the platforms shown)
    in each quarter up to the one shown: the geometry of one small chart per category."""
    last = _quarter_of(period)
    quarters = sorted(q for q in periods.quarters if q <= last)[-TREND_QUARTERS:]
    data: dict[str, dict[str, dict[str, float | None]]] = {}
    for q in quarters:
        for r in table_rows(service.public_metrics(q, "category", who, source)):
            if r["metric"] == "mau" and r.get("total_value"):
                data.setdefault(r["category"], {})[q] = {"vn": r["domestic_value"], "foreign": r["foreign_value"]}
    quarters = [q for q in quarters if any(q in d for d in data.values())]
    panels = []
    for c in service.catalog.categories:
        if c.id not in data:
            continue
        series = [{"name": name, "css": css, "values": [(data[c.id].get(q) or {}).get(css) for q in quarters]}
                  for css, name in (("vn", "Việt Nam"), ("foreign", "Nước ngoài"))]
        panels.append({"category": c.id, "name": capital(c.name_vi),
                       "chart": small_chart(quarters, series, vn.format_persons)})
    return quarters, panels


def _usage_map(service: Service, who: Principal, period: str, source: str | None, platforms: list[dict[str, Any]],
               asked: str | None) -> dict[str, Any] | None:
    """The tile map of one platform's penetration by province (34 units: usage is stored by the new units)."""
    rows = platforms_as_of([r for r in table_rows(service.public_metrics(period, "province", who, source))
                            if r.get("source") == source and r.get("province")], service.catalog, period)
    choices = sorted({(r["platform"], r["name"]) for r in rows}, key=lambda x: collate(x[1]))
    ids = [c[0] for c in choices]
    if not ids:
        return None
    if asked and asked not in ids:
        raise NotFound(f"Không có số liệu theo tỉnh của nền tảng '{asked[:40]}' trong kỳ này.")
    ranked = [r for r in platforms if r["platform"] in ids and r.get("mau") is not None]
    domestic = [r for r in ranked if r.get("origin") == "vn"] or ranked
    platform = asked or (max(domestic, key=lambda r: r["mau"])["platform"] if domestic else ids[0])
    values = {r["province"]: r.get("penetration") for r in rows if r["platform"] == platform}
    withheld = {r["province"]: glossary.suppression_reason(withheld_kind(r.get("suppression")), MIN_CELL)
                for r in rows if r["platform"] == platform and r.get("suppressed")}
    day = last_day(period)
    return {"platform": platform, "name": dict(choices)[platform], "choices": choices,
            "tiles": tile_map(values, province_names(service.catalog, day), "34", lambda v: vn.format_percent(v, 1),
                              tile_labels(service.catalog, day), withheld)}


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: Caller, ky: str | None = None, nguon: str | None = None,
             nen_tang: Annotated[str | None, Query(alias="nen-tang")] = None) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    period, nguon = _opening(service, who, periods, ky, nguon)
    if period is None:
        return _no_data(request, "Tổng quan")
    platforms, source, sources = platform_rows(service, who, period, nguon)
    platforms_as_of(platforms, service.catalog, period)
    categories = [r for r in table_rows(service.public_metrics(period, "category", who, source))
                  if r["metric"] == "mau"]
    domestic = sum(r["domestic_value"] or 0.0 for r in categories)
    foreign = sum(r["foreign_value"] or 0.0 for r in categories)
    total = domestic + foreign
    names = {c.id: capital(c.name_vi) for c in service.catalog.categories}
    shares = sorted(({"category": r["category"], "name": names.get(r["category"], r["category"]),
                      "share": r["domestic_share"], "domestic": r["domestic_value"], "foreign": r["foreign_value"]}
                     for r in categories if r["total_value"]), key=lambda r: -(r["share"] or 0))
    years = index_years(service, who)
    year = int(years[0]) if years else None  # the targets as of the latest published year
    targets: list[dict[str, Any]] | None = None
    if year is not None:
        targets = table_rows(service.targets(year))
        for t in targets:
            t["css"] = STATUS_CLASS.get(t["status"], "none")
    trend_quarters, trends = _category_trends(service, who, periods, period, source)
    usage_map = _usage_map(service, who, period, source, platforms, nen_tang)
    bands, unbanded = band_rows(service, period, platforms)
    return page(request, "overview.j2", title="Tổng quan", period=period, periods=periods, source=source,
                bands=bands, unbanded=unbanded,
                sources=sources, domestic=domestic, foreign=foreign, total=total,
                share=domestic / total if total else None, ratio=domestic / foreign if foreign else None,
                shares=shares, targets=targets, year=year, n_platforms=len(platforms),
                source_label=glossary.source_label(source, platforms), trends=trends, trend_quarters=trend_quarters,
                usage_map=usage_map, before_2025=period < "2025-07", as_of=vn.format_short_date(last_day(period)),
                totals_note=glossary.totals_note(sum(int(r.get("withheld") or 0) for r in categories)))


@router.get("/nen-tang", response_class=HTMLResponse)
def platforms_page(request: Request, who: Caller, ky: str | None = None, nhom: str | None = None,
                   nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    period, nguon = _opening(service, who, periods, ky, nguon)
    if period is None:
        return _no_data(request, "Nền tảng")
    rows, source, sources = platform_rows(service, who, period, nguon)
    platforms_as_of(rows, service.catalog, period)
    known = {c.id: capital(c.name_vi) for c in service.catalog.categories}
    present = [c for c in known if any(r["category"] == c for r in rows)]
    if nhom and nhom not in known:
        raise NotFound(f"Không có nhóm nền tảng '{nhom[:40]}'.")
    share_rows = {r["category"]: r for r in table_rows(service.public_metrics(period, "category", who, source))
                  if r["metric"] == "mau"}
    groups: list[dict[str, Any]] = []
    shown = present if not nhom else [nhom]
    for c in shown:
        members = [r for r in rows if r["category"] == c]
        members.sort(key=lambda r: (r.get("mau") is None, -(r.get("mau") or 0), r["name"]))
        groups.append({"id": c, "name": known[c], "rows": members,
                       "share": share_rows.get(c, {}).get("domestic_share")})
    kind = "quý" if "Q" in period else "tháng"
    left_out = sum(int(share_rows.get(c, {}).get("withheld") or 0) for c in shown)
    return page(request, "platforms.j2", title="Nền tảng theo nhóm", period=period, periods=periods, groups=groups,
                categories=[(c, known[c]) for c in present], chosen=nhom, source=source, sources=sources,
                kind=kind, source_label=glossary.source_label(source, rows),
                withheld=withheld_kinds([r for g in groups for r in g["rows"]]),
                totals_note=glossary.totals_note(left_out), as_of=vn.format_short_date(last_day(period)))


@router.get("/nen-tang/{platform_id}", response_class=HTMLResponse)
def platform_page(request: Request, who: Caller, platform_id: str, ky: str | None = None,
                  nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    try:
        platform = service.catalog.platform(platform_id)
    except KeyError:
        raise NotFound(f"Không có nền tảng '{platform_id[:40]}' trong danh mục.") from None
    periods = visible_periods(service, who)
    period, nguon = _opening(service, who, periods, ky, nguon)
    if period is None:
        return _no_data(request, platform.name)
    series: list[dict[str, Any]] = []
    source = nguon
    for month in periods.months:
        rows, source, _ = platform_rows(service, who, month, source)
        row = next((r for r in rows if r["platform"] == platform.id), None)
        series.append({"period": month, "mau": row.get("mau") if row else None,
                       "minutes": row.get("minutes_per_day") if row else None,
                       "mb": row.get("mb_per_user") if row else None,
                       "suppressed": bool(row and row.get("suppressed")),
                       "suppression": row.get("suppression") if row else None})
    rows, source, sources = platform_rows(service, who, period, source)
    current = next((r for r in platforms_as_of(rows, service.catalog, period) if r["platform"] == platform.id), None)
    day = last_day(period)
    names = province_names(service.catalog, day)
    provinces = [r for r in table_rows(service.public_metrics(period, "province", who, source))
                 if r["platform"] == platform.id]
    for r in provinces:
        r["province_name"] = names.get(r["province"] or "", "Không rõ tỉnh")
    provinces.sort(key=lambda r: (r.get("mau") is None, -(r.get("mau") or 0), collate(r["province_name"])))
    chart = line_chart([(s["period"], s["mau"]) for s in series], vn.format_persons)
    name = service.catalog.platform_name(platform.id, day)
    kept = _kept(service, who, platform.id, period, source)
    return page(request, "platform.j2", title=name, name=name, platform=platform, period=period, periods=periods,
                current=current, series=series, chart=chart, provinces=provinces, source=source, sources=sources,
                category=capital(glossary.category_name(service.catalog, platform.category)),
                source_label=glossary.source_label(source, rows), as_of=vn.format_short_date(day),
                withheld=withheld_kinds(provinces + series + ([current] if current else [])), kept=kept)


#: how many months after the cohort the platform page follows its users
KEPT_MONTHS = 5


def _kept(service: Service, who: Principal, platform: str, period: str, source: str | None) -> dict[str, Any] | None:
    """For analysts and admins: the platform's users of the period's first month followed over the months after it
    (:mod:`thuocdo.metrics.retention`), in the view's source or its largest panel; None for others, or without
    data."""
    if not who.sees_unpublished:
        return None
    cohort = Period.parse(period).months[0]
    found = service.platform_retention(platform, cohort, KEPT_MONTHS, source)
    if found is None or not found.table.num_rows:
        return None
    return {"source": found.source, "cohort": cohort, "rows": table_rows(found.table)}


@router.get("/tinh-thanh", response_class=HTMLResponse)
def provinces_page(request: Request, who: Caller, ky: str | None = None,
                   nen_tang: Annotated[str | None, Query(alias="nen-tang")] = None,
                   don_vi: Annotated[str, Query(alias="don-vi")] = "34", nguon: str | None = None) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    period, nguon = _opening(service, who, periods, ky, nguon)
    if period is None:
        return _no_data(request, "Tỉnh, thành phố")
    nguon = asked(service, nguon)
    rows = table_rows(service.public_metrics(period, "province", who, nguon))
    source = main_source(rows, nguon)
    rows = platforms_as_of([r for r in rows if r.get("source") == source], service.catalog, period)
    national, _, _ = platform_rows(service, who, period, source)
    choices = sorted({(r["platform"], r["name"]) for r in rows if r.get("province")}, key=lambda x: collate(x[1]))
    ids = [c[0] for c in choices]
    if nen_tang and nen_tang not in ids:
        raise NotFound(f"Không có số liệu theo tỉnh của nền tảng '{nen_tang[:40]}' trong kỳ này.")
    if not nen_tang and ids:
        ranked = [r for r in national if r["platform"] in ids and r.get("mau") is not None]
        nen_tang = max(ranked, key=lambda r: r["mau"])["platform"] if ranked else ids[0]
    day = last_day(period)
    names = province_names(service.catalog, day)
    table = [dict(r, province_name=names.get(r["province"], r["province"]))
             for r in rows if r["platform"] == nen_tang and r.get("province")]
    table.sort(key=lambda r: (r.get("penetration") is None, -(r.get("penetration") or 0), collate(r["province_name"])))
    for i, r in enumerate(table, 1):
        r["position"] = i if r.get("penetration") is not None else None
    old_names = province_names(service.catalog, day, "63")  # the former units as named in the period
    new_names = province_names(service.catalog, max(day, REORGANISATION_DATE))  # the units they became
    old = [{"code": p.code, "name": old_names[p.code], "new_name": new_names.get(p.new_code, p.new_code),
            "new_code": p.new_code} for p in service.catalog.provinces_old]
    return page(request, "provinces.j2", title="Tỉnh, thành phố", period=period, periods=periods, units=don_vi,
                platform=nen_tang, choices=choices, table=table, old=old, source=source,
                platform_name=dict(choices).get(nen_tang or "", ""),
                source_label=glossary.source_label(source, national),
                withheld=withheld_kinds(table), as_of=vn.format_short_date(day), before_2025=day < REORGANISATION_DATE)


@router.get("/chi-so", response_class=HTMLResponse)
def index_page(request: Request, who: Caller, bo: str = "dti-2022", nam: str | None = None, cap: str = "province",
               don_vi: Annotated[str | None, Query(alias="don-vi")] = None) -> HTMLResponse:
    service = _service(request)
    if bo not in framework_ids():
        raise NotFound(f"Không có bộ chỉ số '{bo[:40]}'.")
    framework = load_framework(bo)
    if cap not in framework.levels:
        raise NotFound(f"Bộ chỉ số này không có cấp '{cap[:20]}'.")
    years = index_years(service, who)
    if nam is not None and nam not in years:
        raise NotFound(f"Năm {nam[:8]} chưa được công bố.")
    own = [y for y in years if int(y) in framework.years] or years  # the framework's own editions first
    year = nam or (own[0] if own else None)
    units = don_vi if cap == "province" and don_vi in ("63", "34") else None
    context: dict[str, Any] = {
        "title": "Chỉ số chuyển đổi số", "framework": framework, "frameworks": framework_ids(), "years": years,
        "year": year, "level": cap, "units": units, "rows": [], "error": None}
    if year is not None:
        try:
            run = service.index(bo, year, cap, units)
        except (IndexRequestError, KeyError, ValueError) as exc:
            context["error"] = str(exc)
        else:
            labels = node_labels(run)
            table = table_rows(index_table(run))
            view = run.units if cap == "province" and run.units in ("34", "63") else None
            if view is not None:  # provinces as named in the year assessed, as the scorecard names them
                table = period_true_names(table, view, int(year))
            n = len(table)
            for r in table:
                lo, hi = r.get("rank_p05"), r.get("rank_p95")
                r["bar"] = None if lo is None or hi is None or n < 2 else {
                    "left": 100 * (lo - 1) / (n - 1), "width": max(100 * (hi - lo) / (n - 1), 0.8),
                    "dot": 100 * ((r.get("rank") or lo) - 1) / (n - 1)}
            main = [c for c in run.level.main_indices if c in (table[0] if table else {})]
            if view is not None:
                decimals = run.level.decimals
                context["score_map"] = tile_map({r["entity"]: r.get("score") for r in table},
                                                province_names(service.catalog, naming_day(int(year), view), view),
                                                view, lambda v: vn.format_number(v, decimals))
            context.update(rows=table, units=run.units,
                           has_change=any(r.get("rank_change") is not None for r in table),
                           main=[(c, labels.get(c, c)) for c in main],
                           level_label=run.level.label_vi, scale=run.level.scale)
    return page(request, "index.j2", **context)


@router.get("/bao-cao", response_class=HTMLResponse)
def reports_page(request: Request, who: Caller) -> HTMLResponse:
    service = _service(request)
    periods = visible_periods(service, who)
    return page(request, "reports.j2", title="Báo cáo", quarters=periods.quarters, formats=REPORT_FORMATS)



@router.get("/chat-luong", response_class=HTMLResponse)
def quality_page(request: Request, who: Caller, ky: str | None = None, nguon: str | None = None) -> HTMLResponse:
    """The deliveries of every source with usage records over a period (a source's own key: its own only), and
    one source's days (`nguon`)."""
    if not (who.sees_unpublished or who.role == "source"):
        raise NotPublic("Trang chất lượng số liệu dành cho khóa quản trị, khóa phân tích hoặc khóa của chính nguồn.")
    service = _service(request)
    periods = all_periods(service)  # a source's deliveries, published or not
    if not periods.choices:
        return _no_data(request, "Chất lượng số liệu")
    own = [who.source] if who.role == "source" and who.source else None
    period = chosen_period(periods, ky)
    assert period is not None
    summaries = service.quality_overview(period, own)
    if not ky:  # the latest quarter in which the sources shown have records
        for quarter in periods.quarters[1:]:
            if any(s.days for s in summaries.values()):
                break
            period, summaries = quarter, service.quality_overview(quarter, own)
    detail = None
    if nguon is not None:
        if nguon not in summaries:
            raise NotFound(f"Không có nguồn '{nguon[:40]}' có bản ghi sử dụng mà khóa này xem được.")
        try:
            detail = service.quality(nguon, period, 2)
        except NoData as exc:
            raise NotFound(str(exc)) from exc
    return page(request, "quality.j2", title="Chất lượng số liệu", periods=periods, period=period,
                summaries=sorted(summaries.items()), source=nguon, detail=detail,
                days=[] if detail is None else detail.days.to_pylist(), classes=QUALITY_CLASS,
                labels=vn.QUALITY_STATUS, definitions=glossary.QUALITY,
                nav=(*NAV, ("/chat-luong", "Chất lượng số liệu")))
