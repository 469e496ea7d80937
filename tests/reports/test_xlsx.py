"""`--format xlsx` of `metrics`, `targets` and `index`: the workbook read back with openpyxl holds the CSV's
columns and rows (numbers as numbers, unrounded), a styled header with the Vietnamese titles, and a second
sheet naming every column; without `--output` the command does nothing and says why (exit 2)."""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from tests.conftest import Cli, ingest_province_scores
from tests.reports.report_fixture import write_fixture
from thuocdo.reports.tabular import write_xlsx
from thuocdo.workflows import ingest as ingest_workflow


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("xlsx")
    files = write_fixture(folder / "in")
    home = folder / "home"
    for kind in ("weights", "usage"):
        assert not ingest_workflow.ingest(home, kind, [files[kind]], "fixture-panel").errors
    ingest_province_scores(home, folder, "dti-2025", "2024", {"Hà Nội": 0.8, "Hải Phòng": 0.6},
                           ["VN,online_dossiers,2023,40.1", "VN,online_dossiers,2024,45.8"])
    return home


COMMANDS = {
    "metrics": ("metrics", "--period", "2022-Q1"),
    "metrics-category": ("metrics", "--period", "2022-Q1", "--by", "category"),
    "targets": ("targets", "--year", "2024"),
    "index": ("index", "--framework", "dti-2025", "--period", "2024", "--runs", "0"),
}


def _same(xlsx_value: object, csv_text: str) -> bool:
    if csv_text == "":
        return xlsx_value is None
    if isinstance(xlsx_value, bool):
        return str(xlsx_value).lower() == csv_text.lower()
    if isinstance(xlsx_value, int | float):
        return math.isclose(float(xlsx_value), float(csv_text), rel_tol=1e-12, abs_tol=1e-12)
    return str(xlsx_value) == csv_text


@pytest.mark.parametrize("name", list(COMMANDS))
def test_xlsx_holds_the_csv(home: Path, tmp_path: Path, name: str) -> None:
    cli = Cli(home)
    as_csv = cli(*COMMANDS[name], "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    path = tmp_path / f"{name}.xlsx"
    result = cli(*COMMANDS[name], "--format", "xlsx", "--output", path)
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Dữ liệu", "Tên cột"]
    sheet = book["Dữ liệu"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == rows[0]  # the same columns, in the same order
    assert len(values) == len(rows) > 1
    numbers = 0
    for got, expected in zip(values[1:], rows[1:], strict=True):
        for column, g, e in zip(rows[0], got, expected, strict=True):
            assert _same(g, e), (name, column, g, e)
            numbers += isinstance(g, int | float) and not isinstance(g, bool)
    assert numbers > 0  # numbers are stored as numbers, not text
    head = sheet["A1"]
    assert head.font.bold and head.fill.fgColor.rgb.endswith("14365D") and sheet.freeze_panes == "A2"
    titles = dict(book["Tên cột"].iter_rows(min_row=2, values_only=True))
    assert list(titles) == rows[0]
    for cell in sheet[1]:
        assert cell.comment is not None and cell.comment.text == titles[cell.value]
        assert unicodedata.is_normalized("NFC", cell.comment.text)


def test_vietnamese_titles(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    assert Cli(home)("metrics", "--period", "2022-Q1", "--format", "xlsx", "--output", path).exit_code == 0
    titles = dict(openpyxl.load_workbook(path)["Tên cột"].iter_rows(min_row=2, values_only=True))
    assert titles["mau"] == "Người dùng hằng tháng (MAU)" and titles["period"] == "Kỳ"
    index = tmp_path / "i.xlsx"
    assert Cli(home)(*COMMANDS["index"], "--format", "xlsx", "--output", index).exit_code == 0
    titles = dict(openpyxl.load_workbook(index)["Tên cột"].iter_rows(min_row=2, values_only=True))
    assert titles["score"] == "Điểm" and titles["digital_government"] == "Chính quyền số"  # the framework's nodes


@pytest.mark.parametrize("name", ["metrics", "targets", "index"])
def test_xlsx_needs_an_output_file(home: Path, name: str) -> None:
    result = Cli(home)(*COMMANDS[name], "--format", "xlsx")
    assert result.exit_code == 2
    assert "--format xlsx ghi ra tệp: cần --output TỆP" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_column_has_a_vietnamese_title(home: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.xlsx"
    assert Cli(home)(*COMMANDS[name], "--format", "xlsx", "--output", path).exit_code == 0
    titles = dict(openpyxl.load_workbook(path)["Tên cột"].iter_rows(min_row=2, values_only=True))
    untitled = [c for c, title in titles.items() if title == c]
    assert not untitled  # a column named only by its identifier would reach the analyst in English


def test_titles_of_the_targets_newer_columns(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    assert Cli(home)(*COMMANDS["targets"], "--format", "xlsx", "--output", path).exit_code == 0
    titles = dict(openpyxl.load_workbook(path)["Tên cột"].iter_rows(min_row=2, values_only=True))
    assert titles["actual_source"] == "Nguồn của giá trị thực tế"
    assert titles["actual_evidence"] == "Minh chứng của giá trị thực tế"
    assert titles["gap_relative"] == "Còn thiếu, tương đối (mục tiêu ÷ thực tế − 1; chỉ tiêu là số lượng)"
    assert titles["trend_points"] == "Số năm có số liệu trong xu hướng"
    assert titles["trend_from"] == "Năm đầu của xu hướng"
    assert titles["pace_unit"].startswith("Đơn vị tốc độ (points: điểm phần trăm mỗi năm; relative: ")
    assert titles["series"] == "Các giá trị đã dùng (năm=giá trị)"
    assert titles["source"] == "Văn bản đặt mục tiêu"  # the document that set the target, not a data source


def test_titles_of_the_disclosure_columns(tmp_path: Path) -> None:
    """The columns a visitor's table carries (API): why a cell is withheld, how many platforms a total leaves out."""
    table = pa.table({"platform": ["zalo"], "suppressed": [True], "suppression": ["complementary"],
                      "withheld": [2], "smartphone_users": [78_000_000.0], "penetration": [0.5]})
    path = tmp_path / "d.xlsx"
    write_xlsx(table, path)
    titles = dict(openpyxl.load_workbook(path)["Tên cột"].iter_rows(min_row=2, values_only=True))
    assert titles["suppression"] == ("Lý do không công bố (small_sample: dưới 20 người trong mẫu; complementary: ẩn "
                                     "bổ sung để không thể suy ra số liệu không công bố khác)")
    assert titles["withheld"] == "Số nền tảng không công bố, không được cộng vào tổng"
    assert titles["suppressed"] == "Không công bố (lý do ở cột suppression)"
    assert titles["smartphone_users"] == ("Số người sử dụng Internet trên điện thoại di động, mọi lứa tuổi (tổng thể "
                                          "của bảng mẫu)")
    assert titles["penetration"] == "Tỷ lệ thâm nhập (MAU ÷ số người sử dụng Internet trên điện thoại di động)"
    assert all(unicodedata.is_normalized("NFC", t) for t in titles.values())
