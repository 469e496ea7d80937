"""`thuocdo quality`: the quality monitor of a source's deliveries (:mod:`thuocdo.metrics.quality`)."""

from __future__ import annotations

from typing import Annotated

import typer

from thuocdo.cli.common import (
    EngineName,
    EngineOption,
    MasterOption,
    MetricFormat,
    MetricFormatOption,
    OutputOption,
    check_master,
    fail,
    home,
    needs_output,
    out,
)
from thuocdo.metrics.quality import Summary
from thuocdo.model.periods import PeriodError
from thuocdo.reports.tabular import QUALITY_TITLES, format_table, write_table
from thuocdo.reports.vietnamese import format_number, format_percent, format_short_date
from thuocdo.workflows.quality import InputError, quality


def quality_command(ctx: typer.Context,
                    source: Annotated[str, typer.Option("--source", help="Nguồn cần theo dõi.")],
                    period: Annotated[str, typer.Option("--period", help="Kỳ: tháng YYYY-MM hoặc quý YYYY-Qn.")],
                    late_days: Annotated[int, typer.Option(
                        "--late-days", help="Bản ghi lưu sau ngày hoạt động quá số ngày này là đến muộn.")] = 2,
                    fmt: MetricFormatOption = MetricFormat.table,
                    output: OutputOption = None,
                    engine: EngineOption = EngineName.duckdb, master: MasterOption = None) -> None:
    """Chất lượng số liệu của một nguồn theo từng ngày: bản ghi đã lưu, bị loại, trùng lặp, đến muộn, số người,
    số nền tảng và tình trạng của ngày (đủ, thiếu, thấp hoặc cao bất thường)."""
    needs_output(fmt, output)
    check_master(engine, master)
    try:
        found = quality(home(ctx), source, period, late_days=late_days, engine=engine.value, master=master)
    except (InputError, PeriodError) as exc:
        raise fail(str(exc)) from exc
    if fmt is MetricFormat.table:
        out.print(format_table(found.days, title=f"Chất lượng số liệu của nguồn {source}, kỳ {found.period.label}",
                               columns=list(found.days.column_names)))
        for line in summary_lines(found.summary, late_days):
            out.print(line, highlight=False)
        if output:
            write_table(found.days, "csv", output)
        return
    write_table(found.days, fmt.value, output, QUALITY_TITLES)


def summary_lines(summary: Summary, late_days: int) -> list[str]:
    """The summary in Vietnamese, under the terminal table."""
    if not summary.days:
        span = (f"từ {format_short_date(summary.first_day)} đến {format_short_date(summary.last_day)}"
                if summary.first_day and summary.last_day else "chưa có")
        return [f"Nguồn không có bản ghi nào trong kỳ (các ngày đã gửi: {span})."]
    lines = [f"Ngày đủ số liệu: {summary.days_complete}/{summary.days} (thiếu {summary.days_missing}, thấp bất "
             f"thường {summary.days_low}, cao bất thường {summary.days_high}).",
             f"Bản ghi đã lưu: {format_number(summary.records)}; dòng bị loại: {format_number(summary.rejected)} "
             f"({format_percent(summary.rejected_share, 2)} số dòng nhận được); trùng lặp: "
             f"{format_number(summary.duplicates)}; đến muộn (sau hơn {late_days} ngày): "
             f"{format_number(summary.late_records)}."]
    if summary.median_lateness_days is not None:
        lines.append(f"Độ trễ trung vị: {format_number(summary.median_lateness_days)} ngày.")
    if summary.rejected_undated:
        lines.append(f"Ngoài ra {format_number(summary.rejected_undated)} dòng bị loại không đọc được thời gian.")
    return lines
