"""`thuocdo report` and `thuocdo scorecard`: the Vietnamese reports in Markdown, HTML, DOCX and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thuocdo.catalog.frameworks import FrameworkError
from thuocdo.cli.common import EngineName, MasterOption, fail, home, out
from thuocdo.model.periods import PeriodError
from thuocdo.reports.render import FORMATS, RenderError
from thuocdo.workflows.reports import (
    DATE_HELP,
    ISSUER_HELP,
    SCORECARD_RUNS,
    SIGNER_HELP,
    SIGNER_TITLE_HELP,
    ReportRequestError,
    issue_settings,
    write_reports,
    write_scorecard,
)

FormatsOption = Annotated[str, typer.Option(
    "--format", help="Các định dạng, cách nhau bởi dấu phẩy: md, html, docx, pdf.")]
ReportDirOption = Annotated[Path, typer.Option("--output", help="Thư mục ghi báo cáo.")]
IssuerOption = Annotated[str | None, typer.Option("--issuer", help=ISSUER_HELP)]
SignerOption = Annotated[str, typer.Option("--signer", help=SIGNER_HELP)]
SignerTitleOption = Annotated[str, typer.Option("--signer-title", help=SIGNER_TITLE_HELP)]
DateOption = Annotated[str | None, typer.Option("--date", help=DATE_HELP)]
#: the default of --format: every format
ALL_FORMATS = ",".join(FORMATS)


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ReportRequestError(f"Định dạng không hỗ trợ: {', '.join(unknown) or '(trống)'}; chọn trong "
                                 f"{', '.join(FORMATS)}.")
    return formats


def _print_written(written: dict[str, Path]) -> None:
    for f, path in written.items():
        out.print(f"{f.upper():5s} {path}", highlight=False)


def report_command(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="Quý báo cáo, dạng YYYY-Qn (ví dụ 2022-Q1).")],
    fmt: FormatsOption = ALL_FORMATS,
    output: ReportDirOption = Path("bao-cao"),
    source: Annotated[str | None, typer.Option(
        "--source", help="Nguồn số liệu: mặc định là ước lượng toàn quốc ('national') khi kho có nhiều nguồn, "
                         "nguồn duy nhất khi chỉ có một; một nguồn, hay nhiều nguồn nhà mạng gộp 'a,b'.")] = None,
    issuer: IssuerOption = None,
    signer: SignerOption = "",
    signer_title: SignerTitleOption = "",
    date: DateOption = None,
    engine: Annotated[EngineName, typer.Option(
        "--engine", help="Nơi tính bảng chỉ số: duckdb (mặc định) hoặc spark (cả kho lakehouse của cụm).")
    ] = EngineName.duckdb,
    master: MasterOption = None,
) -> None:
    """Lập báo cáo chuyên đề quý về hoạt động của người dân trên các nền tảng số (Markdown, HTML, DOCX, PDF)."""
    try:
        formats = parse_formats(fmt)
        settings = issue_settings(issuer, signer, signer_title, date)
        if master and engine is not EngineName.spark:
            raise fail("--master chỉ dùng với --engine spark.")
        _, written = write_reports(home(ctx), period, formats, output, source, settings=settings,
                                   engine=engine.value, master=master)
    except (PeriodError, ReportRequestError, RenderError) as exc:
        raise fail(str(exc)) from exc
    _print_written(written)


def scorecard_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="Năm đánh giá (ví dụ 2024).")],
    framework: Annotated[str | None, typer.Option(
        "--framework", help="Bộ chỉ số cấp tỉnh: dti-2025 (mặc định từ năm 2024) hoặc dti-2022.")] = None,
    fmt: FormatsOption = ALL_FORMATS,
    output: ReportDirOption = Path("bao-cao"),
    runs: Annotated[int, typer.Option(
        "--runs", help="Số lần mô phỏng Monte Carlo cho khoảng thứ hạng (0: bỏ qua).")] = SCORECARD_RUNS,
    issuer: IssuerOption = None,
    signer: SignerOption = "",
    signer_title: SignerTitleOption = "",
    date: DateOption = None,
) -> None:
    """Lập báo cáo xếp hạng chỉ số chuyển đổi số cấp tỉnh và các mục tiêu quốc gia (Markdown, HTML, DOCX, PDF)."""
    try:
        formats = parse_formats(fmt)
        settings = issue_settings(issuer, signer, signer_title, date)
        _, written = write_scorecard(home(ctx), year, formats, output, framework, runs, settings=settings)
    except (ReportRequestError, RenderError, FrameworkError) as exc:
        raise fail(str(exc)) from exc
    _print_written(written)
