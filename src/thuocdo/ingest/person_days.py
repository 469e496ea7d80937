"""Person-days: the new records of a batch merged into one row per (person, platform, day), staged with the
record keys of the days they touch. Shared by file ingestion and the merge of the inbox: both append to the days
they touch, rewriting only the days' smaller files (:func:`files_to_rewrite`)."""

from __future__ import annotations

import datetime as dt

from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, PERSON_DAY_FROM_RECORDS, PERSON_DAY_MERGE
from thuocdo.store import Store
from thuocdo.store.lake import stage_partitions
from thuocdo.store.sql import duckdb_sql


def stage_person_days(store: Store, source: str, batch_id: str, key_files: list[str], day_files: list[str]) -> None:
    """Stage the new rows of the temporary table `fresh` as one person_day file and one record_keys file per
    day they touch, merged with the listed files `day_files` and `key_files`, which they replace (chosen by
    :func:`files_to_rewrite`; the day's other files stay, and whatever reads person-days collapses them)."""
    new_rows = duckdb_sql(PERSON_DAY_FROM_RECORDS)
    merged, params = new_rows, {}
    if day_files:  # one row per person-day: on the days rewritten, the new rows collapsed with the old files'
        columns = ", ".join(PERSON_DAY_COLUMNS)
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE new_person_days AS {new_rows}")
        params = {"old": day_files, "rel": store.relative(day_files)}
        rewritten = "day IN (SELECT day FROM lake_files WHERE list_contains($rel, path))"
        merged = (f"SELECT {columns} FROM new_person_days WHERE NOT {rewritten} UNION ALL "
                  f"SELECT {columns} FROM (WITH person_day_parts AS (SELECT NULL AS source, * FROM new_person_days "
                  f"WHERE {rewritten} UNION ALL SELECT NULL AS source, {columns} FROM read_parquet($old)) "
                  f"{duckdb_sql(PERSON_DAY_MERGE)})")
    stage_partitions(store, "person_day", source, batch_id, merged, params, replaces=day_files)
    store.con.execute("DROP TABLE IF EXISTS new_person_days")
    keys = "SELECT day, month, k1, k2 FROM fresh"
    if key_files:
        keys += " UNION ALL SELECT day, month, k1, k2 FROM read_parquet($old_keys)"
    stage_partitions(store, "record_keys", source, batch_id, keys, {"old_keys": key_files} if key_files else {},
                     replaces=key_files)


def files_to_rewrite(store: Store, dataset: str, source: str, new_rows: dict[dt.date, int]) -> list[str]:
    """The listed files of a dataset that a batch bringing `new_rows` rows to each day rewrites with them: per
    day, the smallest files while each holds no more rows than the new file so far. A day's files then hold
    ever fewer rows from the oldest to the newest, like the digits of a binary counter: a day merged into n
    times is held in at most about log2(n) + 1 files, and each row is rewritten about log2(n) times, instead
    of the whole day at every merge."""
    listed = store.con.execute(
        "SELECT day, path, rows FROM lake_files WHERE dataset = ? AND source = ? AND list_contains(?::DATE[], day) "
        "ORDER BY day, rows, path", [dataset, source, list(new_rows)]).fetchall()
    chosen: list[str] = []
    held = dict(new_rows)
    for day, path, rows in listed:
        if rows <= held[day]:
            chosen.append(str(store.lake / path))
            held[day] += rows
        else:
            held[day] = -1  # a larger file: it and the rest of the day's files stay as they are
    return chosen
