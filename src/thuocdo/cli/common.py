"""What every command shares: the store's home (``--home``, declared once, on the root command), the two
consoles, the error exit, and the option types used by several commands."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

from thuocdo.model.sources import SOURCE_RULE, is_source_name

out = Console()
err = Console(stderr=True)

#: what `--help` does, said on every command and group (Click's own text is English)
HELP_OPTION_TEXT = "Hiện hướng dẫn này rồi thoát."


def _in_vietnamese(option: TyperOption | None) -> TyperOption | None:
    if option is not None:
        option.help = HELP_OPTION_TEXT
    return option


class Command(TyperCommand):
    """A command whose `--help` option is described in Vietnamese."""

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _in_vietnamese(super().get_help_option(ctx))


class Group(TyperGroup):
    """A group whose `--help` option is described in Vietnamese."""

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _in_vietnamese(super().get_help_option(ctx))


class Typer(typer.Typer):
    """`typer.Typer` whose group and commands describe `--help` in Vietnamese (every app of the CLI is one)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)


#: the root command's option; every command reads it through :func:`home`
HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="THUOCDO_HOME", help="Thư mục kho dữ liệu (mặc định ~/.thuocdo).")]
SourceOption = Annotated[str, typer.Option("--source", help="Tên nguồn dữ liệu.")]
#: what a metric or report reads: one source, a union of census sources, or the national estimate
SELECTION_HELP = ("Một nguồn; nhiều nguồn nhà mạng gộp làm một ('a,b': một người cùng khóa chỉ tính một lần); "
                  "hoặc 'national': ước lượng toàn quốc kết hợp các nguồn, kèm sai số.")
OptionalSourceOption = Annotated[str | None, typer.Option("--source", help=SELECTION_HELP)]
OutputOption = Annotated[Path | None, typer.Option("--output", help="Ghi ra tệp thay vì màn hình.")]
StrictOption = Annotated[bool, typer.Option("--strict", help="Thoát với mã 1 nếu có dòng bị loại.")]
ShowOption = Annotated[int, typer.Option("--show", help="Số lỗi tối đa in ra màn hình (tất cả đều ở khu cách ly).")]


class EngineName(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


MasterOption = Annotated[str | None, typer.Option(
    "--master", help="Spark master: local[*], spark://máy:7077 (mặc định: cụm của thư mục dữ liệu, hoặc local[2]).")]
EngineOption = Annotated[EngineName, typer.Option("--engine", help="Nơi chạy: duckdb (mặc định) hoặc spark.")]


def check_master(engine: EngineName, master: str | None) -> None:
    """--master names a Spark master: exit 2 with another engine."""
    if master and engine is not EngineName.spark:
        raise fail("--master chỉ dùng với --engine spark.")


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


class MetricFormat(str, Enum):
    """The metric table's formats: the terminal, programs (CSV, JSON, Parquet) and analysts (an Excel workbook)."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


MetricFormatOption = Annotated[MetricFormat, typer.Option(
    "--format", help="table (màn hình), csv, json, parquet hoặc xlsx (Excel; cần --output).")]


class TextFormat(str, Enum):
    """The formats of results that are read on screen, by programs or in Excel (no Parquet)."""

    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def needs_output(fmt: Enum, output: Path | None) -> None:
    """A file format that cannot go to the terminal (Parquet, XLSX) needs --output: exit 2 otherwise."""
    if fmt.value in ("parquet", "xlsx") and output is None:
        raise fail(f"--format {fmt.value} ghi ra tệp: cần --output TỆP (ví dụ --output ket-qua.{fmt.value}).")


def home(ctx: typer.Context) -> Path | None:
    """The ``--home`` given to the root command (None: ``THUOCDO_HOME`` or ``~/.thuocdo``)."""
    value = ctx.find_root().params.get("home")
    return Path(value) if value else None


def fail(message: str) -> typer.Exit:
    """Print the reason on stderr; the caller raises the returned exit (status 2: nothing done)."""
    err.print(f"[red]Lỗi:[/red] {message}", highlight=False)
    return typer.Exit(2)


def check_source(source: str) -> None:
    if not is_source_name(source):
        raise fail(f"Tên nguồn '{source}' không hợp lệ: {SOURCE_RULE}.")
