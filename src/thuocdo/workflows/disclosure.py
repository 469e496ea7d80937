"""Which panel cells the public may see: the metric tables of each quarter's block (the quarter and its months,
nationally and by province) read through the metric layer, and handed to the disclosure rules of
:mod:`thuocdo.reports.disclosure` (primary and complementary suppression)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from thuocdo.model.periods import Period
from thuocdo.reports.disclosure import Block, CellKey, quarter_of, withheld_cells
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.workflows import metrics as metric_workflow


def block(home: str | Path | None, quarter: str, source: str | None = None, engine: str = "duckdb",
          master: str | None = None) -> Block:
    """The eight metric tables of a quarter's block (by platform and by province; the quarter and each month)."""
    return blocks(home, [quarter], source, engine, master)[quarter_of(quarter)]


def blocks(home: str | Path | None, quarters: Iterable[str], source: str | None = None, engine: str = "duckdb",
           master: str | None = None) -> dict[str, Block]:
    """The blocks of several quarters, read at once (one opening of the store; on Spark, one rollup of every
    month they need)."""
    labels = sorted({quarter_of(q) for q in quarters})
    periods = {q: [q, *Period.parse(q).months] for q in labels}
    requests = [metric_workflow.metric_request(p, by, source) for q in labels for by in ("platform", "province")
                for p in periods[q]]
    tables = iter(metric_workflow.metrics_many(home, requests, engine, master))
    out = {}
    for q in labels:
        platforms = {p: next(tables) for p in periods[q]}
        provinces = {p: next(tables) for p in periods[q]}
        out[q] = Block(q, platforms, provinces)
    return out


def withheld(home: str | Path | None, periods: Iterable[str], source: str | None = None,
             min_cell: int = MIN_CELL) -> dict[str, frozenset[CellKey]]:
    """Quarter label → the withheld cells of its block, for the quarters of `periods` (months or quarters)."""
    return {q: withheld_cells(b, min_cell) for q, b in blocks(home, periods, source).items()}


def compared_quarters(period: str) -> list[str]:
    """The quarters whose blocks decide what a period's table may show: its own, its previous period's and
    the same period's a year before."""
    p = Period.parse(period)
    return sorted({quarter_of(x.label) for x in (p, p.previous(), p.year_ago())})

