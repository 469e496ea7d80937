"""`thuocdo bands`: how many platforms have more than 10 M, 5-10 M, 1-5 M monthly active users, and how many of
them are Vietnamese (:mod:`thuocdo.metrics.bands`)."""

from __future__ import annotations

from typing import Annotated

import typer

from thuocdo.cli.common import (
    EngineName,
    EngineOption,
    MasterOption,
    MetricFormat,
    MetricFormatOption,
    OptionalSourceOption,
    OutputOption,
    check_master,
    fail,
    home,
    needs_output,
    out,
)
from thuocdo.metrics.bands import DEFAULT_THRESHOLDS, ThresholdError, parse_thresholds
from thuocdo.model.periods import PeriodError
from thuocdo.reports.tabular import format_table, write_table
from thuocdo.reports.vietnamese import format_number
from thuocdo.workflows import metrics as metric_workflow


def bands_command(ctx: typer.Context,
                  period: Annotated[str, typer.Option("--period", help="Kỳ: YYYY-MM hoặc YYYY-Qn.")],
                  thresholds: Annotated[str | None, typer.Option(
                      "--thresholds", help="Các ngưỡng người dùng hằng tháng, giảm dần, cách nhau bởi dấu phẩy "
                                           f"(mặc định {','.join(str(t) for t in DEFAULT_THRESHOLDS)}).",
                      show_default=False)] = None,
                  source: OptionalSourceOption = None,
                  fmt: MetricFormatOption = MetricFormat.table,
                  output: OutputOption = None,
                  engine: EngineOption = EngineName.duckdb, master: MasterOption = None) -> None:
    """Đếm nền tảng theo nhóm số người dùng hằng tháng (trên 10 triệu, 5–10 triệu…), trong đó của Việt Nam."""
    needs_output(fmt, output)
    check_master(engine, master)
    try:
        limits = parse_thresholds(thresholds)
        metric_workflow.metric_request(period)
        found = metric_workflow.bands(home(ctx), period, limits, source, engine.value, master)
    except (ThresholdError, PeriodError, metric_workflow.InputError) as exc:
        raise fail(str(exc)) from exc
    if fmt is MetricFormat.table:
        out.print(format_table(found.table, title=f"Số nền tảng theo số người dùng hằng tháng, kỳ {period} "
                                                  f"(nguồn {found.source})",
                               columns=["band_low", "band_high", "platforms", "vn_platforms", "foreign_platforms",
                                        "names"]))
        if found.missing:
            out.print(f"{format_number(found.missing)} nền tảng không có số liệu kỳ này, không được xếp nhóm.")
        if output:
            write_table(found.table, "csv", output)
        return
    write_table(found.table, fmt.value, output)
