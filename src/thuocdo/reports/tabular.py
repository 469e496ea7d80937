"""Writing result tables: CSV/JSON/Parquet unrounded for programs, XLSX for analysts (the CSV's columns and
numbers, with a styled header and the columns' Vietnamese titles), a Rich table in Vietnamese style for people."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.table import Table

from thuocdo.catalog import load_catalog
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.reports.vietnamese import (
    QUALITY_STATUS,
    format_count,
    format_number,
    format_percent,
    format_short_date,
)

#: how the terminal table shows each known column (header, formatter)
_DISPLAY: dict[str, tuple[str, Callable[[Any], str]]] = {
    "platform": ("Nền tảng", str), "name": ("Nền tảng", str), "category": ("Nhóm", str), "origin": ("Nguồn gốc", str),
    "province": ("Tỉnh", str), "source": ("Nguồn", str),
    "mau": ("MAU", format_count), "dau": ("DAU", format_count), "wau": ("WAU", format_count),
    "minutes_per_day": ("Phút/ngày", lambda v: format_number(v, 1)),
    "mb_per_user": ("MB/tháng", lambda v: format_number(v, 1)),
    "stickiness": ("DAU/MAU", lambda v: format_percent(v, 1)),
    "rank_in_category": ("Hạng", format_number),
    "mau_change_previous": ("So kỳ trước", lambda v: format_percent(v, 1)),
    "mau_change_year": ("So cùng kỳ", lambda v: format_percent(v, 1)),
    "penetration": ("Thâm nhập", lambda v: format_percent(v, 1)),
    "visits": ("Lượt truy cập", format_count), "web_rank": ("Hạng web", format_number),
    "downloads_total": ("Lượt tải lũy kế", format_count),
    "metric": ("Chỉ số", str), "domestic_share": ("Tỷ trọng Việt Nam", lambda v: format_percent(v, 2)),
    "domestic_foreign_ratio": ("Việt Nam/nước ngoài", lambda v: format_number(v, 2)),
    "domestic_value": ("Việt Nam", lambda v: format_number(v, 1)),
    "foreign_value": ("Nước ngoài", lambda v: format_number(v, 1)),
    "band_low": ("Từ (người dùng)", format_count), "band_high": ("Dưới", format_count),
    "platforms": ("Số nền tảng", format_number), "vn_platforms": ("Việt Nam", format_number),
    "foreign_platforms": ("Nước ngoài", format_number), "names": ("Các nền tảng", str),
    "cohort": ("Nhóm tháng", str), "month": ("Tháng", str), "months_since": ("Sau (tháng)", format_number),
    "cohort_persons": ("Người dùng của nhóm", format_count), "retained_persons": ("Còn dùng", format_count),
    "retained_share": ("Tỷ lệ còn dùng", lambda v: format_percent(v, 1)),
    "margin": ("Sai số (±)", lambda v: format_percent(v, 1)),
    "day": ("Ngày", format_short_date), "records": ("Bản ghi", format_number), "rejected": ("Bị loại", format_number),
    "duplicates": ("Trùng lặp", format_number), "persons": ("Người", format_number),
    "late_records": ("Đến muộn", format_number), "baseline": ("Mức thường lệ", lambda v: format_number(v, 1)),
    "status": ("Tình trạng", lambda v: QUALITY_STATUS.get(v, v)),
}
_ORIGIN = {"vn": "Việt Nam", "foreign": "nước ngoài"}
_METRIC_LABELS = {"mau": "Người dùng tháng (MAU)", "dau": "Người dùng ngày (DAU)", "sessions": "Lượt phiên",
                  "installs": "Lượt cài đặt", "mb_per_user": "Dữ liệu/người/tháng (MB)"}


#: columns a person reads first; ids, sources and sample sizes stay in the CSV/JSON output
_HIDDEN = {"period", "platform", "source", "sample_persons", "smartphone_users", "domestic_value", "foreign_value"}


def format_table(table: pa.Table, title: str, columns: list[str] | None = None) -> Table:
    rows = table.to_pylist()
    shown = [c for c in (columns or _DISPLAY) if c in table.column_names and (columns or c not in _HIDDEN)
             and any(r[c] is not None for r in rows)]
    if "name" in shown:
        shown.remove("name")
        shown.insert(0, "name")
    rich = Table(title=title, title_justify="left")
    for c in shown:
        header = _DISPLAY[c][0]
        text = c in ("name", "platform", "category", "origin", "province", "source", "metric", "names", "cohort",
                     "month")
        rich.add_column(header, justify="left" if text else "right",
                        min_width=14 if c == "name" else max(len(w) for w in header.split()))
    for row in rows:
        cells = []
        for c in shown:
            v = row[c]
            if c == "origin":
                cells.append(_ORIGIN.get(v, v or ""))
            elif c == "category" and v:
                cells.append(_category_name(v))
            elif c == "metric" and v:
                cells.append(_METRIC_LABELS.get(v, v))
            elif c == "province" and v:
                cells.append(_province_name(v))
            elif v is None:
                cells.append("–")
            else:
                cells.append(_DISPLAY[c][1](v))
        rich.add_row(*cells)
    return rich


def _category_name(category_id: str) -> str:
    try:
        return load_catalog().category(category_id).name_vi
    except KeyError:
        return category_id


def _province_name(code: str) -> str:
    names = {p.code: p.short_name for p in load_catalog().provinces_new}
    return names.get(code, code)


def quarantine_table(entries: pa.Table) -> Table:
    rich = Table(title=f"Khu cách ly: {entries.num_rows:,} dòng".replace(",", "."), title_justify="left")
    for col in ("Mã", "Nguồn", "Tệp", "Dòng", "Cột", "Lý do"):
        rich.add_column(col)
    for e in entries.to_pylist():
        for p in json.loads(e["problems"]):
            rich.add_row(str(e["id"]), e["source"], e["file"] or "", "" if e["line"] is None else str(e["line"]),
                         p["field"], p["message"])
    return rich


#: Vietnamese titles of the columns of the metric, target and index tables (the XLSX's second sheet and the
#: comments on its header row); a column without one is titled by its name
COLUMN_TITLES: dict[str, str] = {
    "period": "Kỳ", "source": "Nguồn số liệu", "platform": "Mã nền tảng", "name": "Tên", "category": "Nhóm nền tảng",
    "origin": "Nguồn gốc (vn: Việt Nam, foreign: nước ngoài)", "province": "Mã tỉnh, thành phố",
    "mau": "Người dùng hằng tháng (MAU)", "dau": "Người dùng hằng ngày (DAU)",
    "wau": "Người dùng hằng tuần (WAU): trung bình các tuần (thứ Hai đến Chủ nhật) nằm trọn trong kỳ",
    "minutes_per_day": "Phút sử dụng mỗi ngày của một người dùng", "mb_per_user": "Dữ liệu mỗi người mỗi tháng (MB)",
    "sessions": "Lượt phiên", "installs": "Lượt cài đặt", "stickiness": "Tỷ lệ DAU/MAU",
    "sample_persons": "Số người trong mẫu", "w2_persons": "Tổng bình phương trọng số",
    "rank_in_category": "Hạng trong nhóm", "mau_previous": "MAU kỳ trước",
    "mau_change_previous": "Thay đổi so với kỳ trước (tỷ lệ)", "mau_year_ago": "MAU cùng kỳ năm trước",
    "mau_change_year": "Thay đổi so với cùng kỳ (tỷ lệ)",
    "smartphone_users": "Số người sử dụng Internet trên điện thoại di động, mọi lứa tuổi (tổng thể của bảng mẫu)",
    "penetration": "Tỷ lệ thâm nhập (MAU ÷ số người sử dụng Internet trên điện thoại di động)",
    "visits": "Lượt truy cập",
    "web_rank": "Hạng truy cập web", "downloads_total": "Lượt tải lũy kế", "basis": "Cơ sở số liệu",
    "published_source": "Nguồn công bố", "suppressed": "Không công bố (lý do ở cột suppression)",
    "suppression": f"Lý do không công bố (small_sample: dưới {MIN_CELL} người trong mẫu; complementary: ẩn bổ sung "
                   "để không thể suy ra số liệu không công bố khác)",
    "withheld": "Số nền tảng không công bố, không được cộng vào tổng",
    "distinct": "Cách đếm MAU", "mau_lower_95": "MAU: cận dưới 95%", "mau_upper_95": "MAU: cận trên 95%",
    "mau_rse": "MAU: sai số chuẩn tương đối", "metric": "Chỉ số",
    "sources": "Nguồn và tỷ trọng trong MAU", "mau_low": "MAU: cận dưới khoảng tin cậy 95%",
    "mau_high": "MAU: cận trên khoảng tin cậy 95%",
    "domestic_value": "Nền tảng Việt Nam", "foreign_value": "Nền tảng nước ngoài", "total_value": "Tổng",
    "domestic_share": "Tỷ trọng nền tảng Việt Nam", "domestic_foreign_ratio": "Tỷ lệ Việt Nam/nước ngoài",
    "target": "Mã mục tiêu", "indicator": "Mã chỉ tiêu", "label": "Chỉ tiêu", "unit": "Đơn vị",
    "target_year": "Năm mục tiêu", "target_value": "Mục tiêu", "actual": "Thực tế", "actual_year": "Năm thực tế",
    "actual_source": "Nguồn của giá trị thực tế", "actual_evidence": "Minh chứng của giá trị thực tế",
    "attainment": "Mức đạt (thực tế ÷ mục tiêu)", "gap": "Còn thiếu (theo đơn vị của chỉ tiêu; thứ hạng: số bậc)",
    "gap_relative": "Còn thiếu, tương đối (mục tiêu ÷ thực tế − 1; chỉ tiêu là số lượng)",
    "needed_per_year": "Tốc độ cần mỗi năm (đơn vị ở cột pace_unit)",
    "observed_per_year": "Tốc độ đã đạt mỗi năm: xu hướng bình phương tối thiểu (đơn vị ở cột pace_unit)",
    "trend_points": "Số năm có số liệu trong xu hướng", "trend_from": "Năm đầu của xu hướng",
    "pace_unit": "Đơn vị tốc độ (points: điểm phần trăm mỗi năm; relative: tăng trưởng tương đối mỗi năm; places: "
                 "số bậc mỗi năm)",
    "series": "Các giá trị đã dùng (năm=giá trị)", "status": "Mã trạng thái", "status_vi": "Trạng thái",
    "entity": "Mã đơn vị", "group": "Nhóm", "score": "Điểm", "rank": "Hạng", "rank_p05": "Hạng: bách phân vị 5%",
    "rank_p95": "Hạng: bách phân vị 95%", "score_change": "Thay đổi điểm so với năm trước",
    "rank_change": "Thay đổi hạng so với năm trước (+: tăng hạng)", "notes": "Ghi chú",
    "band_low": "Người dùng hằng tháng từ (gồm cả mức này)",
    "band_high": "Người dùng hằng tháng dưới (trống: không giới hạn)",
    "platforms": "Số nền tảng", "vn_platforms": "Số nền tảng Việt Nam", "foreign_platforms": "Số nền tảng nước ngoài",
    "names": "Các nền tảng (MAU giảm dần)",
    "cohort": "Tháng của nhóm người dùng", "month": "Tháng", "months_since": "Số tháng sau tháng của nhóm",
    "cohort_persons": "Người dùng nền tảng trong tháng của nhóm (có trọng số)",
    "retained_persons": "Trong số đó, người còn dùng trong tháng (có trọng số)",
    "retained_share": "Tỷ lệ còn dùng", "margin": "Sai số của tỷ lệ, khoảng tin cậy 95% (±; chỉ với bảng mẫu)",
}

#: titles of the quality monitor's table (thuocdo.metrics.quality), where `platforms` and `status` mean other things
QUALITY_TITLES: dict[str, str] = {
    "day": "Ngày hoạt động (giờ Việt Nam)", "records": "Bản ghi đã lưu (mỗi bản ghi một lần)",
    "rejected": "Dòng bị loại (vào khu cách ly)",
    "duplicates": "Dòng trùng lặp (bản ghi đã lưu, hoặc lặp lại trong cùng lần gửi)",
    "persons": "Số người có hoạt động trong ngày", "platforms": "Số nền tảng có hoạt động trong ngày",
    "late_records": "Bản ghi đến muộn (lưu sau ngày hoạt động quá số ngày quy định)",
    "baseline": "Mức thường lệ: trung vị số bản ghi cùng thứ trong các tuần trước",
    "status": "Tình trạng (ok: đủ; missing: thiếu; low/high: thấp/cao bất thường so với mức thường lệ)",
}

#: titles of the targets table where a column name means something else there (its `source` is the document
#: that set the target; an actual's own source is `actual_source`)
TARGET_TITLES: dict[str, str] = {"source": "Văn bản đặt mục tiêu"}


def write_table(table: pa.Table, fmt: str, output: Path | None, titles: dict[str, str] | None = None) -> None:
    if fmt == "parquet":
        assert output is not None
        pq.write_table(table, output)
    elif fmt == "xlsx":
        assert output is not None
        write_xlsx(table, output, titles)
    elif fmt == "csv":
        _emit(csv_bytes(table), output)
    elif fmt == "json":
        rows = [{k: _json_value(v) for k, v in r.items()} for r in table.to_pylist()]
        _emit(json.dumps(rows, ensure_ascii=False, default=str, indent=1).encode() + b"\n", output)
    else:
        raise ValueError(fmt)


def write_xlsx(table: pa.Table, output: Path, titles: dict[str, str] | None = None, sheet: str = "Dữ liệu") -> None:
    """The table as an Excel workbook: the first sheet has the CSV's columns and rows (numbers as numbers,
    unrounded; nulls as empty cells), a bold, filled, frozen header row with a filter, each header cell carrying
    the column's Vietnamese title as a comment; the second sheet ("Tên cột") lists each column with its title."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    named = COLUMN_TITLES | (titles or {})
    columns = table.column_names
    book = Workbook()
    data = book.active
    assert data is not None
    data.title = sheet
    data.append(columns)
    for row in table.to_pylist():
        data.append([_xlsx_value(row[c]) for c in columns])
    fill = PatternFill("solid", start_color="14365D", end_color="14365D")
    for i, cell in enumerate(data[1], 1):
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.comment = Comment(named.get(columns[i - 1], columns[i - 1]), "thuocdo", width=260, height=60)
        longest = max([len(columns[i - 1])] + [len(str(v)) for v in table.column(i - 1).to_pylist()[:200]
                                               if isinstance(v, str)])
        data.column_dimensions[get_column_letter(i)].width = min(max(longest + 2, 10), 48)
    data.freeze_panes = "A2"
    data.auto_filter.ref = data.dimensions
    legend = book.create_sheet("Tên cột")
    legend.append(["Cột", "Tên tiếng Việt"])
    for cell in legend[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
    for c in columns:
        legend.append([c, named.get(c, c)])
    legend.column_dimensions["A"].width = 24
    legend.column_dimensions["B"].width = 60
    book.properties.creator = "thuocdo"
    book.properties.language = "vi-VN"
    book.save(output)


def _xlsx_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return v


def csv_bytes(table: pa.Table) -> bytes:
    """The table as CSV (header, then one line per row; numbers unrounded, nulls empty)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _json_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
