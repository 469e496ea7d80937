"""`thuocdo quarantine list|export|retry`: the rejected rows, to read, repair and ingest again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thuocdo.cli.common import StrictOption, TableFormat, Typer, fail, home, out
from thuocdo.cli.ingest import print_results
from thuocdo.reports.tabular import quarantine_table, write_table
from thuocdo.reports.vietnamese import format_number
from thuocdo.workflows import quarantine as quarantine_workflow

quarantine_app = Typer(no_args_is_help=True, help="Các dòng bị loại (cách ly): list | export | retry.")


@quarantine_app.command("list")
def quarantine_list(ctx: typer.Context, source: Annotated[str | None, typer.Option("--source")] = None,
                    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table) -> None:
    """Liệt kê các dòng đang bị cách ly, với tệp, dòng, cột và lý do."""
    entries = quarantine_workflow.quarantine_entries(home(ctx), source)
    if fmt is TableFormat.table:
        out.print(quarantine_table(entries))
    else:
        write_table(entries, fmt.value, None)


@quarantine_app.command("export")
def quarantine_export(ctx: typer.Context, output: Annotated[Path, typer.Option("--output")],
                      source: Annotated[str | None, typer.Option("--source")] = None) -> None:
    """Xuất các dòng bị cách ly ra CSV để sửa (user_key thay cho user_id)."""
    n = quarantine_workflow.quarantine_export(home(ctx), output, source)
    out.print(f"Đã ghi {format_number(n)} dòng vào {output}.")


@quarantine_app.command("retry")
def quarantine_retry(ctx: typer.Context,
                     file: Annotated[Path | None, typer.Argument(help="Tệp đã sửa (từ quarantine export).")] = None,
                     source: Annotated[str | None, typer.Option("--source")] = None,
                     strict: StrictOption = False) -> None:
    """Nạp lại các dòng bị cách ly (sau khi sửa tệp, hoặc sau khi danh mục được bổ sung)."""
    if file is not None and not file.is_file():
        raise fail(f"Không tìm thấy tệp: {file}")
    results = quarantine_workflow.quarantine_retry(home(ctx), file, source)
    print_results(results, 20)
    if strict and any(r.rejected for r in results):
        raise typer.Exit(1)
