"""Person-days: the new records of a batch merged into one row per (person, platform, day), staged with the
record keys of the days they touch. Shared by file ingestion (which rewrites the touched days whole) and the
merge of the inbox (which appends to them)."""

from __future__ import annotations

from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_DAY_MERGE
from thuocdo.store import Store
from thuocdo.store.lake import stage_partitions

#: the score that picks a person-day's province: the record with most active seconds, then the smallest code
PROVINCE_SCORE = ("CASE WHEN province_code IS NOT NULL "
                  "THEN active_seconds_n * 1000 + (999 - CAST(province_code AS INTEGER)) END")

#: the largest BIGINT: a person-day's sums saturate there rather than overflow
BIGINT_MAX = 2**63 - 1


def _saturated(column: str) -> str:
    """The sum of a BIGINT column (DuckDB sums integers as HUGEINT) as a BIGINT that cannot overflow."""
    return f"CAST(least(sum({column}), {BIGINT_MAX}) AS BIGINT)"


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
    new_rows = f"""
        SELECT platform, person, day, month, {_saturated("active_seconds_n")} AS active_seconds,
               {_saturated("bytes_n")} AS bytes, {_saturated("sessions_n")} AS sessions,
               {_saturated("installs_n")} AS installs,
               bool_or(sessions_n > 0 OR active_seconds_n > 0) AS active,
               arg_max(province_code, {PROVINCE_SCORE}) AS province,
               max(CASE WHEN province_code IS NOT NULL THEN active_seconds_n END) AS province_seconds
        FROM fresh GROUP BY platform, person, day, month
    """
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
