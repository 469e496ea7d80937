"""The command line (stable: scripts call it). Thin: parse, call a workflow, print.

Exit status: 0 done; 1 done but rows were rejected and --strict was given; 2 nothing done (bad arguments,
unreadable input), with the reason on stderr.
"""

from __future__ import annotations

import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from thuocdo import workflows
from thuocdo.indices.cli import compute_indicators_command, index_command, targets_command
from thuocdo.reports.cli import report_command, scorecard_command
from thuocdo.ingest.results import BatchResult
from thuocdo.model.periods import PeriodError
from thuocdo.output import format_table, write_table
from thuocdo.store import StoreError
from thuocdo.web.cli import keys_app, publish_command, serve_command

app = typer.Typer(add_completion=False, no_args_is_help=True, help="thuocdo: đo lường chuyển đổi số Việt Nam.")
ingest_app = typer.Typer(no_args_is_help=True, help="Nạp dữ liệu: usage | weights | aggregates | indicators.")
quarantine_app = typer.Typer(no_args_is_help=True, help="Các dòng bị loại (cách ly): list | export | retry.")
app.add_typer(ingest_app, name="ingest")
app.add_typer(quarantine_app, name="quarantine")

out = Console()
err = Console(stderr=True)
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class State:
    home: Optional[Path] = None


@app.callback()
def _root(home: Annotated[Optional[Path], typer.Option("--home", envvar="THUOCDO_HOME",
                                                       help="Thư mục kho dữ liệu (mặc định ~/.thuocdo).")] = None) -> None:
    State.home = home


def fail(message: str) -> typer.Exit:
    err.print(f"[red]Lỗi:[/red] {message}", highlight=False)
    return typer.Exit(2)


def _check_source(source: str) -> None:
    if not _SOURCE.match(source):
        raise fail(f"Tên nguồn '{source}' không hợp lệ: chữ thường không dấu, số, '.', '_' hoặc '-' (tối đa 64 ký tự).")


def _ingest(kind: str, files: list[Path], source: str, strict: bool, show: int) -> None:
    _check_source(source)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise fail("Không tìm thấy tệp: " + ", ".join(str(f) for f in missing))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"Nạp {kind} vào nguồn {source}", total=len(files))
        rollups = progress.add_task("Cập nhật bảng tổng hợp", total=None, visible=False)

        def on_file(path: Path, result: BatchResult | None) -> None:
            progress.advance(task)

        def on_rollup(src: str, month: str) -> None:
            progress.update(rollups, visible=True, description=f"Cập nhật bảng tổng hợp {src} {month}")

        report = workflows.ingest(State.home, kind, files, source, on_file, on_rollup)
    _print_results(report.results, show)
    for message in report.errors:
        err.print(f"[red]Lỗi:[/red] {message}", highlight=False)
    if report.errors:
        raise typer.Exit(2)
    if strict and report.rejected:
        raise typer.Exit(1)


def _print_results(results: list[BatchResult], show: int) -> None:
    from rich.table import Table

    table = Table(title="Kết quả nạp dữ liệu", title_justify="left")
    for col in ("Tệp", "Đọc", "Lưu mới", "Trùng lặp", "Bị loại"):
        table.add_column(col, justify="left" if col == "Tệp" else "right")
    for r in results:
        table.add_row(r.file, f"{r.rows_read:,}", f"{r.stored:,}", f"{r.duplicates:,}", f"{r.rejected:,}")
    out.print(table)
    shown = [p for r in results for p in r.problems][:show]
    for p in shown:
        err.print(p.text(), highlight=False, markup=False)
    rejected = sum(r.rejected for r in results)
    if rejected:
        err.print(f"{rejected:,} dòng bị loại, đã đưa vào khu cách ly; xem: thuocdo quarantine list", highlight=False)


_STRICT = typer.Option("--strict", help="Thoát với mã 1 nếu có dòng bị loại.")
_SHOW = typer.Option("--show", help="Số lỗi tối đa in ra màn hình (tất cả đều ở khu cách ly).")


@ingest_app.command("usage")
def ingest_usage(files: Annotated[list[Path], typer.Argument(help="Tệp CSV, Parquet hoặc NDJSON (có thể nén gzip).")],
                 source: Annotated[str, typer.Option("--source", help="Tên nguồn dữ liệu.")],
                 strict: Annotated[bool, _STRICT] = False, show: Annotated[int, _SHOW] = 20) -> None:
    """Nạp bản ghi sử dụng (mỗi tệp là một lô nguyên tử)."""
    _ingest("usage", files, source, strict, show)


@ingest_app.command("weights")
def ingest_weights(files: Annotated[list[Path], typer.Argument()],
                   source: Annotated[str, typer.Option("--source")],
                   strict: Annotated[bool, _STRICT] = False, show: Annotated[int, _SHOW] = 20) -> None:
    """Nạp trọng số mẫu (user_id, month, weight)."""
    _ingest("weights", files, source, strict, show)


@ingest_app.command("aggregates")
def ingest_aggregates(files: Annotated[list[Path], typer.Argument()],
                      source: Annotated[str, typer.Option("--source")],
                      strict: Annotated[bool, _STRICT] = False, show: Annotated[int, _SHOW] = 20) -> None:
    """Nạp số liệu tổng hợp đã công bố (platform, period, metric, value)."""
    _ingest("aggregates", files, source, strict, show)


@ingest_app.command("indicators")
def ingest_indicators(files: Annotated[list[Path], typer.Argument(help="Tệp CSV, Parquet, NDJSON hoặc Excel (.xlsx): entity, indicator, period, value (+ self_score, council_score, evidence, source).")],
                      source: Annotated[str, typer.Option("--source")],
                      strict: Annotated[bool, _STRICT] = False, show: Annotated[int, _SHOW] = 20) -> None:
    """Nạp giá trị chỉ số (quốc gia, bộ, tỉnh) cho các bộ chỉ số và mục tiêu."""
    _ingest("indicators", files, source, strict, show)


app.command("index")(index_command)
app.command("targets")(targets_command)
app.command("compute-indicators")(compute_indicators_command)
app.command("scorecard")(scorecard_command)


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


class EngineName(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


class DistinctCount(str, Enum):
    exact = "exact"
    sketch = "sketch"


class By(str, Enum):
    platform = "platform"
    province = "province"
    category = "category"


@app.command()
def metrics(period: Annotated[str, typer.Option("--period", help="Kỳ: YYYY-MM hoặc YYYY-Qn.")],
            by: Annotated[By, typer.Option("--by", help="Chi tiết theo nền tảng, tỉnh hoặc nhóm.")] = By.platform,
            source: Annotated[Optional[str], typer.Option("--source", help="Chỉ một nguồn.")] = None,
            fmt: Annotated[Format, typer.Option("--format")] = Format.table,
            output: Annotated[Optional[Path], typer.Option("--output", help="Ghi ra tệp thay vì màn hình.")] = None,
            explain: Annotated[bool, typer.Option("--explain", help="In câu SQL, không chạy.")] = False,
            dialect: Annotated[str, typer.Option("--dialect", help="Phương ngữ SQL cho --explain.")] = "duckdb",
            engine: Annotated[EngineName, typer.Option("--engine", help="Nơi chạy: duckdb (mặc định) hoặc spark.")] = EngineName.duckdb,
            master: Annotated[Optional[str], typer.Option("--master", help="Spark master: local[*], spark://máy:7077 (mặc định local[2]).")] = None,
            distinct: Annotated[DistinctCount, typer.Option("--distinct", help="MAU: exact (đếm chính xác, mặc định) hoặc sketch (ước lượng HLL, kèm sai số).")] = DistinctCount.exact) -> None:
    """Tính bộ chỉ số sử dụng cho một kỳ."""
    try:
        request = workflows.metric_request(period, by.value, source)
    except PeriodError as exc:
        raise fail(str(exc)) from exc
    if explain:
        print(workflows.explain(request, dialect))
        return
    if fmt is Format.parquet and output is None:
        raise fail("--format parquet cần --output TỆP.")
    if master and engine is not EngineName.spark:
        raise fail("--master chỉ dùng với --engine spark.")
    if distinct is DistinctCount.sketch and by is By.category:
        raise fail("--distinct sketch chỉ dùng với --by platform hoặc --by province.")
    table = workflows.metrics(State.home, request, engine.value, master, distinct.value)
    if fmt is Format.table:
        note = " (MAU ước lượng từ sketch HLL; xem cột distinct và mau_rse)" if distinct is DistinctCount.sketch else ""
        out.print(format_table(table, title=f"Chỉ số kỳ {request.period.label}{note}"))
        if output:
            write_table(table, "csv", output)
        return
    write_table(table, fmt.value, output)


@quarantine_app.command("list")
def quarantine_list(source: Annotated[Optional[str], typer.Option("--source")] = None,
                    fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Liệt kê các dòng đang bị cách ly, với tệp, dòng, cột và lý do."""
    entries = workflows.quarantine_entries(State.home, source)
    if fmt is Format.table:
        from thuocdo.output import quarantine_table

        out.print(quarantine_table(entries))
    else:
        write_table(entries, fmt.value, None)


@quarantine_app.command("export")
def quarantine_export(output: Annotated[Path, typer.Option("--output")],
                      source: Annotated[Optional[str], typer.Option("--source")] = None) -> None:
    """Xuất các dòng bị cách ly ra CSV để sửa (user_key thay cho user_id)."""
    n = workflows.quarantine_export(State.home, output, source)
    out.print(f"Đã ghi {n:,} dòng vào {output}.")


@quarantine_app.command("retry")
def quarantine_retry(file: Annotated[Optional[Path], typer.Argument(help="Tệp đã sửa (từ quarantine export).")] = None,
                     source: Annotated[Optional[str], typer.Option("--source")] = None,
                     strict: Annotated[bool, _STRICT] = False) -> None:
    """Nạp lại các dòng bị cách ly (sau khi sửa tệp, hoặc sau khi danh mục được bổ sung)."""
    if file is not None and not file.is_file():
        raise fail(f"Không tìm thấy tệp: {file}")
    results = workflows.quarantine_retry(State.home, file, source)
    _print_results(results, 20)
    if strict and any(r.rejected for r in results):
        raise typer.Exit(1)


@app.command()
def demo(persons: Annotated[Optional[int], typer.Option("--persons", help="Số người trong bảng mẫu (mặc định 3.400).")] = None,
         seed: Annotated[int, typer.Option("--seed")] = 2022,
         scale: Annotated[float, typer.Option("--scale", help="Nhân cỡ bảng mẫu và số bản ghi (ví dụ 2, 10).")] = 1.0) -> None:
    """Tạo bộ dữ liệu mẫu, nạp, in bảng chỉ số và lập báo cáo quý I/2022 (MD, HTML, DOCX, PDF)."""
    from thuocdo.demo.run import run_demo

    run_demo(State.home, persons=persons, seed=seed, scale=scale, console=out, progress_console=err)


app.command("report")(report_command)
app.command("serve")(serve_command)
app.command("publish")(publish_command)
app.add_typer(keys_app, name="keys")


def main() -> None:
    try:
        app(standalone_mode=True)
    except (workflows.InputError, StoreError) as exc:
        err.print(f"[red]Lỗi:[/red] {exc}", highlight=False)
        sys.exit(2)
