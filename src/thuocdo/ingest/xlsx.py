"""Read the first matching sheet of an Excel workbook (.xlsx, .xlsm) into a table of text columns.

The same shape as :func:`thuocdo.ingest.readers.read_input` returns: every contract field as text (missing
optional ones as nulls) and ``_line``, here the spreadsheet's row number, so that a problem names the row a
user sees in Excel. The header is the first non-empty row; empty rows are skipped. The sheet read is the one
named, else the first whose header holds every required column, else the first (which then fails naming the
missing columns). Cells keep the value Excel shows as far as the contract cares: integers without ``.0``,
other numbers in full precision with a decimal point, dates as ISO text, formulas as their last computed value.

>>> cell_text(2024.0), cell_text(45.8), cell_text(0.1 + 0.2), cell_text(True), cell_text("  x "), cell_text(None)
('2024', '45.8', '0.30000000000000004', 'TRUE', '  x ', None)
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from thuocdo.ingest.contracts import Contract
from thuocdo.ingest.readers import LINE, InputError, RawInput

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
OLD_EXCEL_SUFFIXES = (".xls",)


def is_excel(path: Path) -> bool:
    return path.suffix.lower() in EXCEL_SUFFIXES + OLD_EXCEL_SUFFIXES


def cell_text(value: object) -> str | None:
    """A cell's value as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_xlsx(path: Path, contract: Contract, sheet: str | None = None) -> RawInput:
    """Read a workbook for a contract; raises :class:`InputError` (in Vietnamese) when nothing can be read."""
    if path.suffix.lower() in OLD_EXCEL_SUFFIXES:
        raise InputError(f"Tệp {path.name}: định dạng Excel 97–2003 (.xls) không được hỗ trợ; hãy lưu lại thành "
                         ".xlsx (Excel Workbook) hoặc CSV UTF-8 rồi nạp lại.")
    if not path.is_file():
        raise InputError(f"Tệp {path}: không tồn tại hoặc không phải là tệp.")
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(f"Tệp {path.name}: không đọc được như tệp Excel .xlsx ({type(exc).__name__}).") from exc
    try:
        sheets = {ws.title: _rows(ws) for ws in book.worksheets}
    finally:
        book.close()
    if not sheets:
        raise InputError(f"Tệp {path.name}: bảng tính không có trang nào.")
    if sheet is not None:
        if sheet not in sheets:
            raise InputError(f"Tệp {path.name}: không có trang «{sheet}» (các trang: {', '.join(sheets)}).")
        name = sheet
    else:
        name = next((n for n, rows in sheets.items() if rows and not contract.missing(set(rows[0][1]) - {""})),
                    next(iter(sheets)))
    return _table(path, name, sheets[name], contract)


def _rows(ws: Worksheet) -> list[tuple[int, list[str]]]:
    """(row number, texts) of the non-empty rows of a worksheet (a read-only one, which openpyxl's stubs type as a
    :class:`Worksheet`)."""
    out = []
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        texts = [cell_text(v) for v in values]
        if any(t is not None and t.strip() for t in texts):
            out.append((number, [t or "" for t in texts]))
    return out


def _table(path: Path, sheet: str, rows: list[tuple[int, list[str]]], contract: Contract) -> RawInput:
    where = f"Tệp {path.name}, trang «{sheet}»"
    if not rows:
        raise InputError(f"{where}: trang trống, không có dữ liệu.")
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    named = [h for h in header if h]
    if len(set(named)) != len(named):
        raise InputError(f"{where}: dòng tiêu đề (dòng {header_line}) có tên cột trùng nhau: {', '.join(named)}.")
    missing = contract.missing(set(named))
    if missing:
        raise InputError(f"{where}: thiếu cột bắt buộc {', '.join('`' + m + '`' for m in missing)} "
                         f"(các cột có: {', '.join(sorted(named)) or 'không có'}).")
    data = rows[1:]
    if not data:
        raise InputError(f"{where}: không có dòng dữ liệu nào (chỉ có tiêu đề).")
    position = {h: i for i, h in enumerate(header) if h}
    columns: dict[str, pa.Array] = {}
    for f in contract.fields:
        i = position.get(f)
        values = [(r[i] if i < len(r) and r[i] != "" else None) if i is not None else None for _, r in data]
        columns[f] = pa.array(values, pa.string())
    columns[LINE] = pa.array([n for n, _ in data], pa.int64())
    extra = tuple(sorted(set(named) - set(contract.fields)))
    return RawInput(path.name, "xlsx", pa.table(columns), [], extra)
