"""Commands of the web face: `serve`, `keys create|list|revoke`, `publish`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from thuocdo.cli.common import EngineName, Typer, err, fail, home, out
from thuocdo.model.periods import PeriodError
from thuocdo.store import resolve_home
from thuocdo.workflows.access import ROLES, Access, AccessError

keys_app = Typer(no_args_is_help=True, help="Khóa API: create | list | revoke.")


def _home(ctx: typer.Context) -> Path:
    return resolve_home(home(ctx))


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Địa chỉ lắng nghe (mặc định chỉ máy này).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Cổng.")] = 8000,
    flush_rows: Annotated[int, typer.Option(
        "--flush-rows", help="Gộp hộp thư vào kho khi có chừng này bản ghi.")] = 1_000_000,
    reader_processes: Annotated[int, typer.Option(
        "--reader-processes", help="Số tiến trình đọc và kiểm tra các lô gửi lên (0: đọc trong tiến trình chính; "
                                   "mặc định: số lõi CPU, tối đa 4, nếu máy có từ hai lõi).", show_default=False)] = -1,
    database_threads: Annotated[int, typer.Option(
        "--database-threads", help="Số luồng của cơ sở dữ liệu cho truy vấn và gộp hộp thư (mặc định: số lõi còn lại "
                                   "sau các tiến trình đọc, ít nhất 1).", show_default=False)] = -1,
    landed_every: Annotated[float, typer.Option(
        "--landed-every", help="Nạp các lô chờ của lakehouse (gửi vào nguồn nằm trong lakehouse) sau mỗi chừng này "
                               "giây (0: không tự nạp; dùng thuocdo ingest landed).", min=0)] = 60.0,
    landed_engine: Annotated[EngineName, typer.Option(
        "--landed-engine", help="Nạp các lô chờ đó bằng: duckdb (mặc định, ngay trong máy chủ) hoặc spark.")
    ] = EngineName.duckdb,
    log_level: Annotated[str, typer.Option("--log-level", help="Mức ghi log của uvicorn.")] = "info",
) -> None:
    """Chạy bảng điều khiển và API (http://127.0.0.1:8000/, API tại /api/v1, tài liệu tại /api/v1/docs)."""
    import uvicorn

    from thuocdo.web.app import create_app  # the web stack loads only for `serve`
    from thuocdo.workflows.service import Settings

    home = _home(ctx)
    cores = os.cpu_count() or 1
    if reader_processes < 0:
        reader_processes = min(cores, 4) if cores > 1 else 0
    if database_threads < 0:  # a merge must not starve the readers of the cores they need to keep answering
        database_threads = max(1, cores - reader_processes)
    app = create_app(home, Settings(flush_rows=flush_rows, reader_processes=reader_processes,
                                    database_threads=database_threads, landed_every=landed_every,
                                    landed_engine=landed_engine.value))
    err.print(f"thuocdo phục vụ kho {home} tại http://{host}:{port}/ (API: /api/v1, tài liệu: /api/v1/docs)",
              highlight=False)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help=f"Vai trò: {', '.join(ROLES)}.")],
    source: Annotated[str | None, typer.Option("--source", help="Nguồn mà khóa source được ghi vào.")] = None,
    entity: Annotated[str | None, typer.Option(
        "--entity", help="Tỉnh/thành hoặc bộ mà khóa entity nộp chỉ số.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Ghi chú (ai giữ khóa).")] = None,
) -> None:
    """Tạo khóa API. Khóa chỉ in ra một lần; kho chỉ giữ bản băm."""
    try:
        key, info = Access(_home(ctx)).create_key(role, source=source, entity=entity, label=label, actor="cli")
    except AccessError as exc:
        raise fail(str(exc)) from exc
    err.print(f"Đã tạo khóa {info.id} (vai trò {info.role}{', nguồn ' + info.source if info.source else ''}"
              f"{', đơn vị ' + info.entity if info.entity else ''}). Lưu khóa dưới đây: nó không được in lại.",
              highlight=False)
    print(key)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """Liệt kê các khóa (mã khóa, vai trò, phạm vi, ngày tạo, ngày thu hồi)."""
    table = Table(title="Khóa API")
    for column in ("Mã khóa", "Vai trò", "Nguồn / đơn vị", "Ghi chú", "Tạo lúc", "Thu hồi lúc"):
        table.add_column(column)
    for k in Access(_home(ctx)).keys():
        table.add_row(k.id, k.role, k.source or k.entity or "", k.label or "", k.created_at, k.revoked_at or "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="Mã khóa (trong keys list).")]) -> None:
    """Thu hồi một khóa; có hiệu lực ngay cả khi máy chủ đang chạy."""
    try:
        info = Access(_home(ctx)).revoke_key(key_id, actor="cli")
    except AccessError as exc:
        raise fail(str(exc)) from exc
    err.print(f"Đã thu hồi khóa {info.id} lúc {info.revoked_at}.", highlight=False)


def publish_command(
    ctx: typer.Context,
    periods: Annotated[list[str], typer.Argument(help="Các kỳ: YYYY-MM, YYYY-Qn hoặc YYYY.")],
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Rút lại việc công bố.")] = False,
) -> None:
    """Công bố các kỳ (khách xem được trên bảng điều khiển và API); một quý công bố cả ba tháng của nó."""
    access = Access(_home(ctx))
    try:
        for period in periods:
            access.publish(period, actor="cli", withdraw=withdraw)
    except PeriodError as exc:
        raise fail(str(exc)) from exc
    err.print(f"Các kỳ đã công bố: {', '.join(access.publications()) or 'chưa có'}.", highlight=False)
