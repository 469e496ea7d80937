"""The Decree 30/2020/NĐ-CP layout of the reports, checked on what a reader sees: the PDF (WeasyPrint) read back
with pypdf and turned into PNG pages with pdftoppm, and the DOCX read back with python-docx and, where
LibreOffice is installed, turned into a PDF and PNG pages as well.

The report here is built by hand (no store): a header, one long table that must run over several pages, and
the closing. The PNG pages are copied to ``THUOCDO_SHOTS`` (default ``/tmp/thuocdo-shots``) for a person to
look at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from thuocdo.reports import decree30
from thuocdo.reports.model import Part, Report, Section, TableBlock
from thuocdo.reports.render import to_html, to_markdown, to_pdf
from thuocdo.reports.word import write_docx

QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
HEADERS = ["Hạng", "Tỉnh, thành phố", "Điểm", "Khoảng hạng 5–95%"]
#: the fonts with the metrics of Times New Roman (PostScript names, without a subset prefix or spaces)
TIMES_METRIC = ("TimesNewRoman", "LiberationSerif", "TeXGyreTermes", "NimbusRoman", "Tinos")
SHOTS = Path(os.environ.get("THUOCDO_SHOTS", "/tmp/thuocdo-shots"))


def _report(**extra: Any) -> Report:
    rows = [[str(i), f"Tỉnh số {i}", f"0,{9000 - i:04d}", f"{i}–{i + 2}"] for i in range(1, 121)]
    table = TableBlock("Xếp hạng thử", HEADERS, rows, [True, False, True, True])
    part = Part("I", "XẾP HẠNG", ["Một đoạn văn trước bảng."], [Section("1", "Bảng dài", tables=[table])])
    fields: dict[str, Any] = {
        "issuer": "BỘ THÔNG TIN VÀ TRUYỀN THÔNG",
        "issuer_unit": "CƠ QUAN THƯỜNG TRỰC CỦA ỦY BAN QUỐC GIA VỀ CHUYỂN ĐỔI SỐ",
        "number": "Số: …/BC-BTTTT", "place": "Hà Nội", "date": dt.date(2022, 4, 1),
        "date_line": "Hà Nội, ngày 01 tháng 4 năm 2022", "kind": "BÁO CÁO",
        "title": "Đo lường hoạt động của người dân trên các nền tảng số Việt Nam quý I/2022", "period": "2022-Q1",
        "notice": "", "intro": ["Mở đầu."], "parts": [part], "closing": "Bộ Thông tin và Truyền thông kính báo cáo./.",
        "recipients": ["Như trên;", "Lưu: VT."], "signer": "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"}
    report = Report(**(fields | extra))
    report.number_blocks()
    return report


def _weasyprint() -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"WeasyPrint or the Pango library is not installed here ({exc}); `make install` installs them")


def _lines(pdf: Path) -> list[list[str]]:
    """Each page's text lines, NFC, spaces collapsed."""
    import pypdf

    reader = pypdf.PdfReader(str(pdf))
    return [[re.sub(r"\s+", " ", unicodedata.normalize("NFC", line)).strip()
             for line in page.extract_text().splitlines()] for page in reader.pages]


def _base_fonts(pdf: Path) -> set[str]:
    import pypdf

    names = set()
    for page in pypdf.PdfReader(str(pdf)).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            name = str(ref.get_object().get("/BaseFont", ""))
            names.add(re.sub(r"^/?([A-Z]{6}\+)?", "", name).replace("-", "").replace(" ", ""))
    return names


def _pngs(pdf: Path, name: str, pages: int = 2) -> list[Path]:
    """The first pages as PNG (pdftoppm), kept under THUOCDO_SHOTS; none when poppler-utils is not installed."""
    if not shutil.which("pdftoppm"):
        return []
    prefix = pdf.parent / name
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", str(pages), str(pdf), str(prefix)], check=True,
                   timeout=120)
    out = sorted(pdf.parent.glob(f"{name}-*.png"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    for png in out:
        shutil.copy(png, SHOTS / png.name)
    return out


def _starts_with_header(lines: list[str]) -> bool:
    """The page's first text line (after the page number) is the table's header row."""
    body = [line for line in lines if line and not line.isdigit()]
    return bool(body) and all(h.split()[0] in body[0] for h in HEADERS) and body[0].startswith("Hạng")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _weasyprint()
    path = tmp_path_factory.mktemp("layout") / "bao-cao.pdf"
    path.write_bytes(to_pdf(to_html(_report())))
    return path


@pytest.fixture(scope="module")
def docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("layout-docx") / "bao-cao.docx"
    write_docx(_report(), path)
    return path


def test_the_symbol_is_the_issuing_body_s_abbreviation() -> None:
    report = _report()
    assert decree30.document_number(report) == "Số: …/BC-UBQGCĐS"  # as in the seed report 04/BC-UBQGCĐS
    own = _report(issuer_unit="")
    own.issuer = "BỘ KHOA HỌC VÀ CÔNG NGHỆ"
    own.number = "Số: 12/BC-BTTTT"
    assert decree30.document_number(own) == "Số: 12/BC-BKHCN"  # the number kept, the symbol follows the body
    province = _report(issuer_unit="ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ")
    assert decree30.document_number(province) == "Số: …/BC-UBND"


def test_addressees_recipients_and_signer_default_and_given() -> None:
    report = _report()
    assert decree30.kinh_gui(report)[0] == "Kính gửi:"
    recipients = decree30.recipients(report)
    assert not any(r.lower().startswith("như trên") for r in recipients)  # real recipients, by name
    assert recipients[0].startswith("Các bộ, cơ quan ngang bộ") and recipients[-1] == "Lưu: VT."
    assert all(r.endswith(";") for r in recipients[:-1])
    default = decree30.signature(report)
    assert default.title == ["BỘ TRƯỞNG"] and default.name == ""
    given = _report(addressees=["Thủ tướng Chính phủ"], signer_title="KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG",
                    signer_name="Nguyễn Văn A")
    assert decree30.kinh_gui(given) == ["Kính gửi: Thủ tướng Chính phủ."]
    assert decree30.signature(given).title == ["KT. BỘ TRƯỞNG", "THỨ TRƯỞNG"]
    md = to_markdown(given)
    assert "Kính gửi: Thủ tướng Chính phủ." in md and "**KT. BỘ TRƯỞNG**" in md and "**Nguyễn Văn A**" in md
    assert "- Thủ tướng Chính phủ;" in md and "- Lưu: VT." in md
    html = to_html(given)
    assert '<div class="name">Nguyễn Văn A</div>' in html and "<div>THỨ TRƯỞNG</div>" in html


def test_pdf_quoc_hieu_on_one_line_rule_and_addressees(pdf: Path) -> None:
    first = _lines(pdf)[0]
    assert any(QUOC_HIEU in line for line in first), first[:8]
    assert not any(line.endswith("CHỦ NGHĨA VIỆT") or line == "NAM" for line in first)
    assert any("Số: …/BC-UBQGCĐS" in line for line in first)
    assert "Kính gửi:" in first
    html = to_html(_report())
    assert '<div class="title-rule"></div>' in html  # the short rule under the title
    assert "thead { display: table-header-group; }" in html
    assert _pngs(pdf, "layout-pdf") or not shutil.which("pdftoppm")


def test_pdf_embeds_a_times_metric_font(pdf: Path) -> None:
    fonts = _base_fonts(pdf)
    serif = {f for f in fonts if any(f.startswith(t) for t in TIMES_METRIC)}
    assert serif, f"no Times-metric font in the PDF ({sorted(fonts)}): install fonts-liberation2 (make install)"
    assert not {f for f in fonts if f.startswith("DejaVuSerif")}  # no fallback serif for the body


def test_pdf_table_header_repeats_on_every_page(pdf: Path) -> None:
    pages = _lines(pdf)
    table_pages = [i for i, lines in enumerate(pages) if any(" Tỉnh số " in line for line in lines)]
    assert len(table_pages) >= 3  # the table runs over several pages
    for i in table_pages[1:]:
        assert _starts_with_header(pages[i]), (i + 1, pages[i][:3])


def test_pdf_signer_block(pdf: Path) -> None:
    last = _lines(pdf)[-1]
    assert "Nơi nhận:" in " ".join(last) and "BỘ TRƯỞNG" in " ".join(last)
    assert decree30.NAME_PLACEHOLDER in " ".join(last)


def test_docx_header_table_fits_and_repeats(docx: Path) -> None:
    doc = Document(str(docx))
    header = doc.tables[0]
    left, right = header.rows[0].cells
    assert right.paragraphs[0].text == QUOC_HIEU
    # the right column holds the national name in 12 pt bold (8.9 cm) on one line: no cell margins, 9.2 cm
    assert right.width is not None and right.width.cm >= 9.1
    assert right.paragraphs[0].runs[0].font.size.pt <= 12.5 and right.paragraphs[0].runs[0].bold
    assert 'w:tblCellMar' in header._tbl.xml
    assert "Số: …/BC-UBQGCĐS" in left.text
    texts = [p.text for p in doc.paragraphs]
    assert "Kính gửi:" in texts and "- Lưu: VT." not in texts  # recipients sit in the closing table
    data = doc.tables[1]
    assert data.rows[0].cells[0].text == "Hạng"
    head_pr = data.rows[0]._tr.trPr
    assert head_pr is not None and head_pr.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") is not None
    closing = doc.tables[-1]
    assert "Nơi nhận:" in closing.rows[0].cells[0].text and "BỘ TRƯỞNG" in closing.rows[0].cells[1].text


def test_docx_metadata_names_the_issuing_body(docx: Path) -> None:
    doc = Document(str(docx))
    props = doc.core_properties
    assert "CƠ QUAN THƯỜNG TRỰC CỦA ỦY BAN QUỐC GIA VỀ CHUYỂN ĐỔI SỐ" in props.author
    assert props.last_modified_by == props.author
    assert props.title.startswith("Báo cáo: Đo lường hoạt động") and props.subject.startswith("Đo lường")
    assert props.language == "vi-VN"
    with zipfile.ZipFile(docx) as z:
        for name in z.namelist():
            if name.startswith("docProps/"):
                assert b"python-docx" not in z.read(name), name


def _libreoffice_pdf(docx: Path) -> Path:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed: the DOCX is checked through its XML only "
                    "(apt-get install libreoffice-writer-nogui renders it too)")
    out = docx.parent / "lo"
    profile = docx.parent / "lo-profile"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", "pdf",
                    "--outdir", str(out), str(docx)], check=True, capture_output=True, timeout=240)
    return out / (docx.stem + ".pdf")


def test_docx_rendered_by_libreoffice(docx: Path) -> None:
    pdf = _libreoffice_pdf(docx)
    pages = _lines(pdf)
    assert any(QUOC_HIEU in line for line in pages[0]), pages[0][:8]
    assert not any(line.endswith("CHỦ NGHĨA VIỆT") or line == "NAM" for line in pages[0])
    assert any("BỘ THÔNG TIN VÀ TRUYỀN THÔNG" in line for line in pages[0])  # the parent body on one line too
    table_pages = [i for i, lines in enumerate(pages) if any(" Tỉnh số " in line for line in lines)]
    assert len(table_pages) >= 2
    for i in table_pages[1:]:
        assert _starts_with_header(pages[i]), (i + 1, pages[i][:3])
    assert _pngs(pdf, "layout-docx") or not shutil.which("pdftoppm")
