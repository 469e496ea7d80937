"""Validation of usage records in SQL: every row gets the list of all its problems (field + message).

The raw text columns are typed here; a row is good when its problem list is empty. Platform and province
values are resolved through small mapping tables built from the catalog for the distinct values present.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.catalog import Catalog
from thuocdo.ingest.contracts import INTEGER_RULES, MAX_RECORD_ID, MAX_USER_ID, Contract
from thuocdo.ingest.pseudonymise import person_keys
from thuocdo.ingest.readers import READ_PROBLEMS, InputError, RawInput
from thuocdo.store import Store

REFORM_DAY = dt.date(2025, 7, 1)  # the 34 provinces are in force from this day

#: ISO 8601: a date, or a date and time with an optional offset (Z or ±HH:MM), matched whole
_TIME_RE = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?"
_INT_RE = r"\d{1,18}"


def excerpt(expr: str) -> str:
    return f"'«' || left({expr}, 40) || CASE WHEN length({expr}) > 40 THEN '…' ELSE '' END || '»'"


def problem(cond: str, field: str, message_sql: str) -> str:
    return f"CASE WHEN {cond} THEN {{'field': '{field}', 'message': {message_sql}}} END"


def all_problems(problems_sql: str) -> str:
    """SQL for the list of every problem of a row: those the reader found (bad bytes, a wrong number of
    columns: the column READ_PROBLEMS of `src`), then those of `problems_sql` (:func:`problem` expressions,
    comma-separated) except on a field the reader already named."""
    named = f"coalesce(list_transform({READ_PROBLEMS}, lambda r: r.field), [])"
    return (f"list_concat(coalesce({READ_PROBLEMS}, []), list_filter([{problems_sql}], "
            f"lambda x: x IS NOT NULL AND NOT list_contains({named}, x.field)))")


def _int_column(name: str, default: int, upper: int | None, *, typed_input: bool = False) -> tuple[str, list[str]]:
    """(typed expression, problem expressions) for an optional non-negative integer column.

    Text: the common case (digits, no blanks) costs one comparison and one match; blanks around are tolerated.
    Already typed (see :func:`pretype_integers`): only the sign is left to check."""
    x = f'"{name}"'
    if typed_input:
        typed = f"CASE WHEN {x} IS NULL THEN {default} WHEN {x} >= 0 THEN {x} END"
        shown_value = f"CAST({x} AS VARCHAR)"
    else:
        typed = (f"CASE WHEN {x} IS NULL OR {x} = '' THEN {default} "
                 f"WHEN regexp_full_match({x}, '{_INT_RE}') THEN CAST({x} AS BIGINT) "
                 f"WHEN regexp_full_match(trim({x}), '{_INT_RE}') THEN CAST(trim({x}) AS BIGINT) "
                 f"WHEN trim({x}) = '' THEN {default} END")
        shown_value = x
    shown = f"{upper:,}".replace(",", ".") if upper is not None else ""
    # digits too many for a 64-bit integer are a value above the bound, not a value that is not a number
    huge = "FALSE" if typed_input else f"regexp_full_match(trim({x}), '\\d{{19,}}')"
    problems = [problem(f"({typed}) IS NULL AND NOT {huge}", name,
                        f"'giá trị ' || {excerpt(shown_value)} || ' không phải số nguyên không âm'")]
    if upper is not None:
        problems.append(problem(f"({typed}) > {upper}", name, f"'giá trị ' || ({typed}) || ' vượt quá {shown}'"))
        problems.append(problem(huge, name, f"'giá trị ' || {excerpt(shown_value)} || ' vượt quá {shown}'"))
    return typed, problems


def pretype_integers(table: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """Cast text integer columns to int64 where every value is plain digits (or empty): Arrow's strict cast
    is far cheaper than checking each value in SQL. A column with any other value stays text."""
    for name in names:
        if name not in table.column_names:
            continue
        col = table[name]
        if pa.types.is_integer(col.type):
            try:
                typed = col.cast(pa.int64())
            except pa.ArrowInvalid:  # beyond 64 bits: validation judges the text
                typed = col.cast(pa.string())
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            try:
                typed = pc.cast(pc.if_else(pc.equal(col, ""), pa.scalar(None, col.type), col), pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        else:
            continue
        table = table.set_column(table.column_names.index(name), name, typed)
    return table


#: the shape of nearly every delivered time: a date and a time to the second, with its offset (Z or ±HH:MM) or
#: without one (local time); the three forms are 20, 25 and 19 bytes long
_PLAIN_TIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?$"
_PLAIN_LOCAL_BYTES = 19
#: the UTC instant of a plain time, read ahead of validation (:func:`pretype_times`; NULL: validation reads it)
TS_COLUMN = "_ts_utc"


def pretype_times(table: pa.Table) -> pa.Table:
    """Add :data:`TS_COLUMN`: the UTC instant of each `time` of the plain shape (:data:`_PLAIN_TIME_RE`: with an
    offset as given, without one as Asia/Ho_Chi_Minh local time, UTC+7), read by Arrow's casts in a few
    vectorised passes, far cheaper than the pattern and the cast of each value in SQL; NULL for the other values,
    which validation reads as before. Where Arrow reads a plain time, it reads it as validation does
    (:data:`_TS_UTC`; ``tests/test_time_pretyping.py``); when the times with an offset, or those without,
    hold a value Arrow cannot read (a day or an offset out of range, which DuckDB reads or rejects by its own
    rules), they are all left to validation."""
    if "time" not in table.column_names or TS_COLUMN in table.column_names:
        return table
    col = table["time"]
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return table
    plain = pc.fill_null(pc.match_substring_regex(col, _PLAIN_TIME_RE), False)
    if not pc.any(plain).as_py():
        return table
    local = pc.equal(pc.binary_length(col), _PLAIN_LOCAL_BYTES)
    none = pa.scalar(None, col.type)
    instants = pa.nulls(table.num_rows, pa.timestamp("us"))
    for form, tz in ((pc.and_(plain, pc.invert(local)), "UTC"), (pc.and_(plain, local), None)):
        try:
            read = pc.cast(pc.if_else(form, col, none), pa.timestamp("us", tz))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        # with an offset: the UTC wall time; without: the local wall time, 7 hours ahead of UTC
        utc = read.cast(pa.timestamp("us")) if tz else pc.subtract(read, pa.scalar(dt.timedelta(hours=7)))
        instants = pc.if_else(form, utc, instants)
    if instants.null_count == table.num_rows:
        return table
    return table.append_column(TS_COLUMN, instants)


#: the person key of a row's user id, computed ahead of validation (:func:`pretype_persons`)
PERSON_COLUMN = "_person"


def pretype_persons(table: pa.Table, secret: bytes, domain: str) -> pa.Table:
    """Add :data:`PERSON_COLUMN`: the person key (:func:`thuocdo.ingest.pseudonymise.person_keys`, each distinct
    id hashed once) of each user id validation accepts (not empty, at most MAX_USER_ID characters), NULL for the
    others. The typed pass then needs neither its table of distinct ids nor the join of every row to it."""
    if "user_id" not in table.column_names or PERSON_COLUMN in table.column_names:
        return table
    col = table["user_id"]
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return table
    encoded = pc.dictionary_encode(col.combine_chunks())
    values = encoded.dictionary
    accepted = pc.and_(pc.greater(pc.binary_length(values), 0), pc.less_equal(pc.utf8_length(values), MAX_USER_ID))
    keys = pa.array(person_keys(secret, domain, values.to_pylist()), pa.int64(),
                    mask=np.asarray(pc.invert(accepted).to_numpy(zero_copy_only=False), dtype=bool))
    return table.append_column(PERSON_COLUMN, pc.take(keys, encoded.indices))  # a NULL id takes a NULL key


def source_relation(raw: RawInput, contract: Contract) -> str:
    """SQL selecting the contract's text columns, `_json_ok`, READ_PROBLEMS and TS_COLUMN from the registered
    `raw_in`."""
    read = (READ_PROBLEMS if READ_PROBLEMS in raw.table.column_names
            else f"NULL::STRUCT(field VARCHAR, message VARCHAR)[] AS {READ_PROBLEMS}")
    if raw.format != "ndjson":
        cols = ", ".join(f'"{f}"' for f in contract.fields)
        ok = "_json_ok" if "_json_ok" in raw.table.column_names else "TRUE AS _json_ok"  # records parsed from JSON
        ts = "" if "time" not in contract.fields else (
            f", {TS_COLUMN}" if TS_COLUMN in raw.table.column_names else f", NULL::TIMESTAMP AS {TS_COLUMN}")
        person = f", {PERSON_COLUMN}" if PERSON_COLUMN in raw.table.column_names else ""
        return f"SELECT _line, {ok}, {read}, {cols}{ts}{person} FROM raw_in"
    cols = ", ".join(
        f"CASE WHEN json_type(_json, '$.{f}') IN ('OBJECT', 'ARRAY') THEN json_extract(_json, '$.{f}')::VARCHAR "
        f"ELSE json_extract_string(_json, '$.{f}') END AS \"{f}\"" for f in contract.fields)
    ts = f", NULL::TIMESTAMP AS {TS_COLUMN}" if "time" in contract.fields else ""
    return (f"SELECT _line, _ok AS _json_ok, {READ_PROBLEMS}, {cols}{ts} FROM ("
            f"(SELECT _line, _ok, {READ_PROBLEMS}, CASE WHEN _ok THEN _json END AS _json FROM "
            f"(SELECT _line, _json, {read}, "
            f"CASE WHEN json_valid(_json) THEN json_type(_json) = 'OBJECT' ELSE FALSE END AS _ok FROM raw_in)))")


def _distinct(con: duckdb.DuckDBPyConnection, raw: RawInput, column: str) -> list[str | None]:
    """The distinct values of a text column of `src`: from the Arrow table itself when `src` is its columns."""
    if raw.format != "ndjson" and column in raw.table.column_names:
        values: list[str | None] = pc.unique(raw.table[column]).to_pylist()
        return values
    return [r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM src").fetchall()]


def register_platform_map(con: duckdb.DuckDBPyConnection, catalog: Catalog, raw: RawInput) -> None:
    values = [v for v in _distinct(con, raw, "platform") if v is not None]
    table = pa.table({"platform_value": pa.array(values, pa.string()),
                      "platform_id": pa.array([catalog.resolve_platform(v) for v in values], pa.string())})
    con.register("platform_map", table)


def province_codes(catalog: Catalog, value: str) -> tuple[str | None, str | None]:
    """The 34-unit code a province value names before the reform and from it (a bare code means another unit
    after 2025-07-01); None where it names nothing."""
    codes = []
    for on in (REFORM_DAY - dt.timedelta(days=1), REFORM_DAY):
        resolved = catalog.resolve_province(value, on)
        codes.append(resolved.new_code if resolved else None)
    return codes[0], codes[1]


def register_province_map(con: duckdb.DuckDBPyConnection, catalog: Catalog, raw: RawInput) -> None:
    """Each distinct province value resolved for both eras (:func:`province_codes`)."""
    values = [v for v in _distinct(con, raw, "province") if v and v.strip()]
    codes = [province_codes(catalog, v) for v in values]
    con.register("province_map", pa.table({
        "province_value": pa.array(values, pa.string()),
        "code_before": pa.array([c[0] for c in codes], pa.string()),
        "code_after": pa.array([c[1] for c in codes], pa.string())}))


_TIME = 'trim("time")'
#: the time text when it is ISO 8601 (blanks around tolerated), else NULL
_TIME_CLEAN = (f"CASE WHEN regexp_full_match(\"time\", '{_TIME_RE}') THEN \"time\" "
               f"WHEN regexp_full_match({_TIME}, '{_TIME_RE}') THEN {_TIME} END")
#: UTC instant of a clean time text: with an offset as given, without one as Asia/Ho_Chi_Minh local time
#: (DuckDB's cast takes "Z" only: a lower-case "z", which the pattern and RFC 3339 allow, is read as "Z"; the only
#: other letter of a clean time is its "T")
_TS_UTC = ("CASE WHEN t_clean[-1] IN ('Z', 'z') OR (t_clean[-3] = ':' AND t_clean[-6] IN ('+', '-')) "
           "THEN try_cast(upper(t_clean) AS TIMESTAMPTZ)::TIMESTAMP "
           "ELSE try_cast(t_clean AS TIMESTAMP) - INTERVAL 7 HOUR END")
#: the UTC instant of a row's time: read ahead (:func:`pretype_times`), else from its clean text
_ROW_TS_UTC = f"CASE WHEN {TS_COLUMN} IS NOT NULL THEN {TS_COLUMN} ELSE {_TS_UTC} END"
#: the clean text of the times not read ahead
_ROW_TIME_CLEAN = f"CASE WHEN {TS_COLUMN} IS NULL THEN {_TIME_CLEAN} END"
FIRST_UTC, LAST_UTC = "TIMESTAMP '1999-12-31 17:00:00'", "TIMESTAMP '2100-12-31 17:00:00'"
_INTS = tuple((rule.name, rule.default, rule.maximum) for rule in INTEGER_RULES)
INTEGER_FIELDS = tuple(rule.name for rule in INTEGER_RULES)


def stage_usage(con: duckdb.DuckDBPyConnection, raw: RawInput, contract: Contract, catalog: Catalog,
                person_sql: str, params: dict[str, str], *, rejected_view: bool = True) -> str:
    """Materialise `typed` (one pass over the input: typed values, person key and an `ok` flag) and define the
    view `rejected_rows` (the bad rows with the list of all their problems, from the raw text, and `_day`: their
    local day when their time was read and in range, else NULL). Returns the
    view's statement; with `rejected_view=False` it is not run (a caller that finds no bad row skips its cost)."""
    kind = "TABLE" if raw.format == "ndjson" else "VIEW"
    drop_src(con)
    con.execute(f"CREATE TEMP {kind} src AS {source_relation(raw, contract)}")
    register_platform_map(con, catalog, raw)
    register_province_map(con, catalog, raw)
    types = {row[0]: row[1] for row in con.execute("DESCRIBE src").fetchall()}
    if PERSON_COLUMN in types:  # keyed ahead (pretype_persons)
        persons_join, person = "", f"s.{PERSON_COLUMN}"
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE persons AS
            SELECT user_id, {person_sql} AS person
            FROM (SELECT DISTINCT user_id FROM src WHERE user_id <> '' AND length(user_id) <= {MAX_USER_ID})
        """, params)
        persons_join, person = "LEFT JOIN persons p ON s.user_id = p.user_id", "p.person"
    typed_input = {name: types.get(name) == "BIGINT" for name, _, _ in _INTS}
    int_columns = [(name, *_int_column(name, default, upper, typed_input=typed_input[name]))
                   for name, default, upper in _INTS]
    ints = ", ".join(f"{typed} AS {name}_n" for name, typed, _ in int_columns)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typed AS
        SELECT s._line, s._json_ok, s.{READ_PROBLEMS} IS NULL AS _read_ok,
               coalesce({person}, try_cast(nullif(trim(s.user_key), '') AS BIGINT)) AS person,
               nullif(s.record_id, '') AS record_id, m.platform_id, {_ROW_TS_UTC} AS ts_utc, {ints},
               nullif(trim(s.province), '') IS NOT NULL AS has_province, pm.code_before, pm.code_after
        FROM (SELECT *, {_ROW_TIME_CLEAN} AS t_clean FROM src) AS s
        LEFT JOIN platform_map m ON s.platform = m.platform_value
        LEFT JOIN province_map pm ON s.province = pm.province_value
        {persons_join}
    """)
    upper = " AND ".join(f"{name}_n <= {limit}" for name, _, limit in _INTS if limit is not None)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW typed_ok AS
        SELECT *, CAST(ts_utc + INTERVAL 7 HOUR AS DATE) AS day,
               CASE WHEN ts_utc >= TIMESTAMP '2025-06-30 17:00:00' THEN code_after ELSE code_before END
                   AS province_code,
               coalesce(_json_ok AND _read_ok AND person IS NOT NULL
               AND coalesce(length(record_id), 0) <= {MAX_RECORD_ID}
               AND platform_id IS NOT NULL AND ts_utc >= {FIRST_UTC} AND ts_utc < {LAST_UTC}
               AND {" AND ".join(f"{name}_n IS NOT NULL" for name, _, _ in _INTS)} AND {upper}
               AND (NOT has_province OR province_code IS NOT NULL), FALSE) AS ok
        FROM typed
    """)
    int_problems = [p for _, _, problems in int_columns for p in problems]
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
        problem(f"ts_utc < {FIRST_UTC} OR ts_utc >= {LAST_UTC}", "time",
                 f"'thời gian ' || {excerpt(time)} || ' nằm ngoài khoảng năm 2000–2100'"),
        *int_problems,
        problem("has_province AND day IS NOT NULL AND province_code IS NULL", "province",
                 f"'tỉnh/thành ' || {excerpt('s.province')} || ' không nhận ra (dùng mã hoặc tên, cũ hoặc mới)'"),
    ]
    view = f"""
        CREATE OR REPLACE TEMP VIEW rejected_rows AS
        SELECT t._line, t.person, s.record_id, s.platform, s."time", s.active_seconds, s.bytes, s.sessions,
               s.installs, s.province,
               {all_problems(', '.join(problems))} AS problems, t._day
        FROM (SELECT _line, person, platform_id, ts_utc, day, province_code, has_province,
                     CASE WHEN ts_utc >= {FIRST_UTC} AND ts_utc < {LAST_UTC} THEN day END AS _day
              FROM typed_ok WHERE NOT ok) t
        JOIN src s ON s._line = t._line
    """
    if rejected_view:
        con.execute(view)
    return view


def drop_src(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the relation ``src`` of an earlier input on this connection: a view (a read file's columns) or a
    table (parsed JSON, a small long table), which ``CREATE OR REPLACE`` of the other kind cannot replace."""
    for (kind,) in con.execute(
            "SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = 'src' UNION ALL "
            "SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = 'src'").fetchall():
        con.execute(f"DROP {kind} src")


#: a text column as a number (NULL when it is not one)
NUMBER = "try_cast(trim({c}) AS DOUBLE)"


def stage_table(store: Store, raw: RawInput, contract_sql: str) -> int:
    """The rows of a small long table as the temporary table ``src`` (the contract's relation over the read
    input); return how many. A file without a data row is unreadable."""
    con = store.con
    con.register("raw_in", raw.table)
    try:
        drop_src(con)
        con.execute(f"CREATE TEMP TABLE src AS {contract_sql}")
    finally:
        con.unregister("raw_in")
    n = con.execute("SELECT count(*) FROM src").fetchall()[0][0]
    if n == 0 and not raw.rejections:
        raise InputError(f"Tệp {raw.name}: không có dòng dữ liệu nào (chỉ có tiêu đề hoặc dòng trống).")
    return int(n)
