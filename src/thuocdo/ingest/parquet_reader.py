"""Read a Parquet file into the contract's columns as text (integers of integer fields stay typed), with the
row number as line.

A value that cannot be read as text (a list or a struct where a single value is expected, bytes that are not
UTF-8, an integer beyond 64 bits where validation types integers) is not a reason to refuse the file: the row
is flagged with the field and the reason, the value left out (or, when it can be shown, shown with U+FFFD).
Columns outside the contract are not read at all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from thuocdo.ingest.contracts import Contract
from thuocdo.ingest.csv_reader import PERSON_COLUMNS
from thuocdo.ingest.lines import NOT_UTF8
from thuocdo.ingest.raw import LINE, READ_PROBLEMS, RESERVED, InputError, RawInput, problem_array

_INT64_MAX = 2**63 - 1
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError, OverflowError)


def read_parquet(path: Path, plain: Path, contract: Contract) -> RawInput:
    try:
        table = pq.read_table(plain)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"Tệp {path}: không đọc được như Parquet ({str(exc)[:200]}).") from exc
    names = [name.strip() for name in table.column_names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"Tệp {path}: có nhiều cột cùng tên: {', '.join(repeated)}.")
    problems: dict[int, list[tuple[str, str]]] = {}
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for i, name in enumerate(names):
        if name in RESERVED:
            continue
        if name not in contract.fields:
            columns[name] = pa.nulls(table.num_rows)  # present, but never read
            continue
        column, bad = _text_column(table.column(i), keep_integers=name in contract.integers)
        for row, message in bad.items():
            problems.setdefault(row, []).append((name, message))
        if bad and name in PERSON_COLUMNS:
            column = pc.if_else(_rows_mask(table.num_rows, bad), pa.scalar(None, pa.string()), column)
        columns[name] = column
    columns[LINE] = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    if problems:
        columns[READ_PROBLEMS] = problem_array([problems.get(i) for i in range(table.num_rows)])
    return RawInput(path.name, "parquet", pa.table(columns))


def _text_column(col: pa.ChunkedArray, *, keep_integers: bool) -> tuple[pa.ChunkedArray, dict[int, str]]:
    """A column as text (or as int64 integers): the values, and the rows whose value could not be read, with why."""
    kind = col.type
    if pa.types.is_dictionary(kind):
        col, kind = col.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind):
        return col, {}
    if pa.types.is_integer(kind) and keep_integers and _fits_int64(col):
        return col, {}
    if pa.types.is_nested(kind):
        return _unreadable(col, f"giá trị kiểu {kind} không phải một giá trị đơn (chuỗi, số hoặc thời gian)")
    try:
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            return pc.strftime(col, format="%Y-%m-%dT%H:%M:%S%z"), {}
        return col.cast(pa.string()), {}  # naive timestamps stay naive: local times, like naive text
    except _ERRORS:
        pass
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return _decoded(col)
    return _unreadable(col, f"giá trị kiểu {kind} không đọc được thành văn bản")


def _fits_int64(col: pa.ChunkedArray) -> bool:
    if col.type != pa.uint64():
        return True
    largest = pc.max(col).as_py()
    return largest is None or largest <= _INT64_MAX


def _unreadable(col: pa.ChunkedArray, message: str) -> tuple[pa.ChunkedArray, dict[int, str]]:
    present = np.flatnonzero(col.is_valid().to_numpy(zero_copy_only=False))
    return pa.chunked_array([pa.nulls(len(col), pa.string())]), {int(i): message for i in present}


def _decoded(col: pa.ChunkedArray) -> tuple[pa.ChunkedArray, dict[int, str]]:
    """Bytes as UTF-8 text, value by value: a value that is not UTF-8 shown with U+FFFD and flagged."""
    values: list[str | None] = []
    bad: dict[int, str] = {}
    for i, value in enumerate(col.to_pylist()):
        if value is None:
            values.append(None)
            continue
        try:
            values.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(value.decode("utf-8", errors="replace"))
            bad[i] = NOT_UTF8
    return pa.chunked_array([pa.array(values, pa.string())]), bad


def _rows_mask(n: int, rows: dict[int, str]) -> pa.Array:
    mask = np.zeros(n, dtype=bool)
    mask[list(rows)] = True
    return pa.array(mask)
