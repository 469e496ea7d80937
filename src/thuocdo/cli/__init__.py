"""The command line (stable: scripts call it). Thin: parse, call a workflow, print.

Exit status: 0 done; 1 done but rows were rejected and --strict was given; 2 nothing done (bad arguments,
unreadable input), with the reason on stderr.
"""

from __future__ import annotations

import sys

import duckdb

from thuocdo.cli.bands import bands_command
from thuocdo.cli.cluster import cluster_app
from thuocdo.cli.common import HomeOption, Typer, err
from thuocdo.cli.demo import demo
from thuocdo.cli.indices import compute_indicators_command, index_command, targets_command
from thuocdo.cli.ingest import ingest_app
from thuocdo.cli.metrics import metrics
from thuocdo.cli.migrate import migrate_command
from thuocdo.cli.quality import quality_command
from thuocdo.cli.quarantine import quarantine_app
from thuocdo.cli.reports import report_command, scorecard_command
from thuocdo.cli.retention import retention_command
from thuocdo.cli.sources import sources_app
from thuocdo.cli.web import keys_app, publish_command, serve_command
from thuocdo.ingest.readers import InputError
from thuocdo.store import StoreError
from thuocdo.store.home import MEMORY_LIMIT_ENV, memory_limit

app = Typer(add_completion=False, no_args_is_help=True, help="thuocdo: đo lường chuyển đổi số Việt Nam.")


@app.callback()
def _root(home: HomeOption = None) -> None:  # read back by every command with thuocdo.cli.common.home
    pass


app.add_typer(ingest_app, name="ingest")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(sources_app, name="sources")
app.command("index")(index_command)
app.command("targets")(targets_command)
app.command("compute-indicators")(compute_indicators_command)
app.command("scorecard")(scorecard_command)
app.command("metrics")(metrics)
app.command("bands")(bands_command)
app.command("retention")(retention_command)
app.command("quality")(quality_command)
app.command("demo")(demo)
app.command("report")(report_command)
app.command("serve")(serve_command)
app.command("publish")(publish_command)
app.add_typer(keys_app, name="keys")
app.add_typer(cluster_app, name="cluster")
app.command("migrate")(migrate_command)


def main() -> None:
    try:
        app(standalone_mode=True)
    except (InputError, StoreError) as exc:
        err.print(f"[red]Lỗi:[/red] {exc}", highlight=False)
        sys.exit(2)
    except duckdb.OutOfMemoryException:
        limit = memory_limit() or "mức mặc định của DuckDB (80% bộ nhớ)"
        err.print(f"[red]Lỗi:[/red] không đủ bộ nhớ: cơ sở dữ liệu của kho chỉ được dùng {limit} "
                  f"({MEMORY_LIMIT_ENV}). Hãy đặt giới hạn lớn hơn, ví dụ {MEMORY_LIMIT_ENV}=8GB, rồi chạy lại lệnh: "
                  "những tệp đã nạp xong vẫn được giữ, phần việc còn lại được làm tiếp.", highlight=False)
        sys.exit(2)
