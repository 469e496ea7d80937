"""The batch ledger: every ingested batch recorded (with its counts and the quarantined rows) in the same
transaction that makes its rows part of the store, so a batch is all or nothing."""

from __future__ import annotations

import datetime as dt

from thuocdo.ingest import quarantine
from thuocdo.ingest.readers import RawInput
from thuocdo.ingest.results import BatchResult
from thuocdo.store import Store
from thuocdo.store.lake import finish, list_files, publish

#: a batch's rows per local day of activity: (day or None, good, stored, rejected) (see ``batch_days``)
DayCounts = list[tuple[dt.date | None, int, int, int]]


def commit_batch(store: Store, result: BatchResult, *, file_sha256: str | None, resolves: list[int],
                 days: DayCounts) -> None:
    """Publish a staged usage batch: files, ledger (with its rows per day), quarantine and dirty months in one
    transaction."""
    files, replaces = publish(store)
    months = sorted({f.month for f in files if f.dataset == "person_day"})
    with store.transaction() as con:
        list_files(store, files, result.batch_id, replaces)
        if resolves:
            con.execute("UPDATE quarantine SET status = 'resolved', resolved_by = ? WHERE list_contains(?, id)",
                        [result.batch_id, resolves])
        quarantine.insert(con, "SELECT * FROM q_batch")
        for month in months:
            con.execute("INSERT INTO dirty_months VALUES (?, ?) ON CONFLICT DO NOTHING", [result.source, month])
        if months:
            mark_dirty_persons(store, result.source, months)
        record_batch(store, result, file_sha256)
        record_days(store, result, days)
    finish(store, result.batch_id, replaces)


def mark_dirty_persons(store: Store, source: str, months: list[str]) -> None:
    """Inside the transaction that lists a batch's person-days: the persons of its new rows (the temporary
    table `fresh`), so that the rollups recompute only their person-months. Without that table (another
    writer's batch), every person of the months: they are rebuilt whole. Only months rolled up already are
    marked: the first rollup of a month is a full one (the bulk of a first delivery costs no marks)."""
    rolled_up = "SELECT month FROM lake_files WHERE dataset = 'person_month' AND source = $source"
    fresh = store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'fresh'")
    if fresh.fetchall()[0][0]:
        store.con.execute("INSERT INTO dirty_persons SELECT DISTINCT $source, month, person FROM fresh "
                          f"WHERE month IN ({rolled_up})", {"source": source})
        # the weeks of the days touched: the rollup recomputes only their weekly figures
        store.con.execute("INSERT INTO dirty_weeks SELECT DISTINCT $source, CAST(date_trunc('week', day) AS DATE) "
                          "FROM fresh", {"source": source})
    else:
        store.con.execute(f"INSERT INTO dirty_persons SELECT $source, month, NULL FROM ({rolled_up}) "
                          "WHERE list_contains($months::VARCHAR[], month)", {"source": source, "months": months})


def record_batch(store: Store, result: BatchResult, file_sha256: str | None) -> None:
    store.con.execute(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?)",
        [result.batch_id, result.source, result.kind, result.file, file_sha256, result.rows_read, result.stored,
         result.duplicates, result.rejected],
    )


def record_days(store: Store, result: BatchResult, days: DayCounts) -> None:
    """A usage batch's rows per local day (``batch_days``), read by the quality monitor."""
    if days:
        store.con.executemany("INSERT INTO batch_days VALUES (?, ?, ?, ?, ?, ?)",
                              [[result.batch_id, result.source, day, good, stored, bad]
                               for day, good, stored, bad in days])


def commit_table(store: Store, raw: RawInput, result: BatchResult, kind: str, upsert_sql: str,
                 file_sha: str | None) -> None:
    """Commit a batch of a small long table (weights, aggregates, indicators): its rejected rows (``q_rows``
    and the lines that could not be read) to the quarantine, `upsert_sql` and the ledger entry in one
    transaction."""
    con = store.con
    con.register("q_rejections", quarantine.rejection_rows(raw.rejections, batch_id=result.batch_id,
                                                           source=result.source, kind=kind, file=raw.name))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_batch AS
                   SELECT *, {quarantine.fingerprint_sql()} AS fingerprint FROM q_rows
                   UNION ALL BY NAME SELECT * FROM q_rejections""")
    con.unregister("q_rejections")
    result.rejected = con.execute("SELECT count(*) FROM q_batch").fetchall()[0][0]
    with store.transaction():
        con.execute(upsert_sql)
        quarantine.insert(con, "SELECT * FROM q_batch")
        record_batch(store, result, file_sha)
