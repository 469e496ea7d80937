"""The seed report's spotlights, generated from published figures and the panel's estimates:

- in a category's section: the operators' KPIs of its platforms for the quarter (the Mobile Money pilot's
  customers, accounts, points of sale, transactions) with the ratios between them, and when a platform started
  (the catalog's dates), as the seed's sections 1.4 and 1.9 do;
- Part III: platforms of ministries (with published downloads) and the provinces' own platforms (Hue-S): the
  panel's figures in the province, penetration against the same population the panel stands for, and the
  latest KPIs the operator published (feedback handled, processing time, satisfaction, fines).

Every figure says where it comes from (the provenance of the source it was read from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thuocdo.catalog import Catalog
from thuocdo.catalog.history import PlatformDates
from thuocdo.model.periods import Period
from thuocdo.reports import glossary as g
from thuocdo.reports.context import PlatformRow, ReportInputs, platform_rows
from thuocdo.reports.model import Provenance, Section
from thuocdo.reports.provenance import provenance_of, short, unique
from thuocdo.reports.sections import CategoryData, mau_text
from thuocdo.reports.vietnamese import (
    format_duration,
    format_number,
    format_percent,
    format_persons,
    format_quarter,
    format_short_date,
    join_names,
)
from thuocdo.reports.wording import PROVINCIAL_SHARE

_KPI_UNITS = {"VND": " đồng", "percent": "%", "customers": " khách hàng", "accounts": " tài khoản",
              "points": " điểm", "merchants": " đơn vị", "transactions": " giao dịch", "cases": " vụ việc",
              "hours": " giờ", "downloads": " lượt", "visits": " lượt"}


@dataclass(frozen=True)
class Ratio:
    numerator: str
    denominator: str
    kind: str  # "share" (a percentage of the denominator) | "per" (numerator per unit of the denominator)
    label: str


#: ratios between published KPIs, computed in the report (the seed's "chiếm 58,3%", "đạt 99,8%")
RATIOS = (
    Ratio("mobile_money_rural_customers", "mobile_money_customers", "share", "số khách hàng"),
    Ratio("mobile_money_active_accounts", "mobile_money_customers", "share", "số khách hàng đăng ký"),
    Ratio("mobile_money_rural_points_of_sale", "mobile_money_points_of_sale", "share", "số điểm kinh doanh"),
    Ratio("mobile_money_transaction_value", "mobile_money_transactions", "per",
          "Giá trị bình quân một giao dịch"),
    Ratio("mobile_money_transactions", "mobile_money_active_accounts", "per",
          "Số giao dịch bình quân mỗi tài khoản đang hoạt động"),
    Ratio("hue_s_feedback_handled", "hue_s_feedback_received", "share", "số phản ánh đã tiếp nhận"),
)
#: KPIs read together as one sentence (shares that add up to 100%)
SATISFACTION = ("hue_s_satisfied_share", "hue_s_accepted_share", "hue_s_dissatisfied_share")
_SATISFACTION_WORDS = {"hue_s_satisfied_share": "hài lòng", "hue_s_accepted_share": "chấp nhận",
                       "hue_s_dissatisfied_share": "không hài lòng"}


def kpi_value(value: float, unit: str) -> str:
    """'280 tỷ đồng', '3.098.490.000 đồng', '835.000 khách hàng', '7,5 triệu giao dịch', '56,8%'.

    >>> kpi_value(280e9, "VND"), kpi_value(3_098_490_000, "VND"), kpi_value(7.5e6, "transactions")
    ('280 tỷ đồng', '3.098.490.000 đồng', '7,5 triệu giao dịch')
    """
    if unit == "VND":
        if value >= 1e9 and value % 1e9 == 0:
            return format_number(value / 1e9) + " tỷ đồng"
        return format_number(value) + " đồng"
    if unit == "percent":
        return format_number(value, 1) + "%"
    return (format_persons(value, 4) if value >= 1e6 else format_number(value)) + _KPI_UNITS.get(unit, "")


def _when(period: str) -> str:
    return "năm " + period if len(period) == 4 else format_quarter(period)


def _kpi_rows(table: Any, platform: str, kpis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if table is None:
        return {}
    return {str(r["metric"]): r for r in table.to_pylist() if r["platform"] == platform and r["metric"] in kpis}


def kpi_bullets(items: dict[str, dict[str, Any]], catalog: Catalog) -> tuple[list[str], list[Provenance]]:
    """One bullet per KPI in the catalog's order (label: value, period and source; the ratio where one is
    defined), the satisfaction shares in one bullet, then the ratios computed in the report."""
    labels = {k.id: k for k in catalog.kpis}
    order = [k.id for k in catalog.kpis]
    bullets: list[str] = []
    found: list[Provenance] = []
    for metric in sorted(items, key=order.index):
        r = items[metric]
        if metric in SATISFACTION:
            continue
        kpi = labels[metric]
        source = provenance_of(str(r["source"]), "published")
        text = f"{kpi.label_vi}: {kpi_value(float(r['value']), kpi.unit)}"
        for ratio in RATIOS:
            other = items.get(ratio.denominator)
            if ratio.numerator == metric and ratio.kind == "share" and other and float(other["value"]):
                text += (f", bằng {format_percent(float(r['value']) / float(other['value']), 1)} "
                         f"{ratio.label}")
        bullets.append(f"{text} ({_when(str(r['period']))}; {short(source)})")
        found.append(source)
    shares = [items[m] for m in SATISFACTION if m in items]
    if shares:
        words = ", ".join(f"{format_number(float(r['value']), 1)}% {_SATISFACTION_WORDS[str(r['metric'])]}"
                          for r in shares)
        source = provenance_of(str(shares[0]["source"]), "published")
        bullets.append(f"Tỷ lệ hài lòng của người dân: {words} ({_when(str(shares[0]['period']))}; {short(source)})")
        found.extend(provenance_of(str(r["source"]), "published") for r in shares)
    for ratio in RATIOS:
        a, b = items.get(ratio.numerator), items.get(ratio.denominator)
        if ratio.kind == "per" and a and b and float(b["value"]):
            value = float(a["value"]) / float(b["value"])
            unit = labels[ratio.numerator].unit
            shown = format_number(value) + " đồng" if unit == "VND" else format_number(value, 1)
            bullets.append(f"{ratio.label}: {shown} (tính trong báo cáo từ hai số liệu trên)")
    return bullets, unique(found)


def _started(dates: PlatformDates | None) -> str:
    """'từ ngày 30/11/2021', 'từ cuối tháng 11/2021', 'từ giữa năm 2021', 'từ năm 2019': as precisely as known."""
    if dates is None or dates.launched is None:
        return ""
    day = dates.launched
    return {"end-of-month": f"từ cuối tháng {day.month}/{day.year}", "mid-year": f"từ giữa năm {day.year}",
            "year": f"từ năm {day.year}"}.get(dates.precision, f"từ ngày {format_short_date(day)}")


def category_spotlights(section: Section, data: CategoryData, inputs: ReportInputs, catalog: Catalog) -> None:
    """Operators' KPIs of the category's platforms for the quarter, and when web-only platforms started."""
    kpis = {k.id: k for k in catalog.kpis if k.platform}
    for r in data.rows:
        items = _kpi_rows(inputs.kpis, r.platform, kpis)
        if not items:
            continue
        bullets, found = kpi_bullets(items, catalog)
        started = _started(catalog.platform_dates(r.platform))
        lead = f"{r.name}" + (f", triển khai {started}" if started else "")
        section.paragraphs.append(f"{lead}: kết quả do đơn vị vận hành công bố cho {format_quarter(inputs.period)}:")
        section.bullets.extend(bullets)
        section.provenance.extend(found)
    web_only = [r for r in data.rows if r.visits is not None and not r.measured and r.domestic]
    dated = [(r, _started(catalog.platform_dates(r.platform))) for r in web_only]
    dated = [(r, s) for r, s in dated if s]
    if dated:
        ranks = join_names([f"{r.name} xếp thứ {format_number(r.web_rank)}" for r, _ in dated if r.web_rank])
        since = join_names(sorted({s for _, s in dated}))
        text = f"Theo thứ hạng truy cập website, {ranks}" if ranks else "Về truy cập website"
        section.paragraphs.append(f"{text}; {join_names([r.name for r, _ in dated])} tham gia thị trường {since} "
                                  "(ngày bắt đầu theo danh mục nền tảng).")


def _peak_month(inputs: ReportInputs, platform: str) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for month, table in inputs.months.items():
        for r in platform_rows(table, inputs.min_cell):
            if r.platform == platform and r.measured and (best is None or (r.mau or 0) > best[1]):
                best = (month, r.mau or 0.0)
    return best


def _provincial(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow],
                records: Provenance) -> list[Section]:
    by_platform: dict[str, list[PlatformRow]] = {}
    for r in platform_rows(inputs.provinces, inputs.min_cell):
        by_platform.setdefault(r.platform, []).append(r)
    national = {r.platform: r for r in rows}
    end = Period.parse(inputs.period).last_day
    kpis = {k.id: k for k in catalog.kpis if k.platform}
    out = []
    for pid, prov in by_platform.items():
        total = sum(r.mau or 0.0 for r in prov)
        top = max(prov, key=lambda r: r.mau or 0.0)
        nat = national.get(pid)
        if not total or (top.mau or 0.0) < PROVINCIAL_SHARE * total or nat is None or not nat.measured:
            continue
        if nat.category != "government" or top.suppressed or top.province is None:
            continue
        place = catalog.province_name(top.province, end)
        section = Section("", f"{nat.name} ({place})", provenance=[records])
        text = (f"{nat.name} là nền tảng của {place}: trong {format_quarter(inputs.period)} có trung bình khoảng "
                f"{format_persons(top.mau)} người sử dụng hằng tháng tại địa phương "
                f"(sai số ±{format_persons(top.margin)})")
        if top.penetration is not None and top.penetration <= 1:
            text += (f", bằng {format_percent(top.penetration, 1)} số người sử dụng Internet trên điện thoại di "
                     f"động của {place} (cùng tổng thể mà bảng mẫu đại diện)")
        elif top.penetration is not None:
            text += (f"; tỷ lệ so với số người sử dụng Internet trên điện thoại di động của {place} không được nêu "
                     f"vì vượt 100% (trọng số của nguồn lớn hơn tổng thể của danh mục: cần hiệu chỉnh trọng số)")
        section.paragraphs.append(text + ".")
        if nat.minutes is not None:
            section.paragraphs.append(f"Thời gian sử dụng trung bình hằng ngày của một người dùng là "
                                      f"{format_duration(nat.minutes, seconds=True)}.")
        peak = _peak_month(inputs, pid)
        if peak is not None:
            section.paragraphs.append(f"Số người sử dụng hằng tháng cao nhất trong {len(inputs.months)} tháng gần "
                                      f"đây đạt {format_persons(peak[1])} người ({format_quarter(peak[0])}).")
        items = _kpi_rows(inputs.history, pid, {**kpis, "downloads_total": None})
        downloads = items.pop("downloads_total", None)
        if downloads is not None:
            found = provenance_of(str(downloads["source"]), "published")
            section.paragraphs.append(f"Tổng số lượt tải ứng dụng lũy kế đạt {format_number(downloads['value'])} "
                                      f"lượt (đến hết {_when(str(downloads['period']))}; {short(found)}).")
            section.provenance.append(found)
        if items:
            bullets, found_kpis = kpi_bullets(items, catalog)
            section.paragraphs.append(f"Kết quả do địa phương, đơn vị vận hành {nat.name} công bố (số liệu mới nhất "
                                      f"đến hết {format_quarter(inputs.period)}):")
            section.bullets.extend(bullets)
            section.provenance.extend(found_kpis)
        out.append(section)
    return out


def _ministries(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow],
                records: Provenance) -> list[Section]:
    out = []
    history = inputs.history.to_pylist() if inputs.history is not None else []
    for r in rows:
        try:
            owner = catalog.platform(r.platform).owner
        except KeyError:
            continue
        downloads = next((h for h in history if h["platform"] == r.platform and h["metric"] == "downloads_total"),
                         None)
        if not owner.startswith("Bộ ") or not r.measured or downloads is None:
            continue
        found = provenance_of(str(downloads["source"]), "published")
        started = _started(catalog.platform_dates(r.platform))
        text = (f"{r.name} là nền tảng của {owner}" + (f", đưa vào sử dụng {started}" if started else "")
                + f". Trong {format_quarter(inputs.period)}, {r.name} có khoảng {mau_text(r)} người sử dụng hằng "
                f"tháng (xếp thứ {r.rank} nhóm {g.category_name(catalog, r.category)}); tổng số lượt tải lũy kế "
                f"đạt {format_persons(downloads['value'])} lượt (đến hết {_when(str(downloads['period']))}; theo "
                f"{found.label}).")
        out.append(Section("", r.name, [text], provenance=[records, found]))
    return out


def experience(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow], records: Provenance) -> list[Section]:
    ministries = _ministries(inputs, catalog, rows, records)
    local = _provincial(inputs, catalog, rows, records)
    sections = []
    if ministries:
        sections.append(Section("1", "Kinh nghiệm của bộ, ngành", subsections=ministries))
    if local:
        sections.append(Section(str(len(sections) + 1), "Kinh nghiệm của địa phương", subsections=local))
    for s in sections:
        for i, sub in enumerate(s.subsections, 1):
            sub.number = f"{s.number}.{i}"
    if not sections:
        sections.append(Section("1", "Chưa có nền tảng tiêu biểu",
                                ["Kỳ này chưa có số liệu riêng của nền tảng nào của bộ, ngành hoặc địa phương."]))
    return sections
