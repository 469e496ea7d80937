"""`thuocdo migrate`: move the usage sources of the embedded store into the home's lakehouse (Iceberg tables): the
running cluster's when there is one, else a local lakehouse made in the home (``HOME/lakehouse``: a SQLite catalog
and a folder warehouse, :func:`thuocdo.workflows.cluster.local_lakehouse`), which the default engine writes and
reads without any server.

For each source: its person-days, record keys and ledger are stored in the lakehouse (:mod:`thuocdo.ingest.migrate`),
its rollups there are brought up to date, and its ``usage_month`` rows there are compared with the store's. Only
when they agree are the source's rows removed from the store, in one transaction: until then every command reads
the source from the store, afterwards from the lakehouse, never from both. Its later files, and the batches posted
for it over HTTP, then go to the lakehouse by the default engine.

Idempotent and resumable: a source already moved is not in the store any more and is skipped; a run stopped at any
point is run again and stores in the lakehouse only what is not there yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from thuocdo.ingest.inbox import flush_inbox
from thuocdo.ingest.lakehouse_ingest import update_rollups
from thuocdo.ingest.migrate import MovedSource, move_days, move_ledger
from thuocdo.ingest.readers import InputError
from thuocdo.ingest.spark_ingest import SparkIngestReport
from thuocdo.rollups.rebuild import rebuild_dirty
from thuocdo.rollups.served import lakehouse_usage
from thuocdo.store import Store, StoreError, resolve_home
from thuocdo.store import sources as registry
from thuocdo.store.lakehouse import Lakehouse, create_tables, iceberg_catalog
from thuocdo.workflows.cluster import LOCAL_LAKEHOUSE_DIR, home_lakehouse
from thuocdo.workflows.ingest import check_nothing_held, lakehouse_inputs
from thuocdo.workflows.store import open_store

#: the usage_month columns compared, and the largest relative difference of their sums allowed
MEASURES = ("persons", "w_persons", "w2_persons", "w_active_days", "w_seconds", "w_bytes", "w_sessions", "w_installs")
TOLERANCE = 1e-9

#: the store's tables that hold a source's usage rows besides its lake files (its batches are removed apart)
USAGE_TABLES = ("usage_week", "usage_week_months", "dirty_months", "dirty_persons", "dirty_weeks")


@dataclass
class Migration:
    lakehouse: str  # where the sources went: the local folder, or the cluster's warehouse
    moved: list[MovedSource] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # sources named that the lakehouse held already


def migrate(home: str | Path | None, sources: Sequence[str] | None = None, *,
            on_step: Callable[[str], None] | None = None) -> Migration:
    """Move the store's usage sources (all, or those named) into the home's lakehouse (see the module's doc).
    InputError for a named source that has no usage records in either place; StoreError when the lakehouse's
    figures of a source do not equal the store's (the source then stays in the store)."""
    def step(text: str) -> None:
        if on_step:
            on_step(text)

    root = resolve_home(home)
    with open_store(root) as store:
        flush_inbox(store)
        rebuild_dirty(store)
        stored = [s for s in _usage_sources(store) if registry.person_days_here(store, s)]
        found = home_lakehouse(root)
        already = [s for s in (sources or []) if s not in stored]
        if already:
            rows = lakehouse_usage(store, found) if found is not None else None
            held = set(rows["source"].to_pylist()) if rows is not None else set()
            unknown = [s for s in already if s not in held]
            if unknown:
                raise InputError(f"Không có bản ghi sử dụng nào của nguồn {', '.join(unknown)} trong kho nhúng "
                                 "hay trong lakehouse.")
        wanted = [s for s in stored if not sources or s in sources]
        lake = found or Lakehouse.local(root / LOCAL_LAKEHOUSE_DIR)
        migration = Migration(lake.local_folder or lake.warehouse, already=already)
        if not wanted:
            return migration
        for source in wanted:
            check_nothing_held(store, source)
        create_tables(lake)
        for source in wanted:
            migration.moved.append(_move(store, lake, source, step))
        store.sweep()  # the files of the sources moved, no longer listed
    return migration


def _usage_sources(store: Store) -> list[str]:
    rows = store.con.execute("SELECT DISTINCT source FROM lake_files WHERE dataset = 'person_day' UNION "
                             "SELECT DISTINCT source FROM inbox_segments ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


def _move(store: Store, lake: Lakehouse, source: str, step: Callable[[str], None]) -> MovedSource:
    catalog = iceberg_catalog(lake)
    moved = MovedSource(source)
    step(f"{source}: ghi người-ngày và khóa bản ghi")
    move_days(catalog, store, source, moved,
              on_group=lambda n, of: step(f"{source}: ghi người-ngày và khóa bản ghi ({n}/{of} nhóm ngày)"))
    step(f"{source}: ghi sổ lô")
    moved.batches = move_ledger(catalog, store, source)
    given = lakehouse_inputs(store, source)
    moved.report = SparkIngestReport()
    update_rollups(lake, source, moved.report, given.weights, given.stamps,
                   step=lambda name: step(f"{source}: {name}"))
    step(f"{source}: đối chiếu tổng hợp tháng")
    check_same_usage(store, lake, source)
    step(f"{source}: xóa khỏi kho nhúng")
    remove_source(store, source)
    return moved


def check_same_usage(store: Store, lake: Lakehouse, source: str) -> None:
    """StoreError unless the lakehouse's usage_month rows of the source equal the store's: the same (platform,
    month, province) rows, and every sum within :data:`TOLERANCE` (relative)."""
    rows = lakehouse_usage(store, lake)
    theirs = (rows.filter(pc.equal(rows["source"], source)) if rows is not None
              else store.con.sql(f"SELECT * FROM {store.stored_usage_month} LIMIT 0").to_arrow_table())
    store.con.register("migrated_usage", theirs)
    try:
        differences = store.con.sql(f"""
            SELECT coalesce(a.platform, b.platform) AS platform, coalesce(a.month, b.month) AS month,
                   coalesce(a.province, b.province) AS province
            FROM (SELECT * FROM {store.stored_usage_month} WHERE source = $source) a
            FULL JOIN migrated_usage b
              ON a.platform = b.platform AND a.month = b.month AND a.province IS NOT DISTINCT FROM b.province
            WHERE a.platform IS NULL OR b.platform IS NULL OR NOT ({' AND '.join(
                f"abs(a.{m} - b.{m}) <= {TOLERANCE} * greatest(1, abs(a.{m}))" for m in MEASURES)})
            ORDER BY ALL""", params={"source": source}).fetchall()
    finally:
        store.con.unregister("migrated_usage")
    if differences:
        platform, month, province = differences[0]
        raise StoreError(f"Số liệu của nguồn {source} trong lakehouse khác kho nhúng ở {len(differences)} dòng tổng "
                         f"hợp tháng (đầu tiên: nền tảng {platform}, tháng {month}, tỉnh {province or 'không rõ'}): "
                         "nguồn này vẫn ở kho nhúng; hãy báo lỗi này kèm thư mục kho.")


def remove_source(store: Store, source: str) -> None:
    """Remove the source's usage rows from the store in one transaction: its lake files (person-days, record keys,
    person-months, sketches), its rollups and marks, and its usage batches (the lakehouse holds them now). Its
    declaration, weights, coverage, published aggregates and quarantine stay."""
    with store.transaction() as con:
        con.execute("DELETE FROM lake_files WHERE source = ?", [source])
        con.execute(f"DELETE FROM {store.stored_usage_month} WHERE source = ?", [source])
        for table in USAGE_TABLES:
            con.execute(f"DELETE FROM {table} WHERE source = ?", [source])
        con.execute("DELETE FROM batch_days WHERE batch_id IN (SELECT batch_id FROM batches WHERE source = ? AND "
                    "kind = 'usage')", [source])
        con.execute("DELETE FROM batches WHERE source = ? AND kind = 'usage'", [source])


__all__ = ["Migration", "check_same_usage", "migrate", "remove_source"]
