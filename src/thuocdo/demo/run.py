"""`thuocdo demo`: generate the demo panel, ingest it through the real pipeline and show the metrics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.compute as pc
from rich.console import Console
from rich.progress import Progress

from thuocdo import workflows
from thuocdo.catalog import load_catalog
from thuocdo.demo.generator import generate
from thuocdo.output import format_table
from thuocdo.store import resolve_home

PANEL_SOURCE = "demo-panel"
SUMMARY_COLUMNS = ["name", "category", "mau", "minutes_per_day", "mb_per_user", "mau_change_year"]
WEB_SOURCE = "demo-web-panel"


def run_demo(home: Path | None, *, persons: int, seed: int, console: Console, progress_console: Console) -> None:
    home = resolve_home(home)
    with tempfile.TemporaryDirectory(prefix="thuocdo-demo-") as tmp, Progress(console=progress_console,
                                                                              transient=True) as progress:
        task = progress.add_task(f"Tạo bảng mẫu {persons:,} người".replace(",", "."), total=None)
        files = generate(load_catalog(), Path(tmp), persons, seed)
        progress.update(task, total=len(files.usage) + 3, completed=1,
                        description=f"Nạp {files.records:,} bản ghi".replace(",", "."))
        workflows.ingest(home, "weights", [files.weights], PANEL_SOURCE)
        progress.advance(task)
        workflows.ingest(home, "usage", files.usage, PANEL_SOURCE, on_file=lambda *_: progress.advance(task))
        workflows.ingest(home, "aggregates", [files.aggregates], WEB_SOURCE)
        progress.advance(task)
    table = workflows.metrics(home, workflows.metric_request("2022-Q1", "platform", PANEL_SOURCE))
    top = pc.less_equal(pc.fill_null(table["rank_in_category"], 99), 3)
    console.print(format_table(table.filter(top), columns=SUMMARY_COLUMNS,
                               title="Ba nền tảng dẫn đầu mỗi nhóm theo MAU, quý I/2022 (bảng mẫu)"))
    shares = workflows.metrics(home, workflows.metric_request("2022-Q1", "category", PANEL_SOURCE))
    console.print(format_table(shares.filter(pc.equal(shares["metric"], "mau")),
                               columns=["category", "domestic_share", "domestic_foreign_ratio"],
                               title="Tỷ trọng MAU của nền tảng Việt Nam theo nhóm, quý I/2022"))
    console.print(f"Kho dữ liệu: {home}. Xem đầy đủ: thuocdo --home {home} metrics --period 2022-Q1")
