"""`thuocdo demo`: the demo data set through the whole pipeline, to the reports and the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from thuocdo.cli.common import err, home, out


def demo(ctx: typer.Context,
         persons: Annotated[int | None, typer.Option(
             "--persons", help="Số người trong bảng mẫu (mặc định 3.400).")] = None,
         seed: Annotated[int, typer.Option("--seed")] = 2022,
         scale: Annotated[float, typer.Option(
             "--scale", help="Nhân cỡ bảng mẫu và số bản ghi (ví dụ 2, 10).")] = 1.0) -> None:
    """Tạo bộ dữ liệu mẫu, nạp, in bảng chỉ số và lập báo cáo quý I/2022 (MD, HTML, DOCX, PDF)."""
    from thuocdo.demo.run import run_demo  # the demo's generator and the web server load only when asked for

    run_demo(home(ctx), persons=persons, seed=seed, scale=scale, console=out, progress_console=err)
