"""TEMPORARY shim (replaced by the registry)."""
from __future__ import annotations

from dataclasses import dataclass

from thuocdo.store.home import Store


@dataclass(frozen=True)
class SourceInfo:
    name: str
    kind: str
    link_key: str
    declared: bool
    has_usage: bool
    has_weights: bool
    has_aggregates: bool

def list_sources(store: Store) -> list[SourceInfo]:
    store.con.execute("CREATE TEMP TABLE IF NOT EXISTS coverage "
                      "(source VARCHAR, province VARCHAR, month VARCHAR, subscribers BIGINT)")
    usage = {r[0] for r in store.con.execute("SELECT DISTINCT source FROM lake_files").fetchall()}
    weights = {r[0] for r in store.con.execute("SELECT DISTINCT source FROM weights").fetchall()}
    aggs = {r[0] for r in store.con.execute("SELECT DISTINCT source FROM aggregates").fetchall()}
    out = []
    for n in sorted(usage | weights | aggs):
        kind = "panel" if n in weights else "census" if n in usage else "aggregates"
        out.append(SourceInfo(n, kind, "private", False, n in usage, n in weights, n in aggs))
    return out
