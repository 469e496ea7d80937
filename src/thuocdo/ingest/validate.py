"""Validation of usage records in SQL: every row gets the list of all its problems (field + message).

The raw text columns are typed here; a row is good when its problem list is empty. Platform and province
values are resolved through small mapping tables built from the catalog for the distinct values present.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.ingest.contracts import MAX_ACTIVE_SECONDS, MAX_RECORD_ID, MAX_USER_ID, Contract
from thuocdo.ingest.readers import RawInput

REFORM_DAY = dt.date(2025, 7, 1)  # the 34 provinces are in force from this day

_TIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?$"
_OFFSET_RE = r"[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$"
_INT_RE = r"^\d{1,18}$"


def excerpt(expr: str) -> str:
    return f"'«' || left({expr}, 40) || CASE WHEN length({expr}) > 40 THEN '…' ELSE '' END || '»'"


def problem(cond: str, field: str, message_sql: str) -> str:
    return f"CASE WHEN {cond} THEN {{'field': '{field}', 'message': {message_sql}}} END"


def _int_column(name: str, default: int, upper: int | None) -> tuple[str, list[str]]:
    """(typed expression, problem expressions) for an optional non-negative integer column."""
    text = f"nullif(trim({name}), '')"
    typed = f"CASE WHEN {text} IS NULL THEN {default} WHEN regexp_matches({text}, '{_INT_RE}') THEN CAST({text} AS BIGINT) END"
    problems = [problem(f"{text} IS NOT NULL AND NOT regexp_matches({text}, '{_INT_RE}')", name,
                         f"'giá trị ' || {excerpt(text)} || ' không phải số nguyên không âm'")]
    if upper is not None:
        shown = f"{upper:,}".replace(",", ".")
        problems.append(problem(f"{typed} > {upper}", name, f"'giá trị ' || {typed} || ' vượt quá {shown}'"))
    return typed, problems


def source_relation(raw: RawInput, contract: Contract) -> str:
    """SQL selecting the contract's text columns (and `_json_ok`) from the registered `raw_in`."""
    if raw.format != "ndjson":
        cols = ", ".join(f'"{f}"' for f in contract.fields)
        return f"SELECT _line, TRUE AS _json_ok, {cols} FROM raw_in"
    cols = ", ".join(
        f"CASE WHEN json_type(_json, '$.{f}') IN ('OBJECT', 'ARRAY') THEN json_extract(_json, '$.{f}')::VARCHAR "
        f"ELSE json_extract_string(_json, '$.{f}') END AS \"{f}\"" for f in contract.fields)
    return (f"SELECT _line, _ok AS _json_ok, {cols} FROM ("
            f"(SELECT _line, _ok, CASE WHEN _ok THEN _json END AS _json FROM "
            f"(SELECT _line, _json, CASE WHEN json_valid(_json) THEN json_type(_json) = 'OBJECT' ELSE FALSE END AS _ok "
            f"FROM raw_in)))")


def register_platform_map(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    values = [r[0] for r in con.execute("SELECT DISTINCT platform FROM src WHERE platform IS NOT NULL").fetchall()]
    table = pa.table({"platform_value": pa.array(values, pa.string()),
                      "platform_id": pa.array([catalog.resolve_platform(v) for v in values], pa.string())})
    con.register("platform_map", table)


def register_province_map(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Each distinct province value resolved for both eras (a bare code means another unit after 2025-07-01)."""
    values = [r[0] for r in con.execute(
        "SELECT DISTINCT province FROM src WHERE nullif(trim(province), '') IS NOT NULL").fetchall()]
    before, after = REFORM_DAY - dt.timedelta(days=1), REFORM_DAY

    def code(value: str, on: dt.date) -> str | None:
        resolved = catalog.resolve_province(value, on)
        return resolved.new_code if resolved else None

    con.register("province_map", pa.table({
        "province_value": pa.array(values, pa.string()),
        "code_before": pa.array([code(v, before) for v in values], pa.string()),
        "code_after": pa.array([code(v, after) for v in values], pa.string())}))


_TIME = 'trim("time")'
_TS_UTC = (f"CASE WHEN NOT regexp_matches({_TIME}, '{_TIME_RE}') THEN NULL "
           f"WHEN regexp_matches({_TIME}, '{_OFFSET_RE}') THEN try_cast({_TIME} AS TIMESTAMPTZ)::TIMESTAMP "
           f"ELSE try_cast({_TIME} AS TIMESTAMP) - INTERVAL 7 HOUR END")
_FIRST_UTC, _LAST_UTC = "TIMESTAMP '1999-12-31 17:00:00'", "TIMESTAMP '2100-12-31 17:00:00'"
_INTS = (("active_seconds", 0, MAX_ACTIVE_SECONDS), ("bytes", 0, None), ("sessions", 1, None), ("installs", 0, None))


def stage_usage(con: duckdb.DuckDBPyConnection, raw: RawInput, contract: Contract, catalog: Catalog,
                person_sql: str, params: dict[str, str]) -> None:
    """Materialise `typed` (one pass over the input: typed values, person key and an `ok` flag) and define the
    view `rejected_rows` (the bad rows with the list of all their problems, from the raw text)."""
    kind = "TABLE" if raw.format == "ndjson" else "VIEW"
    con.execute(f"CREATE OR REPLACE TEMP {kind} src AS {source_relation(raw, contract)}")
    register_platform_map(con, catalog)
    register_province_map(con, catalog)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE persons AS
        SELECT user_id, {person_sql} AS person
        FROM (SELECT DISTINCT user_id FROM src WHERE user_id <> '' AND length(user_id) <= {MAX_USER_ID})
    """, params)
    ints = ", ".join(f"{_int_column(name, default, upper)[0]} AS {name}_n" for name, default, upper in _INTS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typed AS
        SELECT s._line, s._json_ok, coalesce(p.person, try_cast(nullif(trim(s.user_key), '') AS BIGINT)) AS person,
               nullif(s.record_id, '') AS record_id, m.platform_id, {_TS_UTC} AS ts_utc, {ints},
               nullif(trim(s.province), '') IS NOT NULL AS has_province, pm.code_before, pm.code_after
        FROM src s
        LEFT JOIN platform_map m ON s.platform = m.platform_value
        LEFT JOIN province_map pm ON s.province = pm.province_value
        LEFT JOIN persons p ON s.user_id = p.user_id
    """)
    upper = " AND ".join(f"{name}_n <= {limit}" for name, _, limit in _INTS if limit is not None)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW typed_ok AS
        SELECT *, CAST(ts_utc + INTERVAL 7 HOUR AS DATE) AS day,
               CASE WHEN ts_utc >= TIMESTAMP '2025-06-30 17:00:00' THEN code_after ELSE code_before END AS province_code,
               coalesce(_json_ok AND person IS NOT NULL AND coalesce(length(record_id), 0) <= {MAX_RECORD_ID}
               AND platform_id IS NOT NULL AND ts_utc >= {_FIRST_UTC} AND ts_utc < {_LAST_UTC}
               AND {" AND ".join(f"{name}_n IS NOT NULL" for name, _, _ in _INTS)} AND {upper}
               AND (NOT has_province OR province_code IS NOT NULL), FALSE) AS ok
        FROM typed
    """)
    int_problems = [p for name, default, limit in _INTS for p in _int_column(name, default, limit)[1]]
    time = _TIME
    problems = [
        problem("NOT _json_ok", "*", "'dòng không phải một đối tượng JSON hợp lệ'"),
        problem("_json_ok AND (user_id IS NULL OR user_id = '') AND nullif(trim(user_key), '') IS NULL", "user_id",
                 "'thiếu mã người dùng'"),
        problem(f"length(user_id) > {MAX_USER_ID}", "user_id",
                 f"'mã người dùng dài ' || length(user_id) || ' ký tự, tối đa {MAX_USER_ID}'"),
        problem("(user_id IS NULL OR user_id = '') AND nullif(trim(user_key), '') IS NOT NULL "
                 "AND try_cast(trim(user_key) AS BIGINT) IS NULL", "user_key", "'mã giả danh không hợp lệ'"),
        problem(f"length(s.record_id) > {MAX_RECORD_ID}", "record_id",
                 f"'mã bản ghi dài ' || length(s.record_id) || ' ký tự, tối đa {MAX_RECORD_ID}'"),
        problem("_json_ok AND nullif(trim(platform), '') IS NULL", "platform", "'thiếu nền tảng'"),
        problem("nullif(trim(platform), '') IS NOT NULL AND platform_id IS NULL", "platform",
                 f"'nền tảng ' || {excerpt('platform')} || ' không có trong danh mục'"),
        problem(f"_json_ok AND nullif({time}, '') IS NULL", "time", "'thiếu thời gian'"),
        problem(f"nullif({time}, '') IS NOT NULL AND ts_utc IS NULL", "time",
                 f"'thời gian ' || {excerpt(time)} || ' không đúng định dạng ISO 8601 "
                 f"(ví dụ 2022-01-31T23:30:00+07:00, 2022-01-31 23:30:00 hoặc 2022-01-31)'"),
        problem(f"ts_utc < {_FIRST_UTC} OR ts_utc >= {_LAST_UTC}", "time",
                 f"'thời gian ' || {excerpt(time)} || ' nằm ngoài khoảng năm 2000–2100'"),
        *int_problems,
        problem("has_province AND day IS NOT NULL AND province_code IS NULL", "province",
                 f"'tỉnh/thành ' || {excerpt('s.province')} || ' không nhận ra (dùng mã hoặc tên, cũ hoặc mới)'"),
    ]
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW rejected_rows AS
        SELECT t._line, t.person, s.record_id, s.platform, s."time", s.active_seconds, s.bytes, s.sessions,
               s.installs, s.province,
               list_filter([{', '.join(problems)}], lambda x: x IS NOT NULL) AS problems
        FROM (SELECT _line, person, platform_id, ts_utc, day, province_code, has_province FROM typed_ok WHERE NOT ok) t
        JOIN src s ON s._line = t._line
    """)
