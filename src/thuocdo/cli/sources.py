"""`thuocdo sources list|show|declare`: the registry of sources (census, panel, published figures)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.table import Table

from thuocdo.cli.common import Typer, fail, home, out
from thuocdo.ingest.readers import InputError
from thuocdo.ingest.sources import KIND_HELP, LINK_KEY_HELP
from thuocdo.model.periods import VIETNAM_UTC_OFFSET
from thuocdo.reports.tabular import write_table
from thuocdo.reports.vietnamese import format_number
from thuocdo.workflows import sources as sources_workflow

sources_app = Typer(no_args_is_help=True, help="Các nguồn dữ liệu (toàn bộ thuê bao, bảng mẫu, số liệu công bố): "
                                               "list | show | declare.")

#: the kinds and link keys as a person reads them
KIND_NAMES = {"census": "toàn bộ thuê bao", "panel": "bảng mẫu", "aggregates": "số liệu công bố"}
LINK_KEY_NAMES = {"shared": "dùng chung", "private": "riêng"}
LEGEND = ("Loại: census = toàn bộ thuê bao, panel = bảng mẫu, aggregates = số liệu công bố. Khóa liên kết: private = "
          "riêng từng nguồn, shared = dùng chung.")
INFERRED = ("Nguồn chưa khai báo: loại suy ra từ dữ liệu (có trọng số: panel; có bản ghi sử dụng: census; chỉ có số "
            "liệu công bố: aggregates), khóa liên kết private.")


class SourceFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[SourceFormat, typer.Option("--format", help="table (màn hình), csv hoặc json.")]


def _kind(kind: str) -> str:
    return f"{KIND_NAMES.get(kind, kind)} ({kind})"


def _link_key(link_key: str) -> str:
    return f"{LINK_KEY_NAMES.get(link_key, link_key)} ({link_key})"


def _yes(value: bool) -> str:
    return "có" if value else "không"


def _data(row: dict[str, Any]) -> str:
    held = [text for key, text in (("has_usage", "bản ghi sử dụng"), ("has_weights", "trọng số"),
                                   ("has_aggregates", "số liệu công bố")) if row[key]]
    return ", ".join(held) or "chưa có"


@sources_app.command("list")
def sources_list(ctx: typer.Context, fmt: FormatOption = SourceFormat.table) -> None:
    """Liệt kê mọi nguồn: đã khai báo, hoặc đã có dữ liệu mà chưa khai báo."""
    rows = sources_workflow.list_sources(home(ctx))
    if fmt is not SourceFormat.table:
        columns = sources_workflow.SUMMARY_COLUMNS
        write_table(pa.Table.from_pylist(rows, schema=_schema(columns, rows)), fmt.value, None)
        return
    table = Table(title=f"Các nguồn dữ liệu: {len(rows)}", title_justify="left",
                  caption=LEGEND + (" " + INFERRED if any(not r["declared"] for r in rows) else ""),
                  caption_justify="left")
    for col in ("Nguồn", "Loại", "Khóa liên kết", "Khai báo", "Dữ liệu", "Tháng có bản ghi sử dụng",
                "Tháng có độ bao phủ"):
        table.add_column(col, min_width=10 if col == "Loại" else None)
    for r in rows:
        span = r["usage_from"] if r["usage_from"] == r["usage_to"] else f"{r['usage_from']} – {r['usage_to']}"
        used = f"{r['usage_months']} ({span})" if r["usage_months"] else "–"
        table.add_row(r["source"], r["kind"], r["link_key"], _yes(r["declared"]), _data(r), used,
                      str(r["coverage_months"]) if r["coverage_months"] else "–")
    out.print(table)


def _schema(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> pa.Schema:
    types = {"declared": pa.bool_(), "has_usage": pa.bool_(), "has_weights": pa.bool_(), "has_aggregates": pa.bool_(),
             "usage_months": pa.int64(), "coverage_months": pa.int64(), "coverage_provinces": pa.int64(),
             "subscribers": pa.int64()}
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])


@sources_app.command("show")
def sources_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Tên nguồn.")],
                 fmt: FormatOption = SourceFormat.table) -> None:
    """Một nguồn: loại, khóa liên kết, dữ liệu đã có và độ bao phủ theo tháng (số tỉnh/thành, tổng thuê bao)."""
    detail = sources_workflow.show_source(home(ctx), name)
    if detail is None:
        raise fail(f"Không có nguồn '{name}': nguồn chưa khai báo và chưa có dữ liệu (xem: thuocdo sources list).")
    if fmt is SourceFormat.json:
        typer.echo(json.dumps(detail.as_json(), ensure_ascii=False, indent=1))
        return
    if fmt is SourceFormat.csv:
        columns = ("source", "month", "has_usage", "coverage_provinces", "subscribers")
        rows = [{"source": detail.info.name, "month": m.month, "has_usage": m.has_usage,
                 "coverage_provinces": m.coverage_provinces, "subscribers": m.subscribers} for m in detail.months]
        write_table(pa.Table.from_pylist(rows, schema=_schema(columns, rows)), "csv", None)
        return
    info = detail.info
    when = "chưa khai báo (loại suy ra từ dữ liệu)"
    if detail.declared_at is not None:
        local = detail.declared_at + VIETNAM_UTC_OFFSET
        when = f"khai báo lúc {local:%H:%M} ngày {local:%d/%m/%Y}" + (f" ({detail.declared_by})"
                                                                      if detail.declared_by else "")
    out.print(f"Nguồn {info.name}: {_kind(info.kind)}, khóa liên kết {_link_key(info.link_key)}; {when}.",
              highlight=False)
    out.print(f"Dữ liệu đã có: {_data(detail.as_json())}.", highlight=False)
    if not detail.months:
        return
    table = Table(title="Theo tháng", title_justify="left")
    for col in ("Tháng", "Bản ghi sử dụng", "Tỉnh/thành có độ bao phủ", "Thuê bao (độ bao phủ)"):
        table.add_column(col, justify="left" if col == "Tháng" else "right")
    for m in detail.months:
        table.add_row(m.month, _yes(m.has_usage), str(m.coverage_provinces) if m.coverage_provinces else "–",
                      format_number(m.subscribers) if m.subscribers is not None else "–")
    out.print(table)


@sources_app.command("declare")
def sources_declare(
        ctx: typer.Context, name: Annotated[str, typer.Argument(help="Tên nguồn.")],
        kind: Annotated[str, typer.Option("--kind", help=f"Loại nguồn: {KIND_HELP}.")],
        coverage: Annotated[Path | None, typer.Option(
            "--coverage", help="Tệp CSV province,month,subscribers: số thuê bao của nguồn theo tỉnh/thành (34 đơn "
                               "vị, mã hoặc tên) và tháng (YYYY-MM); chỉ cho loại census.")] = None,
        link_key: Annotated[str | None, typer.Option(
            "--link-key", help=f"Khóa liên kết: {LINK_KEY_HELP}; khai báo lại mà không nêu thì giữ khóa đã khai "
                               "báo.")] = None,
) -> None:
    """Khai báo (hoặc khai báo lại) một nguồn: loại, khóa liên kết và độ bao phủ."""
    if coverage is not None and not coverage.is_file():
        raise fail(f"Không tìm thấy tệp: {coverage}")
    try:
        declared = sources_workflow.declare(home(ctx), name, kind, link_key, coverage)
    except InputError as exc:
        raise fail(str(exc)) from exc
    info, result = declared.detail.info, declared.result
    if not result.changed:
        out.print(f"Nguồn {info.name} đã được khai báo như vậy: không có gì thay đổi.", highlight=False)
        return
    verb = "Đã khai báo" if result.created else "Đã cập nhật"
    out.print(f"{verb} nguồn {info.name}: {_kind(info.kind)}, khóa liên kết {_link_key(info.link_key)}.",
              highlight=False)
    if result.coverage_changed:
        out.print(f"Độ bao phủ: {format_number(result.coverage_changed)} dòng (tỉnh/thành × tháng) mới hoặc thay đổi.",
                  highlight=False)
    if result.coverage_removed:
        out.print(f"Đã xóa {format_number(result.coverage_removed)} dòng bao phủ: chỉ nguồn loại census có độ bao phủ.",
                  highlight=False)
