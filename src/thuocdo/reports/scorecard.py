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

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.reports.build import nfc_report
from thuocdo.reports.issuance import IssueSettings, issue, references
from thuocdo.reports.model import KIND_VI, Chart, Part, Provenance, Report, Section, TableBlock
from thuocdo.reports.provenance import banner, note, unique
from thuocdo.reports.vietnamese import format_date, format_number, format_percent, join_names, roman

#: how many units the pillar chart shows
PILLAR_CHART_UNITS = 10
STATUS_COLOURS = {"achieved": "#2e8b57", "on_track": "#1f4e79", "behind": "#e67e22", "not_yet": "#b7950b",
                  "missed": "#c8102e", "moving_away": "#c8102e"}


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
    targets: list[dict[str, Any]]  # ``thuocdo targets`` rows (with ``actual_source`` and ``actual_evidence``)
    computed: list[dict[str, Any]] = field(default_factory=list)  # label, unit, nation, provinces, top, year
    runs: int = 0
    ranking_provenance: list[Provenance] = field(default_factory=list)  # the indicator values' sources
    #: (indicator, year) → the source and the source's own note of each national value the targets use
    value_provenance: dict[tuple[str, str], Provenance] = field(default_factory=dict)
    value_evidence: dict[tuple[str, str], str] = field(default_factory=dict)
    computed_provenance: list[Provenance] = field(default_factory=list)  # the usage data behind `computed`
    #: (status, its Vietnamese name, its definition) of every target status, in the legend's order
    legend: list[tuple[str, str, str]] = field(default_factory=list)

    def actual_provenance(self) -> dict[str, Provenance]:
        """Target id → the provenance of its latest value."""
        return {str(t["target"]): self.value_provenance[(str(t["indicator"]), str(t["actual_year"]))]
                for t in self.targets if (str(t["indicator"]), str(t["actual_year"])) in self.value_provenance}


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


UNITS_TITLE = {"63": "63 tỉnh, thành phố (trước ngày 01/7/2025)",
               "34": "34 tỉnh, thành phố (theo Nghị quyết 202/2025/QH15, từ ngày 01/7/2025)"}


def ranking_section(number: str, r: Ranking, year: int, runs: int, key: str,
                    provenance: list[Provenance] | None = None) -> Section:
    ranked = [row for row in r.rows if row.get("rank") is not None and not math.isnan(row["rank"])]
    section = Section(number, f"Xếp hạng {UNITS_TITLE[r.units]}", provenance=list(provenance or []))
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
             "chỉ số hoạt động của trụ cột; thay đổi hạng so với năm trước (+: tăng hạng); “–”: chưa có số liệu. "
             "Các đơn vị bằng điểm (làm tròn như khi công bố) cùng hạng."]
    if provenance:
        notes.insert(0, note(provenance, "Giá trị chỉ số"))
    flagged = [f"{x['name']}: {x['notes']}" for x in r.rows if x.get("notes")]
    if flagged:
        notes.append("Ghi chú: " + "; ".join(flagged) + ".")
    section.tables.append(TableBlock(f"Chỉ số chuyển đổi số {UNITS_TITLE[r.units]}, năm {year}", headers, rows,
                                     numeric, notes, provenance=list(provenance or [])))
    if r.views and ranked:
        chosen = ranked[:PILLAR_CHART_UNITS]
        section.charts.append(Chart(
            f"tru-cot-{key}", f"Chỉ số ba trụ cột của {len(chosen)} đơn vị dẫn đầu, năm {year}", "pillars",
            {"labels": [str(x["name"]) for x in chosen], "series": [
                {"label": lbl, "values": [x.get(c) for x in chosen]} for c, lbl in r.views]},
            "Kết quả tính của thuocdo từ giá trị các chỉ số chính. " + note(provenance or [], "Giá trị chỉ số"),
            provenance=list(provenance or [])))
    if runs and ranked:
        section.charts.append(Chart(
            f"khoang-hang-{key}", f"Thứ hạng và khoảng hạng 5–95%, năm {year}", "intervals",
            {"labels": [str(x["name"]) for x in ranked], "rank": [x["rank"] for x in ranked],
             "low": [x.get("rank_p05") for x in ranked], "high": [x.get("rank_p95") for x in ranked]},
            f"Mô phỏng Monte Carlo {format_number(runs)} lần trên trọng số và phương pháp. "
            + note(provenance or [], "Giá trị chỉ số"), provenance=list(provenance or [])))
    return section


_UNIT = {"percent": "%", "percent_open": "%", "percent_per_year": "%/năm", "usd_bn": " tỷ USD", "count": ""}


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(",") if "," in text else text


def format_value(v: Any, unit: str) -> str:
    """A target or indicator value with its unit: '45,8%', 'hạng 71', '40 tỷ USD'."""
    if v is None:
        return "–"
    if unit == "rank":
        return f"hạng {format_number(float(v))}"
    return _trim(format_number(float(v), 2)) + _UNIT.get(unit, "")


def target_gap(r: dict[str, Any]) -> str:
    """What is missing, in the unit's own terms: share points, an amount and its relative growth, places."""
    gap, unit = r.get("gap"), r["unit"]
    if gap is None:
        return "–"
    if gap <= 0:
        return "0"
    if unit == "rank":
        return f"{format_number(gap)} bậc"
    if unit in ("percent", "percent_open"):
        return _trim(format_number(gap, 2)) + " điểm %"
    if unit == "percent_per_year":
        return _trim(format_number(gap, 2)) + " điểm %/năm"
    text = format_value(gap, unit)
    if r.get("gap_relative") is not None:
        text += f" (cần tăng {format_percent(r['gap_relative'], 1)})"
    return text


def pace(value: float | None, pace_unit: str | None) -> str:
    """A pace per year in its unit: '+7,8 điểm %/năm', '+10,9%/năm', '+7,5 bậc/năm'.

    >>> pace(7.8, "points"), pace(0.109, "relative"), pace(-2.5, "places"), pace(None, "points")
    ('+7,8 điểm %/năm', '+10,9%/năm', '−2,5 bậc/năm', '–')
    """
    if value is None or pace_unit is None:
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else ""
    if pace_unit == "relative":
        return sign + format_percent(abs(value), 1) + "/năm"
    return sign + format_number(abs(value), 1) + (" điểm %/năm" if pace_unit == "points" else " bậc/năm")


def _observed(t: dict[str, Any]) -> str:
    if t.get("observed_per_year") is None:
        return "–"
    return (f"{pace(t['observed_per_year'], t['pace_unit'])} ({t['trend_points']} năm, "
            f"{t['trend_from']}–{t['actual_year']})")


def series(text: str) -> list[tuple[int, float]]:
    """The (year, value) pairs of a targets row's ``series`` ("2023=38.0;2024=45.8").

    >>> series("2023=38.0;2024=45.8"), series("")
    ([(2023, 38.0), (2024, 45.8)], [])
    """
    return [(int(y), float(v)) for y, v in (item.split("=") for item in text.split(";") if item)]


def targets_section(number: str, inputs: ScorecardInputs) -> Section:
    targets, year, actual_provenance = inputs.targets, inputs.year, inputs.actual_provenance()
    section = Section(number, "Tình hình thực hiện các mục tiêu quốc gia",
                      provenance=unique(actual_provenance.values()))
    known = [t for t in targets if t["status"] != "no_data"]
    counts = Counter(t["status"] for t in known)
    section.paragraphs.append(
        f"Có {len(targets)} chỉ tiêu có thời hạn từ năm {year} trở đi, trong đó {len(known)} chỉ tiêu đã có số liệu: "
        + ", ".join(f"{counts[k]} chỉ tiêu {v.lower()}" for k, v, _ in inputs.legend if counts[k]) + "."
        if known else f"Chưa có số liệu cho {len(targets)} chỉ tiêu có thời hạn từ năm {year} trở đi.")
    section.paragraphs.append(
        "Trạng thái được xác định theo quy tắc sau (áp dụng như nhau cho mọi chỉ tiêu; chi tiết tại phần phương "
        "pháp):")
    section.bullets.extend(f"{name}: {definition}" for _, name, definition in inputs.legend)
    rows = []
    for t in targets:
        actual = "–" if t["actual"] is None else f"{format_value(t['actual'], t['unit'])} ({t['actual_year']})"
        rows.append([t["label"], str(t["target_year"]), format_value(t["target_value"], t["unit"]), actual,
                     target_gap(t), _observed(t), pace(t["needed_per_year"], t["pace_unit"]), t["status_vi"]])
    sources = sorted({part.strip() for t in targets for part in t["source"].split(";") if part.strip()})
    section.tables.append(TableBlock(
        f"Các mục tiêu quốc gia về chuyển đổi số: thực tế so với mục tiêu, tính đến năm {year}",
        ["Chỉ tiêu", "Năm hạn", "Mục tiêu", "Thực tế (năm)", "Còn thiếu", "Tốc độ đã đạt (xu hướng)",
         "Tốc độ cần", "Trạng thái"], rows, [False, True, True, True, True, True, True, False],
        ["Còn thiếu: với tỷ lệ tính bằng điểm phần trăm; với giá trị tiền tính bằng giá trị và mức tăng tương đối "
         "còn cần; với thứ hạng tính bằng số bậc. Tốc độ đã đạt: độ dốc của đường xu hướng khớp mọi năm có số liệu "
         "(bình phương nhỏ nhất; với giá trị tiền, theo logarit), kèm số năm dùng để tính; tốc độ cần: tốc độ đưa "
         "giá trị mới nhất tới mục tiêu đúng năm hạn (điểm %/năm, %/năm hoặc bậc/năm).",
         "Nguồn mục tiêu: " + "; ".join(sources) + ".",
         note(unique(actual_provenance.values()), "Nguồn số liệu thực tế")],
        provenance=unique(actual_provenance.values())))
    evidence = []
    seen: set[tuple[str, int]] = set()
    for t in known:
        for y, v in series(t.get("series") or ""):
            key = (str(t["indicator"]), str(y))
            if (t["indicator"], y) in seen or key not in inputs.value_provenance:
                continue
            seen.add((t["indicator"], y))
            evidence.append([t["label"], str(y), format_value(v, t["unit"]), inputs.value_provenance[key].text,
                             inputs.value_evidence.get(key) or "–"])
    used = unique(inputs.value_provenance.values())
    if evidence:
        section.tables.append(TableBlock(
            "Nguồn của các giá trị dùng để đánh giá mục tiêu (giá trị mới nhất và các năm của đường xu hướng)",
            ["Chỉ tiêu", "Năm", "Giá trị", "Nguồn (loại số liệu)", "Ghi chú của nguồn"], evidence,
            [False, True, True, False, False], [], provenance=used))
    charted = [t for t in known if t["attainment"] is not None]
    if charted:
        section.charts.append(Chart(
            "muc-tieu", f"Giá trị thực tế so với mục tiêu (tỷ lệ, giá trị), tính đến năm {year}", "attainment",
            {"labels": [f"{t['label']} ({t['target_year']})" for t in charted],
             "values": [t["attainment"] for t in charted],  # the chart breaks its axis and prints the true value
             "colours": [STATUS_COLOURS.get(t["status"], "#7f8c8d") for t in charted],
             "statuses": [t["status_vi"] for t in charted]},
            "Thực tế ÷ mục tiêu; không áp dụng cho thứ hạng và chỉ tiêu tốc độ tăng trưởng. "
            + note(unique(actual_provenance[t["target"]] for t in charted if t["target"] in actual_provenance),
                   "Nguồn số liệu thực tế"),
            provenance=unique(actual_provenance[t["target"]] for t in charted if t["target"] in actual_provenance)))
    return section


def computed_section(number: str, computed: list[dict[str, Any]], provenance: list[Provenance]) -> Section:
    section = Section(number, "Chỉ số tính từ dữ liệu sử dụng nền tảng số", [
        "Các chỉ số dưới đây được tính tự động từ số liệu đo lường hoạt động của người dân trên các nền tảng số "
        "(số người sử dụng hằng tháng của năm là trung bình các quý có số liệu; chỉ cộng các số liệu được công bố), "
        "nên luôn cập nhật theo dữ liệu mới nhất mà không cần nhập tay. Tỷ lệ thâm nhập chia cho số người sử dụng "
        "Internet trên điện thoại di động (mọi lứa tuổi), cùng tổng thể mà bảng mẫu đại diện."], provenance=provenance)
    rows = [[c["label"], str(c["year"]), format_value(c["nation"], c["unit"]), str(c["provinces"]),
             c["top"] or "–"] for c in computed]
    section.tables.append(TableBlock(
        "Chỉ số tính từ dữ liệu sử dụng nền tảng số", ["Chỉ số", "Năm", "Cả nước", "Số tỉnh có số liệu",
                                                         "Tỉnh, thành phố cao nhất"], rows,
        [False, True, True, True, False], [note(provenance, "Nguồn") + " Tên tỉnh, thành phố theo năm của số liệu."],
        provenance=provenance))
    return section


def scorecard_parts(inputs: ScorecardInputs, first_numeral: int = 1) -> list[Part]:
    """The chapter: rankings, targets (with the computed indicators), sources and methods."""
    ranking_sections = [ranking_section(str(i), r, inputs.year, inputs.runs, r.units, inputs.ranking_provenance)
                        for i, r in enumerate(inputs.rankings, 1)]
    target_sections = [targets_section("1", inputs)]
    if inputs.computed:
        target_sections.append(computed_section("2", inputs.computed, inputs.computed_provenance))
    found = unique([*inputs.ranking_provenance, *inputs.value_provenance.values(), *inputs.computed_provenance])
    method = Section("1", "Khung chỉ số và phương pháp", bullets=[
        f"{inputs.framework}: {inputs.legal_source.rstrip('.')}.",
        "Tổng điểm là tổng điểm đạt được của các chỉ số chính chia cho điểm tối đa, công bố trên thang 0–1 với "
        "bốn chữ số thập phân; chỉ số thiếu số liệu được tính 0 điểm và ghi chú trong bảng.",
        "Thứ hạng: các đơn vị bằng điểm (làm tròn như khi công bố) cùng hạng.",
        "Khoảng hạng 5–95%: mô phỏng Monte Carlo trên trọng số và cách chuẩn hóa, tổng hợp"
        + (f" ({format_number(inputs.runs)} lần)." if inputs.runs else " (không chạy trong báo cáo này)."),
        "Mục tiêu quốc gia: các văn bản nêu tại bảng mục tiêu; thực tế là giá trị mới nhất đến hết năm báo cáo, "
        "kèm nguồn và ghi chú của nguồn.",
        "Tốc độ và trạng thái: tỷ lệ tính bằng điểm phần trăm mỗi năm, giá trị tiền bằng mức tăng tương đối mỗi "
        "năm, thứ hạng bằng số bậc mỗi năm; tốc độ đã đạt là độ dốc của đường xu hướng khớp mọi năm có số liệu đến "
        "năm báo cáo (cần ít nhất hai năm, số năm được ghi kèm); tốc độ cần là tốc độ đưa giá trị mới nhất tới mục "
        "tiêu đúng năm hạn; trạng thái theo chú giải tại bảng mục tiêu; tốc độ bằng nhau khi làm tròn như bảng "
        "được tính là đúng tiến độ.",
        "Tên tỉnh, thành phố theo tên tại cuối năm đánh giá (63 đơn vị) và tên từ ngày 01/7/2025 (34 đơn vị).",
        "Báo cáo được ban hành không sớm hơn văn bản mới nhất được trích dẫn; cơ quan ban hành là cơ quan có chức "
        "năng này vào ngày ban hành.",
    ])
    sources = Section("2", "Nguồn số liệu", bullets=[
        f"{p.label}: loại số liệu: {KIND_VI[p.kind]}" + (f"; đơn vị công bố: {p.publisher}" if p.publisher
                                                          and p.publisher != p.label else "") + "."
        for p in found])
    parts = [
        Part(roman(first_numeral), f"XẾP HẠNG CHỈ SỐ CHUYỂN ĐỔI SỐ {inputs.level.upper()}", [], ranking_sections),
        Part(roman(first_numeral + 1), "CÁC MỤC TIÊU QUỐC GIA", [], target_sections),
        Part(roman(first_numeral + 2), "NGUỒN SỐ LIỆU VÀ PHƯƠNG PHÁP", [], [method, sources]),
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

    def named(items: list[dict[str, Any]]) -> str:
        return join_names([f"{_lower_first(t['label'])} ({t['target_year']})" for t in items])

    for status, lead in (("achieved", "Đã đạt"), ("missed", "Không đạt (đã qua năm hạn)"),
                         ("moving_away", "Đi ngược mục tiêu"), ("behind", "Chậm tiến độ")):
        items = [t for t in inputs.targets if t["status"] == status]
        if items:
            out.append(f"{lead}: {len(items)} mục tiêu — {named(items)}.")
    return out


def build_scorecard(inputs: ScorecardInputs, settings: IssueSettings | None = None,
                    catalog: Catalog | None = None) -> Report:
    settings = settings or IssueSettings()
    catalog = catalog or load_catalog()
    lines = highlights(inputs)
    if inputs.ranking_provenance or inputs.value_provenance:
        lines.append(note([*inputs.ranking_provenance, *inputs.value_provenance.values()], "Số liệu trong phần này"))
    parts = [Part(roman(1), "TÌNH HÌNH CHUNG", lines), *scorecard_parts(inputs, 2)]
    texts = [inputs.legal_source, *(t["source"] for t in inputs.targets)]
    for part in parts:
        for s in part.sections:
            texts.extend([s.title, *s.paragraphs, *s.bullets])
    cited = references(texts, [d.reference for d in catalog.documents])
    done = issue(catalog, settings, dt.date(inputs.year + 1, 1, 15), cited, dt.date(inputs.year, 12, 31))
    issuer = done.issuer
    found = unique([*inputs.ranking_provenance, *inputs.value_provenance.values(), *inputs.computed_provenance])
    report = Report(
        issuer=issuer.name, issuer_unit=issuer.unit, number=f"Số: …/BC-{issuer.code}",
        place=settings.place, date=done.date, date_line=f"{settings.place}, {format_date(done.date)}", kind="BÁO CÁO",
        title=scorecard_title(inputs.year), period=str(inputs.year), notice=banner(found),
        intro=[f"{issuer.name_in_sentence} báo cáo kết quả đo lường mức độ chuyển đổi số của các tỉnh, thành phố và "
               f"tình hình thực hiện các mục tiêu quốc gia về chuyển đổi số năm {inputs.year} như sau:"],
        parts=parts, closing=f"{issuer.name_in_sentence} kính báo cáo./.", recipients=["Như trên;", "Lưu: VT."],
        signer=issuer.name, stem=f"bao-cao-chi-so-chuyen-doi-so-{inputs.year}",
        signer_title=done.signer_title, signer_name=done.signer_name, classification=settings.classification,
        citations=done.citations,
        provenance=found,
    )
    report.number_blocks()
    return nfc_report(report)
