"""`thuocdo index`, `thuocdo targets` and `thuocdo compute-indicators`: thin commands over
:mod:`thuocdo.workflows.indices`, with the Vietnamese tables they print."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.table import Table

from thuocdo.catalog.frameworks import MINISTRY_GROUPS, FrameworkError, indicator_labels
from thuocdo.cli.common import OutputOption, TextFormat, fail, home, needs_output, out
from thuocdo.indices.runs import IndexRequestError, IndexRun, index_table, node_labels
from thuocdo.indices.targets import UNIT_VI
from thuocdo.indices.usage import INDICATORS as COMPUTED_INDICATORS
from thuocdo.reports.glossary import source_label
from thuocdo.reports.scorecard import pace, target_gap
from thuocdo.reports.tabular import TARGET_TITLES, write_table
from thuocdo.reports.vietnamese import format_number
from thuocdo.workflows import indices as workflow


class Level(str, Enum):
    province = "province"
    ministry = "ministry"
    nation = "nation"


class Units(str, Enum):
    old = "63"
    new = "34"


def _write(table: pa.Table, fmt: TextFormat, output: Path | None, rich: Table,
           titles: dict[str, str] | None = None) -> None:
    if fmt is TextFormat.table:
        out.print(rich)
        if output is not None:
            write_table(table, "csv", output)
    else:
        write_table(table, fmt.value, output, titles)


def _num(v: float | None, decimals: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return format_number(float(v), decimals)


def index_command(
    ctx: typer.Context,
    framework: Annotated[str, typer.Option("--framework", help="Bộ chỉ số: dti-2022, dti-2025, egdi, desi-2022.")],
    period: Annotated[str, typer.Option("--period", help="Năm đánh giá, dạng YYYY.")],
    level: Annotated[Level, typer.Option("--level", help="Cấp: tỉnh, bộ hoặc quốc gia.")] = Level.province,
    units: Annotated[Units | None, typer.Option(
        "--units",
        help="Cấp tỉnh: 63 tỉnh cũ hoặc 34 tỉnh mới (mặc định theo năm; 34 tính theo quy tắc gộp tỉnh).")] = None,
    fmt: Annotated[TextFormat, typer.Option(
        "--format", help="table (màn hình), csv, json hoặc xlsx (Excel; cần --output).")] = TextFormat.table,
    runs: Annotated[int, typer.Option(
        "--runs", help="Số lần mô phỏng Monte Carlo cho khoảng thứ hạng (0: bỏ qua).")] = 500,
    output: OutputOption = None,
) -> None:
    """Tính và xếp hạng một bộ chỉ số: điểm, thứ hạng, khoảng thứ hạng 5–95%, từng chỉ số thành phần."""
    needs_output(fmt, output)
    try:
        run = workflow.run_index(home(ctx), framework, period, level.value, units.value if units else None, runs)
    except (FrameworkError, IndexRequestError) as exc:
        raise fail(str(exc)) from exc
    table = index_table(run)
    _write(table, fmt, output, _index_rich(run, table), node_labels(run))


def _index_rich(run: IndexRun, table: pa.Table) -> Table:
    labels = node_labels(run)
    unit_label = {"63": " (63 tỉnh cũ)", "34": " (34 tỉnh, thành phố)"}.get(run.units or "", "")
    rich = Table(title=f"{run.framework.name_vi} — {run.level.label_vi}{unit_label}, năm {run.period}",
                 title_justify="left", caption=run.framework.legal_source.split(" phê duyệt")[0],
                 caption_justify="left")
    decimals = run.level.decimals
    main = [c for c in run.level.main_indices if c in table.column_names]
    views = [v.code for v in run.level.views]
    headers = [("rank", "Hạng"), ("name", "Đơn vị"), ("score", "Điểm")]
    if "rank_p05" in table.column_names:
        headers.append(("interval", "Khoảng hạng 5–95%"))
    if "rank_change" in table.column_names:
        headers.append(("rank_change", "Thay đổi hạng"))
    headers += [(c, labels[c]) for c in (*main, *views)]
    if "group" in table.column_names:
        headers.insert(1, ("group", "Nhóm"))
    headers.append(("notes", "Ghi chú"))
    for key, header in headers:
        rich.add_column(header, justify="left" if key in ("name", "group", "notes") else "right")
    for row in table.to_pylist():
        cells = []
        for key, _ in headers:
            v = row.get(key)
            if key == "interval":
                cells.append(f"{_num(row['rank_p05'], 0)}–{_num(row['rank_p95'], 0)}")
            elif key == "rank_change":
                cells.append("–" if v is None or math.isnan(v) else f"{int(v):+d}" if v else "0")
            elif key == "group":
                cells.append(MINISTRY_GROUPS.get(str(v), str(v)).removeprefix("Nhóm bộ, ngành "))
            elif key in ("name", "notes"):
                cells.append(str(v or ""))
            elif key == "rank":
                cells.append(_num(v, 0))
            else:
                cells.append(_num(v, decimals))
        rich.add_row(*cells)
    return rich


def targets_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="Năm xem xét: số liệu đến hết năm này, mục tiêu từ năm này.")],
    fmt: Annotated[TextFormat, typer.Option(
        "--format", help="table (màn hình), csv, json hoặc xlsx (Excel; cần --output).")] = TextFormat.table,
    output: OutputOption = None,
) -> None:
    """Bảng mục tiêu quốc gia: thực tế, mục tiêu, mức đạt, khoảng cách, tăng trưởng cần mỗi năm, trạng thái."""
    needs_output(fmt, output)
    table = workflow.targets(home(ctx), year)
    _write(table, fmt, output, _targets_rich(year, table), TARGET_TITLES)


def _value(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    if unit == "rank":
        return format_number(float(v), 0)
    text = format_number(float(v), 2).rstrip("0").rstrip(",")
    suffix = UNIT_VI.get(unit, "") if unit in ("percent", "percent_per_year") else " " + UNIT_VI.get(unit, "")
    return f"{text}{suffix}".rstrip()


def _targets_rich(year: int, table: pa.Table) -> Table:
    rich = Table(title=f"Mục tiêu quốc gia về chuyển đổi số — tình hình đến năm {year}", title_justify="left")
    for header in ("Chỉ tiêu", "Năm", "Mục tiêu", "Thực tế", "Còn thiếu", "Tốc độ đã đạt", "Tốc độ cần",
                   "Trạng thái", "Nguồn thực tế"):
        rich.add_column(header, justify="left" if header in ("Chỉ tiêu", "Trạng thái", "Nguồn thực tế") else "right")
    for r in table.to_pylist():
        unit = r["unit"]
        actual = "–" if r["actual"] is None else f"{_value(r['actual'], unit)} ({r['actual_year']})"
        observed = "–" if r["observed_per_year"] is None else (
            f"{pace(r['observed_per_year'], r['pace_unit'])} ({r['trend_points']} năm)")
        rich.add_row(r["label"], str(r["target_year"]), _value(r["target_value"], unit), actual, target_gap(r),
                     observed, pace(r["needed_per_year"], r["pace_unit"]), r["status_vi"],
                     source_label(r["actual_source"]) if r["actual_source"] else "–")
    return rich


def compute_indicators_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="Năm cần tính, từ số liệu sử dụng các quý của năm.")],
    usage_source: Annotated[str | None, typer.Option(
        "--usage-source", help="Nguồn số liệu sử dụng (khi kho có nhiều nguồn).")] = None,
) -> None:
    """Tính các chỉ số từ số liệu sử dụng nền tảng (tỷ trọng MAU nền tảng Việt Nam, tỷ lệ thâm nhập…) cho cả
    nước và từng tỉnh, lưu vào nguồn computed-usage để `index`, `targets` và `scorecard` dùng."""
    try:
        result = workflow.compute_usage_indicators(home(ctx), year, usage_source)
    except IndexRequestError as exc:
        raise fail(str(exc)) from exc
    rows = workflow.read_computed(home(ctx), year)
    labels = indicator_labels()
    rich = Table(title=f"Chỉ số tính từ số liệu sử dụng nền tảng, năm {year} (nguồn computed-usage)",
                 title_justify="left")
    for header in ("Chỉ số", "Cả nước", "Số tỉnh có số liệu"):
        rich.add_column(header, justify="left" if header == "Chỉ số" else "right")
    for indicator in COMPUTED_INDICATORS:
        nation = [v for level, _e, ind, _p, v in rows if ind == indicator and level == "nation"]
        provinces = sum(1 for level, _e, ind, _p, _v in rows if ind == indicator and level == "province_new")
        rich.add_row(labels.get(indicator, indicator), format_number(nation[0], 2) + "%" if nation else "–",
                     str(provinces))
    out.print(rich)
    out.print(f"Lưu mới {format_number(result.stored)} giá trị, {format_number(result.duplicates)} giá trị không đổi, "
              f"{format_number(result.rejected)} bị loại.", highlight=False)
