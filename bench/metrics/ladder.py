"""Measured (``--ladder``, issue 16): what thuocdo's rules cost when a skilled DuckDB user adds them, one at a time,
to the minimal person-day pipeline (:mod:`.minimal`), on the same files, in one process.

Each rung is a whole pipeline from the CSV files, written as one or two set-based statements (no Python per
row or per file), and keeps everything the rung before it did:

0. ``minimal``: the reference line (typed ``read_csv``, DuckDB's unkeyed ``hash`` of the user id, the local day,
   person-days written as one Parquet file);
1. ``pseudonyms``: the person key is the keyed HMAC-SHA256 of the user id (:func:`person_key_sql`), computed once
   per distinct id and joined back;
2. ``exactly_once``: each record's key (the md5 of the secret and its record_id, as thuocdo keys it), records
   repeated in the delivery dropped, the keys written by day beside the person-days (both partitioned by month and
   day, as thuocdo's lake is);
3. ``validation``: the files read as text and every field typed and checked as the contract says (ids' lengths,
   platforms and provinces of the catalog, ISO 8601 times with or without an offset, the local-time rule, the
   integers' defaults and bounds); the rows with a problem set aside. ``validation_typed`` does the same with
   DuckDB's typed reader: it casts the times and integers itself (a time without an offset read in the session's
   time zone, Asia/Ho_Chi_Minh) and sets aside the rows it cannot cast (``store_rejects``); it is looser than the
   contract (it takes time forms that are not ISO 8601), and cheaper;
4. ``rollups``: over ``validation_typed``, each month's person-months (:data:`PERSON_MONTH`, the province ranking
   included), the person-weeks of its weeks and its ``usage_month`` sums, from the person-days written.

What the ladder leaves out, and thuocdo does: line numbers and the list of every problem of a rejected row, the
bytes checks of each line (UTF-8, NUL, lines too long), the file's SHA-256 for the ledger, the stored keys of
earlier deliveries, one atomic batch per file, a province's code by the era of the day (before or after
2025-07-01), the persons' weights, ``usage_week``. So its top rung is a floor:
no implementation of thuocdo's rules on this engine is likely to be faster.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from thuocdo.ingest.contracts import INTEGER_RULES, MAX_RECORD_ID, MAX_USER_ID

from .common import Clock, log, manifest
from .minimal import COLUMNS, MINIMAL_SQL

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

#: the ladder's own secrets (its keys are never compared with a store's)
SECRET, PERSON_SECRET = "6c6164646572", b"ladder"
#: the person-day sums of thuocdo's lake (without its saturation at the largest BIGINT)
SUMS = """sum(active_seconds) AS active_seconds, sum(bytes) AS bytes, sum(sessions) AS sessions,
          sum(installs) AS installs, bool_or(sessions > 0 OR active_seconds > 0) AS active"""
PROVINCE = """arg_max(province, CASE WHEN province IS NOT NULL THEN active_seconds END) AS province,
              max(CASE WHEN province IS NOT NULL THEN active_seconds END) AS province_seconds"""
PARTITIONED = "FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month, day), WRITE_PARTITION_COLUMNS true"
#: rung 3: the text columns typed and checked (the contract's rules, without the list of problems)
ISO_8601 = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?"
TYPED = f"""
SELECT nullif(record_id, '') AS record_id, user_id, pm.platform_id AS platform,
       CASE WHEN regexp_full_match("time", '{ISO_8601}')
            THEN CASE WHEN "time"[-1] IN ('Z', 'z') OR ("time"[-3] = ':' AND "time"[-6] IN ('+', '-'))
                      THEN try_cast(upper("time") AS TIMESTAMPTZ)::TIMESTAMP
                      ELSE try_cast("time" AS TIMESTAMP) - INTERVAL 7 HOUR END END AS ts_utc,
       {", ".join(f"CASE WHEN {r.name} = '' THEN {r.default} ELSE try_cast({r.name} AS BIGINT) END AS {r.name}"
                  for r in INTEGER_RULES)},
       nullif(trim(r.province), '') IS NOT NULL AS has_province, pv.code AS province
FROM read_csv($files, header = true, all_varchar = true) r
LEFT JOIN platform_map pm ON r.platform = pm.value
LEFT JOIN province_map pv ON r.province = pv.value
"""
#: rung 3, the other way: DuckDB's typed reader takes the times and integers (rows it cannot cast are set aside with
#: their lines by ``store_rejects``; the session's time zone makes a time without an offset local), SQL the rest
TYPED_READ = """
SELECT nullif(record_id, '') AS record_id, user_id, pm.platform_id AS platform, timezone('UTC', "time") AS ts_utc,
       {ints}, nullif(trim(r.province), '') IS NOT NULL AS has_province, pv.code AS province
FROM read_csv($files, header = true, columns = $columns, store_rejects = true) r
LEFT JOIN platform_map pm ON r.platform = pm.value
LEFT JOIN province_map pv ON r.province = pv.value
""".replace("{ints}", ", ".join(f"coalesce({r.name}, {r.default}) AS {r.name}" for r in INTEGER_RULES))
CHECKED = f"""
SELECT *, CAST(ts_utc + INTERVAL 7 HOUR AS DATE) AS day,
       coalesce(user_id <> '' AND length(user_id) <= {MAX_USER_ID} AND coalesce(length(record_id), 0) <= {MAX_RECORD_ID}
                AND platform IS NOT NULL AND ts_utc >= TIMESTAMP '1999-12-31 17:00:00'
                AND ts_utc < TIMESTAMP '2100-12-31 17:00:00'
                AND {" AND ".join(f"{r.name} BETWEEN 0 AND {r.maximum}" for r in INTEGER_RULES)}
                AND (NOT has_province OR province IS NOT NULL), FALSE) AS ok
FROM typed
"""


def _keyed(records: str) -> str:
    """The records of `records` (typed: user_id, record_id, platform, day, the measures, province) with their
    person key (each distinct id keyed once), month, and record key halves k1, k2."""
    from thuocdo.ingest.pseudonymise import person_key_params, person_key_sql

    person_sql = person_key_sql("user_id")
    for name, value in person_key_params(PERSON_SECRET, "bench").items():
        person_sql = person_sql.replace(f"${name}", f"'{value}'")
    return f"""
        WITH rec AS ({records}),
        ids AS (SELECT user_id, {person_sql} AS person FROM (SELECT DISTINCT user_id FROM rec))
        SELECT i.person, r.platform, r.day, strftime(r.day, '%Y-%m') AS month, r.active_seconds, r.bytes,
               r.sessions, r.installs, r.province, CAST(h >> 64 AS UBIGINT) AS k1,
               CAST(h & 18446744073709551615 AS UBIGINT) AS k2
        FROM (SELECT *, md5_number('{SECRET}' || chr(31) || 'i' || record_id) AS h FROM rec) r
        JOIN ids i USING (user_id)"""


def _person_days(con: DuckDBPyConnection, out: Path, keyed: str, params: dict | None = None) -> None:
    """`keyed` records (the statement's parameters `params`) without the records repeated in the delivery, as
    person-days and record keys by day."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE keyed AS {keyed}", params or {})
    n, distinct = con.execute("SELECT count(*), count(DISTINCT (k1, k2)) FROM keyed").fetchall()[0]
    if n != distinct:
        con.execute("CREATE OR REPLACE TEMP TABLE keyed AS SELECT DISTINCT ON (k1, k2) * FROM keyed")
    con.execute(f"COPY (SELECT person, platform, day, month, {SUMS}, {PROVINCE} FROM keyed GROUP BY ALL) "
                f"TO '{out / 'person_day'}' ({PARTITIONED})")
    con.execute(f"COPY (SELECT day, month, k1, k2 FROM keyed) TO '{out / 'record_keys'}' ({PARTITIONED})")
    con.execute("DROP TABLE keyed")


def _rollups(con: DuckDBPyConnection, out: Path) -> None:
    """Each month's person-months, the person-weeks of its weeks and its usage_month, from the person-days."""
    from thuocdo.rollups.definitions import PERSON_MONTH, USAGE_MONTH, person_week_sql
    from thuocdo.rollups.rebuild import weeks_of_month
    from thuocdo.store.sql import duckdb_sql

    months = [r[0] for r in con.execute(
        f"SELECT DISTINCT month FROM read_parquet('{out}/person_day/**/*.parquet', hive_partitioning = true) "
        "ORDER BY 1").fetchall()]
    con.execute("CREATE OR REPLACE TEMP TABLE weights (source VARCHAR, person BIGINT, month VARCHAR, weight DOUBLE)")
    for month in months:
        con.execute(f"CREATE OR REPLACE TEMP VIEW person_day AS SELECT 'bench' AS source, * "
                    f"FROM read_parquet('{out}/person_day/month={month}/*/*.parquet')")
        con.execute(f"COPY ({duckdb_sql(PERSON_MONTH)}) TO '{out / f'person_month_{month}.parquet'}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        weeks = weeks_of_month(month)
        days = sorted(w + dt.timedelta(days=i) for w in weeks for i in range(7))
        con.execute(f"CREATE OR REPLACE TEMP VIEW person_day AS SELECT 'bench' AS source, person, platform, day, "
                    f"month, active_seconds, bytes, sessions, installs, active, province, province_seconds "
                    f"FROM read_parquet('{out}/person_day/**/*.parquet', hive_partitioning = true) "
                    f"WHERE day BETWEEN DATE '{days[0]}' AND DATE '{days[-1]}'")
        con.execute(f"COPY ({person_week_sql('person_day', weeks)}) TO '{out / f'person_week_{month}.parquet'}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"CREATE OR REPLACE TEMP VIEW person_month AS "
                    f"SELECT * FROM read_parquet('{out / f'person_month_{month}.parquet'}')")
        con.execute(f"CREATE OR REPLACE TEMP TABLE usage_month_{month.replace('-', '_')} AS {duckdb_sql(USAGE_MONTH)}")


def _maps(con: DuckDBPyConnection, values: dict[str, list[str]]) -> None:
    """The catalog's reading of every platform and province value of the files (as thuocdo resolves them)."""
    import pyarrow as pa

    from thuocdo.catalog import load_catalog

    catalog = load_catalog()

    def province(value: str) -> str | None:
        resolved = catalog.resolve_province(value)
        return resolved.new_code if resolved else None

    for column, name, code, resolve in (("platform", "platform_map", "platform_id", catalog.resolve_platform),
                                        ("province", "province_map", "code", province)):
        table = pa.table({"value": pa.array(values[column], pa.string()),
                          code: pa.array([resolve(v) for v in values[column]], pa.string())})
        con.register("map_in", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM map_in")
        con.unregister("map_in")


RUNGS = ("minimal", "pseudonyms", "exactly_once", "validation", "validation_typed", "rollups")


def _run(con: DuckDBPyConnection, rung: str, files: list[str], out: Path) -> int:
    """One rung, from the files to its outputs under `out`; returns the person-days written."""
    from thuocdo.ingest.pseudonymise import person_key_params, person_key_sql

    params = {"files": files}
    if rung == "minimal":
        con.execute(MINIMAL_SQL.format(out=out / "person_day.parquet", options=""), {**params, "columns": COLUMNS})
    elif rung == "pseudonyms":
        con.execute(f"""
            COPY (WITH rec AS (SELECT * FROM read_csv($files, header = true, columns = $columns)),
                  ids AS (SELECT user_id, {person_key_sql('user_id')} AS person
                          FROM (SELECT DISTINCT user_id FROM rec))
                  SELECT i.person, r.platform, CAST(timezone('Asia/Ho_Chi_Minh', r."time") AS DATE) AS day,
                         {SUMS}
                  FROM rec r JOIN ids i USING (user_id) GROUP BY ALL)
            TO '{out / 'person_day.parquet'}' (FORMAT parquet)""",
                    {**params, "columns": COLUMNS, **person_key_params(PERSON_SECRET, "bench")})
    elif rung == "exactly_once":
        typed = ("SELECT record_id, user_id, platform, CAST(timezone('Asia/Ho_Chi_Minh', \"time\") AS DATE) AS day, "
                 "active_seconds, bytes, sessions, installs, province "
                 "FROM read_csv($files, header = true, columns = $columns)")
        _person_days(con, out, _keyed(typed), {**params, "columns": COLUMNS})
    else:  # validation (by SQL over text, or by the typed reader), then the rollups over the typed reader's
        typed, columns = (TYPED, {}) if rung == "validation" else (TYPED_READ, {"columns": COLUMNS})
        # the typed reader reads a time without an offset in the session's zone: the contract's local time
        con.execute(f"SET TimeZone = '{'UTC' if rung == 'validation' else 'Asia/Ho_Chi_Minh'}'")
        checked = CHECKED.replace("FROM typed", f"FROM ({typed})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {checked}", {**params, **columns})
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE OR REPLACE TEMP TABLE rejected AS SELECT * FROM checked WHERE NOT ok")
        _person_days(con, out, _keyed("SELECT * FROM checked WHERE ok"))
        con.execute("DROP TABLE checked")
        if rung == "rollups":
            _rollups(con, out)
    one_file = rung in ("minimal", "pseudonyms")
    written = out / "person_day.parquet" if one_file else out / "person_day" / "**" / "*.parquet"
    return int(con.execute(f"SELECT count(*) FROM read_parquet('{written}')").fetchall()[0][0])


def phase_ladder(workdir: Path) -> dict:
    """Every rung twice, in turn (rung 0 to 4, then again), the faster run of each kept."""
    import duckdb

    m = manifest(workdir)
    files = m["usage_files"]
    out = workdir / "ladder"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    values = {column: [r[0] for r in con.execute(
        f"SELECT DISTINCT {column} FROM read_csv($files, header = true, all_varchar = true) "
        f"WHERE {column} IS NOT NULL", {"files": files}).fetchall()] for column in ("platform", "province")}
    _maps(con, values)  # untimed: the catalog's reading of the values, as thuocdo's maps
    result: dict = {}
    for _round in range(2):
        for rung in RUNGS:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            with Clock() as c:
                rows = _run(con, rung, files, out)
            best = result.get(rung)
            if best is None or c.wall < best["s"]:
                result[rung] = {"s": c.wall, "cpu_s": c.cpu, "person_days": rows}
            log(f"    {rung}: {c.wall:.2f} s, {c.cpu:.2f} s CPU, {rows:,} person-days")
    shutil.rmtree(out, ignore_errors=True)
    return {"rungs": result, "records": m["records"]}
