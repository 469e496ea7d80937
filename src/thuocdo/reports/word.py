"""The report as a Word document laid out as an administrative report under Decree 30/2020/NĐ-CP.

A4; margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm; Times New Roman 14 pt (tables 11 pt); the header
block (issuing body and number on the left; the national motto and the italic place-and-date line on the
right); the document type and abstract centred in bold; parts numbered with Roman numerals; page numbers at
the top centre from page 2 (a PAGE field in a header that the first page does not show).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from thuocdo.reports.charts import render_png
from thuocdo.reports.model import Report, Section, TableBlock

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.section import Section as DocxSection
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 11
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"


def _font(run: Run, size: float | None = None, bold: bool | None = None, italic: bool | None = None) -> None:
    run.font.name = FONT
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic


def _para(container: DocxDocument | _Cell, text: str = "", *, size: float = BODY_PT, bold: bool = False,
          italic: bool = False, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False,
          after: float = 6, before: float = 0) -> Paragraph:
    p = container.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(before)
    if indent:
        fmt.first_line_indent = Cm(1.0)
    if text:
        _font(p.add_run(text), size, bold, italic)
    return p


def _no_borders(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _rule(paragraph: Paragraph, width_pct: int) -> None:
    """A short centred line under a paragraph (the rule under the issuing body and under the motto)."""
    p_pr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    border.append(bottom)
    p_pr.append(border)
    indent = (100 - width_pct) / 2
    paragraph.paragraph_format.left_indent = Cm(0.08 * indent)
    paragraph.paragraph_format.right_indent = Cm(0.08 * indent)


def _page_number(section: DocxSection) -> None:
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    _font(run, 13)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)
        elif text:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {text} "
            run._r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = "2"
            run._r.append(t)


def _header_block(doc: DocxDocument, report: Report) -> None:
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(9.5)
    c = WD_ALIGN_PARAGRAPH.CENTER
    first = left.paragraphs[0]
    first.alignment = c
    _font(first.add_run(report.issuer), 12.5)
    unit = _para(left, report.issuer_unit, size=12.5, bold=True, align=c, after=2)
    _rule(unit, 40)
    _para(left, report.number, size=13, align=c, before=4)
    motto = right.paragraphs[0]
    motto.alignment = c
    _font(motto.add_run(MOTTO), 12.5, bold=True)
    motto2 = _para(right, MOTTO_2, size=13.5, bold=True, align=c, after=2)
    _rule(motto2, 62)
    _para(right, report.date_line, size=13.5, italic=True, align=c, before=4)


def _table(doc: DocxDocument, t: TableBlock) -> None:
    _para(doc, f"Bảng {t.number}." + (f" {t.title}" if t.title else ""), size=12, bold=True,
          align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=3)
    table = doc.add_table(rows=1, cols=len(t.headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, t.headers, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cell.paragraphs[0].add_run(text), TABLE_PT, bold=True)
    for row in t.rows:
        cells = table.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=False)):
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT if t.numeric[i] else WD_ALIGN_PARAGRAPH.LEFT
            _font(cell.paragraphs[0].add_run(text), TABLE_PT)
    for note in t.notes:
        _para(doc, note, size=11, italic=True, after=2)


def _section(doc: DocxDocument, s: Section, level: int) -> None:
    title = f"{s.number}. {s.title}" if s.number else s.title
    _para(doc, title, bold=True, italic=level >= 3, indent=True, before=6, after=4)
    for text in s.paragraphs:
        _para(doc, text, indent=True)
    for b in s.bullets:
        _para(doc, f"- {b}", indent=True)
    for t in s.tables:
        _table(doc, t)
    for c in s.charts:
        import io

        doc.add_picture(io.BytesIO(render_png(c)), width=Cm(16))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _para(doc, f"Hình {c.number}. {c.title}. {c.note}", size=11, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for sub in s.subsections:
        _section(doc, sub, level + 1)


def write_docx(report: Report, path: Path) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    _page_number(section)
    doc.core_properties.title = f"{report.kind}: {report.title}"
    doc.core_properties.language = "vi-VN"
    doc.core_properties.author = report.issuer

    _header_block(doc, report)
    _para(doc, report.kind, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=12, after=0)
    _para(doc, report.title, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    if report.notice:
        _para(doc, report.notice, size=12, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for text in report.intro:
        _para(doc, text, indent=True)
    for part in report.parts:
        _para(doc, f"{part.numeral}. {part.title}", bold=True, indent=True, before=8)
        for text in part.paragraphs:
            _para(doc, text, indent=True)
        for s in part.sections:
            _section(doc, s, 2)
    _para(doc, report.closing, indent=True, before=6)
    sign = doc.add_table(rows=1, cols=2)
    _no_borders(sign)
    left, right = sign.rows[0].cells
    p = left.paragraphs[0]
    _font(p.add_run("Nơi nhận:"), 12, bold=True, italic=True)
    for x in report.recipients:
        _para(left, f"- {x}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT, after=0)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(right.paragraphs[0].add_run(report.signer), 13, bold=True)
    doc.save(str(path))
    return path
