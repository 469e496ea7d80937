"""The report as a tree of Vietnamese text, tables and chart specifications; every renderer reads only this."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chart:
    key: str  # file name stem (ASCII): bieu-do/<key>.svg
    title: str
    kind: str  # "bars" | "shares" | "trend"
    data: dict[str, Any]
    note: str = ""  # source line under the chart
    number: int = 0  # "Hình 3", set when the report is assembled


@dataclass
class TableBlock:
    title: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # right-aligned columns
    notes: list[str] = field(default_factory=list)
    number: int = 0  # "Bảng 3", set when the report is assembled


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
    notice: str  # shown when the figures are simulated
    intro: list[str]
    parts: list[Part]
    closing: str
    recipients: list[str]
    signer: str
    stem: str = ""  # file name stem (ASCII); default: the quarterly report's
    # Decree 30/2020 layout: the addressees after "Kính gửi", the signer's title ("KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG") and
    # name; empty: the renderers fall back to defaults (thuocdo.reports.decree30)
    addressees: list[str] = field(default_factory=list)
    signer_title: str = ""
    signer_name: str = ""

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

    def number_blocks(self) -> None:
        """Number tables and charts in reading order ("Bảng 1", "Hình 1")."""
        for i, t in enumerate(self.tables(), 1):
            t.number = i
        for i, c in enumerate(self.charts(), 1):
            c.number = i
