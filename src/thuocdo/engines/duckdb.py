"""The embedded default engine: DuckDB over the store's rollup table."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from thuocdo.engines.base import SELECTED_USAGE, Relations, named_relations, reading_selected
from thuocdo.store import Store


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, query: exp.Expr, relations: Relations) -> pa.Table:
        con = self.store.con
        names = named_relations(relations)
        if relations.usage_month is not None:
            names[SELECTED_USAGE] = relations.usage_month
            query = reading_selected(query)
        for name, table in names.items():
            con.register(name, table)
        try:
            return con.sql(query.sql(dialect=self.dialect)).to_arrow_table()
        finally:
            for name in names:
                con.unregister(name)
