"""Disclosure control: no withheld panel cell can be computed from what the public sees.

The property test generates small panels (persons with one home province, equal weights within a province,
monthly activity over two quarters; a quarter's MAU and panelists are the means of its months'), builds the
metric tables the metric layer would return (national and provincial, quarters and months, with the changes
against the previous period), publishes them through the product's disclosure rules, and then attacks: it
gathers every linear equation the published numbers give —

- group totals: the national value is the sum of the provinces', a quarter the mean of its months;
- category totals, shares × totals and ratios, read as if they covered every platform (the attacker ignores
  the note that they cover the published platforms only);
- differences across periods: a published change and a published value give the other period's value;
- sample sizes: with equal weights within a province, sample × weight is the MAU;

solves the system, and fails if any withheld cell is determined by it and equals its true value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thuocdo.model.periods import Period
from thuocdo.reports.disclosure import (
    NATION,
    Block,
    CellKey,
    category_table,
    disclose,
    suppress,
    withheld_cells,
)
from thuocdo.reports.uncertainty import MIN_CELL

SOURCE = "panel"
QUARTERS = ("2021-Q4", "2022-Q1")
MONTHS = {q: Period.parse(q).months for q in QUARTERS}
PERIODS = [p for q in QUARTERS for p in (q, *MONTHS[q])]


@dataclass(frozen=True)
class Panel:
    platforms: tuple[tuple[str, str, str], ...]  # id, category, origin
    weights: Mapping[str, int]  # province → weight of each of its panelists
    active: Mapping[tuple[str, str], tuple[int, ...]]  # (platform, province) → one 6-bit month mask per person


@st.composite
def panels(draw: st.DrawFn) -> Panel:
    n = draw(st.integers(2, 4))
    platforms = tuple((f"p{i}", draw(st.sampled_from(["c1", "c2"])), draw(st.sampled_from(["vn", "foreign"])))
                      for i in range(n))
    provinces = ("01", "02", "03")[:draw(st.integers(1, 3))]
    weights = {r: draw(st.integers(1, 9)) * 1000 for r in provinces}
    active = {}
    for p, _, _ in platforms:
        for r in provinces:
            size = draw(st.sampled_from([0, 3, 12, 18, 22, 30, 45]))
            active[(p, r)] = tuple(draw(st.lists(st.integers(1, 63), min_size=size, max_size=size)))
    return Panel(platforms, weights, active)


def _month_users(panel: Panel, platform: str, province: str, period: str) -> tuple[float, float]:
    """(MAU, active panelists) of one province and period; a quarter's are the means of its months' (as the
    metric dictionary defines ``mau`` and ``sample_persons``)."""
    if period in MONTHS:
        months = [_month_users(panel, platform, province, m) for m in MONTHS[period]]
        return sum(m[0] for m in months) / 3, sum(m[1] for m in months) / 3
    index = {m: i for i, m in enumerate(m for q in QUARTERS for m in MONTHS[q])}
    persons = sum(1 for mask in panel.active[(platform, province)] if mask >> index[period] & 1)
    return float(persons * panel.weights[province]), float(persons)


def truth(panel: Panel) -> dict[CellKey, tuple[float, float]]:
    """Every cell with activity: (source, platform, area, period) → (MAU, panelists)."""
    out: dict[CellKey, tuple[float, int]] = {}
    for p, _, _ in panel.platforms:
        for period in PERIODS:
            total, persons = 0.0, 0.0
            for r in panel.weights:
                mau, n = _month_users(panel, p, r, period)
                if n:
                    out[(SOURCE, p, r, period)] = (mau, n)
                total, persons = total + mau, persons + n
            if persons:
                out[(SOURCE, p, NATION, period)] = (total, persons)
    return out


def metric_table(panel: Panel, cells: Mapping[CellKey, tuple[float, float]], period: str,
                 by_province: bool) -> pa.Table:
    """The table the metric layer returns for a period (columns the disclosure reads)."""
    info = {p: (c, o) for p, c, o in panel.platforms}
    previous = Period.parse(period).previous().label
    rows = []
    for (source, p, area, per), (mau, n) in sorted(cells.items()):
        if per != period or (area == NATION) == by_province:
            continue
        prev = cells.get((source, p, area, previous))
        row = {"period": per, "source": source, "platform": p, "name": p, "category": info[p][0],
               "origin": info[p][1], "mau": mau, "sessions": 2 * mau, "sample_persons": n,
               "rank_in_category": 1, "mau_previous": prev[0] if prev else None,
               "mau_change_previous": (mau - prev[0]) / prev[0] if prev else None, "mau_year_ago": None,
               "mau_change_year": None, "basis": "records"}
        if by_province:
            row["province"] = area
        rows.append(row)
    schema = [("period", pa.string()), ("source", pa.string()), ("platform", pa.string()), ("name", pa.string()),
              ("category", pa.string()), ("origin", pa.string())] + ([("province", pa.string())] if by_province else [])
    schema += [(c, pa.float64()) for c in ("mau", "sessions", "sample_persons")] + [("rank_in_category", pa.int64())]
    schema += [(c, pa.float64()) for c in ("mau_previous", "mau_change_previous", "mau_year_ago", "mau_change_year")]
    schema += [("basis", pa.string())]
    return pa.Table.from_pylist(rows, schema=pa.schema(schema))


@dataclass
class Published:
    platforms: dict[str, pa.Table]
    provinces: dict[str, pa.Table]
    categories: dict[str, pa.Table]


def publish(panel: Panel, cells: Mapping[CellKey, tuple[float, float]]) -> Published:
    """What the public sees, through the product's disclosure rules (as the service and the reports apply them)."""
    national = {p: metric_table(panel, cells, p, False) for p in PERIODS}
    provincial = {p: metric_table(panel, cells, p, True) for p in PERIODS}
    withheld = {q: withheld_cells(Block(q, {p: national[p] for p in (q, *MONTHS[q])},
                                        {p: provincial[p] for p in (q, *MONTHS[q])})) for q in QUARTERS}
    platforms = {p: disclose(t, False, withheld) for p, t in national.items()}
    provinces = {p: disclose(t, True, withheld) for p, t in provincial.items()}
    return Published(platforms, provinces, {p: category_table(t) for p, t in platforms.items()})


class Attack:
    """Linear equations over the withheld cells (unknowns), built from the published numbers."""

    def __init__(self, known: Mapping[CellKey, float], unknown: Iterable[CellKey]) -> None:
        self.known = dict(known)
        self.index = {k: i for i, k in enumerate(sorted(unknown))}
        self.rows: list[np.ndarray] = []
        self.rhs: list[float] = []

    def equation(self, terms: Iterable[tuple[CellKey, float]], constant: float = 0.0) -> None:
        """Σ coefficient × cell = constant, cells with no record counting 0."""
        row = np.zeros(len(self.index))
        rhs = constant
        for key, c in terms:
            if key in self.index:
                row[self.index[key]] += c
            else:
                rhs -= c * self.known.get(key, 0.0)
        if row.any():
            self.rows.append(row)
            self.rhs.append(rhs)

    def recovered(self) -> dict[CellKey, float]:
        """The unknowns the equations determine, with the value they give."""
        if not self.rows:
            return {}
        a, b = np.array(self.rows), np.array(self.rhs)
        solution = np.linalg.lstsq(a, b, rcond=None)[0]
        _, s, vt = np.linalg.svd(a, full_matrices=False)
        rank = int(np.sum(s > 1e-9 * max(1.0, s.max())))
        projection = np.sum(vt[:rank] ** 2, axis=0)
        return {k: float(solution[i]) for k, i in self.index.items() if projection[i] > 1 - 1e-7}


def attack(panel: Panel, published: Published, with_totals: bool) -> dict[CellKey, float]:
    areas = [NATION, *panel.weights]
    known: dict[CellKey, float] = {}
    unknown: set[CellKey] = set()
    for table, by_province in [*((t, False) for t in published.platforms.values()),
                               *((t, True) for t in published.provinces.values())]:
        for r in table.to_pylist():
            key = (r["source"], r["platform"], r["province"] if by_province else NATION, r["period"])
            if r["suppressed"]:
                unknown.add(key)
            else:
                known[key] = r["mau"]
    eq = Attack(known, unknown)
    for p, _, _ in panel.platforms:
        for period in PERIODS:  # group totals: the nation is the sum of its provinces
            eq.equation([((SOURCE, p, NATION, period), 1.0)]
                        + [((SOURCE, p, r, period), -1.0) for r in panel.weights])
        for q in QUARTERS:  # a quarter is the mean of its months
            for a in areas:
                eq.equation([((SOURCE, p, a, q), 1.0)] + [((SOURCE, p, a, m), -1 / 3) for m in MONTHS[q]])
    for tables, by_province in ((published.platforms, False), (published.provinces, True)):
        for period, table in tables.items():  # differences: a change links two periods
            previous = Period.parse(period).previous().label
            for r in table.to_pylist():
                area = r["province"] if by_province else NATION
                here, before = (SOURCE, r["platform"], area, period), (SOURCE, r["platform"], area, previous)
                if r["mau_previous"] is not None:
                    eq.equation([(before, 1.0)], r["mau_previous"])
                if r["mau_change_previous"] is not None:
                    eq.equation([(here, 1.0), (before, -(1 + r["mau_change_previous"]))])
    if with_totals:
        for period, table in published.categories.items():  # totals, shares × totals, ratios
            for r in table.to_pylist():
                if r["metric"] != "mau":
                    continue
                members = [p for p, c, _ in panel.platforms if c == r["category"]]
                origin = {p: o for p, _, o in panel.platforms}
                cell = {p: (SOURCE, p, NATION, period) for p in members}
                eq.equation([(cell[p], 1.0) for p in members if origin[p] == "vn"], r["domestic_value"])
                eq.equation([(cell[p], 1.0) for p in members if origin[p] == "foreign"], r["foreign_value"])
                eq.equation([(cell[p], 1.0) for p in members], r["total_value"])
                if r["domestic_share"] is not None:
                    eq.equation([(cell[p], (1.0 if origin[p] == "vn" else 0.0) - r["domestic_share"])
                                 for p in members])
    found = eq.recovered()
    found.update(_samples(panel, published))
    return found


def _samples(panel: Panel, published: Published) -> dict[CellKey, float]:
    """Sample sizes: a withheld provincial month whose sample is published, or follows from the national
    sample minus the other provinces', times the province's weight (read off any published cell there)."""
    known, unknown, hidden = {}, set(), set()
    weight: dict[str, float] = {}
    for tables, by_province in ((published.provinces, True), (published.platforms, False)):
        for period, table in tables.items():
            for r in table.to_pylist():
                key = (SOURCE, r["platform"], r["province"] if by_province else NATION, period)
                if r["suppressed"]:
                    hidden.add(key)
                if r["sample_persons"] is None:
                    unknown.add(key)
                else:
                    known[key] = r["sample_persons"]
                if by_province and r["mau"] is not None and Period.parse(period).kind.value == "month":
                    weight[r["province"]] = r["mau"] / r["sample_persons"]
    eq = Attack(known, unknown)
    for p, _, _ in panel.platforms:
        for period in PERIODS:
            eq.equation([((SOURCE, p, NATION, period), 1.0)] + [((SOURCE, p, r, period), -1.0) for r in panel.weights])
    samples = {**{k: v for k, v in known.items() if k in hidden}, **eq.recovered()}
    return {k: n * weight[k[2]] for k, n in samples.items()
            if k[2] != NATION and k[2] in weight and Period.parse(k[3]).kind.value == "month"}


def exposed(panel: Panel, published: Published) -> list[tuple[CellKey, float, float]]:
    cells = truth(panel)
    hits = []
    for with_totals in (False, True):
        for key, value in attack(panel, published, with_totals).items():
            true = cells.get(key, (0.0, 0.0))[0]
            if true and math.isclose(value, true, rel_tol=1e-6):
                hits.append((key, value, true))
    return hits


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels())
def test_no_withheld_cell_can_be_recovered(panel: Panel) -> None:
    cells = truth(panel)
    published = publish(panel, cells)
    assert not exposed(panel, published)
    for table in (*published.platforms.values(), *published.provinces.values()):  # and small cells stay hidden
        for r in table.to_pylist():
            if cells[(SOURCE, r["platform"], r.get("province") or NATION, r["period"])][1] < MIN_CELL:
                assert r["suppressed"] and r["mau"] is None and r["sample_persons"] is None


def _example() -> Panel:
    """Two ride-hailing apps in one province: 'be' is too small to publish, 'grab' is large."""
    every = (63,) * 30
    return Panel((("grab", "c1", "foreign"), ("be", "c1", "vn")), {"01": 1000},
                 {("grab", "01"): every, ("be", "01"): (63,) * 6})


def test_the_attack_works_on_primary_suppression_alone() -> None:
    """Without complementary suppression and with totals over every cell, the attack recovers 'be': the
    category total minus 'grab' (the defect this module fixes)."""
    panel = _example()
    cells = truth(panel)
    national = {p: suppress(metric_table(panel, cells, p, False)) for p in PERIODS}
    provincial = {p: suppress(metric_table(panel, cells, p, True)) for p in PERIODS}
    full = {}
    for p in PERIODS:  # category totals over every platform, as the category table was published before
        table = metric_table(panel, cells, p, False)
        full[p] = category_table(table.append_column("suppressed", pa.array([False] * table.num_rows)))
    hits = exposed(panel, Published(national, provincial, full))
    assert ("panel", "be", NATION, "2022-Q1") in {k for k, _, _ in hits}
    assert not exposed(panel, publish(panel, cells))


def test_category_totals_cover_the_published_platforms_only() -> None:
    panel = _example()
    cells = truth(panel)
    published = publish(panel, cells)
    row = next(r for r in published.categories["2022-Q1"].to_pylist() if r["metric"] == "mau")
    assert row["domestic_value"] == 0 and row["foreign_value"] == 30_000 and row["withheld"] == 1
    assert row["domestic_share"] == 0


def test_a_lone_small_province_takes_a_partner_with_it() -> None:
    """One province under the threshold beside a published national figure: the next smallest province is
    withheld too (and the national figure stays)."""
    panel = Panel((("zalo", "c1", "vn"),), {"01": 1000, "02": 1000, "03": 1000},
                  {("zalo", "01"): (63,) * 40, ("zalo", "02"): (63,) * 25, ("zalo", "03"): (63,) * 5})
    published = publish(panel, truth(panel))
    rows = {r["province"]: r for r in published.provinces["2022-Q1"].to_pylist()}
    assert rows["03"]["suppressed"] and rows["02"]["suppressed"] and not rows["01"]["suppressed"]
    assert not published.platforms["2022-Q1"].to_pylist()[0]["suppressed"]


def test_changes_only_between_published_cells() -> None:
    """Be is published in 2022-Q1 but not in 2021-Q4: neither its earlier value nor its change is shown."""
    panel = Panel((("grab", "c1", "foreign"), ("be", "c1", "vn")), {"01": 1000},
                  {("grab", "01"): (63,) * 30, ("be", "01"): (63,) * 10 + (56,) * 15})
    published = publish(panel, truth(panel))
    be = next(r for r in published.platforms["2022-Q1"].to_pylist() if r["platform"] == "be")
    assert not be["suppressed"] and be["mau"] == 25_000
    assert be["mau_previous"] is None and be["mau_change_previous"] is None


@pytest.mark.parametrize("period", ["2022-Q1", "2022-01"])
def test_a_period_whose_comparison_was_not_checked_shows_no_change(period: str) -> None:
    panel = _example()
    cells = truth(panel)
    table = metric_table(panel, cells, period, False)
    quarter = "2022-Q1"
    withheld = {quarter: withheld_cells(Block(quarter, {p: metric_table(panel, cells, p, False)
                                                        for p in (quarter, *MONTHS[quarter])}))}
    shown = disclose(table, False, withheld).to_pylist()
    assert all(r["mau_change_previous"] is None and r["mau_previous"] is None for r in shown)
