"""What every engine provides: run a metric query over the named relations and return an Arrow table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
from sqlglot import exp


@dataclass(frozen=True)
class Relations:
    """The small reference relations a metric query joins (the rollup itself comes from the engine's store)."""

    platforms: pa.Table
    periods: pa.Table
    smartphones: pa.Table
    #: rows read instead of the stored rollup (a union of sources, the national estimate), when given
    usage_month: pa.Table | None = None
    #: the weekly active persons (:func:`thuocdo.rollups.definitions.usage_week_sql`) of the weeks the query's
    #: period holds; none: no ``wau``
    usage_week: pa.Table | None = None


#: the name under which an engine registers :attr:`Relations.usage_month`
SELECTED_USAGE = "usage_month_selected"
#: the columns of :attr:`Relations.usage_week`
USAGE_WEEK_SCHEMA = pa.schema([("source", pa.string()), ("platform", pa.string()), ("week", pa.date32()),
                               ("province", pa.string()), ("persons", pa.int64()), ("w_persons", pa.float64()),
                               ("w2_persons", pa.float64())])


def named_relations(relations: Relations) -> dict[str, pa.Table]:
    """The relations a metric query reads by name (the selected rollup apart: :data:`SELECTED_USAGE`)."""
    weekly = USAGE_WEEK_SCHEMA.empty_table() if relations.usage_week is None else relations.usage_week
    return {"platforms": relations.platforms, "periods": relations.periods, "smartphones": relations.smartphones,
            "usage_week": weekly}


def reading_selected(query: exp.Expr) -> exp.Expr:
    """The query reading :data:`SELECTED_USAGE` wherever it reads the stored ``usage_month``."""
    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name == "usage_month":
            return exp.to_table(SELECTED_USAGE, alias=node.alias or None)
        return node
    return query.transform(swap)


class Engine(Protocol):
    name: str
    dialect: str

    def run(self, query: exp.Expr, relations: Relations) -> pa.Table: ...
