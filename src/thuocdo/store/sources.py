"""The registry of sources: the declared ones (``sources``, ``coverage``) and those that have data.

A source is declared with a kind (census, panel, aggregates) and a link key (shared, private); a source that
delivered data without being declared is still a source: its kind is inferred from what it holds (weights:
a panel; usage records without weights: a census; published aggregates only: aggregates) and its link key is
``private``, the keying every source had before declarations existed.

What a source holds is read from the tables that say it reliably: usage records from the lake's listing
(``lake_files``, dataset ``person_day``) and the HTTP inbox not merged yet (``inbox_segments``, and the legacy
``inbox`` table); panel weights from ``weights``; published figures from ``aggregates``, under the source each
figure names (a row's own ``source``, or its batch's). Records ingested by Spark into the cluster's lakehouse
are seen through their rollup once the lakehouse is attached to the store's connection
(:func:`thuocdo.workflows.store.attach_lakehouse`).

Stores created before the registry existed and opened read-only lack its two tables: they read as empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from thuocdo.model.sources import DEFAULT_LINK_KEY, key_domain_of
from thuocdo.store.home import Store


@dataclass(frozen=True)
class SourceInfo:
    """A source: declared, or known from its data (`declared` False: kind inferred, link key ``private``)."""

    name: str
    kind: str
    link_key: str
    declared: bool
    has_usage: bool
    has_weights: bool
    has_aggregates: bool

    @property
    def keyed(self) -> bool:
        """Whether person keys of the source are stored (usage records or weights): its link key is then fixed."""
        return self.has_usage or self.has_weights


@dataclass(frozen=True)
class Declaration:
    """When and by whom a source's kind and link key were last set."""

    declared_at: dt.datetime
    declared_by: str | None


COVERAGE_SCHEMA = pa.schema([("source", pa.string()), ("province", pa.string()), ("month", pa.string()),
                             ("subscribers", pa.int64())])

_EMPTY_SOURCES = ("(SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS kind, NULL::VARCHAR AS link_key, "
                  "NULL::TIMESTAMP AS declared_at, NULL::VARCHAR AS declared_by WHERE false)")
_EMPTY_COVERAGE = ("(SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS province, NULL::VARCHAR AS month, "
                   "NULL::BIGINT AS subscribers WHERE false)")
#: the sources with usage records: in the lake, still in the HTTP inbox, or rolled up (the rollup read by the
#: store's queries includes the sources of the cluster's lakehouse once attached: thuocdo.store.Store.attach_usage)
_USAGE_MONTHS = """
    SELECT source, month FROM lake_files WHERE dataset = 'person_day'
    UNION SELECT source, unnest(months) AS month FROM inbox_segments
    UNION SELECT source, month FROM inbox
    UNION SELECT source, month FROM usage_month
"""


def _table(store: Store, name: str, empty: str) -> str:
    """The registry's table `name`, or an empty relation of its columns in a store that lacks it."""
    found = store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
                              [name]).fetchall()[0][0]
    return name if found else empty


def inferred_kind(has_usage: bool, has_weights: bool) -> str:
    """The kind of an undeclared source, from what it holds.

    >>> inferred_kind(True, True), inferred_kind(True, False), inferred_kind(False, False)
    ('panel', 'census', 'aggregates')
    """
    if has_weights:
        return "panel"
    return "census" if has_usage else "aggregates"


def list_sources(store: Store, names: Sequence[str] | None = None) -> list[SourceInfo]:
    """Every declared source and every source with data (only those of `names` when given), by name."""
    declared = _table(store, "sources", _EMPTY_SOURCES)
    rows = store.con.execute(f"""
        WITH used AS (SELECT DISTINCT source FROM ({_USAGE_MONTHS})),
             weighted AS (SELECT DISTINCT source FROM weights),
             published AS (SELECT DISTINCT source FROM aggregates),
             named AS (SELECT name AS source FROM {declared} UNION SELECT source FROM used
                       UNION SELECT source FROM weighted UNION SELECT source FROM published)
        SELECT n.source, d.kind, d.link_key, d.name IS NOT NULL, u.source IS NOT NULL, w.source IS NOT NULL,
               p.source IS NOT NULL
        FROM named n
        LEFT JOIN {declared} d ON d.name = n.source
        LEFT JOIN used u ON u.source = n.source
        LEFT JOIN weighted w ON w.source = n.source
        LEFT JOIN published p ON p.source = n.source
        WHERE $names IS NULL OR list_contains($names, n.source)
        ORDER BY n.source
    """, {"names": None if names is None else list(names)}).fetchall()
    return [SourceInfo(name, kind or inferred_kind(usage, weights), link_key or DEFAULT_LINK_KEY, is_declared,
                       usage, weights, published)
            for name, kind, link_key, is_declared, usage, weights, published in rows]


def source_info(store: Store, name: str) -> SourceInfo | None:
    """The source `name`, or None when it is neither declared nor has data."""
    found = list_sources(store, [name])
    return found[0] if found else None


def declaration(store: Store, name: str) -> Declaration | None:
    """When the source's declaration was last set, and by whom (None: never declared)."""
    rows = store.con.execute(f"SELECT declared_at, declared_by FROM {_table(store, 'sources', _EMPTY_SOURCES)} "
                             "WHERE name = ?", [name]).fetchall()
    return Declaration(rows[0][0], rows[0][1]) if rows else None


def key_domain(store: Store, source: str) -> str:
    """What stands in place of the source's name inside its person keys (:mod:`thuocdo.ingest.pseudonymise`):
    ``""`` for a source declared with the ``shared`` link key, the source's name for any other."""
    rows = store.con.execute(f"SELECT link_key FROM {_table(store, 'sources', _EMPTY_SOURCES)} WHERE name = ?",
                             [source]).fetchall()
    return key_domain_of(source, rows[0][0] if rows else DEFAULT_LINK_KEY)


def coverage_table(store: Store, sources: Sequence[str], months: Sequence[str] | None = None) -> pa.Table:
    """The declared coverage of the sources (in the months, when given): source, province (34-unit code),
    month (YYYY-MM), subscribers (int64), ordered by source, month and province."""
    table = store.con.sql(f"""
        SELECT source, province, month, subscribers FROM {_table(store, 'coverage', _EMPTY_COVERAGE)}
        WHERE list_contains($sources, source) AND ($months IS NULL OR list_contains($months, month))
        ORDER BY source, month, province
    """, params={"sources": list(sources), "months": None if months is None else list(months)}).to_arrow_table()
    return table.cast(COVERAGE_SCHEMA)


def person_days_here(store: Store, source: str) -> bool:
    """Whether the source's person-days are in this store (its lake or its inbox), not only its rollup (the
    sources of the cluster's lakehouse, attached)."""
    rows = store.con.execute("SELECT count(*) FROM (SELECT source FROM lake_files WHERE dataset = 'person_day' "
                             "UNION ALL SELECT source FROM inbox_segments UNION ALL SELECT source FROM inbox) "
                             "WHERE source = ?", [source]).fetchall()
    return bool(rows[0][0])


def usage_months(store: Store, sources: Sequence[str]) -> dict[str, list[str]]:
    """The months in which each of the sources has usage records (stored or in the inbox), in order."""
    rows = store.con.execute(f"SELECT source, month FROM ({_USAGE_MONTHS}) WHERE list_contains($sources, source) "
                             "ORDER BY source, month", {"sources": list(sources)}).fetchall()
    found: dict[str, list[str]] = {s: [] for s in sources}
    for source, month in rows:
        found[source].append(month)
    return found


def quarantined_keys(store: Store, source: str) -> bool:
    """Whether open quarantine rows of the source's usage records or weights hold person keys (a retry stores
    them as they are)."""
    rows = store.con.execute("SELECT count(*) FROM quarantine WHERE source = ? AND status = 'open' "
                             "AND kind IN ('usage', 'weights') AND record IS NOT NULL", [source]).fetchall()
    return bool(rows[0][0])


def save_declaration(con: duckdb.DuckDBPyConnection, name: str, kind: str, link_key: str,
                     declared_by: str | None) -> None:
    """Inside a transaction: set the source's kind and link key (declared now, by `declared_by`)."""
    con.execute("INSERT INTO sources VALUES (?, ?, ?, now()::TIMESTAMP, ?) ON CONFLICT (name) DO UPDATE SET "
                "kind = excluded.kind, link_key = excluded.link_key, declared_at = excluded.declared_at, "
                "declared_by = excluded.declared_by", [name, kind, link_key, declared_by])


def save_coverage(con: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> int:
    """Inside a transaction: the source's coverage for the (province, month) pairs of `rows` (province, month,
    subscribers) replaced by theirs; other pairs are kept. Returns how many rows were new or different."""
    con.register("new_coverage", rows.select(["province", "month", "subscribers"]))
    try:
        changed = con.execute("""
            SELECT count(*) FROM new_coverage n
            LEFT JOIN coverage c ON c.source = $name AND c.province = n.province AND c.month = n.month
            WHERE c.subscribers IS DISTINCT FROM n.subscribers""", {"name": name}).fetchall()[0][0]
        con.execute("INSERT INTO coverage SELECT $name, province, month, subscribers FROM new_coverage "
                    "ON CONFLICT (source, province, month) DO UPDATE SET subscribers = excluded.subscribers",
                    {"name": name})
    finally:
        con.unregister("new_coverage")
    return int(changed)


def drop_coverage(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Inside a transaction: remove the source's coverage (a source that is no census has none); how many rows."""
    removed = con.execute("SELECT count(*) FROM coverage WHERE source = ?", [name]).fetchall()[0][0]
    con.execute("DELETE FROM coverage WHERE source = ?", [name])
    return int(removed)


def declarations_stamp(store: Store) -> str:
    """A text that changes whenever a declaration or a coverage row changes (what a national estimate rests on
    besides the records), for caches keyed by the state of the data."""
    declared = _table(store, "sources", _EMPTY_SOURCES)
    coverage = _table(store, "coverage", _EMPTY_COVERAGE)
    row = store.con.execute(
        f"SELECT (SELECT count(*)::VARCHAR || ':' || coalesce(max(declared_at)::VARCHAR, '') FROM {declared}) || '/' "
        f"|| (SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(source, province, month, subscribers) % 1000003), "
        f"0)::VARCHAR FROM {coverage})").fetchall()[0][0]
    return str(row)
