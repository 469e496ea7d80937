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
    q = Period.parse(quarter_of(quarter))
    periods = [q.label, *q.months]
    requests = [metric_workflow.metric_request(p, by, source) for by in ("platform", "province") for p in periods]
    tables = metric_workflow.metrics_many(home, requests, engine, master)
    n = len(periods)
    return Block(q.label, dict(zip(periods, tables[:n], strict=True)), dict(zip(periods, tables[n:], strict=True)))


def withheld(home: str | Path | None, periods: Iterable[str], source: str | None = None,
             min_cell: int = MIN_CELL) -> dict[str, frozenset[CellKey]]:
    """Quarter label → the withheld cells of its block, for the quarters of `periods` (months or quarters)."""
    return {q: withheld_cells(block(home, q, source), min_cell) for q in sorted({quarter_of(p) for p in periods})}


def compared_quarters(period: str) -> list[str]:
    """The quarters whose blocks decide what a period's table may show: its own, its previous period's and
    the same period's a year before."""
    p = Period.parse(period)
    return sorted({quarter_of(x.label) for x in (p, p.previous(), p.year_ago())})

