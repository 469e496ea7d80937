"""Assemble the quarterly platform report from the disclosed metric tables: the structure of report
04/BC-UBQGCĐS.

I. highlights; II. statistics (one section per category, "1.1. Nền tảng số Việt Nam phục vụ liên lạc", …,
with the seed's spotlights where their figures are published — web visits of the e-commerce platforms, the
Mobile Money pilot's KPIs and ratios — then Vietnamese vs foreign shares and trends); III. experience of
ministries and localities (platforms with published figures, provincial super-apps and their operators' KPIs);
IV. proposals drawn from the data; V. sources and methods. Every paragraph is generated from the numbers;
names are the platforms' and provinces' names in the period reported; the date, the issuing body and the
signer follow :mod:`thuocdo.reports.issuance`; the banner follows from the kinds of the figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from typing import Any

import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.metrics.bands import platform_bands
from thuocdo.metrics.national import NATIONAL
from thuocdo.model.periods import Period
from thuocdo.reports import glossary as g
from thuocdo.reports.context import PlatformRow, ReportInputs, category_shares, platform_rows
from thuocdo.reports.issuance import IssueSettings, issue, references
from thuocdo.reports.methods import methods
from thuocdo.reports.model import Chart, Part, Provenance, Report, Section, TableBlock
from thuocdo.reports.proposals import proposals
from thuocdo.reports.provenance import banner, national_provenance, note, provenance_of, source_mix, unique
from thuocdo.reports.sections import CategoryData, category_section, data_split_sentence, mau_text, web_provenance_map
from thuocdo.reports.spotlights import category_spotlights, experience
from thuocdo.reports.vietnamese import (
    format_band,
    format_change,
    format_date,
    format_number,
    format_percent,
    format_persons,
    format_quarter,
    format_ratio,
    join_names,
    nfc,
    roman,
)
from thuocdo.reports.wording import CATEGORY_MOVE

#: the settings of a report's issue (issuing body, date, signer, place, distribution mark)
ReportSettings = IssueSettings
PURPOSE = "Tài liệu tham khảo phục vụ công tác lãnh đạo, chỉ đạo, điều phối chuyển đổi số"


def report_title(period: str) -> str:
    return f"Đo lường hoạt động của người dân trên các nền tảng số Việt Nam {format_quarter(period)}"


def name_as_of(catalog: Catalog, platform_id: str, period: str, default: str) -> str:
    """The platform's name on the period's last day (`default` for a platform the catalog does not know)."""
    try:
        return catalog.platform_name(platform_id, Period.parse(period).last_day)
    except KeyError:
        return default


def started_after(catalog: Catalog, platform_id: str, period: Period) -> bool:
    """Whether the platform started after `period` ended: a comparison with that period is not made."""
    dates = catalog.platform_dates(platform_id)
    return dates is not None and dates.launched is not None and period.last_day < dates.launched


def period_true(rows: list[PlatformRow], catalog: Catalog, period: str) -> list[PlatformRow]:
    """Names as on the period's last day; no change against a period that ended before the platform started."""
    p = Period.parse(period)
    out = []
    for r in rows:
        name = name_as_of(catalog, r.platform, period, r.name)
        late_year = started_after(catalog, r.platform, p.year_ago())
        late_previous = started_after(catalog, r.platform, p.previous())
        out.append(dataclasses.replace(
            r, name=name, started_after_year_ago=late_year and r.measured,
            change_year=None if late_year else r.change_year, mau_year_ago=None if late_year else r.mau_year_ago,
            change_previous=None if late_previous else r.change_previous,
            mau_previous=None if late_previous else r.mau_previous))
    return out


def records_provenance(rows: list[PlatformRow], source: str | None) -> Provenance:
    """The provenance of the measured figures of `rows`: their source's, or for the national estimate the
    sources it rests on with their shares of those figures' MAU."""
    if source != NATIONAL:
        return provenance_of(source, "records")
    return national_provenance(source_mix((r.mau, r.sources) for r in rows if r.measured))


def build_report(inputs: ReportInputs, catalog: Catalog, settings: IssueSettings | None = None) -> Report:
    settings = settings or IssueSettings()
    period = Period.parse(inputs.period)
    rows = period_true(platform_rows(inputs.platforms[inputs.period], inputs.min_cell), catalog, inputs.period)
    history = {q: {r.platform: r for r in period_true(platform_rows(t, inputs.min_cell), catalog, q)}
               for q, t in inputs.platforms.items()}
    shares = {q: category_shares(t) for q, t in inputs.categories.items()}
    previous = period.previous().label
    sources = sorted({r.source for r in rows if r.basis == "records" and r.source})
    records = records_provenance(rows, sources[0] if sources else None)
    published = web_provenance_map(rows)

    categories = [c.id for c in catalog.categories if any(r.category == c.id for r in rows)]
    data = {c: CategoryData(c, [r for r in rows if r.category == c], shares.get(inputs.period, {}).get(c),
                            shares.get(previous, {}).get(c),
                            {q: {p: r for p, r in h.items() if r.category == c} for q, h in history.items()})
            for c in categories}
    category_sections = []
    for i, c in enumerate(categories, 1):
        section = category_section(f"1.{i}", data[c], catalog, inputs.period, inputs.min_cell,
                                   records_provenance(data[c].rows, records.source), published)
        category_spotlights(section, data[c], inputs, catalog)
        category_sections.append(section)

    parts = [
        Part(roman(1), "TÌNH HÌNH CHUNG", [*highlights(inputs, catalog, rows, data, history),
                                           note([records], "Số liệu trong phần này")]),
        Part(roman(2), "SỐ LIỆU THỐNG KÊ", [], [
            Section("1", "Số liệu theo nhóm nền tảng", subsections=category_sections),
            shares_section(inputs, catalog, categories, shares, records),
            bands_section(inputs, catalog, rows, records),
        ]),
        Part(roman(3), "MỘT SỐ KINH NGHIỆM CỦA BỘ, NGÀNH VÀ ĐỊA PHƯƠNG", [],
             experience(inputs, catalog, rows, records)),
    ]
    nominal = period.last_day + dt.timedelta(days=1)
    known = [d.reference for d in catalog.documents]
    done = issue(catalog, settings, nominal, references(_texts(parts), known), period.last_day)
    for _ in range(3):  # the proposals and the methods name the issuer; what they cite may move the date
        issuer = done.issuer
        found = _provenance(parts)
        closing = [Part(roman(4), "ĐỀ XUẤT, KIẾN NGHỊ", [], proposals(inputs, catalog, rows, data, history, issuer)),
                   Part(roman(5), "NGUỒN SỐ LIỆU VÀ PHƯƠNG PHÁP", [], methods(inputs, catalog, found, issuer))]
        done = issue(catalog, settings, nominal, references(_texts(parts + closing), known), period.last_day)
        if done.issuer == issuer:
            break
    parts += closing
    date = done.date
    report = Report(
        issuer=issuer.name, issuer_unit=issuer.unit, number=f"Số: …/BC-{issuer.code}",
        place=settings.place, date=date, date_line=f"{settings.place}, {format_date(date)}", kind="BÁO CÁO",
        title=report_title(inputs.period), period=inputs.period, notice=banner(found),
        intro=[f"{issuer.name_in_sentence}{', ' + issuer.unit_in_sentence if issuer.unit_in_sentence else ''} "
               "báo cáo kết quả đo lường hoạt động của người dân trên các nền tảng số "
               f"{format_quarter(inputs.period)}, "
               "phục vụ công tác lãnh đạo, chỉ đạo, điều phối chuyển đổi số của các bộ, ngành, địa phương như sau:"],
        parts=parts, closing=f"{issuer.name_in_sentence} kính báo cáo./.",
        recipients=["Như trên;", "Lưu: VT."], signer=issuer.name, signer_title=done.signer_title,
        signer_name=done.signer_name, kind_detail="CHUYÊN ĐỀ",
        week=f"Tuần {date.isocalendar()[1]}/{date.isocalendar()[0]}", purpose=PURPOSE,
        classification=settings.classification, citations=done.citations, provenance=found,
    )
    report.number_blocks()
    return nfc_report(report)


def _texts(parts: list[Part]) -> list[str]:
    out: list[str] = []

    def walk(sections: list[Section]) -> None:
        for s in sections:
            out.extend([s.title, *s.paragraphs, *s.bullets, *s.notes])
            for t in s.tables:
                out.extend([t.title, *t.notes])
            for c in s.charts:
                out.extend([c.title, c.note])
            walk(s.subsections)

    for part in parts:
        out.extend(part.paragraphs)
        walk(part.sections)
    return out


def _provenance(parts: list[Part]) -> list[Provenance]:
    found: list[Provenance] = []

    def walk(sections: list[Section]) -> None:
        for s in sections:
            found.extend(s.provenance)
            found.extend(p for t in s.tables for p in t.provenance)
            found.extend(p for c in s.charts for p in c.provenance)
            walk(s.subsections)

    for part in parts:
        walk(part.sections)
    return unique(found)


def _category_change(now: dict[str, PlatformRow], before: dict[str, PlatformRow], category: str) -> float | None:
    """The change of a category's MAU over the platforms published in both quarters."""
    both = [p for p, r in now.items() if r.category == category and r.measured and p in before and before[p].measured]
    a = sum(now[p].mau or 0.0 for p in both)
    b = sum(before[p].mau or 0.0 for p in both)
    return a / b - 1 if a and b else None


def highlights(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow], data: dict[str, CategoryData],
               history: dict[str, dict[str, PlatformRow]]) -> list[str]:
    quarter = format_quarter(inputs.period)
    measured = [r for r in rows if r.measured]
    out = []
    vn = sum(1 for r in measured if r.domestic)
    out.append(f"Trong {quarter}, hệ thống đo lường có số liệu công bố về hoạt động của người dân trên "
               f"{len(measured)} nền tảng số thuộc {len(data)} nhóm nhu cầu, trong đó {vn} nền tảng số Việt Nam và "
               f"{len(measured) - vn} nền tảng nước ngoài.")
    banded = bands_sentence(band_counts(rows, catalog, inputs.period))
    if banded:
        out.append(banded)
    top_vn = max((r for r in measured if r.domestic), key=lambda r: r.mau or 0.0, default=None)
    if top_vn is not None:
        rival = max((r for r in measured if not r.domestic and r.category == top_vn.category),
                    key=lambda r: r.mau or 0.0, default=None)
        text = (f"Nền tảng số Việt Nam có nhiều người sử dụng nhất là {top_vn.name}: số lượng người dùng thường "
                f"xuyên hằng tháng đạt khoảng {mau_text(top_vn)}")
        if rival is not None:
            text += (f", {'cao hơn' if (top_vn.mau or 0) > (rival.mau or 0) else 'thấp hơn'} nền tảng nước ngoài "
                     f"lớn nhất cùng nhóm là {rival.name} ({mau_text(rival)})")
        out.append(text + ".")
        weekly = weekly_sentence(top_vn, rival)
        if weekly:
            out.append(weekly)
    comm = data.get("communication")
    if comm is not None:
        ranked = sorted([r for r in comm.rows if r.measured], key=lambda r: (r.rank or 10**6, -(r.mau or 0.0)))
        split = data_split_sentence(ranked)
        if split:
            out.append("Đặc biệt, trong nhóm liên lạc: " + split[0][0].lower() + split[0][1:])
    leaders = []
    for c, d in data.items():
        top = min((r for r in d.rows if r.measured), key=lambda r: (r.rank or 10**6, -(r.mau or 0.0)), default=None)
        if top is not None and top.domestic:
            leaders.append(f"{g.category_name(catalog, c)} ({top.name}, {mau_text(top)})")
    if leaders:
        out.append(f"Nền tảng số Việt Nam xếp hạng 1 ở {len(leaders)}/{len(data)} nhóm: {'; '.join(leaders)}.")
    now = history.get(inputs.period, {})
    before = history.get(Period.parse(inputs.period).previous().label, {})
    down, up, declining = [], [], []
    for c in data:
        change = _category_change(now, before, c)
        if change is None:
            continue
        item = f"{g.category_name(catalog, c)} ({format_change(change)})"
        if change <= -CATEGORY_MOVE:
            down.append(item)
            declining.append(c)
        elif change >= CATEGORY_MOVE:
            up.append(item)
    if down:
        out.append("Một số nhóm nền tảng có dấu hiệu suy giảm so với quý trước (tổng số người sử dụng hằng tháng "
                   f"của các nền tảng được công bố ở cả hai quý): {join_names(down)}.")
        kept = retention_sentence(inputs, catalog, rows, declining)
        if kept:
            out.append(kept)
    if up:
        out.append(f"Các nhóm tăng so với quý trước: {join_names(up)}.")
    shares = category_shares(inputs.categories[inputs.period]) if inputs.period in inputs.categories else {}
    total_vn = sum((v.get("domestic") or 0.0) for v in shares.values())
    total = sum((v.get("total") or 0.0) for v in shares.values())
    if total:
        out.append(f"Tính chung các nhóm, nền tảng số Việt Nam chiếm {format_percent(total_vn / total)} tổng số lượt "
                   "người sử dụng hằng tháng của các nền tảng được công bố (một người dùng nhiều nền tảng được tính "
                   "ở mỗi nền tảng).")
    return out


@dataclasses.dataclass(frozen=True)
class BandCount:
    """A MAU band of the report's measured platforms (:mod:`thuocdo.metrics.bands`)."""

    low: float
    high: float | None
    platforms: int
    vn: int
    foreign: int
    names: str

    @property
    def label(self) -> str:
        """"từ 5 triệu đến dưới 10 triệu", "từ 10 triệu trở lên", "dưới 1 triệu"."""
        return format_band(self.low, self.high)


def weekly_sentence(top: PlatformRow, rival: PlatformRow | None) -> str:
    """How many of a platform's monthly users use it every week (``wau``), beside its foreign rival's, when known."""
    def share(row: PlatformRow) -> str | None:
        if row.wau is None or not row.mau or row.suppressed:
            return None
        ratio = format_percent(row.wau / row.mau, 1)
        return f"{format_persons(row.wau)} người dùng hằng tuần, bằng {ratio} số người dùng hằng tháng"
    mine = share(top)
    if mine is None:
        return ""
    theirs = share(rival) if rival is not None else None
    text = f"Trung bình mỗi tuần, {top.name} có khoảng {mine}"
    return text + (f" ({rival.name}: {theirs})." if rival is not None and theirs else ".")


def band_counts(rows: list[PlatformRow], catalog: Catalog, period: str) -> list[BandCount]:
    """The MAU bands (the default thresholds) of the measured platforms."""
    measured = [(r.platform, r.mau) for r in rows if r.measured]
    if not measured:
        return []
    found, _ = platform_bands(measured, catalog, period)
    return [BandCount(b["band_low"], b["band_high"], b["platforms"], b["vn_platforms"], b["foreign_platforms"],
                      b["names"]) for b in found.to_pylist()]


def bands_sentence(banded: list[BandCount]) -> str:
    """"Theo số người sử dụng hằng tháng: 12 nền tảng từ 10 triệu trở lên (6 của Việt Nam); …": computed from the
    bands, never typed (the band below the last threshold is left to the table)."""
    parts = [f"{b.platforms} nền tảng {b.label} ({b.vn} của Việt Nam)" for b in banded[:-1] if b.platforms]
    if not parts:
        return ""
    return ("Theo số người sử dụng hằng tháng (bình quân các tháng của quý): " + "; ".join(parts) + ".")


def bands_section(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow], records: Provenance) -> Section:
    banded = band_counts(rows, catalog, inputs.period)
    section = Section("3", "Số nền tảng theo số người sử dụng hằng tháng", provenance=[records])
    if not banded:
        section.paragraphs.append("Chưa có nền tảng nào được công bố số người sử dụng trong kỳ.")
        return section
    section.paragraphs.append(
        "Bảng dưới đây xếp các nền tảng được công bố theo số người sử dụng hằng tháng của quý (bình quân các "
        "tháng); một nền tảng có đúng bằng một ngưỡng thuộc nhóm trên.")
    section.tables.append(TableBlock(
        f"Số nền tảng theo số người sử dụng hằng tháng, {format_quarter(inputs.period)}",
        ["Số người sử dụng hằng tháng", "Số nền tảng", "Việt Nam", "Nước ngoài", "Các nền tảng"],
        [[b.label[0].upper() + b.label[1:], format_number(b.platforms), format_number(b.vn),
          format_number(b.foreign), b.names or "–"] for b in banded],
        [False, True, True, True, False], [note([records])], provenance=[records]))
    return section


#: platforms of a declining category whose retention the report states
RETAINED_SHOWN = 2


def retention_sentence(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow], categories: list[str]) -> str:
    """Whether the platforms of the declining categories lose their users or fail to gain new ones: of the
    persons of a source followed from the last month of the quarter before, the share still active in the
    quarter's last month, and the share of that month's users who are new; set against the median of every
    platform of the source with a large enough sample (the panel's cohorts of fewer than `min_cell` persons are
    not shown)."""
    followed = inputs.followed
    if followed is None:
        return ""
    def shares(table: pa.Table) -> dict[str, float]:
        return {r["platform"]: r["retained_share"] for r in table.to_pylist()
                if r["months_since"] == 1 and r["retained_share"] is not None
                and r["cohort_sample"] >= inputs.min_cell}

    kept, returning = shares(followed.kept), shares(followed.returning)
    both = sorted(set(kept) & set(returning))
    if not both:
        return ""
    median_kept = statistics.median(kept[p] for p in both)
    median_new = statistics.median(1 - returning[p] for p in both)
    items = []
    for c in categories:
        shown = sorted((r for r in rows if r.category == c and r.measured and r.platform in both),
                       key=lambda r: -(r.mau or 0.0))[:RETAINED_SHOWN]
        for r in shown:
            new = 1 - returning[r.platform]
            verdict = [w for w, low in (("mất người dùng cũ nhiều hơn mức chung", kept[r.platform] < median_kept),
                                        ("ít người dùng mới hơn mức chung", new < median_new)) if low]
            items.append(f"{r.name}: giữ lại {format_percent(kept[r.platform], 1)}, người dùng mới "
                         f"{format_percent(new, 1)}" + (f" ({' và '.join(verdict)})" if verdict else ""))
    if not items:
        return ""
    before, after = (format_quarter(m) for m in (followed.before, followed.after))
    return (f"Theo người dùng được theo dõi qua các tháng (nguồn «{followed.source}»), ở các nhóm giảm, tỷ lệ "
            f"người dùng {before} còn sử dụng trong {after} và tỷ lệ người dùng {after} là người dùng mới (không "
            f"sử dụng trong {before}): {'; '.join(items)}. Mức chung (trung vị các nền tảng): giữ lại "
            f"{format_percent(median_kept, 1)}, người dùng mới {format_percent(median_new, 1)}.")


def shares_section(inputs: ReportInputs, catalog: Catalog, categories: list[str],
                   shares: dict[str, dict[str, dict[str, float | None]]], records: Provenance) -> Section:
    now = shares.get(inputs.period, {})
    section = Section("2", "Nền tảng số Việt Nam và nước ngoài", provenance=[records])
    rows, labels, values = [], [], []
    withheld = 0
    for c in categories:
        s = now.get(c)
        if not s or not s.get("total"):
            continue
        withheld += int(s.get("withheld") or 0)
        rows.append([g.category_name(catalog, c), format_persons(s["domestic"]), format_persons(s["foreign"]),
                     format_percent(s["share"]), format_ratio(s["ratio"]) if s.get("ratio") is not None else "–"])
        labels.append(g.category_name(catalog, c))
        values.append(s["share"] or 0.0)
    section.paragraphs.append(
        "Bảng dưới đây so sánh tổng số người sử dụng hằng tháng của các nền tảng Việt Nam và nước ngoài trong "
        "từng nhóm (cộng số người sử dụng của từng nền tảng được công bố; một người dùng nhiều nền tảng được tính "
        "ở mỗi nền tảng).")
    notes = [note([records]), g.totals_note(withheld)]
    section.tables.append(TableBlock(
        f"Tỷ trọng nền tảng Việt Nam theo nhóm, {format_quarter(inputs.period)}",
        [g.HEADER["category"], g.HEADER["domestic"], g.HEADER["foreign"], g.HEADER["share"], g.HEADER["ratio"]],
        rows, [False, True, True, True, True], notes, provenance=[records]))
    section.charts.append(Chart("ty-trong", f"Tỷ trọng người sử dụng hằng tháng của nền tảng Việt Nam và nước ngoài "
                                f"theo nhóm, {format_quarter(inputs.period)}", "shares",
                                {"labels": labels, "shares": values}, note([records]), provenance=[records]))
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
                                     "series": series}, note([records]) + " Tính trên các nền tảng được công bố.",
                                    provenance=[records]))
    return section


def nfc_report(report: Report) -> Report:
    """Normalise every string of the report to Unicode NFC."""
    def fix(obj: object) -> object:
        if isinstance(obj, str):
            return nfc(obj)
        if isinstance(obj, list):
            return [fix(x) for x in obj]
        if isinstance(obj, dict):
            return {k: fix(v) for k, v in obj.items()}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            params: Any = getattr(type(obj), "__dataclass_params__", None)
            if params is not None and params.frozen:
                return dataclasses.replace(obj, **{f.name: fix(getattr(obj, f.name))
                                                   for f in dataclasses.fields(obj) if f.init})
            for f in dataclasses.fields(obj):
                setattr(obj, f.name, fix(getattr(obj, f.name)))
        return obj

    fix(report)
    return report


#: kept for callers of the former name
_nfc = nfc_report
