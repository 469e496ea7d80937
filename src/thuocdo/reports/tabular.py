"""Writing metric tables: CSV/JSON/Parquet unrounded for programs, a Rich table in Vietnamese style for people."""

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
from thuocdo.reports.vietnamese import format_count, format_number, format_percent

#: how the terminal table shows each known column (header, formatter)
_DISPLAY: dict[str, tuple[str, Callable[[Any], str]]] = {
    "platform": ("Nền tảng", str), "name": ("Nền tảng", str), "category": ("Nhóm", str), "origin": ("Nguồn gốc", str),
    "province": ("Tỉnh", str), "source": ("Nguồn", str),
    "mau": ("MAU", format_count), "dau": ("DAU", format_count),
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
        text = c in ("name", "platform", "category", "origin", "province", "source", "metric")
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


def write_table(table: pa.Table, fmt: str, output: Path | None) -> None:
    if fmt == "parquet":
        assert output is not None
        pq.write_table(table, output)
    elif fmt == "csv":
        _emit(csv_bytes(table), output)
    elif fmt == "json":
        rows = [{k: _json_value(v) for k, v in r.items()} for r in table.to_pylist()]
        _emit(json.dumps(rows, ensure_ascii=False, default=str, indent=1).encode() + b"\n", output)
    else:
        raise ValueError(fmt)


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
