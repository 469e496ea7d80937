"""`thuocdo demo`: generate the demo panel, ingest it through the real pipeline and show the metrics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.compute as pc
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from thuocdo import workflows
from thuocdo.catalog import load_catalog
from thuocdo.demo.generator import generate
from thuocdo.indices import workflow as index_workflow
from thuocdo.indices.cli import write_demo_indicators
from thuocdo.output import format_table
from thuocdo.reports.vietnamese import format_number
from thuocdo.store import resolve_home

PANEL_SOURCE = "demo-panel"
SUMMARY_COLUMNS = ["name", "category", "mau", "minutes_per_day", "mb_per_user", "mau_change_year"]
WEB_SOURCE = "demo-web-panel"
INDICATOR_SOURCE = "demo-indicators"


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
        indicators = write_demo_indicators(Path(tmp) / "indicators.csv")
        workflows.ingest(home, "indicators", [indicators], INDICATOR_SOURCE)
    table = workflows.metrics(home, workflows.metric_request("2022-Q1", "platform", PANEL_SOURCE))
    top = pc.less_equal(pc.fill_null(table["rank_in_category"], 99), 3)
    console.print(format_table(table.filter(top), columns=SUMMARY_COLUMNS,
                               title="Ba nền tảng dẫn đầu mỗi nhóm theo MAU, quý I/2022 (bảng mẫu)"))
    shares = workflows.metrics(home, workflows.metric_request("2022-Q1", "category", PANEL_SOURCE))
    console.print(format_table(shares.filter(pc.equal(shares["metric"], "mau")),
                               columns=["category", "domestic_share", "domestic_foreign_ratio"],
                               title="Tỷ trọng MAU của nền tảng Việt Nam theo nhóm, quý I/2022"))
    _print_scorecards(home, console)
    console.print(f"Kho dữ liệu: {home}. Xem đầy đủ: thuocdo --home {home} metrics --period 2022-Q1; "
                  f"thuocdo --home {home} index --framework dti-2025 --period 2024; "
                  f"thuocdo --home {home} targets --year 2024")


def _print_scorecards(home: Path, console: Console) -> None:
    """The top of the provincial DTI ranking with its rank intervals, and the national targets."""
    run = index_workflow.run_index(home, "dti-2025", "2024", "province", None, 200)
    table = index_workflow.index_table(run).slice(0, 10)
    rich = Table(title=f"{run.framework.name_vi}: mười tỉnh, thành phố dẫn đầu năm 2024", title_justify="left")
    for header in ("Hạng", "Tỉnh, thành phố", "Điểm", "Khoảng hạng 5–95%"):
        rich.add_column(header, justify="left" if header == "Tỉnh, thành phố" else "right")
    for row in table.to_pylist():
        interval = f"{row['rank_p05']:.0f}–{row['rank_p95']:.0f}" if row.get("rank_p05") is not None else "–"
        rich.add_row(f"{row['rank']:.0f}", row["name"], format_number(row["score"], run.level.decimals), interval)
    console.print(rich)
    targets = index_workflow.targets_table(index_workflow.run_targets(home, 2024)).to_pylist()
    rich = Table(title="Mục tiêu quốc gia: số liệu mới nhất so với mục tiêu", title_justify="left")
    for header in ("Chỉ tiêu", "Thực tế", "Mục tiêu", "Năm", "Đánh giá"):
        rich.add_column(header, justify="left" if header in ("Chỉ tiêu", "Đánh giá") else "right")
    for t in targets[:12]:
        rich.add_row(t["label"], _with_unit(t["actual"], t["unit"]), _with_unit(t["target_value"], t["unit"]),
                     str(t["target_year"]), t["status_vi"] or "")
    console.print(rich)


_UNITS = {"percent": "%", "percent_per_year": "%/năm", "usd_bn": " tỷ USD", "rank": ""}


def _with_unit(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "rank":
        return f"hạng {format_number(value)}"
    return format_number(value, 2 if unit.startswith("percent") else 1) + _UNITS.get(unit, "")
