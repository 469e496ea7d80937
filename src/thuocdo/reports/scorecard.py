"""The scorecard report: the provincial DTI ranking (with Monte Carlo rank intervals, in the 63 and 34 views),
its pillar charts, the national targets with their status, and the indicators computed from platform usage.

Built from results only (the tables that ``thuocdo index``, ``thuocdo targets`` and ``compute-indicators``
return, gathered by :mod:`thuocdo.workflows.reports`); nothing here scores or ranks. The report is the same tree as
the quarterly report (:mod:`thuocdo.reports.model`), so it renders to Markdown, HTML, DOCX and PDF with the
same machinery; ``scorecard_parts`` is the chapter on its own, for any report that wants it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from thuocdo.reports.build import ReportSettings, _nfc
from thuocdo.reports.model import Chart, Part, Report, Section, TableBlock
from thuocdo.reports.vietnamese import format_date, format_number, format_percent, join_names, roman

#: how many units the pillar chart shows
PILLAR_CHART_UNITS = 10
STATUS_COLOURS = {"achieved": "#2e8b57", "on_track": "#1f4e79", "behind": "#e67e22", "not_yet": "#b7950b",
                  "missed": "#c8102e"}


@dataclass(frozen=True)
class Ranking:
    """One ranking table: ``rows`` are ``thuocdo index`` rows (entity, name, score, rank, rank_p05, rank_p95,
    rank_change, one column per main index and pillar view, notes), sorted by rank."""

    units: str  # "63" | "34"
    rows: list[dict[str, Any]]
    decimals: int
    views: list[tuple[str, str]]  # (column, Vietnamese label) of the pillar views
    merged: bool  # the scores are the merged-province rule's (the mean of the former units' main indices)


@dataclass(frozen=True)
class ScorecardInputs:
    year: int
    framework: str  # the framework's Vietnamese name
    legal_source: str
    level: str  # "cấp tỉnh"
    rankings: list[Ranking]
    targets: list[dict[str, Any]]  # ``thuocdo targets`` rows
    computed: list[dict[str, Any]] = field(default_factory=list)  # label, unit, nation, provinces, top, year
    runs: int = 0
    demo: bool = False


def scorecard_title(year: int) -> str:
    return f"Kết quả đánh giá chỉ số chuyển đổi số cấp tỉnh và tình hình thực hiện các mục tiêu quốc gia năm {year}"


def _score(v: Any, decimals: int) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format_number(float(v), decimals)


def _interval(row: dict[str, Any]) -> str:
    lo, hi = row.get("rank_p05"), row.get("rank_p95")
    if lo is None or hi is None:
        return "–"
    return format_number(lo) if round(lo) == round(hi) else f"{format_number(lo)}–{format_number(hi)}"


def _rank_change(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return "0" if v == 0 else f"{'+' if v > 0 else '−'}{format_number(abs(v))}"


UNITS_TITLE = {"63": "63 tỉnh, thành phố (trước ngày 01/7/2025)", "34": "34 tỉnh, thành phố (từ ngày 01/7/2025)"}


def ranking_section(number: str, r: Ranking, year: int, runs: int, key: str) -> Section:
    ranked = [row for row in r.rows if row.get("rank") is not None and not math.isnan(row["rank"])]
    section = Section(number, f"Xếp hạng {UNITS_TITLE[r.units]}")
    if ranked:
        top = [f"{x['name']} ({_score(x['score'], r.decimals)})" for x in ranked[:3]]
        section.paragraphs.append(
            f"Dẫn đầu là {join_names(top)}; "
            f"cuối bảng là {ranked[-1]['name']} ({_score(ranked[-1]['score'], r.decimals)}). Điểm trung bình của "
            f"{len(ranked)} đơn vị là {_score(sum(x['score'] for x in ranked) / len(ranked), r.decimals)}.")
    if r.merged:
        section.paragraphs.append(
            "Điểm của mỗi tỉnh, thành phố mới là trung bình điểm các chỉ số chính của các tỉnh cũ hợp thành "
            "(quy tắc gộp tỉnh), rồi tổng hợp như một đơn vị.")
    if runs:
        stable = sum(1 for x in ranked if x.get("rank_p05") is not None and x["rank_p95"] - x["rank_p05"] <= 2)
        section.paragraphs.append(
            f"Khoảng hạng 5–95% cho biết thứ hạng thay đổi thế nào khi trọng số và phương pháp chuẩn hóa, tổng hợp "
            f"thay đổi hợp lý ({format_number(runs)} lần mô phỏng Monte Carlo): {stable}/{len(ranked)} đơn vị có "
            "thứ hạng dao động không quá 2 bậc.")
    headers = ["Hạng", "Tỉnh, thành phố", "Điểm", "Khoảng hạng 5–95%", "Thay đổi hạng"] + [lbl for _, lbl in r.views]
    numeric = [True, False, True, True, True] + [True] * len(r.views)
    rows = []
    for x in r.rows:
        rows.append([_score(x.get("rank"), 0), str(x["name"]), _score(x.get("score"), r.decimals), _interval(x),
                     _rank_change(x.get("rank_change"))] + [_score(x.get(c), r.decimals) for c, _ in r.views])
    notes = ["Điểm trên thang 0–1 (tổng điểm đạt được ÷ điểm tối đa); chỉ số trụ cột gồm năm chỉ số nền tảng và "
             "chỉ số hoạt động của trụ cột; thay đổi hạng so với năm trước (+: tăng hạng); “–”: chưa có số liệu."]
    flagged = [f"{x['name']}: {x['notes']}" for x in r.rows if x.get("notes")]
    if flagged:
        notes.append("Ghi chú: " + "; ".join(flagged) + ".")
    section.tables.append(TableBlock(f"Chỉ số chuyển đổi số {UNITS_TITLE[r.units]}, năm {year}", headers, rows,
                                     numeric, notes))
    if r.views and ranked:
        chosen = ranked[:PILLAR_CHART_UNITS]
        section.charts.append(Chart(
            f"tru-cot-{key}", f"Chỉ số ba trụ cột của {len(chosen)} đơn vị dẫn đầu, năm {year}", "pillars",
            {"labels": [str(x["name"]) for x in chosen], "series": [
                {"label": lbl, "values": [x.get(c) for x in chosen]} for c, lbl in r.views]},
            "Nguồn: kết quả tính của thuocdo từ giá trị các chỉ số chính."))
    if runs and ranked:
        section.charts.append(Chart(
            f"khoang-hang-{key}", f"Thứ hạng và khoảng hạng 5–95%, năm {year}", "intervals",
            {"labels": [str(x["name"]) for x in ranked], "rank": [x["rank"] for x in ranked],
             "low": [x.get("rank_p05") for x in ranked], "high": [x.get("rank_p95") for x in ranked]},
            f"Nguồn: mô phỏng Monte Carlo {format_number(runs)} lần trên trọng số và phương pháp."))
    return section


_UNIT = {"percent": "%", "percent_open": "%", "percent_per_year": "%/năm", "usd_bn": " tỷ USD", "count": ""}


def format_value(v: Any, unit: str) -> str:
    """A target or indicator value with its unit: '45,8%', 'hạng 71', '40 tỷ USD'."""
    if v is None:
        return "–"
    if unit == "rank":
        return f"hạng {format_number(float(v))}"
    text = format_number(float(v), 2)
    text = text.rstrip("0").rstrip(",") if "," in text else text
    return text + _UNIT.get(unit, "")


def _gap(r: dict[str, Any]) -> str:
    gap, unit = r.get("gap"), r["unit"]
    if gap is None:
        return "–"
    if gap <= 0:
        return "0"
    if unit == "rank":
        return f"{format_number(gap)} bậc"
    if unit == "percent":
        text = format_number(gap, 2)
        return (text.rstrip("0").rstrip(",") if "," in text else text) + " điểm %"
    return format_value(gap, unit)


def targets_section(number: str, targets: list[dict[str, Any]], year: int) -> Section:
    section = Section(number, "Tình hình thực hiện các mục tiêu quốc gia")
    known = [t for t in targets if t["status"] != "no_data"]
    counts = Counter(t["status_vi"] for t in known)
    section.paragraphs.append(
        f"Có {len(targets)} chỉ tiêu có thời hạn từ năm {year} trở đi, trong đó {len(known)} chỉ tiêu đã có số liệu: "
        + ", ".join(f"{n} chỉ tiêu {s.lower()}" for s, n in counts.most_common()) + "."
        if known else f"Chưa có số liệu cho {len(targets)} chỉ tiêu có thời hạn từ năm {year} trở đi.")
    rows = []
    for t in targets:
        actual = "–" if t["actual"] is None else f"{format_value(t['actual'], t['unit'])} ({t['actual_year']})"
        rows.append([t["label"], str(t["target_year"]), format_value(t["target_value"], t["unit"]), actual,
                     format_percent(t["attainment"], 1) if t["attainment"] is not None else "–", _gap(t),
                     t["status_vi"]])
    sources = sorted({part.strip() for t in targets for part in t["source"].split(";") if part.strip()})
    section.tables.append(TableBlock(
        f"Các mục tiêu quốc gia về chuyển đổi số: thực tế so với mục tiêu, tính đến năm {year}",
        ["Chỉ tiêu", "Năm", "Mục tiêu", "Thực tế (năm)", "Mức đạt", "Còn thiếu", "Trạng thái"], rows,
        [False, True, True, True, True, True, False],
        ["Mức đạt: thực tế ÷ mục tiêu (với thứ hạng: mục tiêu ÷ thực tế); còn thiếu: khoảng cách đến mục tiêu "
         "(điểm % với tỷ lệ). Đúng tiến độ/chậm tiến độ: so tốc độ đã đạt giữa hai năm có số liệu gần nhất với "
         "tốc độ cần để đạt mục tiêu đúng hạn.", "Nguồn mục tiêu: " + "; ".join(sources) + "."]))
    charted = [t for t in known if t["attainment"] is not None]
    if charted:
        section.charts.append(Chart(
            "muc-tieu", f"Mức đạt các mục tiêu quốc gia có số liệu, tính đến năm {year}", "attainment",
            {"labels": [f"{t['label']} ({t['target_year']})" for t in charted],
             "values": [t["attainment"] for t in charted],  # the chart breaks its axis and prints the true value
             "colours": [STATUS_COLOURS.get(t["status"], "#7f8c8d") for t in charted],
             "statuses": [t["status_vi"] for t in charted]},
            "Nguồn: giá trị chỉ số đã nạp; mục tiêu theo các quyết định nêu tại bảng trên."))
    return section


def computed_section(number: str, computed: list[dict[str, Any]]) -> Section:
    section = Section(number, "Chỉ số tính từ dữ liệu sử dụng nền tảng số", [
        "Các chỉ số dưới đây được tính tự động từ số liệu đo lường hoạt động của người dân trên các nền tảng số "
        "(số người sử dụng hằng tháng của năm là trung bình các quý có số liệu), nên luôn cập nhật theo dữ liệu "
        "mới nhất mà không cần nhập tay."])
    rows = [[c["label"], str(c["year"]), format_value(c["nation"], c["unit"]), str(c["provinces"]),
             c["top"] or "–"] for c in computed]
    section.tables.append(TableBlock(
        "Chỉ số tính từ dữ liệu sử dụng nền tảng số", ["Chỉ số", "Năm", "Cả nước", "Số tỉnh có số liệu",
                                                         "Tỉnh, thành phố cao nhất"], rows,
        [False, True, True, True, False], ["Nguồn: tính từ bảng chỉ số sử dụng nền tảng (nguồn computed-usage)."]))
    return section


def scorecard_parts(inputs: ScorecardInputs, first_numeral: int = 1) -> list[Part]:
    """The chapter: rankings, targets (with the computed indicators), sources and methods."""
    ranking_sections = [ranking_section(str(i), r, inputs.year, inputs.runs, r.units)
                        for i, r in enumerate(inputs.rankings, 1)]
    target_sections = [targets_section("1", inputs.targets, inputs.year)]
    if inputs.computed:
        target_sections.append(computed_section("2", inputs.computed))
    method = Section("1", "Khung chỉ số và phương pháp", bullets=[
        f"{inputs.framework}: {inputs.legal_source.rstrip('.')}.",
        "Tổng điểm là tổng điểm đạt được của các chỉ số chính chia cho điểm tối đa, công bố trên thang 0–1 với "
        "bốn chữ số thập phân; chỉ số thiếu số liệu được tính 0 điểm và ghi chú trong bảng.",
        "Thứ hạng: các đơn vị bằng điểm (làm tròn như khi công bố) cùng hạng.",
        "Khoảng hạng 5–95%: mô phỏng Monte Carlo trên trọng số và cách chuẩn hóa, tổng hợp"
        + (f" ({format_number(inputs.runs)} lần)." if inputs.runs else " (không chạy trong báo cáo này)."),
        "Mục tiêu quốc gia: Quyết định 749/QĐ-TTg, Quyết định 411/QĐ-TTg và các văn bản nêu tại bảng mục tiêu; "
        "thực tế là giá trị mới nhất đến hết năm báo cáo.",
    ])
    parts = [
        Part(roman(first_numeral), f"XẾP HẠNG CHỈ SỐ CHUYỂN ĐỔI SỐ {inputs.level.upper()}", [], ranking_sections),
        Part(roman(first_numeral + 1), "CÁC MỤC TIÊU QUỐC GIA", [], target_sections),
        Part(roman(first_numeral + 2), "NGUỒN SỐ LIỆU VÀ PHƯƠNG PHÁP", [], [method]),
    ]
    if not ranking_sections:
        parts[0].paragraphs.append(f"Chưa có giá trị chỉ số của các tỉnh, thành phố cho năm {inputs.year}.")
    return parts


def _lower_first(text: str) -> str:
    """'Tỷ lệ …' → 'tỷ lệ …' inside a sentence; an acronym ('EGDI …') stays as it is."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def highlights(inputs: ScorecardInputs) -> list[str]:
    out = []
    for r in inputs.rankings[:1]:
        ranked = [x for x in r.rows if x.get("rank") is not None and not math.isnan(x["rank"])]
        if ranked:
            out.append(f"Theo {inputs.framework}, năm {inputs.year} {ranked[0]['name']} dẫn đầu "
                       f"{UNITS_TITLE[r.units].split(' (')[0]} với {_score(ranked[0]['score'], r.decimals)} điểm.")
    achieved = [t for t in inputs.targets if t["status"] == "achieved"]
    late = [t for t in inputs.targets if t["status"] in ("behind", "missed")]
    if achieved:
        out.append(f"Đã đạt {len(achieved)} mục tiêu quốc gia: "
                   + join_names([f"{_lower_first(t['label'])} ({t['target_year']})" for t in achieved]) + ".")
    if late:
        out.append(f"Có {len(late)} mục tiêu chậm tiến độ hoặc không đạt: "
                   + join_names([f"{_lower_first(t['label'])} ({t['target_year']})" for t in late]) + ".")
    return out


def build_scorecard(inputs: ScorecardInputs, settings: ReportSettings | None = None) -> Report:
    settings = settings or ReportSettings()
    date = settings.date or dt.date(inputs.year + 1, 1, 15)
    report = Report(
        issuer=settings.issuer, issuer_unit=settings.issuer_unit, number=f"Số: …/BC-{settings.code}",
        place=settings.place, date=date, date_line=f"{settings.place}, {format_date(date)}", kind="BÁO CÁO",
        title=scorecard_title(inputs.year), period=str(inputs.year),
        notice=("Giá trị chỉ số của các tỉnh, thành phố trong báo cáo này là dữ liệu minh họa của bộ dữ liệu mẫu "
                "thuocdo, không phải kết quả đánh giá chính thức.") if inputs.demo else "",
        intro=[f"{settings.issuer_name} báo cáo kết quả đo lường mức độ chuyển đổi số của các tỉnh, thành phố và "
               f"tình hình thực hiện các mục tiêu quốc gia về chuyển đổi số năm {inputs.year} như sau:"],
        parts=[Part(roman(1), "TÌNH HÌNH CHUNG", highlights(inputs)), *scorecard_parts(inputs, 2)],
        closing=f"{settings.issuer_name} kính báo cáo./.", recipients=["Như trên;", "Lưu: VT."],
        signer=settings.issuer, stem=f"bao-cao-chi-so-chuyen-doi-so-{inputs.year}",
    )
    report.number_blocks()
    return _nfc(report)
