"""`thuocdo demo`: generate the demo panel, ingest it through the real pipeline, compute the usage-based
indicators, print the metrics and scorecards, and write the quarterly report for quarter I/2022 and the
scorecard report for 2024 in Markdown, HTML, DOCX and PDF.

The default panel (``DEFAULT_PERSONS`` panelists, about 6 million person-day records) runs in about two
minutes on two cores; ``scale`` multiplies the panelists (and the records) for a larger, more precise panel.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.compute as pc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from thuocdo.catalog import load_catalog
from thuocdo.demo.generator import OperatorFiles, generate, generate_operator
from thuocdo.demo.targets import MONTHS
from thuocdo.demo.web import api_round_trip, print_round_trip
from thuocdo.indices.demo_data import write_demo_indicators
from thuocdo.indices.runs import index_table
from thuocdo.reports.render import FORMATS, RenderError
from thuocdo.reports.tabular import format_table
from thuocdo.reports.vietnamese import format_number
from thuocdo.store import resolve_home
from thuocdo.workflows import indices as index_workflow
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows import sources as source_workflow
from thuocdo.workflows.estimates import NATIONAL

PANEL_SOURCE = "demo-panel"
SUMMARY_COLUMNS = ["name", "category", "mau", "minutes_per_day", "mb_per_user", "mau_change_year"]
WEB_SOURCE = "demo-web-panel"
INDICATOR_SOURCE = "demo-indicators"
REPORT_PERIOD = "2022-Q1"
#: the year of the demo's scorecard (DTI of the 63 provinces, and the 34 by the merged-province rule)
SCORECARD_YEAR = 2024
#: the years of the demo panel whose usage-based indicators are computed
USAGE_YEARS = (2021, 2022)
#: panelists of the default demo: about 6 million person-day records over 18 months
DEFAULT_PERSONS = 3_400
#: the demo's mobile operators (census sources of their own subscribers, private keys) in the report's quarter:
#: each serves a range of the 34 units (by code order; the last four are served by none: the panel covers them)
#: and delivers every subscriber's activity, drawn from the panel's model; their subscribers over the nation
#: before those outside their units are left out
OPERATORS = (("demo-mang-a", slice(0, 16)), ("demo-mang-b", slice(10, 26)), ("demo-mang-c", slice(20, 30)))
OPERATOR_PERSONS = 3_000
OPERATOR_MONTHS = ("2022-01", "2022-02", "2022-03")


def _vn(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def run_demo(home: Path | None, *, persons: int | None = None, seed: int = 2022, scale: float = 1.0,
             console: Console, progress_console: Console, report_dir: Path | None = None,
             formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """Run the whole demo; returns the report files written (format → path)."""
    home = resolve_home(home)
    n = max(50, round((persons or DEFAULT_PERSONS) * scale))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with tempfile.TemporaryDirectory(prefix="thuocdo-demo-") as tmp, Progress(*columns, console=progress_console,
                                                                              transient=True) as progress:
        task = progress.add_task(f"Tạo bảng mẫu {_vn(n)} người", total=len(MONTHS))
        files = generate(load_catalog(), Path(tmp), n, seed, on_month=lambda *_: progress.advance(task))
        progress.update(task, completed=len(MONTHS))
        load = progress.add_task(f"Nạp {_vn(files.records)} bản ghi", total=len(files.usage) + 3)
        ingest_workflow.ingest(home, "weights", [files.weights], PANEL_SOURCE)
        progress.advance(load)
        ingest_workflow.ingest(
            home, "usage", files.usage, PANEL_SOURCE, on_file=lambda *_: progress.advance(load),
            on_rollup=lambda src, month: progress.update(load, description=f"Cập nhật bảng tổng hợp {month}"))
        ingest_workflow.ingest(home, "aggregates", [files.aggregates], WEB_SOURCE)
        progress.advance(load)
        indicators = write_demo_indicators(Path(tmp) / "indicators.csv")
        ingest_workflow.ingest(home, "indicators", [indicators], INDICATOR_SOURCE)
        for year in USAGE_YEARS:
            index_workflow.compute_usage_indicators(home, year, PANEL_SOURCE)
        progress.advance(load)
        operators = _operators(home, Path(tmp), seed, scale, progress)
        written = _write_report(home, report_dir or home / "bao-cao", formats, progress)
        scorecard = _write_scorecard(home, report_dir or home / "bao-cao", formats, progress)
        progress.console.print("Gửi một lô bản ghi qua API HTTP …", highlight=False)
        trip = api_round_trip(home)
    table = metric_workflow.metrics(home, metric_workflow.metric_request(REPORT_PERIOD, "platform", NATIONAL))
    top = pc.less_equal(pc.fill_null(table["rank_in_category"], 99), 3)
    console.print(format_table(table.filter(top), columns=SUMMARY_COLUMNS,
                               title="Ba nền tảng dẫn đầu mỗi nhóm theo MAU, quý I/2022 (ước lượng toàn quốc: "
                                     "ba nhà mạng và bảng mẫu)"))
    shares = metric_workflow.metrics(home, metric_workflow.metric_request(REPORT_PERIOD, "category", NATIONAL))
    console.print(format_table(shares.filter(pc.equal(shares["metric"], "mau")),
                               columns=["category", "domestic_share", "domestic_foreign_ratio"],
                               title="Tỷ trọng MAU của nền tảng Việt Nam theo nhóm, quý I/2022"))
    _print_scorecards(home, console)
    _print_reports(written, console, "Báo cáo chuyên đề quý I/2022")
    _print_reports(scorecard, console, f"Báo cáo chỉ số chuyển đổi số và mục tiêu quốc gia năm {SCORECARD_YEAR}")
    print_round_trip(trip, home, console)
    console.print(f"Bảng mẫu: {_vn(n)} người, {_vn(files.records)} bản ghi; ba nhà mạng: "
                  f"{_vn(sum(o.records for o in operators))} bản ghi quý I/2022. Kho dữ liệu: {home}. Xem thêm: "
                  f"thuocdo --home {home} metrics --period 2022-Q1; "
                  f"thuocdo --home {home} report --period 2022-Q1 --output DIR; "
                  f"thuocdo --home {home} index --framework dti-2025 --period 2024; "
                  f"thuocdo --home {home} scorecard --year {SCORECARD_YEAR} --output DIR", highlight=False)
    return written


def _operators(home: Path, tmp: Path, seed: int, scale: float, progress: Progress) -> list[OperatorFiles]:
    """Generate the demo's operators, declare each a census source with its coverage, and ingest its records."""
    catalog = load_catalog()
    codes = [p.code for p in catalog.provinces_new]
    task = progress.add_task("Nạp số liệu của ba nhà mạng", total=len(OPERATORS))
    out = []
    for i, (name, served) in enumerate(OPERATORS, 1):
        files = generate_operator(catalog, tmp / "operators", name, max(50, round(OPERATOR_PERSONS * scale)),
                                  seed + i, OPERATOR_MONTHS, codes[served])
        source_workflow.declare(home, name, "census", "private", files.coverage, declared_by="demo")
        ingest_workflow.ingest(home, "usage", files.usage, name)
        progress.advance(task)
        out.append(files)
    return out


def _write_report(home: Path, out: Path, formats: tuple[str, ...], progress: Progress) -> dict[str, Path]:
    from thuocdo.workflows.reports import write_reports

    task = progress.add_task("Lập báo cáo quý I/2022", total=len(formats) + 2)

    def step(name: str) -> None:
        progress.update(task, description=f"Lập báo cáo: {name}")
        progress.advance(task)

    try:
        _, written = write_reports(home, REPORT_PERIOD, list(formats), out, on_step=step)
    except RenderError as exc:  # e.g. no PDF renderer: write the other formats and say why
        progress.console.print(f"[yellow]Cảnh báo:[/yellow] {exc}", highlight=False)
        rest = tuple(f for f in formats if f != "pdf")
        _, written = write_reports(home, REPORT_PERIOD, list(rest), out)
    return written


_FORMAT_NAMES = {"md": "Markdown", "html": "HTML (tự chứa)", "docx": "Word (Nghị định 30/2020/NĐ-CP)", "pdf": "PDF"}


def _write_scorecard(home: Path, out: Path, formats: tuple[str, ...], progress: Progress) -> dict[str, Path]:
    from thuocdo.workflows.reports import write_scorecard

    task = progress.add_task(f"Lập báo cáo chỉ số năm {SCORECARD_YEAR}", total=len(formats) + 2)

    def step(name: str) -> None:
        progress.update(task, description=f"Lập báo cáo chỉ số: {name}")
        progress.advance(task)

    try:
        _, written = write_scorecard(home, SCORECARD_YEAR, list(formats), out, on_step=step)
    except RenderError as exc:
        progress.console.print(f"[yellow]Cảnh báo:[/yellow] {exc}", highlight=False)
        _, written = write_scorecard(home, SCORECARD_YEAR, [f for f in formats if f != "pdf"], out)
    return written


def _print_reports(written: dict[str, Path], console: Console, title: str) -> None:
    folder = next(iter(written.values())).parent if written else Path(".")
    rich = Table(title=f"{title} đã lập, trong thư mục {folder}", title_justify="left")
    rich.add_column("Định dạng")
    rich.add_column("Tệp", overflow="fold")
    rich.add_column("Dung lượng", justify="right")
    for fmt, path in written.items():
        rich.add_row(_FORMAT_NAMES.get(fmt, fmt), path.name, f"{format_number(path.stat().st_size / 1024)} KB")
    console.print(rich)


def _print_scorecards(home: Path, console: Console) -> None:
    """The top of the provincial DTI ranking with its rank intervals, and the national targets."""
    run = index_workflow.run_index(home, "dti-2025", "2024", "province", None, 200)
    table = index_table(run).slice(0, 10)
    rich = Table(title=f"{run.framework.name_vi}: mười tỉnh, thành phố dẫn đầu năm 2024", title_justify="left")
    for header in ("Hạng", "Tỉnh, thành phố", "Điểm", "Khoảng hạng 5–95%"):
        rich.add_column(header, justify="left" if header == "Tỉnh, thành phố" else "right")
    for row in table.to_pylist():
        interval = f"{row['rank_p05']:.0f}–{row['rank_p95']:.0f}" if row.get("rank_p05") is not None else "–"
        rich.add_row(f"{row['rank']:.0f}", row["name"], format_number(row["score"], run.level.decimals), interval)
    console.print(rich)
    targets = index_workflow.targets(home, 2024).to_pylist()
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
