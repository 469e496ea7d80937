"""A composite index run and the targets' statuses as results: score a framework's level from indicator
values (with rank intervals and changes against the year before), and shape runs and statuses as tables
(unrounded numbers). Pure: the values come from the caller (:mod:`thuocdo.workflows.indices` reads them)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from thuocdo.catalog import load_catalog
from thuocdo.catalog.frameworks import (
    MINISTRY_GROUPS,
    Framework,
    FrameworkLevel,
    Target,
    load_framework,
    load_ministries,
)
from thuocdo.indices.compute import IndexResult, compute_index
from thuocdo.indices.merge import merge_units
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.rank import rank_change, score_change
from thuocdo.indices.spec import IndexSpec, spec_from_framework
from thuocdo.indices.targets import TargetStatus, assess
from thuocdo.indices.uncertainty import MonteCarloResult, monte_carlo
from thuocdo.ingest.indicators import NATION

YEAR = re.compile(r"^\d{4}$")


class IndexRequestError(ValueError):
    """The request cannot be answered (bad period, unknown framework or level, no data); message in Vietnamese."""


@dataclass(frozen=True)
class Entity:
    level: str  # a level of indicator_values: nation | ministry | province_old | province_new
    code: str
    name: str
    group: str = ""


@dataclass(frozen=True)
class Scored:
    """One period's result, with per-entity notes (merged units, indices scored 0 for lack of data)."""

    entities: tuple[Entity, ...]
    result: IndexResult
    merged_from: np.ndarray  # (entities,) number of former units averaged (0: not merged)


@dataclass(frozen=True)
class IndexRun:
    framework: Framework
    level: FrameworkLevel
    period: str
    units: str | None  # "63" or "34" for provinces
    current: Scored
    previous: Scored | None
    mc: MonteCarloResult | None


def entities_for(level: str, units: str | None) -> list[Entity]:
    catalog = load_catalog()
    if level == "nation":
        return [Entity("nation", NATION, "Việt Nam")]
    if level == "ministry":
        return [Entity("ministry", m.id, m.name_vi, m.group) for m in load_ministries()]
    if units == "63":
        return [Entity("province_old", p.code, p.short_name) for p in catalog.provinces_old]
    return [Entity("province_new", p.code, p.short_name) for p in catalog.provinces_new]


def _matrix(rows: Sequence[tuple[str, str, str, str, float]], entities: Sequence[Entity],
            indicators: Sequence[str], period: str) -> np.ndarray:
    row_of = {(e.level, e.code): i for i, e in enumerate(entities)}
    col_of = {ind: j for j, ind in enumerate(indicators)}
    x = np.full((len(entities), len(indicators)), np.nan)
    for level, entity, indicator, p, value in rows:
        if p == period and (level, entity) in row_of and indicator in col_of:
            x[row_of[(level, entity)], col_of[indicator]] = value
    return x


def _score(spec: IndexSpec, level: FrameworkLevel, rows: Sequence[tuple[str, str, str, str, float]], period: str,
           level_name: str, units: str | None) -> Scored | None:
    indicators = list(spec.indicators)
    entities = entities_for(level_name, units)
    groups = [e.group for e in entities] if level.rank_groups and level_name == "ministry" else None
    values = _matrix(rows, entities, indicators, period)
    if level_name != "province" or units == "63":
        if np.isnan(values).all():
            return None
        return Scored(tuple(entities), compute_index(spec, [e.code for e in entities], values, rank_groups=groups),
                      np.zeros(len(entities), dtype=int))
    # the 34 provinces: a unit's own values when it has some, else the merged-province rule on the 63
    old_entities = entities_for("province", "63")
    old_values = _matrix(rows, old_entities, indicators, period)
    if np.isnan(values).all() and np.isnan(old_values).all():
        return None
    main_spec = replace(spec_from_framework(level, main_only=True), normalisation=Normalisation("none"))
    main = list(main_spec.tree.leaves)  # the main indices, in the order the pruned tree expects them
    main_values = np.full((len(entities), len(main)), np.nan)
    members = np.zeros(len(entities), dtype=int)
    if not np.isnan(old_values).all():
        old = compute_index(spec, [e.code for e in old_entities], old_values)
        old_main = old.scores[:, [spec.tree.position[c] for c in main]]
        old_main[np.isnan(old_values).all(axis=1)] = np.nan  # a former unit without any value does not count
        new_of_old = [p.new_code for p in load_catalog().provinces_old]
        main_values, members, _present = merge_units(old_main, new_of_old, [e.code for e in entities])
    own = ~np.isnan(values).all(axis=1)
    if own.any():
        direct = compute_index(spec, [e.code for e in entities], values)
        main_values[own] = direct.scores[own][:, [spec.tree.position[c] for c in main]]
        members[own] = 0
    result = compute_index(main_spec, [e.code for e in entities], main_values)
    return Scored(tuple(entities), result, members)


def score_run(framework_id: str, period: str, level_name: str, units: str | None,
              read: Callable[[IndexSpec, str], Sequence[tuple[str, str, str, str, float]]], *,
              runs: int = 500, seed: int = 0) -> IndexRun:
    """Score a framework's level for a year (and the year before, for changes), with `runs` Monte Carlo runs
    for the rank intervals. `read(spec, previous_period)` gives the indicator values (level, entity,
    indicator, period, value) of both years."""
    if not YEAR.match(period.strip()):
        raise IndexRequestError(f"Kỳ '{period}' không hợp lệ: chỉ số tổng hợp tính theo năm, dạng YYYY (ví dụ 2024).")
    period = period.strip()
    framework = load_framework(framework_id)
    level = framework.level(level_name)
    if level_name == "province":
        units = units or ("34" if int(period) >= 2025 else "63")
    else:
        units = None
    spec = spec_from_framework(level)
    previous_period = str(int(period) - 1)
    rows = read(spec, previous_period)
    current = _score(spec, level, rows, period, level_name, units)
    if current is None:
        raise IndexRequestError(
            f"Chưa có giá trị chỉ số nào của {framework.id} ({level.label_vi}) cho năm {period}: "
            "nạp bằng `thuocdo ingest indicators`.")
    previous = _score(spec, level, rows, previous_period, level_name, units)
    mc = None
    if runs > 0:
        r = current.result
        groups = [e.group for e in current.entities] if level.rank_groups and level_name == "ministry" else None
        mc = monte_carlo(r.spec, r.entities, r.values, runs=runs, seed=seed, rank_groups=groups)
    return IndexRun(framework, level, period, units, current, previous, mc)


def assess_targets(targets: Sequence[Target], rows: Sequence[tuple[str, str, str, str, float]],
                   year: int) -> list[TargetStatus]:
    """Each target against every national value (of `rows`) of its indicator up to ``year``."""
    series: dict[str, dict[int, float]] = {}
    for _level, _entity, indicator, period, value in rows:
        if YEAR.match(period) and int(period) <= year:
            series.setdefault(indicator, {})[int(period)] = value
    return [assess(t, as_of=year, series=series.get(t.indicator, {})) for t in targets]


def _flags(run: IndexRun, i: int) -> str:
    notes = []
    r = run.current.result
    tree = r.spec.tree
    scored = tree.weights[[tree.position[c] for c in tree.leaves]] > 0
    zero = int(np.sum((r.filled[i] == "zero") & scored))
    if zero:
        notes.append(f"{zero} chỉ số thiếu số liệu, tính 0 điểm")
    if run.current.merged_from[i] > 1:
        notes.append(f"gộp từ {run.current.merged_from[i]} tỉnh cũ")
    if r.prepared.coverage[i] == 0:
        return "chưa có số liệu"
    if r.prepared.excluded[i]:
        notes.append("không đủ dữ liệu")
    return "; ".join(notes)


def index_table(run: IndexRun) -> pa.Table:
    """One row per entity: entity, name, [group], score, rank, rank interval, changes, one column per node
    and per pillar view, and notes; sorted by group and rank."""
    r = run.current.result
    tree = r.spec.tree
    columns: dict[str, list[object]] = {"entity": [e.code for e in run.current.entities],
                                        "name": [e.name for e in run.current.entities]}
    if any(e.group for e in run.current.entities):
        columns["group"] = [e.group for e in run.current.entities]
    columns["score"] = r.score().tolist()
    columns["rank"] = r.rank.tolist()
    if run.mc is not None:
        columns.update(rank_p05=run.mc.p05.tolist(), rank_median=run.mc.median.tolist(), rank_p95=run.mc.p95.tolist())
    if run.previous is not None:
        prev = run.previous.result
        prev_score = dict(zip(prev.entities, prev.score(), strict=True))
        prev_rank = dict(zip(prev.entities, prev.rank, strict=True))
        before = np.array([prev_score.get(e, np.nan) for e in r.entities])
        columns["score_change"] = score_change(r.score(), before)[0].tolist()
        columns["rank_change"] = rank_change(r.rank, [prev_rank.get(e, np.nan) for e in r.entities]).tolist()
    for code in tree.codes[1:]:
        columns[code] = r.score(code).tolist()
    for code, values in r.views.items():
        columns[code] = values.tolist()
    columns["notes"] = [_flags(run, i) for i in range(len(r.entities))]
    table = pa.table({k: pa.array(v, from_pandas=True) for k, v in columns.items()})  # NaN → null (empty in CSV)
    group_order = {g: i for i, g in enumerate(MINISTRY_GROUPS)}
    groups = [str(g) for g in columns.get("group", [""] * table.num_rows)]
    ranks = [1e9 if math.isnan(x) else x for x in r.rank.tolist()]
    order = sorted(range(table.num_rows),
                   key=lambda i: (group_order.get(groups[i], -1), ranks[i], str(columns["name"][i])))
    return table.take(order)


def node_labels(run: IndexRun) -> dict[str, str]:
    """Vietnamese labels of the node and view columns."""
    labels = {n.code: n.label_vi for n in run.level.nodes}
    labels.update({v.code: v.label_vi for v in run.level.views})
    return labels


def targets_table(statuses: Sequence[TargetStatus],
                  provenance: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> pa.Table:
    """One row per target; `provenance` ((indicator, year) → (source, evidence)) gives each actual's source."""
    known = provenance or {}
    rows = []
    for s in statuses:
        source, evidence = known.get((s.target.indicator, str(s.actual_year)), (None, None))
        rows.append({
            "target": s.target.id, "indicator": s.target.indicator, "label": s.target.label_vi,
            "unit": s.target.unit, "target_year": s.target.year, "target_value": s.target.target,
            "actual": s.actual, "actual_year": s.actual_year, "actual_source": source, "actual_evidence": evidence,
            "attainment": s.attainment, "gap": s.gap, "gap_relative": s.gap_relative,
            "needed_per_year": s.needed_per_year, "observed_per_year": s.observed_per_year,
            "trend_points": s.trend_points, "trend_from": s.trend_from, "pace_unit": s.pace_unit,
            "series": ";".join(f"{y}={v!r}" for y, v in s.series),  # the values used: "2023=38.0;2024=45.8"
            "status": s.status, "status_vi": s.status_vi, "source": s.target.source,
        })
    schema = pa.schema([("target", pa.string()), ("indicator", pa.string()), ("label", pa.string()),
                        ("unit", pa.string()), ("target_year", pa.int64()), ("target_value", pa.float64()),
                        ("actual", pa.float64()), ("actual_year", pa.int64()), ("actual_source", pa.string()),
                        ("actual_evidence", pa.string()), ("attainment", pa.float64()), ("gap", pa.float64()),
                        ("gap_relative", pa.float64()), ("needed_per_year", pa.float64()),
                        ("observed_per_year", pa.float64()), ("trend_points", pa.int64()), ("trend_from", pa.int64()),
                        ("pace_unit", pa.string()), ("series", pa.string()), ("status", pa.string()),
                        ("status_vi", pa.string()),
                        ("source", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)
