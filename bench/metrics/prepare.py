"""Preparing the baselines (not measured): the raw CSVs in a DuckDB table, checked, and Parquet copies."""

from __future__ import annotations

import time
from pathlib import Path

from .common import manifest


def phase_prepare(workdir: Path) -> dict:
    """Untimed: raw CSVs → DuckDB table (and Parquet for pandas); check that there is no duplicate."""
    import duckdb

    m = manifest(workdir)
    db = workdir / "raw.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    cols = {"user_id": "VARCHAR", "platform": "VARCHAR", "time": "TIMESTAMPTZ", "active_seconds": "BIGINT",
            "bytes": "BIGINT", "sessions": "BIGINT", "installs": "BIGINT", "province": "VARCHAR"}
    if m["record_ids"]:
        cols = {"record_id": "VARCHAR", **cols}
    t0 = time.perf_counter()
    con.execute("CREATE TABLE raw AS SELECT * FROM read_csv($files, header = true, columns = $cols)",
                {"files": m["usage_files"], "cols": cols})
    con.execute("CREATE TABLE weights AS SELECT * FROM read_csv($f, header = true, "
                "columns = {'user_id': 'VARCHAR', 'month': 'VARCHAR', 'weight': 'DOUBLE'})", {"f": m["weights_file"]})
    con.execute("CREATE TABLE provinces AS SELECT * FROM read_csv($f, header = true, "
                "columns = {'value': 'VARCHAR', 'code': 'VARCHAR'})", {"f": m["provinces_file"]})
    load_s = time.perf_counter() - t0
    n, bad_time, unmapped = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE "time" IS NULL OR CAST(timezone('Asia/Ho_Chi_Minh', "time") AS DATE)
                                          NOT BETWEEN DATE '2022-01-01' AND DATE '2022-03-31'),
               count(*) FILTER (WHERE p.code IS NULL)
        FROM raw LEFT JOIN provinces p ON raw.province = p.value""").fetchone()
    if m["record_ids"]:
        distinct = con.execute("SELECT count(DISTINCT record_id) FROM raw").fetchone()[0]
    else:  # the content key, as the contract defines it (resolved province)
        distinct = con.execute("""SELECT count(*) FROM (SELECT DISTINCT user_id, platform, "time", active_seconds,
                                  bytes, sessions, installs, p.code FROM raw LEFT JOIN provinces p
                                  ON raw.province = p.value)""").fetchone()[0]
    if n != m["records"] or distinct != n or bad_time or unmapped:
        raise SystemExit(f"generated data unusable: rows={n} expected={m['records']} distinct keys={distinct} "
                         f"unparsed times or days outside 2022-Q1={bad_time} unmapped provinces={unmapped}")
    homes = con.execute("""SELECT count(*) FROM (SELECT user_id FROM raw JOIN provinces p ON raw.province = p.value
                           GROUP BY user_id HAVING count(DISTINCT p.code) > 1)""").fetchone()[0]
    if homes:
        raise SystemExit(f"{homes} persons have more than one province: the baselines' province rule needs one")
    stats = con.execute("""
        WITH d AS (SELECT user_id, platform, CAST(timezone('Asia/Ho_Chi_Minh', "time") AS DATE) AS day, count(*) AS n
                   FROM raw GROUP BY ALL)
        SELECT count(*), (SELECT count(DISTINCT user_id) FROM raw), max(n), avg(n) FROM d""").fetchone()
    if m["with_pandas"]:
        con.execute(f"COPY raw TO '{workdir / 'raw.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"COPY weights TO '{workdir / 'weights.parquet'}' (FORMAT parquet)")
        con.execute(f"COPY provinces TO '{workdir / 'provinces.parquet'}' (FORMAT parquet)")
    con.close()
    return {"load_s": load_s, "person_platform_days": stats[0], "persons_seen": stats[1],
            "max_records_per_person_platform_day": stats[2], "mean_records_per_person_platform_day": stats[3]}
