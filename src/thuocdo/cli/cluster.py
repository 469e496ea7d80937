"""`thuocdo cluster up|down|status`: the local lakehouse cluster (object store, catalog, Spark) of a home."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table

from thuocdo.cli.common import Typer, err, fail, home, out
from thuocdo.store import resolve_home
from thuocdo.workflows import cluster as cluster_workflow
from thuocdo.workflows.cluster import ClusterError, ServiceError, Step

cluster_app = Typer(no_args_is_help=True, help="Cụm lakehouse trên máy này (S3, danh mục Iceberg, Spark): "
                                                     "up | down | status.")

#: the parts as the user reads them
PART_NAMES = {
    "object_store": "Kho đối tượng S3 (SeaweedFS)",
    "catalog": "Danh mục Iceberg (PostgreSQL)",
    "spark": "Spark (master và worker)",
}
#: shorter, for the status table
SHORT_NAMES = {"object_store": "S3 (SeaweedFS)", "catalog": "Danh mục Iceberg (PostgreSQL)", "spark": "Spark"}


def _home(ctx: typer.Context, own: Path | None) -> Path:
    """The subcommand's own --home, else the root command's (then THUOCDO_HOME, ~/.thuocdo)."""
    return resolve_home(own or home(ctx))


def _seconds(value: float) -> str:
    return f"{value:.1f}".replace(".", ",") + " giây"


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}".replace(",", ".") + " MiB"


class _Progress:
    """Shows each step of `up` or `down` while it runs (a spinner), then a line once it is done."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None

    def __call__(self, step: Step) -> None:
        name = PART_NAMES[step.part]
        extra = f" với {step.detail} worker" if step.part == "spark" and step.detail else ""
        if step.phase in ("starting", "stopping"):
            verb = "Đang khởi động" if step.phase == "starting" else "Đang dừng"
            self.status = self.console.status(f"{verb} {name}{extra}…")
            self.status.start()
            return
        if self.status is not None:
            self.status.stop()
            self.status = None
        done = "đã sẵn sàng" if step.phase == "ready" else "đã dừng"
        self.console.print(f"[green]✓[/green] {name}{extra} {done} ({_seconds(step.seconds)})", highlight=False)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


HomeHere = Annotated[Path | None, typer.Option("--home", help="Thư mục kho dữ liệu (như --home của thuocdo).")]


@cluster_app.command("up")
def cluster_up(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Số worker Spark (mỗi worker 1 lõi, 1 GiB).")] = 2,
    home_dir: HomeHere = None,
) -> None:
    """Khởi động cụm trên 127.0.0.1: kho đối tượng S3, danh mục Iceberg trên PostgreSQL, Spark master và worker."""
    root = _home(ctx, home_dir)
    progress = _Progress(err)
    try:
        config = cluster_workflow.cluster_up(root, workers, on_step=progress)
    except (ClusterError, ServiceError) as exc:
        raise fail(str(exc)) from exc
    finally:
        progress.close()
    err.print(f"Cụm đang chạy; cấu hình ở {cluster_workflow.config_path(root)}, thông tin đăng nhập ở "
              f"{config.credentials}.", highlight=False)
    _print_status(root)


@cluster_app.command("down")
def cluster_down(ctx: typer.Context, home_dir: HomeHere = None) -> None:
    """Dừng mọi tiến trình mà cluster up đã khởi động (dữ liệu và thông tin đăng nhập được giữ lại)."""
    root = _home(ctx, home_dir)
    progress = _Progress(err)
    try:
        stopped = cluster_workflow.cluster_down(root, on_step=progress)
    except ClusterError as exc:
        raise fail(str(exc)) from exc
    finally:
        progress.close()
    err.print("Đã dừng cụm." if stopped else f"Cụm của {root} không chạy.", highlight=False)


@cluster_app.command("status")
def cluster_status(ctx: typer.Context, home_dir: HomeHere = None) -> None:
    """Tình trạng từng phần của cụm: đang chạy hay không, địa chỉ, tiến trình, bộ nhớ."""
    root = _home(ctx, home_dir)
    try:
        running = _print_status(root)
    except ClusterError as exc:
        raise fail(str(exc)) from exc
    if not running:
        raise typer.Exit(1)


def _print_status(root: Path) -> bool:
    """Print the table of parts; True when every part runs."""
    parts = cluster_workflow.cluster_status(root)
    if parts is None:
        out.print(f"Cụm của {root} không chạy (chưa khởi động, hoặc đã dừng).", highlight=False)
        return False
    table = Table(title=f"Cụm lakehouse của {root}")
    for column in ("Thành phần", "Trạng thái", "Địa chỉ", "PID", "Số tiến trình", "Bộ nhớ (RSS)"):
        table.add_column(column, justify="left" if column in ("Thành phần", "Trạng thái", "Địa chỉ") else "right")
    for part in parts:
        table.add_row(SHORT_NAMES[part.part], "[green]đang chạy[/green]" if part.running else "[red]không chạy[/red]",
                      part.address + (f" ({part.workers} worker)" if part.workers is not None else ""),
                      " ".join(str(p.pid) for p in part.recorded), str(len(part.processes)),
                      _mib(part.rss))
    out.print(table)
    return all(part.running for part in parts)
