"""Assemble the quarterly platform report from the metric tables: the structure of report 04/BC-UBQGCĐS.

I. highlights; II. statistics (one section per category, "1.1. Nền tảng số Việt Nam phục vụ liên lạc", …,
then Vietnamese vs foreign shares and trends); III. platforms in focus (provincial super-apps, published
figures, operators' KPIs); IV. sources and methods. Every paragraph is generated from the numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from thuocdo.catalog import Catalog
from thuocdo.model.periods import Period
from thuocdo.reports import glossary as g
from thuocdo.reports.context import PlatformRow, ReportInputs, category_shares, platform_rows
from thuocdo.reports.model import Chart, Part, Report, Section, TableBlock
from thuocdo.reports.sections import CategoryData, category_section, data_split_sentence, mau_text
from thuocdo.reports.uncertainty import Z95
from thuocdo.reports.vietnamese import (
    format_change,
    format_date,
    format_duration,
    format_number,
    format_percent,
    format_persons,
    format_quarter,
    format_ratio,
    join_names,
    nfc,
    roman,
)

#: a platform is provincial when this share of its users lives in one province
PROVINCIAL_SHARE = 0.9
#: a category whose total MAU moved this much against the previous quarter is named in the highlights
CATEGORY_MOVE = 0.05


@dataclass(frozen=True)
class ReportSettings:
    issuer: str = "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"
    issuer_unit: str = "CƠ QUAN THƯỜNG TRỰC CỦA ỦY BAN QUỐC GIA VỀ CHUYỂN ĐỔI SỐ"
    issuer_name: str = "Bộ Thông tin và Truyền thông"  # as written inside a sentence
    code: str = "BTTTT"
    place: str = "Hà Nội"
    date: dt.date | None = None  # default: the day after the quarter ends


def report_title(period: str) -> str:
    return f"Đo lường hoạt động của người dân trên các nền tảng số Việt Nam {format_quarter(period)}"


def build_report(inputs: ReportInputs, catalog: Catalog, settings: ReportSettings | None = None) -> Report:
    settings = settings or ReportSettings()
    period = Period.parse(inputs.period)
    date = settings.date or (period.last_day + dt.timedelta(days=1))
    rows = platform_rows(inputs.platforms[inputs.period], inputs.min_cell)
    history = {q: {r.platform: r for r in platform_rows(t, inputs.min_cell)} for q, t in inputs.platforms.items()}
    shares = {q: category_shares(t) for q, t in inputs.categories.items()}
    previous = period.previous().label
    sources = sorted({r.source for r in rows if r.basis == "records" and r.source})
    published = sorted({r.published_source or r.source or "" for r in rows
                        if r.visits is not None or r.web_rank is not None or r.downloads_total is not None} - {""})
    source_note = ("Nguồn: " + "; ".join(g.source_label(s) for s in sources) + f"; phương pháp: {g.METHOD['records']}; "
                   "sai số là nửa độ rộng khoảng tin cậy 95% của ước lượng số người sử dụng hằng tháng.")
    chart_note = "Nguồn: " + "; ".join(g.source_label(s) for s in sources) + "."
    published_note = ("Lượt truy cập, hạng truy cập: " + "; ".join(g.source_label(s) for s in published)
                      + f" ({g.METHOD['published']}).")

    categories = [c.id for c in catalog.categories if any(r.category == c.id for r in rows)]
    data = {c: CategoryData(c, [r for r in rows if r.category == c], shares.get(inputs.period, {}).get(c),
                            shares.get(previous, {}).get(c),
                            {q: {p: r for p, r in h.items() if r.category == c} for q, h in history.items()})
            for c in categories}
    category_sections = [category_section(f"1.{i}", data[c], catalog, inputs.period, inputs.min_cell, source_note,
                                          published_note, chart_note) for i, c in enumerate(categories, 1)]

    parts = [
        Part(roman(1), "TÌNH HÌNH CHUNG", highlights(inputs, catalog, rows, data, shares)),
        Part(roman(2), "SỐ LIỆU THỐNG KÊ", [], [
            Section("1", "Số liệu theo nhóm nền tảng", subsections=category_sections),
            shares_section(inputs, catalog, categories, shares, source_note, chart_note),
        ]),
        Part(roman(3), "MỘT SỐ NỀN TẢNG TIÊU BIỂU", [], spotlights(inputs, catalog, rows)),
        Part(roman(4), "NGUỒN SỐ LIỆU VÀ PHƯƠNG PHÁP", [], methods(inputs, sources, published)),
    ]
    demo = any(s.startswith("demo") for s in sources + published)
    report = Report(
        issuer=settings.issuer, issuer_unit=settings.issuer_unit, number=f"Số: …/BC-{settings.code}",
        place=settings.place, date=date, date_line=f"{settings.place}, {format_date(date)}", kind="BÁO CÁO",
        title=report_title(inputs.period), period=inputs.period,
        notice=("Số liệu trong báo cáo này là dữ liệu mô phỏng của bộ dữ liệu mẫu thuocdo, dùng để minh họa cách "
                "đo lường và trình bày; không phải số liệu thống kê chính thức.") if demo else "",
        intro=[f"{settings.issuer_name} báo cáo kết quả đo lường hoạt động của người dân trên các nền tảng "
               f"số {format_quarter(inputs.period)}, phục vụ công tác lãnh đạo, chỉ đạo, điều phối chuyển đổi số "
               "của các bộ, ngành, địa phương như sau:"],
        parts=parts, closing=f"{settings.issuer_name} kính báo cáo./.",
        recipients=["Như trên;", "Lưu: VT."], signer=settings.issuer,
    )
    report.number_blocks()
    return _nfc(report)


def highlights(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow], data: dict[str, CategoryData],
               shares: dict[str, dict[str, dict[str, float | None]]]) -> list[str]:
    quarter = format_quarter(inputs.period)
    measured = [r for r in rows if r.measured]
    out = []
    vn = sum(1 for r in measured if r.domestic)
    out.append(f"Trong {quarter}, hệ thống đo lường có số liệu công bố về hoạt động của người dân trên "
               f"{len(measured)} nền tảng số thuộc {len(data)} nhóm nhu cầu, trong đó {vn} nền tảng số Việt Nam và "
               f"{len(measured) - vn} nền tảng nước ngoài.")
    top_vn = max((r for r in measured if r.domestic), key=lambda r: r.mau or 0.0, default=None)
    if top_vn is not None:
        rival = max((r for r in measured if not r.domestic and r.category == top_vn.category),
                    key=lambda r: r.mau or 0.0, default=None)
        text = (f"Điểm sáng là nền tảng số Việt Nam {top_vn.name}: số lượng người dùng thường xuyên hằng tháng đạt "
                f"khoảng {mau_text(top_vn)}")
        if rival is not None:
            text += (f", {'cao hơn' if (top_vn.mau or 0) > (rival.mau or 0) else 'thấp hơn'} {rival.name} "
                     f"({mau_text(rival)})")
        out.append(text + ".")
    comm = data.get("communication")
    if comm is not None:
        split = data_split_sentence(sorted([r for r in comm.rows if r.measured], key=lambda r: -(r.mau or 0.0)))
        if split:
            out.append("Đặc biệt, trong nhóm liên lạc: " + split[0][0].lower() + split[0][1:])
    leaders = []
    for c, d in data.items():
        top = max((r for r in d.rows if r.measured), key=lambda r: r.mau or 0.0, default=None)
        if top is not None and top.domestic:
            leaders.append(f"{g.category_name(catalog, c)} ({top.name}, {mau_text(top)})")
    if leaders:
        out.append(f"Nền tảng số Việt Nam đứng đầu {len(leaders)}/{len(data)} nhóm: {'; '.join(leaders)}.")
    now, prev = shares.get(inputs.period, {}), shares.get(Period.parse(inputs.period).previous().label, {})
    down, up = [], []
    for c in data:
        a, b = (now.get(c) or {}).get("total"), (prev.get(c) or {}).get("total")
        if a and b:
            change = a / b - 1
            item = f"{g.category_name(catalog, c)} ({format_change(change)})"
            if change <= -CATEGORY_MOVE:
                down.append(item)
            elif change >= CATEGORY_MOVE:
                up.append(item)
    if down:
        out.append("Một số nhóm nền tảng có dấu hiệu suy giảm so với quý trước (tổng số người sử dụng hằng tháng "
                   f"của nhóm): {join_names(down)}.")
    if up:
        out.append(f"Các nhóm tăng so với quý trước: {join_names(up)}.")
    total_vn = sum((v.get("domestic") or 0.0) for v in now.values())
    total = sum((v.get("total") or 0.0) for v in now.values())
    if total:
        out.append(f"Tính chung các nhóm, nền tảng số Việt Nam chiếm {format_percent(total_vn / total)} tổng số lượt "
                   "người sử dụng hằng tháng của các nền tảng được đo lường (một người dùng nhiều nền tảng được tính "
                   "ở mỗi nền tảng).")
    return out


def shares_section(inputs: ReportInputs, catalog: Catalog, categories: list[str],
                   shares: dict[str, dict[str, dict[str, float | None]]], source_note: str, chart_note: str) -> Section:
    now = shares.get(inputs.period, {})
    section = Section("2", "Nền tảng số Việt Nam và nước ngoài")
    rows, labels, values = [], [], []
    for c in categories:
        s = now.get(c)
        if not s or not s.get("total"):
            continue
        rows.append([g.category_name(catalog, c), format_persons(s["domestic"]), format_persons(s["foreign"]),
                     format_percent(s["share"]), format_ratio(s["ratio"]) if s.get("ratio") is not None else "–"])
        labels.append(g.category_name(catalog, c))
        values.append(s["share"] or 0.0)
    section.paragraphs.append(
        "Bảng dưới đây so sánh tổng số người sử dụng hằng tháng của các nền tảng Việt Nam và nước ngoài trong "
        "từng nhóm (cộng số người sử dụng của từng nền tảng; một người dùng nhiều nền tảng được tính ở mỗi nền "
        "tảng).")
    section.tables.append(TableBlock(
        f"Tỷ trọng nền tảng Việt Nam theo nhóm, {format_quarter(inputs.period)}",
        [g.HEADER["category"], g.HEADER["domestic"], g.HEADER["foreign"], g.HEADER["share"], g.HEADER["ratio"]],
        rows, [False, True, True, True, True], [source_note]))
    section.charts.append(Chart("ty-trong", f"Tỷ trọng người sử dụng hằng tháng của nền tảng Việt Nam và nước ngoài "
                                f"theo nhóm, {format_quarter(inputs.period)}", "shares",
                                {"labels": labels, "shares": values}, chart_note))
    quarters = [q for q in inputs.categories if any((v or {}).get("total") for v in shares.get(q, {}).values())]
    series = []
    for c in categories:
        vals = [(shares.get(q, {}).get(c) or {}).get("share") for q in quarters]
        if sum(v is not None for v in vals) >= 2:
            series.append({"label": g.category_name(catalog, c), "values": [v * 100 if v is not None else None
                                                                           for v in vals], "domestic": True})
    if series:
        section.charts.append(Chart("ty-trong-xu-huong", f"Tỷ trọng nền tảng Việt Nam qua {len(quarters)} quý "
                                    "theo nhóm (%)", "trend",
                                    {"quarters": [format_quarter(q, True).replace("Quý ", "") for q in quarters],
                                     "series": series}, chart_note))
    return section


def _provincial(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow]) -> list[Section]:
    by_platform: dict[str, list[PlatformRow]] = {}
    for r in platform_rows(inputs.provinces, inputs.min_cell):
        by_platform.setdefault(r.platform, []).append(r)
    national = {r.platform: r for r in rows}
    names = {p.code: p.short_name for p in catalog.provinces_new}
    out = []
    for pid, prov in by_platform.items():
        total = sum(r.mau or 0.0 for r in prov)
        top = max(prov, key=lambda r: r.mau or 0.0)
        nat = national.get(pid)
        if not total or (top.mau or 0.0) < PROVINCIAL_SHARE * total or nat is None or not nat.measured:
            continue
        if top.suppressed or top.province is None:
            continue
        place = names.get(top.province, top.province)
        text = (f"{nat.name} là nền tảng của {place}: trong {format_quarter(inputs.period)} có trung bình khoảng "
                f"{format_persons(top.mau)} người sử dụng hằng tháng tại địa phương "
                f"(sai số ±{format_persons(top.margin)})")
        if top.penetration is not None:
            text += (f", tương đương {format_percent(top.penetration, 1)} số người sử dụng điện thoại thông minh "
                     f"của {place}")
        text += "."
        paragraphs = [text]
        if nat.minutes is not None:
            paragraphs.append(f"Thời gian sử dụng trung bình hằng ngày của một người dùng là "
                              f"{format_duration(nat.minutes, seconds=True)}.")
        peak = _peak_month(inputs, pid)
        if peak is not None:
            paragraphs.append(f"Số người sử dụng hằng tháng cao nhất trong {len(inputs.months)} tháng gần đây đạt "
                              f"{format_persons(peak[1])} người ({format_quarter(peak[0])}).")
        if nat.downloads_total is not None:
            paragraphs.append(f"Tổng số lượt tải ứng dụng lũy kế đạt {format_number(nat.downloads_total)} lượt "
                              "(số liệu công bố).")
        out.append(Section("", f"{nat.name} ({place})", paragraphs))
    return out


def _peak_month(inputs: ReportInputs, platform: str) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for month, table in inputs.months.items():
        for r in platform_rows(table, inputs.min_cell):
            if r.platform == platform and r.measured and (best is None or (r.mau or 0) > best[1]):
                best = (month, r.mau or 0.0)
    return best


_KPI_UNITS = {"VND": " đồng", "percent": "%", "customers": " khách hàng", "accounts": " tài khoản",
              "points": " điểm", "merchants": " đơn vị", "transactions": " giao dịch", "cases": " vụ việc",
              "hours": " giờ", "downloads": " lượt", "visits": " lượt"}


def _kpi_value(value: float, unit: str) -> str:
    if unit == "VND" and value >= 1e9:
        if value >= 1e12:
            return format_number(value) + " đồng"
        return format_number(value / 1e9, 0 if value % 1e9 == 0 else 1) + " tỷ đồng"
    if unit == "percent":
        return format_number(value, 1) + "%"
    return (format_persons(value, 4) if value >= 1e6 else format_number(value)) + _KPI_UNITS.get(unit, "")


def spotlights(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow]) -> list[Section]:
    sections = _provincial(inputs, catalog, rows)
    for r in rows:
        if r.downloads_total is not None and r.measured and not any(r.name in s.title for s in sections):
            sections.append(Section("", r.name, [
                f"{r.name} có khoảng {mau_text(r)} người sử dụng hằng tháng trong {format_quarter(inputs.period)} "
                f"(xếp thứ {r.rank} nhóm {g.category_name(catalog, r.category)}); tổng số lượt tải lũy kế đạt "
                f"{format_persons(r.downloads_total)} lượt (số liệu công bố)."]))
    if inputs.kpis is not None and inputs.kpis.num_rows:
        labels = {k.id: k for k in catalog.kpis}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for k in inputs.kpis.to_pylist():
            if k["metric"] in labels and labels[k["metric"]].platform:
                grouped.setdefault(str(k["platform"]), []).append(k)
        for pid, items in grouped.items():
            name = catalog.platform(pid).name
            bullets = []
            for k in items:
                kpi, period = labels[str(k["metric"])], str(k["period"])
                when = format_quarter(period) if "-" in period else "năm " + period
                bullets.append(f"{kpi.label_vi}: {_kpi_value(float(k['value']), kpi.unit)} ({when})")
            section = next((s for s in sections if s.title.startswith(name)), None)
            if section is None:
                section = Section("", name, [f"Số liệu do đơn vị vận hành {name} công bố:"])
                sections.append(section)
            section.bullets.extend(bullets)
    for i, s in enumerate(sections, 1):
        s.number = str(i)
    if not sections:
        sections.append(Section("1", "Chưa có nền tảng tiêu biểu", ["Kỳ này chưa có số liệu riêng của nền tảng nào."]))
    return sections


def methods(inputs: ReportInputs, sources: list[str], published: list[str]) -> list[Section]:
    sec1 = Section("1", "Nguồn số liệu", [])
    for s in sources:
        sec1.bullets.append(f"{g.source_label(s)}: {g.METHOD['records']}.")
    for s in published:
        sec1.bullets.append(f"{g.source_label(s)}: {g.METHOD['published']}.")
    sec1.bullets.append("Số người sử dụng điện thoại thông minh theo tỉnh (mẫu số của tỷ lệ thâm nhập): danh mục "
                        "dân số của thuocdo, ước tính theo tỷ lệ người trưởng thành sử dụng điện thoại thông minh "
                        "của Bộ Thông tin và Truyền thông.")
    sec2 = Section("2", "Định nghĩa chỉ số", [], bullets=[
        f"{g.METRIC['mau']}: tổng trọng số của những người có hoạt động (mở ứng dụng hoặc truy cập) ít nhất một "
        "ngày trong tháng; số liệu quý là trung bình của ba tháng.",
        f"{g.METRIC['minutes_per_day']}: tổng thời gian sử dụng chia cho tổng số ngày-người có hoạt động.",
        f"{g.METRIC['mb_per_user']}: tổng dữ liệu chia cho số người sử dụng hằng tháng; số liệu quý là trung bình "
        "các tháng.",
        "Thay đổi so với quý trước và so với cùng kỳ năm trước: tính trên số người sử dụng hằng tháng.",
        f"{g.METRIC['domestic_share']}: tổng số người sử dụng hằng tháng của các nền tảng Việt Nam chia cho tổng "
        "của mọi nền tảng trong nhóm.",
        f"{g.METRIC['penetration']}: số người sử dụng hằng tháng chia cho số người sử dụng điện thoại thông minh "
        "của tỉnh (hoặc cả nước) trong năm.",
    ])
    sec3 = Section("3", "Sai số và ngưỡng công bố", [
        "Số liệu ước lượng từ bảng mẫu có sai số chọn mẫu. Sai số in kèm mỗi số người sử dụng hằng tháng là nửa độ "
        f"rộng khoảng tin cậy 95% ({format_number(Z95, 2)} lần sai số chuẩn), tính từ số người trong mẫu có hoạt "
        "động và trọng số của họ: phương sai bằng tổng bình phương trọng số của những người có hoạt động nhân "
        "với (1 − tỷ lệ sử dụng); khi bảng chỉ số chưa có tổng bình phương trọng số, trọng số được coi là đều "
        "nhau, và khi chưa có quy mô tổng thể, (1 − tỷ lệ sử dụng) được lấy bằng 1 — cả hai đều cho sai số lớn "
        "hơn, không nhỏ hơn.",
        f"Số liệu dựa trên dưới {inputs.min_cell} người trong mẫu không được công bố (ký hiệu “–”), vì sai số quá "
        "lớn và để bảo vệ thông tin cá nhân của người tham gia.",
        "Số liệu tổng hợp đã công bố (lượt truy cập, thứ hạng truy cập, lượt tải lũy kế, số liệu của doanh "
        "nghiệp) được nhập nguyên trạng kèm tên nguồn; hệ thống không tính lại các số liệu này.",
    ])
    return [sec1, sec2, sec3]


def _nfc(report: Report) -> Report:
    """Normalise every string of the report to Unicode NFC."""
    def fix(obj: object) -> object:
        if isinstance(obj, str):
            return nfc(obj)
        if isinstance(obj, list):
            return [fix(x) for x in obj]
        if isinstance(obj, dict):
            return {k: fix(v) for k, v in obj.items()}
        if hasattr(obj, "__dataclass_fields__"):
            for name in obj.__dataclass_fields__:
                setattr(obj, name, fix(getattr(obj, name)))
        return obj

    fix(report)
    return report
