"""`thuocdo ingest usage|weights|aggregates|indicators`: one atomic batch per file, with progress; `thuocdo ingest
landed`: the batches posted over HTTP for the lakehouse's sources, ingested by either engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from thuocdo.cli.common import (
    EngineName,
    MasterOption,
    ShowOption,
    SourceOption,
    StrictOption,
    Typer,
    check_source,
    err,
    fail,
    home,
    out,
)
from thuocdo.ingest.readers import InputError
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.spark_ingest import SparkIngestReport
from thuocdo.reports.vietnamese import format_number
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.cluster import ClusterError

ingest_app = Typer(no_args_is_help=True,
                   help="Nạp dữ liệu: usage | weights | aggregates | indicators | landed (lô chờ của lakehouse).")


def ingest_files(ctx: typer.Context, kind: str, files: list[Path], source: str, strict: bool, show: int) -> None:
    check_source(source)
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

        report = ingest_workflow.ingest(home(ctx), kind, files, source, on_file, on_rollup)
    print_results(report.results, show)
    for message in report.errors:
        err.print(f"[red]Lỗi:[/red] {message}", highlight=False)
    if report.errors:
        raise typer.Exit(2)
    if strict and report.rejected:
        raise typer.Exit(1)


def print_results(results: list[BatchResult], show: int) -> None:
    """The table of batches on stdout; the first `show` problems and the count of rejected rows on stderr."""
    table = Table(title="Kết quả nạp dữ liệu", title_justify="left")
    for col in ("Tệp", "Đọc", "Lưu mới", "Trùng lặp", "Bị loại"):
        table.add_column(col, justify="left" if col == "Tệp" else "right")
    for r in results:
        table.add_row(r.file, *(format_number(n) for n in (r.rows_read, r.stored, r.duplicates, r.rejected)))
    out.print(table)
    shown = [p for r in results for p in r.problems][:show]
    for p in shown:
        err.print(p.text(), highlight=False, markup=False)
    rejected = sum(r.rejected for r in results)
    if rejected:
        err.print(f"{format_number(rejected)} dòng bị loại, đã đưa vào khu cách ly; xem: thuocdo quarantine list",
                  highlight=False)


@ingest_app.command("usage")
def ingest_usage(ctx: typer.Context,
                 files: Annotated[list[str], typer.Argument(
                     help="Tệp CSV, Parquet hoặc NDJSON (có thể nén gzip); với --engine spark cả tiền tố s3://.")],
                 source: SourceOption, strict: StrictOption = False, show: ShowOption = 20,
                 engine: Annotated[EngineName, typer.Option(
                     "--engine", help="Nơi chạy: duckdb (mặc định) hoặc spark (vào kho lakehouse của cụm).")
                 ] = EngineName.duckdb,
                 master: MasterOption = None) -> None:
    """Nạp bản ghi sử dụng (mỗi tệp là một lô nguyên tử)."""
    if engine is EngineName.spark:
        ingest_with_spark(ctx, files, source, strict, show, master)
        return
    if master:
        raise fail("--master chỉ dùng với --engine spark.")
    if any(f.startswith(("s3://", "s3a://")) for f in files):
        raise fail("Đường dẫn s3:// chỉ nạp được với --engine spark.")
    ingest_files(ctx, "usage", [Path(f) for f in files], source, strict, show)


def ingest_with_spark(ctx: typer.Context, files: list[str], source: str, strict: bool, show: int,
                      master: str | None) -> None:
    check_source(source)
    missing = [f for f in files if not f.startswith(("s3://", "s3a://")) and not Path(f).is_file()]
    if missing:
        raise fail("Không tìm thấy tệp: " + ", ".join(missing))
    with spark_steps(f"Nạp usage vào nguồn {source} bằng Spark") as on_step:
        report = ingest_workflow.ingest_spark(home(ctx), files, source, master=master, on_step=on_step)
    print_spark_report(report, show)
    if report.errors:
        raise typer.Exit(2)
    if strict and any(r.rejected for r in report.results):
        raise typer.Exit(1)


@ingest_app.command("landed")
def ingest_landed(ctx: typer.Context,
                  source: Annotated[str | None, typer.Option(
                      "--source", help="Chỉ nguồn này (mặc định: mọi nguồn có lô đang chờ).")] = None,
                  show: ShowOption = 20,
                  engine: Annotated[EngineName, typer.Option(
                      "--engine", help="Nơi chạy: duckdb (mặc định, máy này) hoặc spark (trên cụm).")
                  ] = EngineName.duckdb,
                  master: MasterOption = None) -> None:
    """Nạp các lô gửi qua HTTP vào nguồn nằm trong lakehouse (đang chờ trên kho đối tượng của cụm; máy chủ
    thuocdo serve cũng tự nạp định kỳ)."""
    if source is not None:
        check_source(source)
    if master is not None and engine is not EngineName.spark:
        raise fail("--master chỉ dùng với --engine spark.")
    by = "Spark" if engine is EngineName.spark else "DuckDB"
    with spark_steps(f"Nạp các lô đang chờ bằng {by}") as on_step:
        reports = ingest_workflow.ingest_landed(home(ctx), source, engine=engine.value, master=master,
                                                on_step=on_step)
    if not reports:
        out.print("Không có lô nào đang chờ.")
        return
    for name, report in reports.items():
        out.print(f"Nguồn {name}:", highlight=False)
        print_spark_report(report, show)
    if any(r.errors for r in reports.values()):
        raise typer.Exit(2)


@contextmanager
def spark_steps(description: str) -> Iterator[Callable[[str], None]]:
    """A Spark ingestion's progress (each step named after `description`); its refusals exit 2 with their reason."""
    columns = (TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(description, total=None)
            yield lambda name: progress.update(task, description=f"{description}: {name}")
    except (InputError, ClusterError) as exc:
        raise fail(str(exc)) from exc


def print_spark_report(report: SparkIngestReport, show: int) -> None:
    """A Spark ingestion's batches, what it brought up to date in the lakehouse's rollups, and its errors."""
    print_results(report.results, show)
    out.print(rollup_summary(report), highlight=False)
    for message in report.errors:
        err.print(f"[red]Lỗi:[/red] {message}", highlight=False)


def rollup_summary(report: SparkIngestReport) -> str:
    """What a Spark ingestion brought up to date in the lakehouse's rollups, in a sentence."""
    months = report.person_month
    parts = [f"{format_number(report.days_rebuilt)} ngày người-ngày dựng lại"]
    if months.incremental:
        parts.append(f"{format_number(months.person_months)} người-tháng tính lại trong "
                     f"{format_number(months.incremental)} tháng")
    if months.whole:
        parts.append(f"{format_number(months.whole)} tháng tính người-tháng toàn bộ")
    parts.append(f"{format_number(report.usage_months)} tháng tổng hợp cộng lại")
    if report.usage_weeks:
        parts.append(f"{format_number(report.usage_weeks)} tuần tổng hợp tính lại")
    return "Cập nhật tổng hợp ở lakehouse: " + "; ".join(parts) + "."


@ingest_app.command("weights")
def ingest_weights(ctx: typer.Context, files: Annotated[list[Path], typer.Argument()], source: SourceOption,
                   strict: StrictOption = False, show: ShowOption = 20) -> None:
    """Nạp trọng số mẫu (user_id, month, weight)."""
    ingest_files(ctx, "weights", files, source, strict, show)


@ingest_app.command("aggregates")
def ingest_aggregates(ctx: typer.Context, files: Annotated[list[Path], typer.Argument()], source: SourceOption,
                      strict: StrictOption = False, show: ShowOption = 20) -> None:
    """Nạp số liệu tổng hợp đã công bố (platform, period, metric, value)."""
    ingest_files(ctx, "aggregates", files, source, strict, show)


@ingest_app.command("indicators")
def ingest_indicators(ctx: typer.Context,
                      files: Annotated[list[Path], typer.Argument(
                          help="Tệp CSV, Parquet, NDJSON hoặc Excel (.xlsx): entity, indicator, period, value "
                               "(+ self_score, council_score, evidence, source).")],
                      source: SourceOption, strict: StrictOption = False, show: ShowOption = 20) -> None:
    """Nạp giá trị chỉ số (quốc gia, bộ, tỉnh) cho các bộ chỉ số và mục tiêu."""
    ingest_files(ctx, "indicators", files, source, strict, show)
