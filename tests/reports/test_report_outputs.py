"""The quarterly report of a small hand-made panel: the golden Markdown, the DOCX layout, the PDF, the CLI."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm

from tests.conftest import Cli
from thuocdo.reports.render import to_html, to_markdown
from thuocdo.workflows.reports import write_reports


def test_markdown_matches_the_golden_file(report, golden) -> None:  # type: ignore[no-untyped-def]
    golden("report-2022-Q1.md", to_markdown(report))


def test_numbers_and_sentences_come_from_the_fixture(report) -> None:  # type: ignore[no-untyped-def]
    text = to_markdown(report)
    assert "Zalo có trung bình khoảng 3,6 triệu người sử dụng hằng tháng" in text
    assert "đứng thứ 2 trong nhóm, chỉ xếp sau Grab" in text  # Be
    assert "tăng 5,9% so với quý trước và tăng 20,0% so với cùng kỳ quý I/2021" in text  # Zalo: 36 vs 34 and 30
    assert ("Số liệu người sử dụng của Mocha không được công bố: ước lượng dựa trên dưới 20 người trong mẫu."
            in text)
    assert "| – | Mocha | VN | – | – |" in text  # suppressed, not printed
    assert "VnExpress 135,7 triệu lượt (xếp thứ 1)" in text  # a published figure, from the second source
    assert "Hà Nội, ngày 01 tháng 4 năm 2022" in text


def test_no_english_and_nfc(report) -> None:  # type: ignore[no-untyped-def]
    text = to_markdown(report)
    assert unicodedata.normalize("NFC", text) == text
    visible = re.sub(r"\]\([^)]*\)", "]", text)  # chart file names are not read
    for word in ("communication", "mobility", "foreign", "records", "published", "None", "nan", "mau",
                 "minutes_per_day", "mb_per_user", "quarter", "Q1"):
        assert not re.search(rf"\b{word}\b", visible), word


def test_the_seed_reports_header_lines(report) -> None:  # type: ignore[no-untyped-def]
    md, html = to_markdown(report), to_html(report)
    assert "**LƯU HÀNH NỘI BỘ**" in md and "# BÁO CÁO CHUYÊN ĐỀ: " in md
    assert "Tuần 13/2022" in md  # 01/04/2022, the issue date, falls in ISO week 13
    assert "LƯU HÀNH NỘI BỘ" in html and "BÁO CÁO CHUYÊN ĐỀ</h1>" in html and "Tuần 13/2022" in html


def test_html_is_self_contained(report) -> None:  # type: ignore[no-untyped-def]
    html = to_html(report)
    assert html.count("<svg") == len(report.charts()) > 0
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "@page :first" in html and "counter(page)" in html


def test_docx_is_laid_out_as_an_administrative_report(store: Path, tmp_path: Path) -> None:
    _, written = write_reports(store, "2022-Q1", ["docx"], tmp_path)
    doc = Document(str(written["docx"]))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    low, high = [Mm(20), Mm(20), Mm(30), Mm(15)], [Mm(25), Mm(25), Mm(35), Mm(20)]
    assert all(lo - Mm(0.1) <= m <= hi + Mm(0.1) for m, lo, hi in zip(margins, low, high, strict=True))  # twips round
    normal = doc.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14
    header = doc.tables[0].rows[0].cells
    assert "BỘ THÔNG TIN VÀ TRUYỀN THÔNG" in header[0].text and "Số: …/BC-" in header[0].text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header[1].text and "Độc lập - Tự do - Hạnh phúc" in header[1].text
    date = [p for p in header[1].paragraphs if "ngày 01 tháng 4 năm 2022" in p.text]
    assert date and all(r.italic for r in date[0].runs)
    fonts = {r.font.name for p in doc.paragraphs for r in p.runs}
    assert fonts - {None} == {"Times New Roman"}  # None: a picture's run, inheriting Normal
    texts = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO CHUYÊN ĐỀ" in texts and "LƯU HÀNH NỘI BỘ" in texts
    assert texts.index("LƯU HÀNH NỘI BỘ") < texts.index("BÁO CÁO CHUYÊN ĐỀ")
    for part in ("I. TÌNH HÌNH CHUNG", "II. SỐ LIỆU THỐNG KÊ", "III. MỘT SỐ KINH NGHIỆM CỦA BỘ, NGÀNH VÀ ĐỊA PHƯƠNG",
                 "IV. ĐỀ XUẤT, KIẾN NGHỊ", "V. NGUỒN SỐ LIỆU VÀ PHƯƠNG PHÁP"):
        assert part in texts
    assert "1.1. Nền tảng số Việt Nam phục vụ liên lạc" in texts
    assert section.different_first_page_header_footer  # no number on page 1
    header_xml = section.header._element.xml
    assert "PAGE" in header_xml and "fldChar" in header_xml
    assert not section.first_page_header.paragraphs[0].text


def test_pdf_has_pages_and_the_title(store: Path, tmp_path: Path) -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"WeasyPrint or the Pango library is not installed here ({exc}); `make install` installs them")
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev dependency) reads the PDF back")
    _, written = write_reports(store, "2022-Q1", ["pdf"], tmp_path)
    reader = pypdf.PdfReader(str(written["pdf"]))
    assert len(reader.pages) >= 3
    first = unicodedata.normalize("NFC", reader.pages[0].extract_text())
    assert "BÁO CÁO" in first and "quý I/2022" in first
    lines = [[line.strip() for line in page.extract_text().splitlines()] for page in reader.pages[:2]]
    assert "1" not in lines[0] and "2" in lines[1]  # page numbers from page 2 on


def test_report_command(store: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from thuocdo.cli.reports import report_command

    app = typer.Typer()

    @app.callback()
    def root(home: str = typer.Option(None, "--home")) -> None:  # the main app's --home
        pass

    app.command("report")(report_command)
    runner = CliRunner()
    ok = runner.invoke(app, ["--home", str(store), "report", "--period", "2022-Q1", "--format", "md,html",
                             "--output", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "out" / "bao-cao-nen-tang-so-2022-Q1.md").is_file()
    assert (tmp_path / "out" / "bieu-do").is_dir()
    month = runner.invoke(app, ["--home", str(store), "report", "--period", "2022-01"])
    assert month.exit_code == 2 and "báo cáo lập theo quý" in month.output
    bad = runner.invoke(app, ["--home", str(store), "report", "--period", "2022-Q1", "--format", "odt"])
    assert bad.exit_code == 2 and "Định dạng không hỗ trợ" in bad.output


@pytest.mark.parametrize(("options", "message"), [
    (("--date", "2022-02-30"), "Ngày ban hành '2022-02-30' không hợp lệ: dùng dạng YYYY-MM-DD, ví dụ 2025-07-15."),
    (("--date", "20220415"), "Ngày ban hành '20220415' không hợp lệ: dùng dạng YYYY-MM-DD, ví dụ 2025-07-15."),
    (("--date", "2022-03-31"), "Ngày ban hành 31/3/2022 không sau kỳ báo cáo (kết thúc ngày 31/3/2022)."),
    (("--issuer", "bo-xyz"), "Không có cơ quan ban hành 'bo-xyz' (có: bo-tttt, bo-khcn)."),
    (("--issuer", "bo-khcn"),  # dated 01/04/2022 by default, before the ministry took the role on 01/03/2025
     "Bộ Khoa học và Công nghệ không ban hành báo cáo này vào ngày 01/4/2022 (từ ngày 01/3/2025)."),
    (("--signer", "A" * 121), "Họ và tên người ký dài 121 ký tự: tối đa 120."),
])
def test_report_command_checks_the_issue_options(store: Path, tmp_path: Path, options: tuple[str, str],
                                                 message: str) -> None:
    """The same checks and messages as the API's report downloads (tests/web/test_api.py)."""
    result = Cli(store)("report", "--period", "2022-Q1", "--format", "md", "--output", tmp_path / "out", *options)
    assert result.exit_code == 2
    assert " ".join(result.stderr.split()) == f"Lỗi: {message}"  # as wrapped on the terminal
    assert not (tmp_path / "out").exists()
