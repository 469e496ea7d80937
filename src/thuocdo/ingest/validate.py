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
    before = REFORM_DAY - dt.timedelta(days=1)
    rows = [(v, after, catalog.resolve_province(v, REFORM_DAY if after else before))
            for v in values for after in (False, True)]
    con.register("province_map", pa.table({
        "province_value": pa.array([r[0] for r in rows], pa.string()),
        "after_reform": pa.array([r[1] for r in rows], pa.bool_()),
        "code": pa.array([r[2].new_code if r[2] else None for r in rows], pa.string())}))


def stage_usage(con: duckdb.DuckDBPyConnection, raw: RawInput, contract: Contract, catalog: Catalog) -> None:
    """Define the view `checked`: typed usage rows with `problems` (a list; empty when the row is good).

    Nothing is materialised here except NDJSON's extracted fields: the caller selects the good rows (numbers
    and keys only) and the few bad ones from the view.
    """
    kind = "TABLE" if raw.format == "ndjson" else "VIEW"
    con.execute(f"CREATE OR REPLACE TEMP {kind} src AS {source_relation(raw, contract)}")
    register_platform_map(con, catalog)
    register_province_map(con, catalog)
    seconds, seconds_p = _int_column("active_seconds", 0, MAX_ACTIVE_SECONDS)
    bytes_, bytes_p = _int_column("bytes", 0, None)
    sessions, sessions_p = _int_column("sessions", 1, None)
    installs, installs_p = _int_column("installs", 0, None)
    time = "trim(\"time\")"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW typed AS
        WITH t AS (
            SELECT s.*, m.platform_id,
                   CASE WHEN NOT regexp_matches({time}, '{_TIME_RE}') THEN NULL
                        WHEN regexp_matches({time}, '{_OFFSET_RE}') THEN try_cast({time} AS TIMESTAMPTZ)::TIMESTAMP
                        ELSE try_cast({time} AS TIMESTAMP) - INTERVAL 7 HOUR END AS ts_utc,
                   {seconds} AS active_seconds_n, {bytes_} AS bytes_n, {sessions} AS sessions_n,
                   {installs} AS installs_n
            FROM src s LEFT JOIN platform_map m ON s.platform = m.platform_value
        )
        SELECT *, CAST(ts_utc + INTERVAL 7 HOUR AS DATE) AS day FROM t
    """)
    problems = [
        problem("NOT _json_ok", "*", "'dòng không phải một đối tượng JSON hợp lệ'"),
        problem("_json_ok AND (user_id IS NULL OR user_id = '') AND nullif(trim(user_key), '') IS NULL", "user_id",
                 "'thiếu mã người dùng'"),
        problem(f"length(user_id) > {MAX_USER_ID}", "user_id",
                 f"'mã người dùng dài ' || length(user_id) || ' ký tự, tối đa {MAX_USER_ID}'"),
        problem("(user_id IS NULL OR user_id = '') AND nullif(trim(user_key), '') IS NOT NULL "
                 "AND try_cast(trim(user_key) AS BIGINT) IS NULL", "user_key", "'mã giả danh không hợp lệ'"),
        problem(f"length(record_id) > {MAX_RECORD_ID}", "record_id",
                 f"'mã bản ghi dài ' || length(record_id) || ' ký tự, tối đa {MAX_RECORD_ID}'"),
        problem("_json_ok AND nullif(trim(platform), '') IS NULL", "platform", "'thiếu nền tảng'"),
        problem("nullif(trim(platform), '') IS NOT NULL AND platform_id IS NULL", "platform",
                 f"'nền tảng ' || {excerpt('platform')} || ' không có trong danh mục'"),
        problem(f"_json_ok AND nullif({time}, '') IS NULL", "time", "'thiếu thời gian'"),
        problem(f"nullif({time}, '') IS NOT NULL AND ts_utc IS NULL", "time",
                 f"'thời gian ' || {excerpt(time)} || ' không đúng định dạng ISO 8601 "
                 f"(ví dụ 2022-01-31T23:30:00+07:00, 2022-01-31 23:30:00 hoặc 2022-01-31)'"),
        problem("ts_utc IS NOT NULL AND (year(day) < 2000 OR year(day) > 2100)", "time",
                 f"'thời gian ' || {excerpt(time)} || ' nằm ngoài khoảng năm 2000–2100'"),
        *seconds_p, *bytes_p, *sessions_p, *installs_p,
        problem("nullif(trim(t.province), '') IS NOT NULL AND day IS NOT NULL AND pm.code IS NULL", "province",
                 f"'tỉnh/thành ' || {excerpt('t.province')} || ' không nhận ra (dùng mã hoặc tên, cũ hoặc mới)'"),
    ]
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW checked AS
        SELECT t._line, nullif(t.record_id, '') AS record_id, t.user_id, nullif(trim(t.user_key), '') AS user_key,
               t.platform, t."time", t.active_seconds, t.bytes, t.sessions, t.installs, t.province,
               t.platform_id, t.ts_utc, t.day, strftime(t.day, '%Y-%m') AS month,
               t.active_seconds_n, t.bytes_n, t.sessions_n, t.installs_n, pm.code AS province_code,
               list_filter([{', '.join(problems)}], lambda x: x IS NOT NULL) AS problems
        FROM typed t
        LEFT JOIN province_map pm ON t.province = pm.province_value AND (t.day >= DATE '2025-07-01') = pm.after_reform
    """)
