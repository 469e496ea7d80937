"""`thuocdo migrate`: move the embedded store's usage sources into the home's lakehouse (Iceberg tables)."""

from __future__ import annotations

from typing import Annotated

import typer

from thuocdo.cli.common import home, out
from thuocdo.cli.ingest import rollup_summary, spark_steps
from thuocdo.reports.vietnamese import format_number
from thuocdo.workflows.migrate import migrate


def migrate_command(ctx: typer.Context,
                    sources: Annotated[list[str] | None, typer.Option(
                        "--source", help="Chỉ chuyển nguồn này (lặp lại cho nhiều nguồn; mặc định: mọi nguồn).")]
                    = None) -> None:
    """Chuyển số liệu sử dụng của kho nhúng sang lakehouse (bảng Iceberg): của cụm nếu cụm đang chạy, nếu không
    thì lakehouse cục bộ trong thư mục dữ liệu. Chạy lại an toàn: phần đã chuyển không bị ghi hai lần."""
    with spark_steps("Chuyển sang lakehouse") as on_step:
        done = migrate(home(ctx), sources or None, on_step=on_step)
    for name in done.already:
        out.print(f"Nguồn {name} đã ở lakehouse {done.lakehouse}.", highlight=False)
    if not done.moved:
        if not done.already:
            out.print("Kho nhúng không còn nguồn sử dụng nào để chuyển.")
        return
    for moved in done.moved:
        out.print(f"Nguồn {moved.source} đã chuyển sang lakehouse {done.lakehouse}: {format_number(moved.days)} ngày, "
                  f"{format_number(moved.person_days)} bản ghi người-ngày và {format_number(moved.keys)} khóa bản ghi "
                  f"({format_number(moved.stored)} dòng ghi mới), {format_number(moved.batches)} lô trong sổ; tổng hợp "
                  "tháng khớp với kho nhúng.", highlight=False)
        if moved.report is not None:
            out.print(rollup_summary(moved.report), highlight=False)
