"""`thuocdo metrics`: the metric set of a period, on DuckDB or Spark, as a table, CSV, JSON, Parquet or XLSX."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from thuocdo.cli.common import (
    EngineName,
    MetricFormat,
    OptionalSourceOption,
    OutputOption,
    fail,
    home,
    needs_output,
    out,
)
from thuocdo.model.periods import PeriodError
from thuocdo.reports.tabular import format_table, write_table
from thuocdo.workflows import metrics as metric_workflow


class DistinctCount(str, Enum):
    exact = "exact"
    sketch = "sketch"


class By(str, Enum):
    platform = "platform"
    province = "province"
    category = "category"


def metrics(ctx: typer.Context,
            period: Annotated[str, typer.Option("--period", help="Kỳ: YYYY-MM hoặc YYYY-Qn.")],
            by: Annotated[By, typer.Option("--by", help="Chi tiết theo nền tảng, tỉnh hoặc nhóm.")] = By.platform,
            source: OptionalSourceOption = None,
            fmt: Annotated[MetricFormat, typer.Option(
                "--format", help="table (màn hình), csv, json, parquet hoặc xlsx (Excel; cần --output).")
            ] = MetricFormat.table,
            output: OutputOption = None,
            explain: Annotated[bool, typer.Option("--explain", help="In câu SQL, không chạy.")] = False,
            dialect: Annotated[str, typer.Option("--dialect", help="Phương ngữ SQL cho --explain.")] = "duckdb",
            engine: Annotated[EngineName, typer.Option(
                "--engine", help="Nơi chạy: duckdb (mặc định) hoặc spark.")] = EngineName.duckdb,
            master: Annotated[str | None, typer.Option(
                "--master", help="Spark master: local[*], spark://máy:7077 (mặc định local[2]).")] = None,
            distinct: Annotated[DistinctCount, typer.Option(
                "--distinct",
                help="MAU: exact (đếm chính xác, mặc định) hoặc sketch (ước lượng HLL, kèm sai số).",
            )] = DistinctCount.exact) -> None:
    """Tính bộ chỉ số sử dụng cho một kỳ."""
    try:
        request = metric_workflow.metric_request(period, by.value, source)
    except PeriodError as exc:
        raise fail(str(exc)) from exc
    if explain:
        print(metric_workflow.explain(request, dialect))
        return
    needs_output(fmt, output)
    if master and engine is not EngineName.spark:
        raise fail("--master chỉ dùng với --engine spark.")
    if distinct is DistinctCount.sketch and by is By.category:
        raise fail("--distinct sketch chỉ dùng với --by platform hoặc --by province.")
    try:
        table = metric_workflow.metrics(home(ctx), request, engine.value, master, distinct.value)
    except metric_workflow.InputError as exc:
        raise fail(str(exc)) from exc
    if fmt is MetricFormat.table:
        note = " (MAU ước lượng từ sketch HLL; xem cột distinct và mau_rse)" if distinct is DistinctCount.sketch else ""
        out.print(format_table(table, title=f"Chỉ số kỳ {request.period.label}{note}"))
        if output:
            write_table(table, "csv", output)
        return
    write_table(table, fmt.value, output)
