"""`thuocdo report`: fetch the metric tables of a quarter through the workflows, build and write the report.

``report_command`` is a plain function for the main app to register (``app.command("report")(report_command)``);
it reads ``--home`` from the root command. ``report_inputs`` and ``write_reports`` are what ``thuocdo demo``
calls too. This is a shell at the level of the command line: it calls ``thuocdo.workflows`` (the report
package itself never does), so the report is built only from what the metric layer returns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from thuocdo import workflows
from thuocdo.catalog import load_catalog
from thuocdo.model.periods import Period, PeriodError, PeriodKind
from thuocdo.reports.build import ReportSettings, build_report
from thuocdo.reports.context import ReportInputs, trend_periods
from thuocdo.reports.model import Report
from thuocdo.reports.render import FORMATS, RenderError, write
from thuocdo.reports.uncertainty import MIN_CELL

out = Console()
err = Console(stderr=True)


class ReportRequestError(ValueError):
    """A report that cannot be made as asked (the message says why and what to do)."""


def _quarter(period: str) -> Period:
    p = Period.parse(period)
    if p.kind is not PeriodKind.QUARTER:
        raise ReportRequestError(f"Kỳ '{period}' là một tháng: báo cáo lập theo quý, dùng dạng YYYY-Qn (ví dụ 2022-Q1).")
    return p


def _record_sources(table: object) -> list[str]:
    rows = table.to_pylist()  # type: ignore[attr-defined]
    return sorted({r["source"] for r in rows if r.get("basis") == "records" and r.get("source")})


def report_inputs(home: Path | None, period: str, source: str | None = None, min_cell: int = MIN_CELL) -> ReportInputs:
    """Every metric table the report of a quarter reads (by platform and by category for six quarters, by
    province for the quarter, by platform for its months and those of the quarter before)."""
    quarter = _quarter(period)
    current = workflows.metrics(home, workflows.metric_request(quarter.label, "platform", source))
    if source is None:
        found = _record_sources(current)
        if len(found) > 1:
            raise ReportRequestError(f"Kho có số liệu của nhiều nguồn ({', '.join(found)}): chọn một bằng --source.")
        if found:
            return report_inputs(home, period, found[0], min_cell)
    if not current.num_rows:
        raise ReportRequestError(f"Chưa có số liệu nào cho {quarter.label}: nạp dữ liệu trước (thuocdo ingest …).")
    quarters = trend_periods(quarter.label)
    platforms = {q: current if q == quarter.label else workflows.metrics(home, workflows.metric_request(q, "platform", source))
                 for q in quarters}
    categories = {q: workflows.metrics(home, workflows.metric_request(q, "category", source)) for q in quarters}
    provinces = workflows.metrics(home, workflows.metric_request(quarter.label, "province", source))
    months = {m: workflows.metrics(home, workflows.metric_request(m, "platform", source))
              for m in (*quarter.previous().months, *quarter.months)}
    published = getattr(workflows, "published_figures", None)  # operator KPIs, when the workflow offers them
    kpis = published(home, quarter.label) if published is not None else None
    return ReportInputs(quarter.label, platforms, categories, provinces, months, kpis, min_cell)


def write_reports(home: Path | None, period: str, formats: list[str], output: Path, source: str | None = None,
                  on_step: Callable[[str], None] | None = None) -> tuple[Report, dict[str, Path]]:
    if on_step:
        on_step("bảng chỉ số")
    inputs = report_inputs(home, period, source)
    report = build_report(inputs, load_catalog(), ReportSettings())
    return report, write(report, output, formats, on_step)


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ReportRequestError(f"Định dạng không hỗ trợ: {', '.join(unknown) or '(trống)'}; chọn trong "
                                 f"{', '.join(FORMATS)}.")
    return formats


def _home(ctx: typer.Context) -> Path | None:
    home = ctx.find_root().params.get("home")
    return Path(home) if home else None


def report_command(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="Quý báo cáo, dạng YYYY-Qn (ví dụ 2022-Q1).")],
    fmt: Annotated[str, typer.Option("--format", help="Các định dạng, cách nhau bởi dấu phẩy: md, html, docx, pdf.")] = ",".join(FORMATS),
    output: Annotated[Path, typer.Option("--output", help="Thư mục ghi báo cáo.")] = Path("bao-cao"),
    source: Annotated[Optional[str], typer.Option("--source", help="Nguồn số liệu bảng mẫu (khi kho có nhiều nguồn).")] = None,
) -> None:
    """Lập báo cáo chuyên đề quý về hoạt động của người dân trên các nền tảng số (Markdown, HTML, DOCX, PDF)."""
    try:
        formats = parse_formats(fmt)
        _, written = write_reports(_home(ctx), period, formats, output, source)
    except (PeriodError, ReportRequestError, RenderError) as exc:
        err.print(f"[red]Lỗi:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    for f, path in written.items():
        out.print(f"{f.upper():5s} {path}", highlight=False)
