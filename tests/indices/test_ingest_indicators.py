"""`ingest indicators`: every problem of every row in Vietnamese, the quarantine, upserts, entities of both eras."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import write
from thuocdo.catalog import load_catalog
from thuocdo.ingest.indicators import ingest_indicators, read_values, resolve_entity
from thuocdo.ingest.readers import InputError
from thuocdo.store import Store

HEADER = "entity,indicator,period,value,self_score,council_score,evidence\n"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "home")
    yield s  # type: ignore[misc]
    s.close()


def problems(store: Store) -> list[str]:
    rows = store.con.execute("SELECT line, problems FROM quarantine ORDER BY line").fetchall()
    return [f"dòng {line}: " + "; ".join(f"{p['field']}: {p['message']}" for p in json.loads(text))
            for line, text in rows]


def test_good_rows_are_stored_and_every_problem_of_a_bad_row_is_named(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "dti.csv", HEADER + "\n".join([
        "VN,online_dossiers,2024,45.8,,,seed 001",
        "Hà Nội,dti_awareness,2023,0.91,0.95,0.90,https://dti.gov.vn",
        "xyz,dti_awareness,2023,0.5,,,",
        "Hà Nội,dti_awareness,2023x,1.5,abc,,",
        "Hà Nội,khong_co,2023,0.5,,,",
        "Hà Nội,dti_awareness,2023,,,,",
    ]) + "\n")
    result = ingest_indicators(store, path, "tinh")
    assert (result.rows_read, result.stored, result.duplicates, result.rejected) == (6, 2, 0, 4)
    assert problems(store) == [
        "dòng 4: entity: không nhận ra đơn vị «xyz»: dùng VN (quốc gia), mã hoặc tên bộ, mã hoặc tên tỉnh "
        "(có thể thêm tiền tố old: hoặc new:)",
        "dòng 5: period: kỳ «2023x» không đúng dạng YYYY, YYYY-MM hoặc YYYY-Qn; "
        "value: giá trị 1.5 nằm ngoài khoảng [0; 1] của chỉ số dti_awareness; "
        "self_score: điểm tự đánh giá «abc» không phải số",
        "dòng 6: indicator: chỉ số «khong_co» không có trong danh mục chỉ số (khung chỉ số, mục tiêu)",
        "dòng 7: value: thiếu giá trị",
    ]
    stored = store.con.execute("SELECT level, entity, indicator, period, value, self_score, council_score, evidence "
                               "FROM indicator_values ORDER BY indicator").fetchall()
    assert stored == [("province_old", "01", "dti_awareness", "2023", 0.91, 0.95, 0.90, "https://dti.gov.vn"),
                      ("nation", "VN", "online_dossiers", "2024", 45.8, None, None, "seed 001")]


def test_reingesting_changes_nothing_and_a_new_value_replaces_the_old(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", HEADER + "VN,online_dossiers,2024,45.8,,,\nVN,online_dossiers,2024,46.0,,,\n")
    first = ingest_indicators(store, path, "bo")
    assert (first.stored, first.duplicates) == (1, 1)  # the later line of the same key wins
    again = ingest_indicators(store, path, "bo")
    assert (again.stored, again.duplicates) == (0, 2)
    ingest_indicators(store, write(tmp_path / "b.csv", HEADER + "VN,online_dossiers,2024,47.5,,,\n"), "bo")
    assert store.con.execute("SELECT value FROM indicator_values").fetchall() == [(47.5,)]


def test_the_latest_batch_wins_across_sources(store: Store, tmp_path: Path) -> None:
    ingest_indicators(store, write(tmp_path / "a.csv", HEADER + "VN,egdi_rank,2024,75,,,\n"), "a")
    ingest_indicators(store, write(tmp_path / "b.csv", HEADER + "VN,egdi_rank,2024,71,,,\n"), "b")
    assert read_values(store, ["egdi_rank"], ["nation"]) == [("nation", "VN", "egdi_rank", "2024", 71.0)]
    assert read_values(store, ["egdi_rank"], ["nation"], source="a")[0][4] == 75.0


@pytest.mark.parametrize("value, period, expected", [
    ("VN", "2024", ("nation", "VN")),
    ("Việt Nam", "2024", ("nation", "VN")),
    ("BYT", "2024", ("ministry", "bo-y-te")),
    ("Bộ Tài chính", "2025", ("ministry", "bo-tai-chinh")),
    ("80", "2024", ("province_old", "80")),  # before 2025-07-01 code 80 is Long An
    ("80", "2025", ("province_new", "80")),  # from then on it is the new Tây Ninh
    ("Tây Ninh", "2024", ("province_old", "72")),
    ("Tây Ninh", "2025", ("province_new", "80")),
    ("old:Long An", "2025", ("province_old", "80")),
    ("new:Hồ Chí Minh", "2024", ("province_new", "79")),
    ("Thừa Thiên Huế", "2025", ("province_new", "46")),  # an unchanged unit under its former name
    ("2025-Q3", "2025-Q3", "không nhận ra đơn vị «2025-Q3»: dùng VN (quốc gia), mã hoặc tên bộ, mã hoặc tên tỉnh "
                           "(có thể thêm tiền tố old: hoặc new:)"),
])
def test_entities_of_both_eras(value: str, period: str, expected: object) -> None:
    assert resolve_entity(value, period, load_catalog()) == expected


def test_a_former_province_after_the_merger_says_what_to_write() -> None:
    assert resolve_entity("Long An", "2025", load_catalog()) == (
        "«Long An» là tỉnh cũ, đã sáp nhập vào Tây Ninh từ 01/07/2025: với kỳ 2025 dùng tên tỉnh mới, "
        "hoặc old:80 cho số liệu của tỉnh cũ")


def test_ndjson_input_and_unreadable_files(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "v.ndjson", '{"entity": "VN", "indicator": "egdi_rank", "period": "2024", "value": 71}\n'
                                         "not json\n")
    result = ingest_indicators(store, path, "un")
    assert (result.stored, result.rejected) == (1, 1)
    assert problems(store) == ["dòng 2: *: dòng không phải một đối tượng JSON hợp lệ"]
    with pytest.raises(InputError, match=r"không đọc được như tệp Excel \.xlsx"):
        ingest_indicators(store, write(tmp_path / "v.xlsx", "x"), "un")
    with pytest.raises(InputError, match="thiếu cột bắt buộc `value`"):
        ingest_indicators(store, write(tmp_path / "v.csv", "entity,indicator,period\nVN,egdi_rank,2024\n"), "un")
    assert store.con.execute("SELECT count(*) FROM indicator_values").fetchall() == [(1,)]
