"""The report as a Word document laid out as an administrative report under Decree 30/2020/NĐ-CP.

A4; margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm; Times New Roman 14 pt (tables 11 pt); the header
block in a fixed two-column table (issuing body, a short rule and the number on the left, 7.3 cm; the national
name on one line, the motto, a rule and the italic place-and-date line on the right, 9.2 cm); the document type
and abstract centred in bold with a short rule under them; "Kính gửi"; parts numbered with Roman numerals; tables
whose header row repeats on every page (``w:tblHeader``) and whose rows never split; "Nơi nhận" and the signer's
block; page numbers at the top centre from page 2 (a PAGE field in a header that the first page does not show);
the issuing body as the document's author. What the header and closing say comes from
:mod:`thuocdo.reports.decree30`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from thuocdo.reports import decree30
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
TEXT_WIDTH_CM = 16.5  # 210 mm less the margins
#: the header's columns, without cell margins: "BỘ THÔNG TIN VÀ TRUYỀN THÔNG" in 12 pt is 7.1 cm wide and the
#: national name "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in 12 pt bold 8.9 cm: each fits on one line
HEADER_WIDTHS_CM = (7.3, 9.2)
MOTTO = decree30.QUOC_HIEU
MOTTO_2 = decree30.TIEU_NGU


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


def _fixed_widths(table: Table, widths_cm: list[float] | tuple[float, ...]) -> None:
    """Column widths that Word and LibreOffice both keep (grid, cells and a fixed layout)."""
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)


def _no_cell_margins(table: Table) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge in ("top", "left", "bottom", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), "0")
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    table._tbl.tblPr.append(margins)


def _row_property(row: object, name: str) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    el = OxmlElement(f"w:{name}")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


#: average advance of a character in the tables (11 pt Times: digits 0.19 cm, lower case less), bold header words
#: a little wider, and the cell margins (0.19 cm each side)
_CHAR_CM, _BOLD_CHAR_CM, _CELL_MARGINS_CM = 0.18, 0.24, 0.45


def _column_widths(t: TableBlock) -> list[float]:
    """Column widths filling the text width. No column is narrower than its longest word (bold in the header);
    figures keep their whole width when they can (a figure split over two lines is hard to read); the text
    columns share what is left in proportion to their longest content."""
    least, wanted = [], []
    for i, header in enumerate(t.headers):
        cells = [row[i] for row in t.rows if i < len(row)]
        longest_cell = max((len(c) for c in cells), default=0)
        longest_word = max((len(w) for c in cells for w in c.split()), default=0)
        floor = max(max((len(w) for w in header.split()), default=1) * _BOLD_CHAR_CM,
                    longest_word * _CHAR_CM) + _CELL_MARGINS_CM
        least.append(floor)
        cap = 99.0 if t.numeric[i] else 7.0
        wanted.append(max(floor, min(longest_cell * _CHAR_CM, cap) + _CELL_MARGINS_CM))
    if sum(wanted) <= TEXT_WIDTH_CM:
        return [w * TEXT_WIDTH_CM / sum(wanted) for w in wanted]
    text = [i for i in range(len(wanted)) if not t.numeric[i]]
    numbers_whole = sum(wanted[i] for i in range(len(wanted)) if t.numeric[i]) + sum(least[i] for i in text)
    widths = [w if t.numeric[i] and numbers_whole <= TEXT_WIDTH_CM else least[i] for i, w in enumerate(wanted)]
    room = TEXT_WIDTH_CM - sum(widths)
    slack = sum(wanted[i] - least[i] for i in text)
    for i in text:
        if slack > 0 and room > 0:
            widths[i] += (wanted[i] - least[i]) * min(room / slack, 1.0)
    return widths


def _no_borders(table: Table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _rule(container: DocxDocument | _Cell, width_cm: float, within_cm: float, after: float = 3) -> Paragraph:
    """A short centred horizontal line of `width_cm` in a column `within_cm` wide: an empty 2-pt paragraph with a
    bottom border, indented from both sides (the rules under the issuing body, the motto and the title)."""
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(after), Pt(2)
    _font(paragraph.add_run(""), 2)
    p_pr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    border.append(bottom)
    p_pr.append(border)
    indent = max((within_cm - width_cm) / 2, 0)
    fmt.left_indent = Cm(indent)
    fmt.right_indent = Cm(indent)
    return paragraph


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
    _no_cell_margins(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_widths(table, HEADER_WIDTHS_CM)
    left, right = table.rows[0].cells
    c = WD_ALIGN_PARAGRAPH.CENTER
    first = left.paragraphs[0]
    first.alignment = c
    first.paragraph_format.space_after = Pt(0)
    if report.issuer_unit:
        _font(first.add_run(report.issuer), 12)
        _para(left, report.issuer_unit, size=12, bold=True, align=c, after=0)
    else:
        _font(first.add_run(report.issuer), 12, bold=True)
    _rule(left, 2.4, HEADER_WIDTHS_CM[0])
    _para(left, decree30.document_number(report), size=13, align=c, before=2)
    motto = right.paragraphs[0]
    motto.alignment = c
    motto.paragraph_format.space_after = Pt(0)
    _font(motto.add_run(MOTTO), 12, bold=True)
    _para(right, MOTTO_2, size=13, bold=True, align=c, after=0)
    _rule(right, 5.6, HEADER_WIDTHS_CM[1])
    _para(right, report.date_line, size=13, italic=True, align=c, before=2)


def _table(doc: DocxDocument, t: TableBlock) -> None:
    _para(doc, f"Bảng {t.number}." + (f" {t.title}" if t.title else ""), size=12, bold=True,
          align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=3)
    table = doc.add_table(rows=1, cols=len(t.headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    _row_property(header, "tblHeader")  # repeated at the top of every page the table runs onto
    _row_property(header, "cantSplit")
    for cell, text in zip(header.cells, t.headers, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(cell.paragraphs[0].add_run(text), TABLE_PT, bold=True)
    for row in t.rows:
        added = table.add_row()
        _row_property(added, "cantSplit")
        for i, (cell, text) in enumerate(zip(added.cells, row, strict=False)):
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT if t.numeric[i] else WD_ALIGN_PARAGRAPH.LEFT
            _font(cell.paragraphs[0].add_run(text), TABLE_PT)
    _fixed_widths(table, _column_widths(t))
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
    _properties(doc, report)

    _header_block(doc, report)
    if report.classification:
        _para(doc, report.classification, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=8, after=0)
    kind = f"{report.kind} {report.kind_detail}" if report.kind_detail else report.kind
    _para(doc, kind, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=12, after=0)
    _para(doc, report.title, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    subtitle = " · ".join(part for part in (report.week, report.purpose) if part)
    if subtitle:
        _para(doc, subtitle, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(doc, 5.5, TEXT_WIDTH_CM, after=8)
    lines = decree30.kinh_gui(report)
    for line in lines:
        p = _para(doc, line, align=WD_ALIGN_PARAGRAPH.CENTER if len(lines) == 1 else WD_ALIGN_PARAGRAPH.LEFT,
                  after=0 if line is not lines[-1] else 10)
        if len(lines) > 1:
            p.paragraph_format.left_indent = Cm(2.5)
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
    _closing_block(doc, report)
    doc.save(str(path))
    return path


def _closing_block(doc: DocxDocument, report: Report) -> None:
    """"Nơi nhận" on the left; the signer's authority and position, the space to sign and the name on the right."""
    sign = doc.add_table(rows=1, cols=2)
    _no_borders(sign)
    _fixed_widths(sign, (8.0, 8.5))
    _row_property(sign.rows[0], "cantSplit")
    left, right = sign.rows[0].cells
    p = left.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    _font(p.add_run("Nơi nhận:"), 12, bold=True, italic=True)
    for x in decree30.recipients(report):
        _para(left, f"- {x}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT, after=0)
    signature = decree30.signature(report)
    c = WD_ALIGN_PARAGRAPH.CENTER
    first = right.paragraphs[0]
    first.alignment = c
    first.paragraph_format.space_after = Pt(0)
    _font(first.add_run(signature.title[0]), 13, bold=True)
    for line in signature.title[1:]:
        _para(right, line, size=13, bold=True, align=c, after=0)
    _para(right, "", size=13, align=c, after=0, before=56)  # the space for the signature and the seal
    if signature.name:
        _para(right, signature.name, size=13, bold=True, align=c, after=0)
    else:
        _para(right, decree30.NAME_PLACEHOLDER, size=12, italic=True, align=c, after=0)


def _properties(doc: DocxDocument, report: Report) -> None:
    """The core properties: the issuing body as author and last editor (never the library's name)."""
    meta = decree30.metadata(report)
    props = doc.core_properties
    props.author = props.last_modified_by = meta["author"]
    props.title, props.subject, props.keywords = meta["title"], meta["subject"], meta["keywords"]
    props.category, props.comments, props.language = meta["category"], meta["comments"], meta["language"]
    stamp = dt.datetime.combine(report.date, dt.time(8, 0))
    props.created = props.modified = stamp
    props.revision = 1
