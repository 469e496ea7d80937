"""The report use cases: fetch the metric tables of a quarter (or the index results of a year) through the
workflows, build the quarterly report (or the scorecard) and write it in the formats asked for. The report
package itself never reads the store, so a report is built only from what the metric and index layers return.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from thuocdo.catalog import load_catalog
from thuocdo.catalog.frameworks import indicator_labels
from thuocdo.indices.runs import IndexRequestError, index_table, targets_table
from thuocdo.indices.usage import INDICATORS
from thuocdo.model.periods import Period, PeriodKind
from thuocdo.reports.build import ReportSettings, build_report
from thuocdo.reports.context import ReportInputs, trend_periods
from thuocdo.reports.model import Report
from thuocdo.reports.render import write
from thuocdo.reports.scorecard import Ranking, ScorecardInputs, build_scorecard, format_value
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.workflows import indices as index_workflow
from thuocdo.workflows import metrics as metric_workflow

if TYPE_CHECKING:
    import pyarrow as pa


class ReportRequestError(ValueError):
    """A report that cannot be made as asked (the message says why and what to do)."""


def _quarter(period: str) -> Period:
    p = Period.parse(period)
    if p.kind is not PeriodKind.QUARTER:
        raise ReportRequestError(f"Kỳ '{period}' là một tháng: báo cáo lập theo quý, "
                                 "dùng dạng YYYY-Qn (ví dụ 2022-Q1).")
    return p


def _record_sources(table: pa.Table) -> list[str]:
    rows = table.to_pylist()
    return sorted({r["source"] for r in rows if r.get("basis") == "records" and r.get("source")})


def report_inputs(home: Path | None, period: str, source: str | None = None, min_cell: int = MIN_CELL) -> ReportInputs:
    """Every metric table the report of a quarter reads (by platform and by category for six quarters, by
    province for the quarter, by platform for its months and those of the quarter before)."""
    quarter = _quarter(period)
    current = metric_workflow.metrics(home, metric_workflow.metric_request(quarter.label, "platform", source))
    if source is None:
        found = _record_sources(current)
        if len(found) > 1:
            raise ReportRequestError(f"Kho có số liệu của nhiều nguồn ({', '.join(found)}): chọn một bằng --source.")
        if found:
            return report_inputs(home, period, found[0], min_cell)
    if not current.num_rows:
        raise ReportRequestError(f"Chưa có số liệu nào cho {quarter.label}: nạp dữ liệu trước (thuocdo ingest …).")
    quarters = trend_periods(quarter.label)
    platforms = {q: current if q == quarter.label
                 else metric_workflow.metrics(home, metric_workflow.metric_request(q, "platform", source))
                 for q in quarters}
    categories = {q: metric_workflow.metrics(home, metric_workflow.metric_request(q, "category", source))
                  for q in quarters}
    provinces = metric_workflow.metrics(home, metric_workflow.metric_request(quarter.label, "province", source))
    months = {m: metric_workflow.metrics(home, metric_workflow.metric_request(m, "platform", source))
              for m in (*quarter.previous().months, *quarter.months)}
    kpis = metric_workflow.published_figures(home, quarter.label)  # operator KPIs and other published figures
    return ReportInputs(quarter.label, platforms, categories, provinces, months, kpis, min_cell)


def write_reports(home: Path | None, period: str, formats: list[str], output: Path, source: str | None = None,
                  on_step: Callable[[str], None] | None = None) -> tuple[Report, dict[str, Path]]:
    """Build the quarterly report of `period` and write it in `formats` under `output`."""
    if on_step:
        on_step("bảng chỉ số")
    inputs = report_inputs(home, period, source)
    report = build_report(inputs, load_catalog(), ReportSettings())
    return report, write(report, output, formats, on_step)


# -- the scorecard -----------------------------------------------------------------------------------------------
#: Monte Carlo runs behind the rank intervals of the scorecard
SCORECARD_RUNS = 300


def default_framework(year: int) -> str:
    """DTI under Decision 405/QĐ-BKHCN from the 2024 assessment, under Decision 922/QĐ-BTTTT before."""
    return "dti-2025" if year >= 2024 else "dti-2022"


def _computed(home: Path | None, year: int) -> list[dict[str, object]]:
    catalog = load_catalog()
    names = {p.code: p.short_name for p in catalog.provinces_new}
    labels = indicator_labels()
    for y in range(year, year - 6, -1):  # the latest year with computed values, up to the report's
        rows = index_workflow.read_computed(home, y)
        if rows:
            break
    else:
        return []
    out: list[dict[str, object]] = []
    for indicator in INDICATORS:
        nation = [v for level, _e, ind, _p, v in rows if ind == indicator and level == "nation"]
        provinces = [(v, e) for level, e, ind, _p, v in rows if ind == indicator and level == "province_new"]
        top = max(provinces, default=None)
        out.append({"label": labels.get(indicator, indicator), "unit": "percent_open", "year": y,
                    "nation": nation[0] if nation else None, "provinces": len(provinces),
                    "top": None if top is None else f"{names.get(top[1], top[1])} ({format_value(top[0], 'percent')})"})
    return out


def scorecard_inputs(home: Path | None, year: int, framework: str | None = None,
                     runs: int = SCORECARD_RUNS) -> ScorecardInputs:
    """The results the scorecard reads: the provincial ranking in the 63 and the 34 views (those with data),
    the national targets as of the year, and the indicators computed from usage."""
    framework_id = framework or default_framework(year)
    rankings = []
    run = None
    for units in ("63", "34"):
        try:
            run = index_workflow.run_index(home, framework_id, str(year), "province", units, runs)
        except IndexRequestError:
            continue
        views = [(v.code, v.label_vi) for v in run.level.views]
        merged = bool((run.current.merged_from > 1).any())
        rankings.append(Ranking(units, index_table(run).to_pylist(), run.level.decimals, views, merged))
    if run is None:
        raise ReportRequestError(f"Chưa có giá trị chỉ số cấp tỉnh của {framework_id} cho năm {year}: nạp bằng "
                                 "`thuocdo ingest indicators`.")
    targets = targets_table(index_workflow.run_targets(home, year)).to_pylist()
    demo = any(s.startswith("demo") for s in index_workflow.indicator_sources(home))
    return ScorecardInputs(year, run.framework.name_vi, run.framework.legal_source, run.level.label_vi.lower(),
                           rankings, targets, _computed(home, year), runs, demo)


def write_scorecard(home: Path | None, year: int, formats: list[str], output: Path, framework: str | None = None,
                    runs: int = SCORECARD_RUNS,
                    on_step: Callable[[str], None] | None = None) -> tuple[Report, dict[str, Path]]:
    """Build the scorecard of `year` and write it in `formats` under `output`."""
    if on_step:
        on_step("xếp hạng")
    report = build_scorecard(scorecard_inputs(home, year, framework, runs))
    return report, write(report, output, formats, on_step)
