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


class Engine(Protocol):
    name: str
    dialect: str

    def run(self, query: exp.Expr, relations: Relations) -> pa.Table: ...
