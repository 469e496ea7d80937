"""Where every figure of a report comes from, and the banner derived from it.

A figure is one of three kinds (:mod:`thuocdo.reports.model`): **measured** from usage records (a panel's
weighted estimate), a **published** aggregate (a web panel's visits, an operator's KPI, a ministry's report —
with its publisher), or an **illustrative** value (the demo data set: simulated records, invented KPIs). The
kind follows from the source the figure was read from: the sources below are known by name; any other source
is measured when its figures come from records and published when they come as aggregates (its name is then
its publisher). Sections, tables and charts carry the provenance of their figures; the report's banner is
built from the kinds found, never written by hand.

>>> provenance_of("demo-panel", "records").kind, provenance_of("telco-a", "records").kind
('illustrative', 'measured')
>>> p = provenance_of("bc-04-ubqgcds", "published")
>>> p.kind, p.publisher
('published', 'Bộ Thông tin và Truyền thông')
>>> banner([provenance_of("telco-a", "records")])
''
>>> banner([provenance_of("demo-panel", "records"), p]).startswith("Báo cáo này có số liệu minh họa")
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from thuocdo.reports.model import ILLUSTRATIVE, KIND_VI, MEASURED, PUBLISHED, Provenance
from thuocdo.reports.vietnamese import format_percent


@dataclass(frozen=True)
class SourceInfo:
    label: str
    kind: str | None = None  # None: measured for records, published for aggregates
    publisher: str = ""
    date: str = ""


#: sources known by name; the demo's are illustrative (their records are simulated, their KPIs invented)
SOURCES = {
    "demo-panel": SourceInfo("Bảng mẫu người dùng điện thoại di động của bộ dữ liệu mẫu thuocdo (bản ghi mô phỏng)",
                             ILLUSTRATIVE),
    "demo-web-panel": SourceInfo("Số liệu mẫu của bộ dữ liệu mẫu thuocdo (số liệu doanh nghiệp giả định)",
                                 ILLUSTRATIVE),
    "demo-telco": SourceInfo("Lô bản ghi mô phỏng của bộ dữ liệu mẫu thuocdo", ILLUSTRATIVE),
    "demo-mang-a": SourceInfo("Nhà mạng A của bộ dữ liệu mẫu thuocdo (thuê bao mô phỏng)", ILLUSTRATIVE),
    "demo-mang-b": SourceInfo("Nhà mạng B của bộ dữ liệu mẫu thuocdo (thuê bao mô phỏng)", ILLUSTRATIVE),
    "demo-mang-c": SourceInfo("Nhà mạng C của bộ dữ liệu mẫu thuocdo (thuê bao mô phỏng)", ILLUSTRATIVE),
    "demo-indicators": SourceInfo("Giá trị chỉ số minh họa của bộ dữ liệu mẫu thuocdo", ILLUSTRATIVE),
    "bc-04-ubqgcds": SourceInfo("Báo cáo chuyên đề số 04/BC-UBQGCĐS ngày 01/4/2022 của Bộ Thông tin và Truyền thông",
                                PUBLISHED, "Bộ Thông tin và Truyền thông", "01/4/2022"),
    "btttt-tong-ket-2024": SourceInfo("Báo cáo tổng kết năm 2024 của Bộ Thông tin và Truyền thông", PUBLISHED,
                                      "Bộ Thông tin và Truyền thông", "12/2024"),
    "un-egov-survey": SourceInfo("Khảo sát Chính phủ điện tử của Liên hợp quốc (UN E-Government Survey)", PUBLISHED,
                                 "Liên hợp quốc"),
    "computed-usage": SourceInfo("Tính từ bảng chỉ số sử dụng nền tảng số của thuocdo", MEASURED),
}

BASIS_VI = {
    "records": "ước lượng có trọng số từ bản ghi sử dụng của bảng mẫu",
    "national": "ước lượng toàn quốc: số liệu nhà mạng mở rộng theo số thuê bao đã khai báo tới số người sử dụng "
                "Internet trên điện thoại di động của từng tỉnh, bảng mẫu cho các tỉnh, tháng nhà mạng không phủ",
    "published": "số liệu tổng hợp nhập nguyên trạng kèm tên nguồn",
    "derived": "tính trong báo cáo từ bảng chỉ số",
}


def source_label(source: str | None) -> str:
    if not source:
        return "không rõ nguồn"
    info = SOURCES.get(source)
    return info.label if info else f"nguồn dữ liệu «{source}»"


def provenance_of(source: str | None, basis: str) -> Provenance:
    """The provenance of figures read from `source`: ``basis`` "records" (panel estimates) or "published"."""
    name = source or ""
    info = SOURCES.get(name)
    kind = (info.kind if info and info.kind else MEASURED if basis == "records" else PUBLISHED)
    publisher = info.publisher if info else ("" if basis == "records" else source_label(source))
    return Provenance(kind, name, source_label(source), publisher, info.date if info else "",
                      BASIS_VI.get(basis, ""))


def source_mix(rows: Iterable[tuple[float | None, str | None]]) -> dict[str, float]:
    """Each source's share of a set of fused figures: (MAU, ``sources`` column ``a=0.6;b=0.4``) pairs, the
    shares weighted by the MAU of each figure.

    >>> source_mix([(300.0, "a=0.5;b=0.5"), (100.0, "b=1")])
    {'b': 0.625, 'a': 0.375}
    """
    totals: dict[str, float] = {}
    for mau, text in rows:
        if not mau or not text:
            continue
        for part in text.split(";"):
            name, _, share = part.partition("=")
            totals[name] = totals.get(name, 0.0) + mau * float(share or 0)
    whole = sum(totals.values())
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return {name: value / whole for name, value in ordered} if whole > 0 else {}


def national_provenance(mix: dict[str, float]) -> Provenance:
    """The provenance of national estimates resting on `mix` (source → share): illustrative when any of its
    sources is, and its label names every source with its share."""
    parts = [provenance_of(name, "records") for name in mix]
    kind = ILLUSTRATIVE if any(p.kind == ILLUSTRATIVE for p in parts) else MEASURED
    shares = "; ".join(f"{source_label(name)} {format_percent(share, 1)}" for name, share in mix.items())
    label = f"Ước lượng toàn quốc kết hợp {len(mix)} nguồn ({shares})" if mix else "Ước lượng toàn quốc"
    return Provenance(kind, "national", label, "", "", BASIS_VI["national"])


def short(p: Provenance) -> str:
    """The few words that follow a single figure: 'theo <label>' or 'giá trị minh họa'."""
    return "giá trị minh họa" if p.kind == ILLUSTRATIVE else f"theo {p.label}"


def unique(items: Iterable[Provenance]) -> list[Provenance]:
    """Each provenance once, in the order first met."""
    out: list[Provenance] = []
    for p in items:
        if p not in out:
            out.append(p)
    return out


def note(items: Iterable[Provenance], prefix: str = "Nguồn") -> str:
    """'Nguồn: <label> (<kind>); …' — the line under a table or chart that says the kind of its figures."""
    found = unique(items)
    return f"{prefix}: " + "; ".join(p.text for p in found) + "." if found else ""


def banner(items: Iterable[Provenance]) -> str:
    """The report's banner, from the kinds of its figures: empty when none is illustrative; otherwise which
    sources are illustrative and which figures are real (measured or published, with their publishers)."""
    found: list[Provenance] = []
    for p in unique(items):  # one entry per source (the national estimate's mix differs by section)
        if all(f.source != p.source for f in found):
            found.append(p)
    illustrative = [p for p in found if p.kind == ILLUSTRATIVE]
    if not illustrative:
        return ""
    text = ("Báo cáo này có số liệu minh họa, không phải số liệu thống kê chính thức: "
            + "; ".join(p.label for p in illustrative) + ".")
    real = [p for p in found if p.kind != ILLUSTRATIVE]
    if real:
        text += " Các số liệu còn lại là " + "; ".join(
            f"{KIND_VI[p.kind]} ({p.label})" for p in real) + "; mỗi bảng, hình ghi rõ loại số liệu của nó."
    else:
        text += " Mỗi bảng, hình ghi rõ loại số liệu của nó."
    return text
