"""Disclosure control of panel figures: primary suppression, complementary (secondary) suppression, totals
over published cells only, and changes only between published cells.

**Cells.** A panel figure is a *cell*: (source, platform, area, period), where the area is the nation
(``NATION``) or a province (the metric table's ``province``; ``UNKNOWN`` for records without one) and the
period a month or a quarter. Every metric of a row (MAU, DAU, time, data, sessions, installs, penetration, the
sample size…) is published or withheld together.

**Primary suppression.** A cell resting on fewer than ``MIN_CELL`` active panelists is withheld.

**Published relations.** What a reader can combine: within a quarter's *block* (its three months, by nation
and by province), for each source and platform,

- the national value of a period is the sum of its provinces' values (exact when every person lives in one
  province, as in a panel; treated as exact, which errs on the safe side);
- a quarter's value is the mean (MAU, DAU) or the sum (sessions, installs) of its months' values.

Both are linear. A withheld cell whose value follows from the published cells through these relations would
be disclosed anyway, so **complementary suppression** withholds more cells until none can: the whole system
of relations is checked at once (a withheld cell *h* can be computed exactly iff the unit vector of *h* lies
in the row space of the relations restricted to the withheld cells), and while some withheld cell can be
computed, the smallest published cell that shares a relation with it is withheld too — a provincial or
monthly cell before a national or quarterly one, so that the national quarterly figures of the report are
kept whenever possible. This is the classic audit of a linked tabulation (Cox, 1980; the "hypercube"
and linear-programming audits of τ-Argus follow the same idea).

**Totals, shares, ratios.** Category totals (Vietnamese, foreign, all), domestic shares and ratios are
summed over the *published* cells only (:func:`category_table`, with the count of withheld platforms), so no
total carries a withheld value; the report says so under each table.

**Changes.** A change against an earlier period (and the earlier value itself) is published only when the
cell is published in both periods; a change whose earlier period's disclosure is unknown is withheld.

>>> hidden = complementary({("s", "p", NATION, "2022-Q1"): Cell(50, 50), ("s", "p", "01", "2022-Q1"): Cell(40, 40),
...                         ("s", "p", "02", "2022-Q1"): Cell(10, 10)}, [])
>>> sorted(k[2] for k in hidden)
['02']
>>> relation = [[(("s", "p", NATION, "2022-Q1"), 1.0), (("s", "p", "01", "2022-Q1"), -1.0),
...              (("s", "p", "02", "2022-Q1"), -1.0)]]
>>> hidden = complementary({("s", "p", NATION, "2022-Q1"): Cell(50, 50), ("s", "p", "01", "2022-Q1"): Cell(40, 40),
...                         ("s", "p", "02", "2022-Q1"): Cell(10, 10)}, relation)
>>> sorted(k[2] for k in hidden)  # 02 alone could be computed as 50 − 40: 01 is withheld with it
['01', '02']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.model.periods import Period, PeriodKind
from thuocdo.reports.uncertainty import MIN_CELL

#: metric columns withheld with their cell (sketch bounds and the sample size included: with equal weights
#: within a province, sample × weight is the MAU)
SUPPRESSED_COLUMNS = ("mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs", "stickiness",
                      "sample_persons", "w2_persons", "mau_previous", "mau_change_previous", "mau_year_ago",
                      "mau_change_year", "penetration", "mau_lower_95", "mau_upper_95", "mau_rse",
                      "rank_in_category", "sources", "mau_low", "mau_high", "wau")
PREVIOUS_COLUMNS = ("mau_previous", "mau_change_previous")
YEAR_AGO_COLUMNS = ("mau_year_ago", "mau_change_year")
#: the additive metrics of the category table (as ``thuocdo metrics --by category``)
CATEGORY_METRICS = ("mau", "dau", "sessions", "installs", "mb_per_user")
NATION = ""
UNKNOWN = "?"
#: a cell: (source, platform, area, period)
CellKey = tuple[str, str, str, str]
#: a linear relation between cells: Σ coefficient × value = 0 (cells absent from the tables count 0)
Relation = list[tuple[CellKey, float]]
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Cell:
    value: float  # MAU: what withholding the cell costs
    sample: float | None  # active panelists (None: not a panel figure)


@dataclass(frozen=True)
class Block:
    """The metric tables of one quarter's block: by platform (national) and by province, for the quarter and
    each of its months (period label → table; a missing table is simply not part of the check)."""

    quarter: str
    platforms: Mapping[str, pa.Table] = field(default_factory=dict)
    provinces: Mapping[str, pa.Table] = field(default_factory=dict)


def area_of(row: Mapping[str, Any], by_province: bool) -> str:
    if not by_province:
        return NATION
    province = row.get("province")
    return UNKNOWN if province is None else str(province)


def _is_panel(row: Mapping[str, Any]) -> bool:
    return (row.get("basis") or "records") == "records"


def cells_of(table: pa.Table, by_province: bool) -> dict[CellKey, Cell]:
    """The panel cells of a metric table (rows filled from published aggregates are not panel cells)."""
    out: dict[CellKey, Cell] = {}
    for r in table.to_pylist():
        if not _is_panel(r):
            continue
        sample = r.get("sample_persons")
        out[(str(r.get("source") or ""), str(r["platform"]), area_of(r, by_province), str(r["period"]))] = Cell(
            float(r.get("mau") or 0.0), None if sample is None else float(sample))
    return out


def block_cells(block: Block) -> dict[CellKey, Cell]:
    cells: dict[CellKey, Cell] = {}
    for table in block.platforms.values():
        cells.update(cells_of(table, False))
    for table in block.provinces.values():
        cells.update(cells_of(table, True))
    return cells


def block_relations(block: Block, cells: Mapping[CellKey, Cell]) -> list[Relation]:
    """The linear relations a reader can use within the block (see the module's docstring)."""
    quarter = Period.parse(block.quarter)
    months = list(quarter.months)
    times = [quarter.label, *months]
    groups: dict[tuple[str, str], set[str]] = {}
    for source, platform, area, _period in cells:
        groups.setdefault((source, platform), set()).add(area)
    relations: list[Relation] = []
    for (source, platform), areas in groups.items():
        provinces = sorted(a for a in areas if a != NATION)
        for t in times:  # the nation is the sum of its provinces, when both are published for the period
            if t in block.platforms and t in block.provinces and provinces:
                relations.append([((source, platform, NATION, t), 1.0)]
                                 + [((source, platform, a, t), -1.0) for a in provinces])
        for a in sorted(areas):  # a quarter is the mean (or the sum) of its months
            if _published_all(block, a, times):
                relations.append([((source, platform, a, quarter.label), 1.0)]
                                 + [((source, platform, a, m), -1.0 / len(months)) for m in months])
    return relations


def _published_all(block: Block, area: str, periods: Sequence[str]) -> bool:
    tables = block.platforms if area == NATION else block.provinces
    return all(p in tables for p in periods)


def _tier(key: CellKey) -> int:
    """Which cells to give up first: provincial months, provincial quarters, national months, national quarters."""
    national = key[2] == NATION
    quarter = Period.parse(key[3]).kind is PeriodKind.QUARTER
    return 2 * national + quarter


def determined(relations: Sequence[Relation], hidden: set[CellKey]) -> set[CellKey]:
    """The withheld cells whose value the relations fix, given every published cell."""
    groups: dict[tuple[str, str], list[Relation]] = {}
    for rel in relations:
        if any(k in hidden for k, _ in rel):
            groups.setdefault((rel[0][0][0], rel[0][0][1]), []).append(rel)
    found: set[CellKey] = set()
    for rels in groups.values():
        unknowns = sorted({k for rel in rels for k, _ in rel if k in hidden})
        index = {k: i for i, k in enumerate(unknowns)}
        matrix = np.zeros((len(rels), len(unknowns)))
        for i, rel in enumerate(rels):
            for k, c in rel:
                if k in index:
                    matrix[i, index[k]] += c
        _, s, vt = np.linalg.svd(matrix, full_matrices=False)
        rank = int(np.sum(s > _TOLERANCE * max(1.0, float(s.max(initial=0.0)))))
        if rank == 0:
            continue
        projection = np.sum(vt[:rank] ** 2, axis=0)  # |P e_h|² : 1 when e_h lies in the row space
        found.update(k for k, i in index.items() if projection[i] > 1.0 - 1e-7)
    return found


def complementary(cells: Mapping[CellKey, Cell], relations: Sequence[Relation],
                  min_cell: int = MIN_CELL) -> frozenset[CellKey]:
    """Primary suppression (fewer than `min_cell` panelists), then complementary suppression until no
    withheld cell can be computed from the published cells through `relations`."""
    hidden = {k for k, c in cells.items() if c.sample is not None and c.sample < min_cell}
    by_cell: dict[CellKey, list[Relation]] = {}
    for rel in relations:
        for k, _ in rel:
            by_cell.setdefault(k, []).append(rel)
    while True:
        exposed = determined(relations, hidden)
        if not exposed:
            return frozenset(hidden)
        added = False
        for h in sorted(exposed):
            partners = {k for rel in by_cell.get(h, []) for k, c in rel
                        if c and k in cells and k not in hidden and cells[k].sample is not None}
            if partners:
                hidden.add(min(partners, key=lambda k: (_tier(k), cells[k].value, k)))
                added = True
        if not added:  # nothing left to withhold beside it (cannot happen with panel data): stop
            return frozenset(hidden)


def withheld_cells(block: Block, min_cell: int = MIN_CELL) -> frozenset[CellKey]:
    """Every withheld cell of a quarter's block (primary and complementary)."""
    cells = block_cells(block)
    return complementary(cells, block_relations(block, cells), min_cell)


def quarter_of(period: str) -> str:
    p = Period.parse(period)
    return p.label if p.kind is PeriodKind.QUARTER else f"{p.year}-Q{(p.index - 1) // 3 + 1}"


def _null(column: pa.ChunkedArray, mask: list[bool]) -> pa.ChunkedArray | pa.Array:
    return pc.if_else(pa.array(mask, pa.bool_()), pa.scalar(None, column.type), column)


def disclose(table: pa.Table, by_province: bool, withheld: Mapping[str, frozenset[CellKey]],
             min_cell: int = MIN_CELL) -> pa.Table:
    """The metric table as the public sees it: the cells of `withheld` (quarter label → withheld cells of
    its block) blanked, a ``suppressed`` column added (and ``suppression``: ``small_sample`` or
    ``complementary``), changes kept only when the earlier period's cell is published (and its block known),
    and ranks recomputed among the published cells."""
    rows = table.to_pylist()
    hide: list[bool] = []
    hide_previous: list[bool] = []
    hide_ago: list[bool] = []
    reasons: list[str | None] = []
    for r in rows:
        if not _is_panel(r):
            hide.append(False)
            hide_previous.append(False)
            hide_ago.append(False)
            reasons.append(None)
            continue
        period = Period.parse(str(r["period"]))
        key = (str(r.get("source") or ""), str(r["platform"]), area_of(r, by_province))
        hidden = _withheld(withheld, key, period)
        hide.append(hidden)
        sample = r.get("sample_persons")
        reasons.append(None if not hidden else "small_sample" if sample is None or sample < min_cell
                       else "complementary")
        hide_previous.append(hidden or _withheld(withheld, key, period.previous()))
        hide_ago.append(hidden or _withheld(withheld, key, period.year_ago()))
    out = table
    for name in SUPPRESSED_COLUMNS:
        if name not in out.column_names:
            continue
        mask = hide_previous if name in PREVIOUS_COLUMNS else hide_ago if name in YEAR_AGO_COLUMNS else hide
        out = out.set_column(out.column_names.index(name), name, _null(out[name], mask))
    out = out.drop_columns([c for c in ("suppressed", "suppression") if c in out.column_names])
    out = out.append_column("suppressed", pa.array(hide, pa.bool_()))
    out = out.append_column("suppression", pa.array(reasons, pa.string()))
    return _rerank(out, by_province)


def _withheld(withheld: Mapping[str, frozenset[CellKey]], key: tuple[str, str, str], period: Period) -> bool:
    """Withheld in its block; a period whose block is unknown counts as withheld (nothing is published
    that was not checked)."""
    block = withheld.get(quarter_of(period.label))
    return True if block is None else (*key, period.label) in block


def _rerank(table: pa.Table, by_province: bool) -> pa.Table:
    """``rank_in_category`` among the published cells only (ties share the lower rank), so that the ranks do
    not betray where a withheld platform stands."""
    if "rank_in_category" not in table.column_names:
        return table
    rows = table.to_pylist()
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        if r.get("rank_in_category") is not None and not r["suppressed"] and r.get("mau") is not None:
            key = (r.get("source"), r["period"], r.get("province") if by_province else None, r.get("category"))
            groups.setdefault(key, []).append(i)
    ranks: list[int | None] = [None] * len(rows)
    for members in groups.values():
        ordered = sorted(members, key=lambda i: -round(float(rows[i]["mau"]), 6))
        for pos, i in enumerate(ordered):
            tied = pos > 0 and round(float(rows[ordered[pos - 1]]["mau"]), 6) == round(float(rows[i]["mau"]), 6)
            ranks[i] = ranks[ordered[pos - 1]] if tied else pos + 1
    column = table["rank_in_category"]
    return table.set_column(table.column_names.index("rank_in_category"), "rank_in_category",
                            pa.array(ranks, column.type))


def suppress(table: pa.Table, min_cell: int = MIN_CELL) -> pa.Table:
    """Primary suppression of one table on its own (every change withheld, since the earlier periods are not
    checked here); the service and the reports use :func:`disclose` with whole blocks."""
    if "sample_persons" not in table.column_names:
        return table
    by_province = "province" in table.column_names
    cells = cells_of(table, by_province)
    hidden = frozenset(k for k, c in cells.items() if c.sample is not None and c.sample < min_cell)
    quarters = {quarter_of(k[3]) for k in cells}
    return disclose(table, by_province, dict.fromkeys(quarters, hidden), min_cell)


_CATEGORY_SCHEMA = pa.schema([
    ("period", pa.string()), ("source", pa.string()), ("category", pa.string()), ("metric", pa.string()),
    ("domestic_value", pa.float64()), ("foreign_value", pa.float64()), ("total_value", pa.float64()),
    ("domestic_share", pa.float64()), ("domestic_foreign_ratio", pa.float64()), ("withheld", pa.int64())])


def category_table(platforms: pa.Table) -> pa.Table:
    """Vietnamese, foreign and all platforms' totals per category and additive metric, summed over the
    *published* panel cells of a disclosed platform table (``withheld``: the platforms left out), with the
    domestic share and the domestic/foreign ratio."""
    sums: dict[tuple[str, str, str, str], list[float]] = {}
    withheld: dict[tuple[str, str, str], int] = {}
    for r in platforms.to_pylist():
        if not _is_panel(r):
            continue
        group = (str(r["period"]), str(r.get("source") or ""), str(r["category"]))
        if r.get("suppressed"):
            withheld[group] = withheld.get(group, 0) + 1
        for metric in CATEGORY_METRICS:
            acc = sums.setdefault((*group, metric), [0.0, 0.0])
            value = r.get(metric)
            if value is not None and not r.get("suppressed"):
                acc[0 if r["origin"] == "vn" else 1] += float(value)
    rows = []
    for (period, source, category, metric), (domestic, foreign) in sorted(sums.items()):
        total = domestic + foreign
        rows.append({"period": period, "source": source, "category": category, "metric": metric,
                     "domestic_value": domestic, "foreign_value": foreign, "total_value": total,
                     "domestic_share": domestic / total if total else None,
                     "domestic_foreign_ratio": domestic / foreign if foreign else None,
                     "withheld": withheld.get((period, source, category), 0)})
    return pa.Table.from_pylist(rows, schema=_CATEGORY_SCHEMA)
