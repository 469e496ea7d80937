"""`ingest indicators` from Excel workbooks (built here with openpyxl), and quarantine retries of indicator rows."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import write
from thuocdo.ingest import indicators as ingest_module
from thuocdo.ingest.indicators import ingest_indicators, retry_quarantined
from thuocdo.ingest.readers import InputError
from thuocdo.store import Store
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import quarantine as quarantine_workflow

HEADER = ["entity", "indicator", "period", "value", "self_score", "council_score", "evidence", "source"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "home")
    yield s  # type: ignore[misc]
    s.close()


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def quarantined(store: Store, status: str = "open") -> list[tuple[str, int, str]]:
    rows = store.con.execute("SELECT file, line, problems FROM quarantine WHERE status = ? ORDER BY line",
                             [status]).fetchall()
    return [(f, line, "; ".join(f"{p['field']}: {p['message']}" for p in json.loads(text))) for f, line, text in rows]


def stored(store: Store) -> list[tuple[object, ...]]:
    ingest_module.ensure_table(store)
    return store.con.execute("SELECT source, level, entity, indicator, period, value, self_score, evidence "
                             "FROM indicator_values ORDER BY indicator, entity").fetchall()


def test_a_sheet_is_validated_like_csv_and_problems_name_the_spreadsheet_row(store: Store, tmp_path: Path) -> None:
    path = workbook(tmp_path / "dti.xlsx", {"Số liệu": [
        HEADER,                                                        # row 1
        ["VN", "online_dossiers", 2024, 45.8, None, None, "seed 001"],  # row 2: period and value typed as numbers
        [],                                                            # row 3: empty, skipped
        ["Hà Nội", "dti_awareness", "2023", 0.91, 0.95, None, "https://dti.gov.vn"],  # row 4
        ["xyz", "dti_awareness", 2023, 0.5],                           # row 5: unknown entity
        ["Hà Nội", "dti_awareness", 2023, "1,5"],                      # row 6: decimal comma is not a number
        ["Hà Nội", "khong_co", 2023, 0.5],                             # row 7: unknown indicator
    ]})
    result = ingest_indicators(store, path, "tinh")
    counts = (result.file, result.rows_read, result.stored, result.duplicates, result.rejected)
    assert counts == ("dti.xlsx", 5, 2, 0, 3)
    assert quarantined(store) == [
        ("dti.xlsx", 5, "entity: không nhận ra đơn vị «xyz»: dùng VN (quốc gia), mã hoặc tên bộ, mã hoặc tên tỉnh "
                        "(có thể thêm tiền tố old: hoặc new:)"),
        ("dti.xlsx", 6, "value: giá trị «1,5» không phải số"),
        ("dti.xlsx", 7, "indicator: chỉ số «khong_co» không có trong danh mục chỉ số (khung chỉ số, mục tiêu)"),
    ]
    assert stored(store) == [
        ("tinh", "province_old", "01", "dti_awareness", "2023", 0.91, 0.95, "https://dti.gov.vn"),
        ("tinh", "nation", "VN", "online_dossiers", "2024", 45.8, None, "seed 001"),
    ]


def test_sending_the_same_workbook_twice_stores_nothing_twice(store: Store, tmp_path: Path) -> None:
    path = workbook(tmp_path / "a.xlsx", {"Sheet": [HEADER[:4], ["VN", "egdi_rank", 2024, 71],
                                                    ["VN", "online_dossiers", 2024, 45.8]]})
    first = ingest_indicators(store, path, "un")
    again = ingest_indicators(store, path, "un")
    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates, again.rejected) == (0, 2, 0)
    assert store.con.execute("SELECT count(*) FROM indicator_values").fetchall() == [(2,)]


def test_the_first_sheet_with_the_required_columns_is_read(store: Store, tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {
        "Hướng dẫn": [["Điền số liệu ở trang sau"], ["entity: VN, bộ hoặc tỉnh"]],
        "Số liệu": [["", ""], [*HEADER[:4], "ghi chú riêng"], ["VN", "egdi_rank", 2024, 71, "bỏ qua"]],
    })
    result = ingest_indicators(store, path, "un")
    assert (result.stored, result.rejected) == (1, 0)
    assert stored(store) == [("un", "nation", "VN", "egdi_rank", "2024", 71.0, None, None)]


def test_workbooks_that_cannot_be_read_store_nothing_and_say_why(store: Store, tmp_path: Path) -> None:
    no_value = workbook(tmp_path / "c.xlsx",
                        {"Trang 1": [["entity", "indicator", "period"], ["VN", "egdi_rank", 2024]]})
    with pytest.raises(InputError) as missing:
        ingest_indicators(store, no_value, "un")
    assert str(missing.value) == ("Tệp c.xlsx, trang «Trang 1»: thiếu cột bắt buộc `value` "
                                  "(các cột có: entity, indicator, period).")
    with pytest.raises(InputError, match=r"^Tệp d\.xlsx: không đọc được như tệp Excel \.xlsx"):
        ingest_indicators(store, write(tmp_path / "d.xlsx", "entity,indicator\n"), "un")
    with pytest.raises(InputError, match=r"^Tệp e\.xls: định dạng Excel 97–2003 \(\.xls\) không được hỗ trợ"):
        ingest_indicators(store, write(tmp_path / "e.xls", "x"), "un")
    with pytest.raises(InputError, match="chỉ có tiêu đề"):
        ingest_indicators(store, workbook(tmp_path / "f.xlsx", {"S": [HEADER]}), "un")
    assert stored(store) == []


def test_quarantined_rows_are_retried_after_the_framework_learns_the_indicator(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "v.csv", "entity,indicator,period,value\n"
                                     "VN,chi_so_moi,2024,12.5\n"
                                     "Hà Nội,chi_so_moi,2024,abc\n"
                                     "VN,egdi_rank,2024,71\n")
    first = ingest_indicators(store, path, "bo")
    assert (first.stored, first.rejected) == (1, 2)
    known = ingest_module.known_indicators()
    monkeypatch.setattr(ingest_module, "known_indicators", lambda: {**known, "chi_so_moi": (0.0, 100.0)})
    results = retry_quarantined(store)
    assert [(r.file, r.source, r.stored, r.rejected) for r in results] == [("v.csv", "bo", 1, 1)]
    assert ("bo", "nation", "VN", "chi_so_moi", "2024", 12.5, None, None) in stored(store)
    assert quarantined(store) == [("v.csv", 3, "value: giá trị «abc» không phải số")]  # still the file's line 3
    assert len(quarantined(store, "resolved")) == 2
    assert retry_quarantined(store)[0].stored == 0  # nothing new: the same row fails the same way
    assert len(quarantined(store)) == 1


def test_quarantine_retry_workflow_includes_indicator_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    path = write(tmp_path / "v.csv", "entity,indicator,period,value\nVN,chi_so_moi,2024,12.5\n")
    assert ingest_workflow.ingest(home, "indicators", [path], "bo").rejected == 1
    known = ingest_module.known_indicators()
    monkeypatch.setattr(ingest_module, "known_indicators", lambda: {**known, "chi_so_moi": None})
    results = quarantine_workflow.quarantine_retry(home)
    assert [(r.kind, r.stored, r.rejected) for r in results] == [("indicators", 1, 0)]
    assert quarantine_workflow.quarantine_entries(home).num_rows == 0
