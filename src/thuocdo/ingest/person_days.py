"""Person-days: the new records of a batch merged into one row per (person, platform, day), staged with the
record keys of the days they touch. Shared by file ingestion (which rewrites the touched days whole) and the
merge of the inbox (which appends to them)."""

from __future__ import annotations

from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_DAY_FROM_RECORDS, PERSON_DAY_MERGE
from thuocdo.store import Store
from thuocdo.store.lake import stage_partitions


def stage_person_days(store: Store, source: str, batch_id: str, key_files: list[str],
                      day_files: list[str] | None = None) -> None:
    """Stage the new rows of the temporary table `fresh` as one person_day file and one record_keys file per
    day they touch, merged with the listed files `day_files` and `key_files`, which they replace. By default
    `day_files` are all the person_day files of the touched days (a file ingestion rewrites them whole); a
    merge of the inbox passes only some, and appends to the days (:func:`thuocdo.ingest.inbox.flush_inbox`)."""
    con = store.con
    if day_files is None:
        days = [r[0] for r in con.execute("SELECT DISTINCT day FROM fresh").fetchall()]
        day_files = store.files("person_day", source=source, days=days)
    new_rows = PERSON_DAY_FROM_RECORDS
    merged = new_rows
    if day_files:  # one row per person-day: the new rows collapsed with those of the replaced files
        columns = ", ".join(PERSON_DAY_COLUMNS)
        merged = (f"SELECT {columns} FROM (WITH person_day_parts AS (SELECT NULL AS source, * FROM ({new_rows}) "
                  f"UNION ALL SELECT NULL AS source, {columns} FROM read_parquet($old)) {PERSON_DAY_MERGE})")
    stage_partitions(store, "person_day", source, batch_id, merged, {"old": day_files} if day_files else {},
                     replaces=day_files)
    keys = "SELECT day, month, k1, k2 FROM fresh"
    if key_files:
        keys += " UNION ALL SELECT day, month, k1, k2 FROM read_parquet($old_keys)"
    stage_partitions(store, "record_keys", source, batch_id, keys, {"old_keys": key_files} if key_files else {},
                     replaces=key_files)
