"""The report use cases: fetch the metric tables of a quarter (or the index results of a year) through the
workflows, build the quarterly report (or the scorecard) and write it in the formats asked for. The report
package itself never reads the store, so a report is built only from what the metric and index layers return.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from thuocdo.catalog import load_catalog
from thuocdo.catalog.frameworks import indicator_labels
from thuocdo.catalog.provinces import REORGANISATION_DATE
from thuocdo.indices.runs import IndexRequestError, index_table
from thuocdo.indices.targets import STATUS_DEFINITIONS, STATUS_VI
from thuocdo.indices.usage import INDICATORS
from thuocdo.model.periods import Period, PeriodKind
from thuocdo.reports.build import build_report
from thuocdo.reports.context import Followed, ReportInputs, trend_periods
from thuocdo.reports.disclosure import category_table, disclose, withheld_cells
from thuocdo.reports.issuance import IssueError, IssueSettings
from thuocdo.reports.model import Report
from thuocdo.reports.provenance import provenance_of
from thuocdo.reports.render import write
from thuocdo.reports.scorecard import Ranking, ScorecardInputs, build_scorecard, format_value
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.store.sources import usage_months
from thuocdo.workflows import disclosure as disclosure_workflow
from thuocdo.workflows import estimates
from thuocdo.workflows import indices as index_workflow
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows import quality as quality_workflow
from thuocdo.workflows import retention as retention_workflow
from thuocdo.workflows.store import attach_lakehouse, open_store

if TYPE_CHECKING:
    pass


class ReportRequestError(ValueError):
    """A report that cannot be made as asked (the message says why and what to do)."""


# -- the issue options: declared once for `thuocdo report`/`scorecard` and the API's report downloads -----------
#: help of each issue option (the command line's --issuer, --signer, --signer-title, --date; the API's issuer,
#: signer, signer_title, date)
ISSUER_HELP = ("Cơ quan ban hành: bo-tttt (Bộ Thông tin và Truyền thông, đến 28/02/2025) hoặc bo-khcn (Bộ Khoa "
               "học và Công nghệ, từ 01/3/2025); mặc định: cơ quan có chức năng này vào ngày ban hành.")
SIGNER_HELP = "Họ và tên người ký (mặc định: để trống để ký tay)."
SIGNER_TITLE_HELP = "Chức vụ người ký, ví dụ \"THỨ TRƯỞNG\" hoặc \"KT. BỘ TRƯỞNG / THỨ TRƯỞNG\"."
DATE_HELP = ("Ngày ban hành, dạng YYYY-MM-DD (mặc định: ngày sau kỳ báo cáo, hoặc ngày của văn bản mới nhất "
             "được trích dẫn nếu muộn hơn).")
#: the form of --date (a calendar day, checked when read)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: the longest signer's name or title (a name and a title fit on a signature block's lines)
SIGNER_MAX = 120


def issuer_ids() -> list[str]:
    """The ids of the issuing bodies the catalog knows (``issuers.csv``)."""
    return [i.id for i in load_catalog().issuers]


def issue_settings(issuer: str | None, signer: str = "", signer_title: str = "",
                   date: str | None = None) -> IssueSettings:
    """The issue options as given, checked: a known issuing body, a name and a title of at most
    :data:`SIGNER_MAX` characters, a date of the form YYYY-MM-DD that exists. Whether the body issued reports on
    that day, and whether the day follows the period and the documents cited, is checked when the report is
    built (:func:`thuocdo.reports.issuance.issue`). Unset options keep their defaults."""
    day = None
    if date is not None:
        text = date.strip()
        try:
            if not re.fullmatch(DATE_PATTERN, text):
                raise ValueError(text)
            day = dt.date.fromisoformat(text)
        except ValueError as exc:
            raise ReportRequestError(f"Ngày ban hành '{date}' không hợp lệ: dùng dạng YYYY-MM-DD, ví dụ "
                                     "2025-07-15.") from exc
    if issuer is not None and issuer not in issuer_ids():
        raise ReportRequestError(f"Không có cơ quan ban hành '{issuer}' (có: {', '.join(issuer_ids())}).")
    for what, text in (("Họ và tên người ký", signer), ("Chức vụ người ký", signer_title)):
        if len(text) > SIGNER_MAX:
            raise ReportRequestError(f"{what} dài {len(text)} ký tự: tối đa {SIGNER_MAX}.")
    return IssueSettings(issuer=issuer, date=day, signer_name=signer, signer_title=signer_title)


def _quarter(period: str) -> Period:
    p = Period.parse(period)
    if p.kind is not PeriodKind.QUARTER:
        raise ReportRequestError(f"Kỳ '{period}' là một tháng: báo cáo lập theo quý, "
                                 "dùng dạng YYYY-Qn (ví dụ 2022-Q1).")
    return p


def report_inputs(home: Path | None, period: str, source: str | None = None, min_cell: int = MIN_CELL,
                  engine: str = "duckdb", master: str | None = None) -> ReportInputs:
    """Every metric table the report of a quarter reads, as the public may see it: by platform for six
    quarters, by province for the quarter, by platform for its months and those of the quarter before, each
    read with its quarter's block and disclosed under :mod:`thuocdo.reports.disclosure` (primary and
    complementary suppression; category totals over the published cells)."""
    quarter = _quarter(period)
    if source is None:  # the national estimate when several sources have records, else the one source
        with open_store(home, sweep=False) as store:
            source = estimates.default_source(store)
    quarters = trend_periods(quarter.label)
    # every table at once: one opening of the store, and on Spark one rollup of every month
    blocks = disclosure_workflow.blocks(home, [*quarters, quarter.label], source, engine, master)
    if not blocks[quarter.label].platforms[quarter.label].num_rows:
        raise ReportRequestError(f"Chưa có số liệu nào cho {quarter.label}: nạp dữ liệu trước (thuocdo ingest …).")
    withheld = {q: withheld_cells(b, min_cell) for q, b in blocks.items()}
    platforms = {q: disclose(b.platforms[q], False, withheld) for q, b in blocks.items()}
    categories = {q: category_table(t) for q, t in platforms.items()}
    provinces = disclose(blocks[quarter.label].provinces[quarter.label], True, withheld)
    months = {m: disclose(blocks[q].platforms[m], False, withheld)
              for q in (quarter.previous().label, quarter.label) for m in Period.parse(q).months}
    kpis = metric_workflow.published_figures(home, quarter.label)  # operator KPIs and other published figures
    history = metric_workflow.published_history(home, quarter.label)
    panel = metric_workflow.panel_size(home, source, list(quarter.months)) if source else {}
    quality = {name: summary for name, summary in quality_workflow.overview(home, quarter.label).items()
               if summary.days}  # the deliveries of every source with records in the quarter
    return ReportInputs(quarter.label, platforms, categories, provinces, months, kpis, min_cell, history, panel,
                        followed_between(home, quarter, source, engine, master), quality)


def followed_between(home: Path | None, quarter: Period, source: str | None, engine: str = "duckdb",
                     master: str | None = None) -> Followed | None:
    """The persons followed from the last month of the quarter before to the quarter's last month, in the
    report's source when it is one source, else in its panel with the most panelists that quarter (persons
    cannot be followed across sources); None when no such source has both months."""
    before, after = quarter.previous().months[-1], quarter.months[-1]
    with open_store(home, sweep=False) as store:
        attach_lakehouse(store)  # a source the cluster's lakehouse holds has its months there
        source = retention_workflow.retention_source(store, source, after)
        if source is None or not {before, after} <= set(usage_months(store, [source])[source]):
            return None
        kept = retention_workflow.followed(store, source, [before, after], engine=engine, master=master)
        returning = retention_workflow.followed(store, source, [after, before], engine=engine, master=master)
    return Followed(source, before, after, kept, returning)


def write_reports(home: Path | None, period: str, formats: list[str], output: Path, source: str | None = None,
                  on_step: Callable[[str], None] | None = None,
                  settings: IssueSettings | None = None, engine: str = "duckdb",
                  master: str | None = None) -> tuple[Report, dict[str, Path]]:
    """Build the quarterly report of `period` and write it in `formats` under `output` (its metric tables run on
    `engine`: DuckDB, or Spark over the home's lakehouse and lake)."""
    if on_step:
        on_step("bảng chỉ số")
    inputs = report_inputs(home, period, source, engine=engine, master=master)
    try:
        report = build_report(inputs, load_catalog(), settings)
    except IssueError as exc:
        raise ReportRequestError(str(exc)) from exc
    return report, write(report, output, formats, on_step)


# -- the scorecard -----------------------------------------------------------------------------------------------
#: Monte Carlo runs behind the rank intervals of the scorecard
SCORECARD_RUNS = 300


def default_framework(year: int) -> str:
    """DTI under Decision 405/QĐ-BKHCN from the 2024 assessment, under Decision 922/QĐ-BTTTT before."""
    return "dti-2025" if year >= 2024 else "dti-2022"


def _computed(home: Path | None, year: int) -> tuple[list[dict[str, object]], list[str]]:
    """The usage-based indicators of the latest year with values up to `year`, and the usage sources behind."""
    catalog = load_catalog()
    labels = indicator_labels()
    for y in range(year, year - 6, -1):  # the latest year with computed values, up to the report's
        rows = index_workflow.read_computed(home, y)
        if rows:
            break
    else:
        return [], []
    end = dt.date(y, 12, 31)
    out: list[dict[str, object]] = []
    for indicator in INDICATORS:
        nation = [v for level, _e, ind, _p, v in rows if ind == indicator and level == "nation"]
        provinces = [(v, e) for level, e, ind, _p, v in rows if ind == indicator and level == "province_new"]
        top = max(provinces, default=None)
        out.append({"label": labels.get(indicator, indicator), "unit": "percent_open", "year": y,
                    "nation": nation[0] if nation else None, "provinces": len(provinces),
                    "top": None if top is None else
                    f"{catalog.province_name(top[1], end)} ({format_value(top[0], 'percent')})"})
    return out, index_workflow.computed_from(home, y)


def naming_day(year: int, units: str) -> dt.date:
    """The day whose names an index year's provinces take: the end of the assessed year for the 63 units; for
    the 34 units, which exist from 01/07/2025, that day or 01/07/2025, whichever is later."""
    return dt.date(year, 12, 31) if units == "63" else max(dt.date(year, 12, 31), REORGANISATION_DATE)


def period_true_names(rows: list[dict[str, object]], units: str, year: int) -> list[dict[str, object]]:
    """Province names as they were (:func:`naming_day`), in the rows' ``name`` (keyed by ``entity``)."""
    catalog = load_catalog()
    level = "old" if units == "63" else "new"
    return [{**r, "name": catalog.province_name(str(r["entity"]), naming_day(year, units), level)} for r in rows]


def scorecard_inputs(home: Path | None, year: int, framework: str | None = None, runs: int = SCORECARD_RUNS,
                     settings: IssueSettings | None = None) -> ScorecardInputs:
    """The results the scorecard reads: the provincial ranking in the 63 and the 34 views (those with data;
    the 34 view only for a report dated from 01/07/2025, when the 34 units exist), the national targets as of
    the year with the sources of their actuals, and the indicators computed from usage."""
    framework_id = framework or default_framework(year)
    views_allowed: tuple[str, ...] = ("63", "34")
    if settings is not None and settings.date is not None and settings.date < REORGANISATION_DATE:
        views_allowed = ("63",)
    rankings = []
    run = None
    for units in views_allowed:
        try:
            run = index_workflow.run_index(home, framework_id, str(year), "province", units, runs)
        except IndexRequestError:
            continue
        views = [(v.code, v.label_vi) for v in run.level.views]
        merged = bool((run.current.merged_from > 1).any())
        rows = period_true_names(index_table(run).to_pylist(), units, year)
        rankings.append(Ranking(units, rows, run.level.decimals, views, merged))
    if run is None:
        raise ReportRequestError(f"Chưa có giá trị chỉ số cấp tỉnh của {framework_id} cho năm {year}: nạp bằng "
                                 "`thuocdo ingest indicators`.")
    targets = index_workflow.targets(home, year).to_pylist()
    found = index_workflow.target_provenance(home, year)
    leaves = [n.indicator for n in run.level.leaves if n.indicator]
    ranking_sources = index_workflow.sources_of(home, leaves, ("province_old", "province_new"), [str(year)])
    computed, usage_sources = _computed(home, year)
    return ScorecardInputs(year, run.framework.name_vi, run.framework.legal_source, run.level.label_vi.lower(),
                           rankings, targets, computed, runs,
                           [provenance_of(s, "published") for s in ranking_sources],
                           {k: provenance_of(src, "published") for k, (src, _) in found.items()},
                           {k: evidence for k, (_, evidence) in found.items()},
                           [provenance_of(s, "records") for s in usage_sources],
                           [(k, STATUS_VI[k], STATUS_DEFINITIONS[k]) for k in STATUS_DEFINITIONS])


def write_scorecard(home: Path | None, year: int, formats: list[str], output: Path, framework: str | None = None,
                    runs: int = SCORECARD_RUNS, on_step: Callable[[str], None] | None = None,
                    settings: IssueSettings | None = None) -> tuple[Report, dict[str, Path]]:
    """Build the scorecard of `year` and write it in `formats` under `output`."""
    if on_step:
        on_step("xếp hạng")
    try:
        report = build_scorecard(scorecard_inputs(home, year, framework, runs, settings), settings)
    except IssueError as exc:
        raise ReportRequestError(str(exc)) from exc
    return report, write(report, output, formats, on_step)
