"""The index use cases behind `thuocdo index`, `targets` and `compute-indicators`: read indicator values
from the store, score them (:mod:`thuocdo.indices.runs`), and store the indicators computed from the usage
metrics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from thuocdo.catalog.frameworks import load_targets
from thuocdo.indices import usage as usage_indicators
from thuocdo.indices.runs import IndexRequestError, IndexRun, assess_targets, score_run, targets_table
from thuocdo.indices.spec import IndexSpec
from thuocdo.indices.targets import TargetStatus
from thuocdo.ingest.indicators import ensure_table, ingest_indicator_input, input_from_rows, read_sources, read_values
from thuocdo.ingest.results import BatchResult
from thuocdo.reports.disclosure import disclose, withheld_cells
from thuocdo.workflows import disclosure as disclosure_workflow
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows.store import open_store


def run_index(home: str | Path | None, framework_id: str, period: str, level_name: str = "province",
              units: str | None = None, runs: int = 500, seed: int = 0, source: str | None = None) -> IndexRun:
    """A framework's level scored for a year from the stored indicator values (of one source, or all)."""

    def read(spec: IndexSpec, previous_period: str) -> Sequence[tuple[str, str, str, str, float]]:
        with open_store(home) as store:
            return read_values(store, spec.indicators, ("nation", "ministry", "province_old", "province_new"),
                               periods=[period.strip(), previous_period], source=source)

    return score_run(framework_id, period, level_name, units, read, runs=runs, seed=seed)


def run_targets(home: str | Path | None, year: int, source: str | None = None) -> list[TargetStatus]:
    """Every target whose year is ``year`` or later, against the latest national value up to ``year``."""
    targets = [t for t in load_targets() if t.year >= year]
    with open_store(home) as store:
        rows = read_values(store, sorted({t.indicator for t in targets}), ("nation",), source=source)
    return assess_targets(targets, rows, year)


def targets(home: str | Path | None, year: int) -> pa.Table:
    """The targets scorecard of a year as a table, each actual with its source and evidence."""
    return targets_table(run_targets(home, year), target_provenance(home, year))


def target_provenance(home: str | Path | None, year: int) -> dict[tuple[str, str], tuple[str, str]]:
    """(indicator, year) → (source, evidence) of the national values the targets scorecard reads."""
    targets = [t for t in load_targets() if t.year >= year]
    with open_store(home) as store:
        return read_sources(store, sorted({t.indicator for t in targets}), ("nation",))


# -- indicators computed from the usage metrics ----------------------------------------------------------------
def compute_usage_indicators(home: str | Path | None, year: int, usage_source: str | None = None) -> BatchResult:
    """Compute the year's usage-based indicators (``thuocdo.indices.usage``) from the metric tables of its
    quarters and store them as indicator values of the source ``computed-usage`` (re-running stores nothing
    twice; new usage data replace the values)."""
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    if usage_source is None:
        found = sorted({str(r["source"]) for q in quarters
                        for r in metric_workflow.metrics(home, metric_workflow.metric_request(q, "platform"))
                        .to_pylist()
                        if r.get("basis") == "records" and r.get("source")})
        if len(found) > 1:
            raise IndexRequestError(f"Kho có số liệu sử dụng của nhiều nguồn ({', '.join(found)}): chọn một bằng "
                                    "--usage-source.")
        if not found:
            raise IndexRequestError(f"Chưa có số liệu sử dụng nào trong năm {year}: nạp bằng `thuocdo ingest usage`.")
        usage_source = found[0]
    # from the published cells only (disclosure rules of thuocdo.reports.disclosure): the values are published
    blocks = {q: disclosure_workflow.block(home, q, usage_source) for q in quarters}
    withheld = {q: withheld_cells(b) for q, b in blocks.items()}
    platforms = {q: disclose(b.platforms[q], False, withheld) for q, b in blocks.items()}
    provinces = {q: disclose(b.provinces[q], True, withheld) for q, b in blocks.items()}
    rows = (usage_indicators.nation_indicators(str(year), platforms, usage_source)
            + usage_indicators.province_indicators(str(year), provinces, usage_source))
    if not rows:
        raise IndexRequestError(f"Nguồn {usage_source} chưa có số liệu sử dụng nào trong năm {year}.")
    with open_store(home) as store:
        return ingest_indicator_input(store, input_from_rows(f"usage:{usage_source}:{year}", rows),
                                      usage_indicators.COMPUTED_SOURCE)


def read_computed(home: str | Path | None, year: int) -> list[tuple[str, str, str, str, float]]:
    """The stored usage-based indicator values of a year (level, entity, indicator, period, value)."""
    with open_store(home) as store:
        return read_values(store, usage_indicators.INDICATORS, ("nation", "province_new"), periods=[str(year)],
                           source=usage_indicators.COMPUTED_SOURCE)


def indicator_sources(home: str | Path | None) -> list[str]:
    """The sources that hold indicator values."""
    with open_store(home) as store:
        ensure_table(store)
        rows = store.con.execute("SELECT DISTINCT source FROM indicator_values ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]


def sources_of(home: str | Path | None, indicators: Sequence[str], levels: Sequence[str],
               periods: Sequence[str]) -> list[str]:
    """The sources that hold values of these indicators, levels and periods."""
    with open_store(home) as store:
        ensure_table(store)
        rows = store.con.execute(
            "SELECT DISTINCT source FROM indicator_values WHERE list_contains($i, indicator) AND "
            "list_contains($l, level) AND list_contains($p, period) ORDER BY 1",
            {"i": list(indicators), "l": list(levels), "p": list(periods)}).fetchall()
        return [str(r[0]) for r in rows]


def computed_from(home: str | Path | None, year: int) -> list[str]:
    """The usage sources the stored usage-based indicators of a year were computed from (their evidence names
    them: "… của nguồn S, …")."""
    with open_store(home) as store:
        ensure_table(store)
        rows = store.con.execute(
            "SELECT DISTINCT regexp_extract(evidence, 'của nguồn ([^ ,]+)', 1) FROM indicator_values "
            "WHERE source = ? AND period = ?", [usage_indicators.COMPUTED_SOURCE, str(year)]).fetchall()
        return sorted(str(r[0]) for r in rows if r[0])
