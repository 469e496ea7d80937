"""The lakehouse's rollup as the embedded engine reads it: ``usage_month`` rows from the cluster's Iceberg tables
(through pyiceberg), so that the sources Spark ingested are measured by the default engine, the reports, the
dashboard and the API like any other.

Spark keeps the lakehouse's ``usage_month`` in step (:mod:`thuocdo.rollups.lakehouse`) and writes, per
source-month, what it summed: the person_month partition's data files and the weights' stamp
(``usage_month_built``). A source-month whose person-months or weights have changed since (weights are ingested
into the home's store, by either engine's user) is summed here again from its stored person-months with the
store's weights, with the same rule (:data:`thuocdo.rollups.definitions.USAGE_MONTH`), so a reader never sees
sums older than the person-months and weights they stand for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_MONTH_COLUMNS, USAGE_MONTH, reading
from thuocdo.store.home import Store
from thuocdo.store.lakehouse import NAMESPACE, Lakehouse, files_stamp, iceberg_catalog, read, scan
from thuocdo.store.sql import literal

if TYPE_CHECKING:
    from pyiceberg.table import Table


def weights_stamps(store: Store, sources: Sequence[str] | None = None) -> dict[tuple[str, str], str]:
    """Each source-month's weights as stored: the md5 of their batch ids (a source-month without weights has
    none)."""
    rows = store.con.execute(
        "SELECT source, month, md5(string_agg(DISTINCT batch_id, ',' ORDER BY batch_id)) FROM weights "
        "WHERE $sources IS NULL OR list_contains($sources, source) GROUP BY source, month",
        {"sources": list(sources) if sources is not None else None}).fetchall()
    return {(source, month): stamp for source, month, stamp in rows}


def lakehouse_usage(store: Store, lake: Lakehouse) -> pa.Table | None:
    """Every usage_month row of the lakehouse, current with its person-months and the store's weights (None: the
    lakehouse has no rollup yet)."""
    from pyiceberg.exceptions import NoSuchTableError

    catalog = iceberg_catalog(lake)
    try:
        usage = catalog.load_table(f"{NAMESPACE}.usage_month")
        built = catalog.load_table(f"{NAMESPACE}.usage_month_built").scan().to_arrow()
        person_month = catalog.load_table(f"{NAMESPACE}.person_month")
    except NoSuchTableError:
        return None
    files = person_month_stamps(person_month)
    stamps = weights_stamps(store)
    done = {(r["source"], r["month"]): (r["person_month_files"], r["weights"]) for r in built.to_pylist()}
    current = {pair for pair, stamp in files.items() if done.get(pair) == (stamp, stamps.get(pair, ""))}
    rows = usage.scan().to_arrow()
    keep = [(s, m) in current for s, m in zip(rows["source"].to_pylist(), rows["month"].to_pylist(), strict=True)]
    parts = [rows.filter(pa.array(keep, pa.bool_()))]
    stale = sorted(set(files) - current)
    if stale:
        where = " OR ".join(f"(source = {literal(s)} AND month = {literal(m)})" for s, m in stale)
        parts.append(_summed(store, read(person_month, PERSON_MONTH_COLUMNS, where), stale))
    columns = store.con.sql("SELECT * FROM usage_month LIMIT 0").to_arrow_table().schema
    return pa.concat_tables([p.select(columns.names).cast(columns) for p in parts])


def person_month_stamps(person_month: Table) -> dict[tuple[str, str], str]:
    """Each source-month of the lakehouse's person_month with the stamp of its data files (:func:`files_stamp`):
    what ``usage_month_built`` records a source-month's sums were made from."""
    if person_month.current_snapshot() is None:
        return {}
    files = person_month.inspect.files()
    files = files.filter(pc.equal(files["content"], 0))
    paths: dict[tuple[str, str], list[str]] = {}
    for path, partition in zip(files["file_path"].to_pylist(), files["partition"].to_pylist(), strict=True):
        paths.setdefault((partition["source"], partition["month"]), []).append(path)
    return {pair: files_stamp(found) for pair, found in paths.items()}


def lakehouse_person_days(lake: Lakehouse, sources: Sequence[str], months: Sequence[str]) -> pa.Table:
    """The lakehouse's person-days of `sources` in `months` (``source`` and :data:`PERSON_DAY_COLUMNS`), read
    through pyiceberg: the files of the sources' partitions whose month statistics can hold the months. For a
    union of persons on the default engine; at national scale the Spark engine does that work on the cluster."""
    return _scan(lake, "person_day", ("source", *PERSON_DAY_COLUMNS), sources, months)


def lakehouse_person_months(lake: Lakehouse, sources: Sequence[str], months: Sequence[str]) -> pa.Table:
    """The lakehouse's person-months of `sources` in `months` (:data:`PERSON_MONTH_COLUMNS`), through pyiceberg
    (the sources' and months' partitions only)."""
    return _scan(lake, "person_month", PERSON_MONTH_COLUMNS, sources, months)


def _scan(lake: Lakehouse, table_name: str, columns: Sequence[str], sources: Sequence[str],
          months: Sequence[str]) -> pa.Table:
    where = (f"source IN ({', '.join(map(literal, sorted(set(sources))))}) "
             f"AND month IN ({', '.join(map(literal, sorted(set(months))))})")
    found = scan(lake, table_name, columns, where)
    return pa.table({c: [] for c in columns}) if found is None else found


def _summed(store: Store, person_months: pa.Table, pairs: list[tuple[str, str]]) -> pa.Table:
    """:data:`USAGE_MONTH` over the stored person-months of the source-months, with the store's weights."""
    wanted = set(pairs)
    keep = [(s, m) in wanted for s, m in zip(person_months["source"].to_pylist(), person_months["month"].to_pylist(),
                                              strict=True)]
    store.con.register("served_person_month", person_months.filter(pa.array(keep, pa.bool_())))
    try:
        query = reading(USAGE_MONTH, {"person_month": "served_person_month"})
        return store.con.sql(query.sql(dialect="duckdb")).to_arrow_table()
    finally:
        store.con.unregister("served_person_month")
