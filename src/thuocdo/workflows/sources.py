"""The sources' use cases: list them, show one with its coverage, declare one (``thuocdo sources``, and the API's
``/sources`` through the service).

A declaration is checked as written (:func:`thuocdo.ingest.sources.check_declaration`), then against the stored
data once the store is up to date (the inbox merged, the rollups rebuilt: the coverage is compared with the
persons the records show), then written in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.ingest.sources import (
    CoverageRow,
    DeclarationResult,
    check_against_store,
    check_declaration,
    file_line,
    read_coverage_file,
    save_declaration,
)
from thuocdo.model.sources import DEFAULT_LINK_KEY, is_source_name
from thuocdo.store import Store
from thuocdo.store import sources as registry
from thuocdo.workflows.store import attach_lakehouse, bring_up_to_date, open_store

#: the columns of the list of sources (`thuocdo sources list --format csv`)
SUMMARY_COLUMNS = ("source", "kind", "link_key", "declared", "has_usage", "has_weights", "has_aggregates",
                   "usage_months", "usage_from", "usage_to", "coverage_months")


@dataclass(frozen=True)
class SourceMonth:
    """A month of a source: whether it has usage records, and its declared coverage (provinces, subscribers)."""

    month: str
    has_usage: bool
    coverage_provinces: int
    subscribers: int | None


@dataclass(frozen=True)
class SourceDetail:
    """One source with its declaration and, month by month, its usage and coverage."""

    info: registry.SourceInfo
    declared_at: dt.datetime | None
    declared_by: str | None
    months: list[SourceMonth]

    def as_json(self) -> dict[str, Any]:
        i = self.info
        return {"source": i.name, "kind": i.kind, "link_key": i.link_key, "declared": i.declared,
                "declared_at": (self.declared_at.replace(tzinfo=dt.UTC).isoformat(timespec="seconds")
                                if self.declared_at else None),
                "declared_by": self.declared_by, "has_usage": i.has_usage, "has_weights": i.has_weights,
                "has_aggregates": i.has_aggregates,
                "months": [{"month": m.month, "has_usage": m.has_usage, "coverage_provinces": m.coverage_provinces,
                            "subscribers": m.subscribers} for m in self.months]}


@dataclass(frozen=True)
class Declared:
    """A declaration written: the source as it is now, and what changed."""

    detail: SourceDetail
    result: DeclarationResult


# -- on an opened store (the service's) ----------------------------------------------------------------------------
def summaries(store: Store) -> list[dict[str, Any]]:
    """One row per source (:data:`SUMMARY_COLUMNS`), by name."""
    infos = registry.list_sources(store)
    names = [i.name for i in infos]
    used = registry.usage_months(store, names)
    covered: dict[str, set[str]] = {n: set() for n in names}
    for row in registry.coverage_table(store, names).to_pylist():
        covered[row["source"]].add(row["month"])
    return [{"source": i.name, "kind": i.kind, "link_key": i.link_key, "declared": i.declared,
             "has_usage": i.has_usage, "has_weights": i.has_weights, "has_aggregates": i.has_aggregates,
             "usage_months": len(used[i.name]), "usage_from": used[i.name][0] if used[i.name] else None,
             "usage_to": used[i.name][-1] if used[i.name] else None, "coverage_months": len(covered[i.name])}
            for i in infos]


def detail(store: Store, name: str) -> SourceDetail | None:
    """The source `name` with its months (None when it is neither declared nor has data)."""
    info = registry.source_info(store, name)
    if info is None:
        return None
    declaration = registry.declaration(store, name)
    used = set(registry.usage_months(store, [name])[name])
    provinces: dict[str, int] = {}
    subscribers: dict[str, int] = {}
    for row in registry.coverage_table(store, [name]).to_pylist():
        provinces[row["month"]] = provinces.get(row["month"], 0) + 1
        subscribers[row["month"]] = subscribers.get(row["month"], 0) + row["subscribers"]
    months = [SourceMonth(m, m in used, provinces.get(m, 0), subscribers.get(m)) for m in sorted(used | set(provinces))]
    return SourceDetail(info, declaration.declared_at if declaration else None,
                        declaration.declared_by if declaration else None, months)


def declare_in(store: Store, catalog: Catalog, name: str, kind: str, link_key: str | None,
               coverage: Sequence[CoverageRow] | None, origin: str, declared_by: str | None,
               record: Callable[[duckdb.DuckDBPyConnection, DeclarationResult], None] | None = None,
               row_name: Callable[[int], str] = file_line) -> Declared:
    """Check a declaration (as written, then against the stored data) and write it with `record` in the same
    transaction; DeclarationError (nothing written) when it cannot be. Without a link key, a declared source
    keeps its own and any other is private."""
    if link_key is None:
        current = registry.source_info(store, name) if is_source_name(name) else None
        link_key = current.link_key if current is not None else DEFAULT_LINK_KEY
    declaration = check_declaration(name, kind, link_key, coverage, catalog, origin, row_name)
    if declaration.coverage is not None and declaration.coverage.num_rows:
        bring_up_to_date(store)  # the coverage is compared with every stored record's person
    check_against_store(store, declaration, catalog)
    result = save_declaration(store, declaration, declared_by, record)
    shown = detail(store, name)
    assert shown is not None
    return Declared(shown, result)


# -- from a home (the command line) --------------------------------------------------------------------------------
def list_sources(home: str | Path | None) -> list[dict[str, Any]]:
    with open_store(home) as store:
        attach_lakehouse(store)
        return summaries(store)


def show_source(home: str | Path | None, name: str) -> SourceDetail | None:
    with open_store(home) as store:
        attach_lakehouse(store)
        return detail(store, name)


def declare(home: str | Path | None, name: str, kind: str, link_key: str | None = None,
            coverage_file: Path | None = None, declared_by: str | None = "cli") -> Declared:
    """Declare a source from the command line: the coverage file is read (every problem of it collected) before
    the store is opened."""
    coverage = read_coverage_file(coverage_file) if coverage_file is not None else None
    origin = coverage_file.name if coverage_file is not None else ""
    catalog = load_catalog()
    with open_store(home) as store:
        return declare_in(store, catalog, name, kind, link_key, coverage, origin, declared_by)
