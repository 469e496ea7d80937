"""The inbox: records accepted over HTTP and not yet merged into the lake's day partitions.

Each committed group of posted batches is one Arrow IPC file (a *segment*) under ``lake/inbox/<source>/``,
written and synced before the transaction that lists it in ``inbox_segments`` with the batches' ledger and
audit entries. A segment that no transaction lists (a crash between the two) is removed at the next opening
of the store (:meth:`thuocdo.store.Store.sweep`). Writing a file is several times cheaper than inserting the rows
into a database table, and the merge reads the segments whole.

The inbox is merged into the day partitions (:func:`flush_inbox`) in the background and before anything reads
records: the metric rollups and a file ingestion of the same source flush it first, so no reader misses a
record and no record is stored twice. Rows left in the ``inbox`` table by an earlier version of thuocdo are
read and merged with the segments.
"""

from __future__ import annotations

import contextlib
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.ingest.ledger import mark_dirty_persons
from thuocdo.ingest.person_days import files_to_rewrite, stage_person_days
from thuocdo.store import Store
from thuocdo.store.home import INBOX_DIR, sync_path
from thuocdo.store.lake import discard, finish, list_files, publish
from thuocdo.store.sql import literal

#: the columns of a segment (those of the legacy ``inbox`` table, without seq and source)
COLUMNS = ("batch_id", "person", "platform", "day", "month", "active_seconds_n", "bytes_n", "sessions_n",
           "installs_n", "province_code", "k1", "k2")


def write_segment(store: Store, source: str, rows: pa.Table) -> str:
    """Write `rows` (COLUMNS) as a new segment file, synced to disk; return its path within the lake. The
    caller lists it (:func:`segment_sql`) in the transaction that commits the batches, or removes it."""
    folder = store.lake / INBOX_DIR / _folder_name(source)
    new_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{INBOX_DIR}/{folder.name}/{uuid.uuid4().hex}.arrow"
    path = store.lake / relative
    table = rows.select(list(COLUMNS))
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    sync_path(path)
    sync_path(folder)  # the file's entry in its folder
    if new_folder:
        sync_path(folder.parent)
    return relative


def segment_sql(source: str, relative: str, rows: pa.Table) -> str:
    """The statement listing a written segment (for the committing transaction)."""
    months = sorted(pc.unique(rows["month"]).to_pylist())
    return (f"INSERT INTO inbox_segments (seq, source, path, rows, months) VALUES (nextval('inbox_seq'), "
            f"{literal(source)}, {literal(relative)}, {rows.num_rows}, {literal(months)}::VARCHAR[])")


def remove_segment(store: Store, relative: str) -> None:
    """Remove a segment that was not listed (its transaction failed)."""
    (store.lake / relative).unlink(missing_ok=True)


def inbox_rows(store: Store, source: str | None = None, last: int | None = None,
               columns: tuple[str, ...] = COLUMNS, *, held: bool = True) -> pa.Table:
    """The rows in the inbox (of one source, up to sequence number `last`), with a `source` column; without the
    segments set aside (:func:`hold_segment`) when `held` is False."""
    where, params = _where(source, last)
    segment_where = where if held else (f"{where} AND held IS NULL" if where else "WHERE held IS NULL")
    segments = store.con.execute(f"SELECT source, path FROM inbox_segments {segment_where} ORDER BY seq",
                                 params).fetchall()
    tables = []
    for src, relative in segments:
        with pa.memory_map(str(store.lake / relative)) as f:
            table = pa.ipc.open_file(f).read_all().select(list(columns))
        tables.append(table.append_column("source", pa.array([src] * table.num_rows, pa.string())))
    cols = ", ".join(columns)
    legacy = store.con.sql(f"SELECT {cols}, source FROM inbox {where}", params=params).to_arrow_table()
    if legacy.num_rows or not tables:
        tables.append(legacy.cast(tables[0].schema) if tables else legacy)
    return pa.concat_tables(tables)


def inbox_size(store: Store) -> int:
    """How many records the inbox holds to be merged (those set aside are not counted)."""
    return int(store.con.execute(
        "SELECT (SELECT coalesce(sum(rows), 0) FROM inbox_segments WHERE held IS NULL) "
        "+ (SELECT count(*) FROM inbox)").fetchall()[0][0])


def inbox_months(store: Store) -> list[str]:
    """The months of the records in the inbox to be merged."""
    rows = store.con.execute("SELECT DISTINCT unnest(months) FROM inbox_segments WHERE held IS NULL UNION "
                             "SELECT DISTINCT month FROM inbox ORDER BY 1").fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class HeldSegment:
    """Records accepted over HTTP whose merge into the lake failed on their own: set aside with the reason."""

    source: str
    seq: int
    records: int
    reason: str


def held_segments(store: Store, source: str | None = None) -> list[HeldSegment]:
    rows = store.con.execute("SELECT source, seq, rows, held FROM inbox_segments WHERE held IS NOT NULL "
                             "AND (? IS NULL OR source = ?) ORDER BY seq", [source, source]).fetchall()
    return [HeldSegment(src, seq, records, reason) for src, seq, records, reason in rows]


def hold_segment(store: Store, seq: int, reason: str,
                 commit_lock: AbstractContextManager[object] | None = None) -> None:
    """Set a segment aside: later merges skip it; its records stay in the inbox (and their keys still count
    against duplicates) until :func:`release_held` lets the next merge try them again."""
    with commit_lock or nullcontext(), store.transaction() as con:
        con.execute("UPDATE inbox_segments SET held = ? WHERE seq = ?", [reason[:1000], seq])


def release_held(store: Store) -> int:
    """Let the next merge try the segments set aside again; return how many there were."""
    with store.transaction() as con:
        n = int(con.execute("SELECT count(*) FROM inbox_segments WHERE held IS NOT NULL").fetchall()[0][0])
        con.execute("UPDATE inbox_segments SET held = NULL WHERE held IS NOT NULL")
    return n


def flush_inbox(store: Store, source: str | None = None, *,
                commit_lock: AbstractContextManager[object] | None = None) -> int:
    """Merge the inbox (of one source, or all) into the day partitions; return how many records moved.

    Per source, one batch: the inbox's person-days and keys are written as one new file per touched day and
    dataset, merged with the day's smaller files (:func:`_to_merge`) and not with the whole day, and the new
    files are listed, the merged segments unlisted and their months marked for the rollup in one
    transaction; the segment files are removed after it. With `commit_lock`, only that transaction and the
    removal of the replaced files hold the lock: the server keeps accepting batches while the days are
    rewritten (through another connection, and with no other flush at the same time).

    A source whose merge fails is merged again one segment at a time, and a segment that fails on its own is
    set aside with the reason (:func:`hold_segment`): one bad batch never stops the others, nor another
    source, nor the readers that merge the inbox first."""
    con = store.con
    where, params = _where(source, None)
    sources = con.execute(
        f"SELECT source, max(seq) FROM (SELECT source, seq FROM inbox_segments {where}"
        f"{' AND' if where else ' WHERE'} held IS NULL "
        f"UNION ALL SELECT source, seq FROM inbox {where}) GROUP BY source ORDER BY source", params).fetchall()
    moved = 0
    for src, last in sources:
        try:
            moved += _merge(store, src, last, commit_lock)
        except duckdb.OutOfMemoryException:
            raise  # the machine's limit, not a bad batch: nothing is set aside, the merge is run again later
        except Exception as exc:  # noqa: BLE001 - the failing segments are found and set aside below
            moved += _merge_one_by_one(store, src, last, commit_lock, exc)
    return moved


def _merge_one_by_one(store: Store, source: str, last: int, commit_lock: AbstractContextManager[object] | None,
                      error: Exception) -> int:
    seqs = [r[0] for r in store.con.execute(
        "SELECT seq FROM inbox_segments WHERE source = ? AND seq <= ? AND held IS NULL ORDER BY seq",
        [source, last]).fetchall()]
    if len(seqs) <= 1:
        if seqs:
            hold_segment(store, seqs[0], _reason(error), commit_lock)
            return 0
        raise error  # rows of an earlier version's inbox table: nothing to set aside
    moved = 0
    for seq in seqs:
        try:
            moved += _merge(store, source, seq, commit_lock)
        except duckdb.OutOfMemoryException:
            raise
        except Exception as exc:  # noqa: BLE001 - set aside with its reason
            hold_segment(store, seq, _reason(exc), commit_lock)
    return moved


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _merge(store: Store, src: str, last: int, commit_lock: AbstractContextManager[object] | None) -> int:
    """Merge a source's segments up to `last` (those not set aside) into the lake as one batch."""
    con = store.con
    batch_id = "inbox-" + uuid.uuid4().hex
    segments = [r[0] for r in con.execute(
        "SELECT path FROM inbox_segments WHERE source = ? AND seq <= ? AND held IS NULL", [src, last]).fetchall()]
    con.register("inbox_fresh", inbox_rows(store, src, last, held=False))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE fresh AS SELECT * EXCLUDE (batch_id, source) FROM inbox_fresh")
        con.unregister("inbox_fresh")
        new_rows = dict(con.execute("SELECT day, count(*) FROM fresh GROUP BY day").fetchall())
        n = sum(new_rows.values())
        stage_person_days(store, src, batch_id, key_files=files_to_rewrite(store, "record_keys", src, new_rows),
                          day_files=files_to_rewrite(store, "person_day", src, new_rows))
        files, replaces = publish(store)
        months = sorted({f.month for f in files if f.dataset == "person_day"})
        with commit_lock or nullcontext():
            with store.transaction():
                list_files(store, files, batch_id, replaces)
                con.execute("DELETE FROM inbox_segments WHERE source = ? AND seq <= ? AND held IS NULL", [src, last])
                con.execute("DELETE FROM inbox WHERE source = ? AND seq <= ?", [src, last])
                for month in months:
                    con.execute("INSERT INTO dirty_months VALUES (?, ?) ON CONFLICT DO NOTHING", [src, month])
                if months:
                    mark_dirty_persons(store, src, months)
            finish(store, batch_id, replaces + [str(store.lake / s) for s in segments])
    except BaseException:
        discard(store, batch_id)
        with contextlib.suppress(Exception):
            con.unregister("inbox_fresh")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS fresh")
    return n


def _where(source: str | None, last: int | None) -> tuple[str, dict[str, object]]:
    conditions: list[str] = []
    params: dict[str, object] = {}
    if source is not None:
        conditions.append("source = $source")
        params["source"] = source
    if last is not None:
        conditions.append("seq <= $last")
        params["last"] = last
    return ("WHERE " + " AND ".join(conditions)) if conditions else "", params


def _folder_name(source: str) -> str:
    """A file-system-safe folder name for a source id."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in source) or "_"
