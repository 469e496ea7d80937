"""Measured: the minimal person-day pipeline, the reference line of ingestion (issue 16).

What a skilled DuckDB user would write to turn the usage files into person-days, with none of thuocdo's rules:
one statement that reads the CSV files typed (``time`` as TIMESTAMPTZ, numbers as BIGINT), hashes the user id
with DuckDB's own unkeyed ``hash``, takes the Asia/Ho_Chi_Minh day, groups by person × platform × day and
writes Parquet. Two variants, each run twice (the faster run kept): one Parquet file, and Parquet partitioned by
day (the shape of thuocdo's lake). The first is the reference of the target "within 2× of the minimal pipeline".
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .common import Clock, manifest

COLUMNS = {"record_id": "VARCHAR", "user_id": "VARCHAR", "platform": "VARCHAR", "time": "TIMESTAMPTZ",
           "active_seconds": "BIGINT", "bytes": "BIGINT", "sessions": "BIGINT", "installs": "BIGINT",
           "province": "VARCHAR"}

MINIMAL_SQL = """
COPY (
    SELECT hash(user_id) AS person, platform, CAST(timezone('Asia/Ho_Chi_Minh', "time") AS DATE) AS day,
           sum(active_seconds) AS active_seconds, sum(bytes) AS bytes, sum(sessions) AS sessions,
           sum(installs) AS installs, bool_or(sessions > 0 OR active_seconds > 0) AS active
    FROM read_csv($files, header = true, columns = $columns)
    GROUP BY ALL
) TO '{out}' (FORMAT parquet{options})
"""


def phase_minimal(workdir: Path) -> dict:
    """Both variants over the usage files, twice each; the faster run of each and the rows written."""
    import duckdb

    m = manifest(workdir)
    out_dir = workdir / "minimal"
    result: dict = {}
    for variant, target, options in (("single", out_dir / "person_day.parquet", ""),
                                     ("by_day", out_dir / "person_day", ", PARTITION_BY (day)")):
        best: Clock | None = None
        for _ in range(2):
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            with Clock() as c:
                con.execute(MINIMAL_SQL.format(out=target, options=options),
                            {"files": m["usage_files"], "columns": COLUMNS})
            rows = con.execute(f"SELECT count(*) FROM read_parquet('{out_dir}/**/*.parquet')").fetchall()[0][0]
            con.close()
            if best is None or c.wall < best.wall:
                best = c
        assert best is not None
        result[f"{variant}_s"], result[f"{variant}_cpu_s"], result["person_days"] = best.wall, best.cpu, rows
    shutil.rmtree(out_dir, ignore_errors=True)
    return result
