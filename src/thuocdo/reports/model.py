"""The report as a tree of Vietnamese text, tables and chart specifications; every renderer reads only this."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: the kinds of a figure: measured from usage records, a published aggregate (with its publisher), or an
#: illustrative value (demo data); a report's banner is derived from the kinds of its figures
MEASURED, PUBLISHED, ILLUSTRATIVE = "measured", "published", "illustrative"
KINDS = (MEASURED, PUBLISHED, ILLUSTRATIVE)


@dataclass(frozen=True)
class Provenance:
    """Where figures come from: their kind, the source (and publisher) and its Vietnamese description."""

    kind: str  # MEASURED | PUBLISHED | ILLUSTRATIVE
    source: str  # the source id in the store ("demo-panel", "bc-04-ubqgcds", …)
    label: str  # how the report names it: "Bảng mẫu …", "Báo cáo 04/BC-UBQGCĐS ngày 01/4/2022 …"
    publisher: str = ""  # for published figures: who published them
    date: str = ""  # for published figures: when (as written in the report)
    basis: str = ""  # how the figures were obtained ("ước lượng có trọng số từ bản ghi sử dụng…")

    @property
    def text(self) -> str:
        """'<label> (<kind>)' for notes: the reader sees the kind beside every source."""
        return f"{self.label} ({KIND_VI[self.kind]})"


KIND_VI = {MEASURED: "đo từ bản ghi sử dụng", PUBLISHED: "số liệu tổng hợp đã công bố",
           ILLUSTRATIVE: "giá trị minh họa, không phải số liệu thống kê"}


@dataclass(frozen=True)
class Citation:
    """A document the report cites, with the day from which it can be cited."""

    reference: str  # "405/QĐ-BKHCN"
    date: dt.date


@dataclass
class Chart:
    key: str  # file name stem (ASCII): bieu-do/<key>.svg
    title: str
    kind: str  # "bars" | "shares" | "trend"
    data: dict[str, Any]
    note: str = ""  # source line under the chart
    number: int = 0  # "Hình 3", set when the report is assembled
    provenance: list[Provenance] = field(default_factory=list)


@dataclass
class TableBlock:
    title: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # right-aligned columns
    notes: list[str] = field(default_factory=list)
    number: int = 0  # "Bảng 3", set when the report is assembled
    provenance: list[Provenance] = field(default_factory=list)  # the kinds of the figures in the table


@dataclass
class Section:
    number: str  # "1.1"
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)  # the kinds of the figures in its text


@dataclass
class Part:
    numeral: str  # "I", "II", …
    title: str
    paragraphs: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


@dataclass
class Report:
    issuer: str  # "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"
    issuer_unit: str
    number: str  # "Số: …/BC-BTTTT"
    place: str
    date: dt.date
    date_line: str  # "Hà Nội, ngày 01 tháng 4 năm 2022"
    kind: str  # "BÁO CÁO"
    title: str  # the abstract (trích yếu)
    period: str  # "2022-Q1"
    notice: str  # the banner, derived from the kinds of the figures (provenance.banner); "" when all are real
    intro: list[str]
    parts: list[Part]
    closing: str
    recipients: list[str]
    signer: str  # the body's line of the signature block
    stem: str = ""  # file name stem (ASCII); default: the quarterly report's
    # Decree 30/2020 layout: the addressees after "Kính gửi", the signer's title ("KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG") and
    # name; empty: the renderers fall back to defaults (thuocdo.reports.decree30)
    addressees: list[str] = field(default_factory=list)
    signer_title: str = ""
    signer_name: str = ""
    # the seed report's header (04/BC-UBQGCĐS): "BÁO CÁO" + kind_detail "CHUYÊN ĐỀ", the week of the issue date
    # ("Tuần 13/2022"), the purpose line and the distribution mark ("LƯU HÀNH NỘI BỘ"); "" when not used
    kind_detail: str = ""
    week: str = ""
    purpose: str = ""
    classification: str = ""
    citations: list[Citation] = field(default_factory=list)  # every document cited, for the date check
    provenance: list[Provenance] = field(default_factory=list)  # every source of figures, with its kind

    def sections(self) -> list[Section]:
        """Every section and subsection, in reading order."""
        out: list[Section] = []

        def walk(sections: list[Section]) -> None:
            for s in sections:
                out.append(s)
                walk(s.subsections)

        for part in self.parts:
            walk(part.sections)
        return out

    def charts(self) -> list[Chart]:
        return [c for s in self.sections() for c in s.charts]

    def tables(self) -> list[TableBlock]:
        return [t for s in self.sections() for t in s.tables]

    def kinds(self) -> set[str]:
        """The kinds of every figure of the report (sections, tables, charts)."""
        found = {p.kind for p in self.provenance}
        for s in self.sections():
            found |= {p.kind for p in s.provenance}
            found |= {p.kind for t in s.tables for p in t.provenance}
            found |= {p.kind for c in s.charts for p in c.provenance}
        return found

    def number_blocks(self) -> None:
        """Number tables and charts in reading order ("Bảng 1", "Hình 1")."""
        for i, t in enumerate(self.tables(), 1):
            t.number = i
        for i, c in enumerate(self.charts(), 1):
            c.number = i
