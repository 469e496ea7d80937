"""What the quarterly report says, on the hand-made panel of report_fixture.py (each number worked by hand there):
no withheld figure can be derived from its tables, every figure says its kind, names and dates are those of the
period, sentences follow the rules of the methods section, and the seed report's missing sections are there."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from thuocdo.catalog import load_catalog
from thuocdo.reports.build import build_report
from thuocdo.reports.context import ReportInputs
from thuocdo.reports.issuance import IssueError, IssueSettings
from thuocdo.reports.model import ILLUSTRATIVE, Report
from thuocdo.reports.provenance import SOURCES, SourceInfo, banner
from thuocdo.reports.render import to_markdown
from thuocdo.workflows.reports import write_reports


@pytest.fixture(scope="module")
def text(report: Report) -> str:
    return to_markdown(report)


def _row(text: str, first_cell: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))


# -- 1. disclosure ------------------------------------------------------------------------------------------------
def test_the_shares_table_adds_up_published_platforms_only(text: str) -> None:
    """Mocha (12 panelists) and An Vui (6) are withheld: the Vietnamese totals are Zalo's 3,6 triệu and Be's plus
    Vé xe rẻ's 2,4 + 2,2 triệu — no subtraction gives Mocha's 1,2 triệu or An Vui's 600.000."""
    assert _row(text, "liên lạc") == "| liên lạc | 3,6 triệu | 7,5 triệu | 32,43% | 0,48 lần |"  # 36 / 111
    assert _row(text, "đi lại") == "| đi lại | 4,6 triệu | 3 triệu | 60,53% | 1,53 lần |"  # 46 / 76
    assert "2 nền tảng không công bố số liệu không được cộng" in text  # Mocha and An Vui
    assert "1,2 triệu" not in text and "600.000" not in text


def test_no_change_against_a_withheld_quarter(inputs: ReportInputs) -> None:
    rows = {r["platform"]: r for r in inputs.platforms["2022-Q1"].to_pylist()}
    assert rows["an-vui"]["mau"] is None and rows["an-vui"]["mau_year_ago"] is None  # withheld: nothing shown
    assert rows["zalo"]["mau_previous"] == 3_400_000  # published in both quarters: compared


def test_the_methods_section_states_the_disclosure_rules(text: str) -> None:
    assert "Ẩn bổ sung: số liệu cả nước bằng tổng các tỉnh, số liệu quý là trung bình các tháng" in text
    assert "Tổng, tỷ trọng và tỷ lệ theo nhóm chỉ cộng các nền tảng được công bố" in text


# -- 2. provenance ------------------------------------------------------------------------------------------------
def test_every_table_and_chart_says_the_kind_of_its_figures(report: Report) -> None:
    for table in report.tables():
        if any(any(c.isdigit() for c in cell) for row in table.rows for cell in row[1:]):
            assert table.provenance, table.title
            assert any("đo từ bản ghi" in n or "đã công bố" in n or "minh họa" in n for n in table.notes), table.title
    for chart in report.charts():
        assert chart.provenance and "(đo từ bản ghi sử dụng)" in chart.note, chart.title
    kinds = {p.kind: p for p in report.provenance}
    assert kinds.keys() == {"measured", "published"} and kinds["published"].publisher == "nguồn dữ liệu «web-panel»"


def test_the_banner_is_derived_from_the_kinds(report: Report, inputs: ReportInputs,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert report.notice == "" == banner(report.provenance)  # measured and published figures only: no banner
    monkeypatch.setitem(SOURCES, "web-panel", SourceInfo("Số liệu doanh nghiệp giả định", ILLUSTRATIVE))
    again = build_report(inputs, load_catalog())
    assert again.notice == banner(again.provenance)
    assert again.notice.startswith("Báo cáo này có số liệu minh họa, không phải số liệu thống kê chính thức: "
                                   "Số liệu doanh nghiệp giả định.")
    assert "đo từ bản ghi sử dụng (nguồn dữ liệu «fixture-panel»)" in again.notice


def test_each_published_kpi_names_its_source(text: str) -> None:
    assert ("- Số khách hàng ở nông thôn, miền núi, vùng sâu, vùng xa, biên giới và hải đảo: 487.000 khách hàng, "
            "bằng 58,3% số khách hàng (quý I/2022; theo nguồn dữ liệu «web-panel»)") in text  # 487 / 835


# -- 3. names, dates, issuer and signer ---------------------------------------------------------------------------
def test_names_as_they_were_in_the_period(text: str) -> None:
    assert "| 1 | Twitter | NN |" in text and "X (Twitter)" not in text  # renamed X on 24/07/2023
    assert "#### 1.1. Hue-S (Thừa Thiên Huế)" in text and "Hue-S là nền tảng của Thừa Thiên Huế" in text
    assert "(Huế)" not in text


def test_date_issuer_and_signature(report: Report) -> None:
    assert report.date == dt.date(2022, 4, 1) and report.issuer == "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"
    assert (report.kind, report.kind_detail, report.classification) == ("BÁO CÁO", "CHUYÊN ĐỀ", "LƯU HÀNH NỘI BỘ")
    assert report.week == "Tuần 13/2022"  # 01/04/2022, as the seed report's header
    assert report.signer == "BỘ THÔNG TIN VÀ TRUYỀN THÔNG" and (report.signer_title, report.signer_name) == ("", "")
    assert all(c.date <= report.date for c in report.citations)


def test_issuer_and_signer_options(inputs: ReportInputs) -> None:
    signed = build_report(inputs, load_catalog(), IssueSettings(signer_name="Nguyễn Văn A",
                                                                signer_title="KT. BỘ TRƯỞNG / Thứ trưởng"))
    assert (signed.signer_title, signed.signer_name) == ("KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG", "Nguyễn Văn A")
    with pytest.raises(IssueError, match="Bộ Khoa học và Công nghệ không ban hành báo cáo này vào ngày 01/4/2022"):
        build_report(inputs, load_catalog(), IssueSettings(issuer="bo-khcn"))
    with pytest.raises(IssueError, match="không sau kỳ báo cáo"):
        build_report(inputs, load_catalog(), IssueSettings(date=dt.date(2022, 3, 15)))
    later = build_report(inputs, load_catalog(), IssueSettings(date=dt.date(2025, 3, 10)))
    assert later.issuer == "BỘ KHOA HỌC VÀ CÔNG NGHỆ" and "Bộ Khoa học và Công nghệ kính báo cáo" in later.closing


def test_the_report_command_takes_the_options(store: Path, tmp_path: Path) -> None:
    report, _ = write_reports(store, "2022-Q1", ["md"], tmp_path,
                              settings=IssueSettings(issuer="bo-tttt", signer_name="Nguyễn Văn A"))
    assert report.signer_name == "Nguyễn Văn A"


# -- 4. penetration -----------------------------------------------------------------------------------------------
def test_penetration_above_100_percent_is_not_printed(text: str) -> None:
    """The fixture's weights (100.000 a person) put 2,4 triệu Hue-S users in Huế, more than its 849.469 mobile
    internet users: the report says so instead of printing 282,5%."""
    assert "không được nêu vì vượt 100%" in text
    shares = re.findall(r"(\d+),\d+% số người sử dụng Internet", text)
    assert all(int(whole) < 100 for whole in shares)  # no penetration of 100% or more is printed
    assert "người sử dụng Internet trên điện thoại di động, mọi lứa tuổi" in text  # the definition, stated


# -- 5. sentences ---------------------------------------------------------------------------------------------------
def test_leadership_by_rank_not_by_share(text: str) -> None:
    """Mobility: Vietnamese platforms hold 60,53% but Grab ranks first — no "Vietnamese platforms lead"."""
    mobility = text.split("#### 1.2.")[1].split("#### 1.3.", maxsplit=1)[0]
    assert "60,53%" in mobility and "Nền tảng nước ngoài Grab dẫn đầu nhóm" in mobility
    assert "dẫn đầu thị trường" not in text
    assert "Nền tảng số Việt Nam Zalo dẫn đầu nhóm về số người sử dụng hằng tháng" in text  # rank 1


def test_no_size_words_and_no_change_before_a_platform_started(text: str) -> None:
    assert "rất nhỏ" not in text and "còn nhỏ" not in text
    assert "Số liệu người sử dụng của Học mãi không được công bố" in text  # 2,9 triệu visits: no "small"
    payment = text.split("#### 1.5.")[1]
    assert "| 1 | Mobile Money (thí điểm) | VN | 2,5 triệu | 980.000 | – | – |" in payment  # data in 2021-Q1 too
    assert "bắt đầu triển khai sau quý I/2021, nên không so sánh với cùng kỳ" in text
    assert "Mobile Money (thí điểm), triển khai từ cuối tháng 11/2021:" in text  # as precisely as the seed says


def test_the_rules_are_stated(text: str) -> None:
    assert "### 6. Quy tắc lập câu nhận xét" in text
    assert "Thay đổi so với cùng kỳ năm trước được nêu khi từ 50% trở lên" in text


# -- 7. the seed report's sections ----------------------------------------------------------------------------------
def test_proposals_from_the_data(text: str) -> None:
    proposals = text.split("## IV. ĐỀ XUẤT, KIẾN NGHỊ")[1].split("## V.", maxsplit=1)[0]
    assert "ở các nhóm: đi lại (giảm 1,4 điểm phần trăm)" in proposals  # 24/54 against 22/48, both published
    assert "(1) Tích cực triển khai các Tổ công nghệ số cộng đồng" in proposals and "trước hết tại Hà Nội" in proposals


def test_local_experience_with_the_operators_kpis(text: str) -> None:
    local = text.split("### 1. Kinh nghiệm của địa phương")[1].split("## IV.", maxsplit=1)[0]
    assert "Số phản ánh hiện trường đã xử lý xong: 950 vụ việc, bằng 95,0% số phản ánh đã tiếp nhận (năm 2021" in local
    assert "Tỷ lệ hài lòng của người dân: 56,8% hài lòng, 18,6% chấp nhận, 24,6% không hài lòng (năm 2021" in local
    assert "Tổng số lượt tải ứng dụng lũy kế đạt 793.050 lượt" in local


def test_panel_size_and_the_margin_of_error_statement(text: str) -> None:
    assert "Quy mô bảng mẫu: 40 người có trọng số mỗi tháng" in text
    assert "trọng số đều nhau cho tổng bình phương nhỏ nhất, nên sai số khi đó là cận dưới" in text
    assert "cả hai đều cho sai số lớn hơn" not in text  # the former, wrong statement


def test_every_cited_document_is_dated_in_the_catalog(report: Report) -> None:
    known = {d.reference for d in load_catalog().documents}
    for ref in re.findall(r"\b\d{1,4}/(?:\d{4}/)?[A-ZĐ][A-Za-zĐđ0-9&]*(?:-[A-Za-zĐđ0-9&]+)?", to_markdown(report)):
        assert ref in known, ref

