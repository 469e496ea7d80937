"""`thuocdo retention`: retention cohorts of a source (:mod:`thuocdo.metrics.retention`)."""

from __future__ import annotations

from enum import Enum
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
from thuocdo.model.periods import PeriodError
from thuocdo.reports.tabular import format_table, write_table
from thuocdo.workflows.retention import InputError, retention


class RetentionBy(str, Enum):
    province = "province"


def retention_command(ctx: typer.Context,
                      cohort: Annotated[str, typer.Option("--cohort", help="Tháng của nhóm người dùng (YYYY-MM).")],
                      months: Annotated[int, typer.Option("--months", help="Số tháng theo dõi sau tháng đó.")],
                      platform: Annotated[str | None, typer.Option(
                          "--platform", help="Chỉ nền tảng này (mã trong danh mục).")] = None,
                      source: Annotated[str | None, typer.Option(
                          "--source", help="Nguồn (mặc định: nguồn duy nhất có bản ghi sử dụng).")] = None,
                      by: Annotated[RetentionBy | None, typer.Option(
                          "--by", help="province: chia theo tỉnh của người dùng trong tháng của nhóm.")] = None,
                      fmt: MetricFormatOption = MetricFormat.table,
                      output: OutputOption = None,
                      engine: EngineOption = EngineName.duckdb, master: MasterOption = None) -> None:
    """Tỷ lệ giữ chân người dùng: trong số người dùng một nền tảng trong tháng của nhóm, bao nhiêu phần còn dùng
    ở mỗi tháng sau đó."""
    needs_output(fmt, output)
    check_master(engine, master)
    try:
        found = retention(home(ctx), cohort, months, platform=platform, source=source,
                          by_province=by is RetentionBy.province, engine=engine.value, master=master)
    except (InputError, PeriodError) as exc:
        raise fail(str(exc)) from exc
    if fmt is MetricFormat.table:
        out.print(format_table(found.table, title=f"Tỷ lệ giữ chân người dùng, nhóm tháng {cohort} (nguồn "
                                                  f"{found.source})"))
        if output:
            write_table(found.table, "csv", output)
        return
    write_table(found.table, fmt.value, output)
