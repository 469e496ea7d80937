"""Ingest panel weights and published aggregates: small long tables, upserted per source.

Both follow the usage pipeline's rules: every problem of every row is collected, bad rows go to the
quarantine (weights pseudonymised first), good rows replace earlier values of the same key, and the whole
file is one transaction.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from thuocdo.catalog import Catalog
from thuocdo.ingest import quarantine
from thuocdo.ingest.contracts import AGGREGATES, MAX_USER_ID, WEIGHTS
from thuocdo.ingest.pseudonymise import hmac_pads, person_key_sql
from thuocdo.ingest.readers import InputError, RawInput, read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.validate import excerpt, problem, register_platform_map, source_relation
from thuocdo.metrics.dictionary import METRICS
from thuocdo.store import Store
from thuocdo.store.lake import record_batch

_MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
_PERIOD_RE = r"^\d{4}(-(0[1-9]|1[0-2])|-[Qq][1-4])?$"
_NUMBER = "try_cast(trim({c}) AS DOUBLE)"

#: published aggregate metrics besides the usage dictionary (operator KPIs come from the catalog)
EXTRA_AGGREGATE_METRICS = ("web_rank", "downloads_total", "visits", "dau", "stickiness")


def stage_table(store: Store, raw: RawInput, contract_sql: str) -> int:
    con = store.con
    con.register("raw_in", raw.table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE src AS {contract_sql}")
    finally:
        con.unregister("raw_in")
    n = con.execute("SELECT count(*) FROM src").fetchall()[0][0]  # type: ignore[index]
    if n == 0 and not raw.rejections:
        raise InputError(f"Tệp {raw.name}: không có dòng dữ liệu nào (chỉ có tiêu đề hoặc dòng trống).")
    return int(n)


def finish_table(store: Store, raw: RawInput, result: BatchResult, kind: str, upsert_sql: str, file_sha: str | None) -> None:
    con = store.con
    con.register("q_rejections", quarantine.rejection_rows(raw.rejections, batch_id=result.batch_id,
                                                           source=result.source, kind=kind, file=raw.name))
    con.execute("""CREATE OR REPLACE TEMP TABLE q_batch AS
                   SELECT *, md5(record || problems) AS fingerprint FROM q_rows
                   UNION ALL BY NAME SELECT * FROM q_rejections""")
    con.unregister("q_rejections")
    result.rejected = con.execute("SELECT count(*) FROM q_batch").fetchall()[0][0]  # type: ignore[index]
    with store.transaction():
        con.execute(upsert_sql)
        quarantine.insert(con, "SELECT * FROM q_batch")
        record_batch(store, result, file_sha)


def ingest_weights(store: Store, path: Path, source: str) -> BatchResult:
    raw = read_input(path, WEIGHTS)
    n = stage_table(store, raw, source_relation(raw, WEIGHTS))
    con = store.con
    ipad, opad = hmac_pads(store.secret)
    weight = _NUMBER.format(c="weight")
    problems = ", ".join([
        problem("NOT _json_ok", "*", "'dòng không phải một đối tượng JSON hợp lệ'"),
        problem("coalesce(user_id, '') = '' AND try_cast(trim(user_key) AS BIGINT) IS NULL", "user_id", "'thiếu mã người dùng'"),
        problem(f"length(user_id) > {MAX_USER_ID}", "user_id", f"'mã người dùng dài hơn {MAX_USER_ID} ký tự'"),
        problem(f"_json_ok AND NOT regexp_matches(coalesce(trim(month), ''), '{_MONTH_RE}')", "month",
                 f"'tháng ' || {excerpt('coalesce(month, chr(32))')} || ' không đúng dạng YYYY-MM'"),
        problem(f"_json_ok AND ({weight} IS NULL OR NOT isfinite({weight}))", "weight",
                 f"'trọng số ' || {excerpt('coalesce(weight, chr(32))')} || ' không phải số'"),
        problem(f"{weight} <= 0", "weight", f"'trọng số ' || {weight} || ' phải lớn hơn 0'"),
    ])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE w_persons AS
        SELECT user_id, {person_key_sql('user_id')} AS person
        FROM (SELECT DISTINCT user_id FROM src WHERE user_id <> '' AND length(user_id) <= {MAX_USER_ID})
    """, {"ipad": ipad, "opad": opad, "source": source})  # each distinct id is hashed once
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE w_checked AS
        SELECT _line, trim(month) AS month, {weight} AS w,
               coalesce(p.person, try_cast(trim(user_key) AS BIGINT)) AS person, weight,
               list_filter([{problems}], lambda x: x IS NOT NULL) AS problems
        FROM src LEFT JOIN w_persons p USING (user_id)
    """)
    result = BatchResult(raw.name, source, "weights", uuid.uuid4().hex)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_rows AS
        SELECT '{result.batch_id}' AS batch_id, $source AS source, 'weights' AS kind, $file AS file, _line AS line,
               to_json({{'user_key': CAST(person AS VARCHAR), 'month': month, 'weight': weight}})::VARCHAR AS record,
               to_json(problems)::VARCHAR AS problems
        FROM w_checked WHERE len(problems) > 0""", {"source": source, "file": raw.name})
    con.execute("""CREATE OR REPLACE TEMP TABLE w_good AS
        SELECT person, month, arg_max(w, _line) AS weight FROM w_checked WHERE len(problems) = 0 GROUP BY person, month""")
    good = con.execute("SELECT count(*) FROM w_checked WHERE len(problems) = 0").fetchall()[0][0]  # type: ignore[index]
    unchanged = con.execute("""SELECT count(*) FROM w_good g JOIN weights w ON w.source = $source
                               AND w.person = g.person AND w.month = g.month AND w.weight = g.weight""",
                            {"source": source}).fetchall()[0][0]  # type: ignore[index]
    result.rows_read = n + len(raw.rejections)
    distinct = con.execute("SELECT count(*) FROM w_good").fetchall()[0][0]  # type: ignore[index]
    result.stored = distinct - unchanged
    result.duplicates = good - result.stored
    src = source.replace("'", "''")
    upsert = f"""
        DELETE FROM weights USING w_good g WHERE weights.source = '{src}' AND weights.person = g.person AND weights.month = g.month;
        INSERT INTO weights SELECT '{src}', person, month, weight, '{result.batch_id}' FROM w_good;
        INSERT INTO dirty_months SELECT DISTINCT '{src}', month FROM w_good ON CONFLICT DO NOTHING;
    """
    finish_table(store, raw, result, "weights", upsert, None)
    return result


def ingest_aggregates(store: Store, path: Path, source: str, catalog: Catalog) -> BatchResult:
    raw = read_input(path, AGGREGATES)
    n = stage_table(store, raw, source_relation(raw, AGGREGATES))
    con = store.con
    register_platform_map(con, catalog, raw)
    names = [m.name for m in METRICS] + list(EXTRA_AGGREGATE_METRICS) + [k.id for k in catalog.kpis]
    value = _NUMBER.format(c="value")
    problems = ", ".join([
        problem("NOT _json_ok", "*", "'dòng không phải một đối tượng JSON hợp lệ'"),
        problem("_json_ok AND platform_id IS NULL", "platform",
                 f"'nền tảng ' || {excerpt('coalesce(platform, chr(32))')} || ' không có trong danh mục'"),
        problem(f"_json_ok AND NOT regexp_matches(coalesce(trim(period), ''), '{_PERIOD_RE}')", "period",
                 f"'kỳ ' || {excerpt('coalesce(period, chr(32))')} || ' không đúng dạng YYYY, YYYY-MM hoặc YYYY-Qn'"),
        problem("_json_ok AND NOT list_contains($names, trim(coalesce(metric, '')))", "metric",
                 f"'chỉ số ' || {excerpt('coalesce(metric, chr(32))')} || ' không có trong từ điển chỉ số'"),
        problem(f"_json_ok AND ({value} IS NULL OR NOT isfinite({value}))", "value",
                 f"'giá trị ' || {excerpt('coalesce(value, chr(32))')} || ' không phải số'"),
        problem(f"{value} < 0", "value", f"'giá trị ' || {value} || ' không được âm'"),
    ])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE a_checked AS
        SELECT s._line, coalesce(nullif(trim(s.source), ''), $source) AS source, m.platform_id AS platform,
               upper(trim(s.period)) AS period, trim(s.metric) AS metric, {value.replace("(value)", "(s.value)")} AS v,
               s.platform AS platform_text, s.value AS value_text,
               list_filter([{problems}], lambda x: x IS NOT NULL) AS problems
        FROM src s LEFT JOIN platform_map m ON s.platform = m.platform_value
    """, {"source": source, "names": names})
    result = BatchResult(raw.name, source, "aggregates", uuid.uuid4().hex)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_rows AS
        SELECT '{result.batch_id}' AS batch_id, source, 'aggregates' AS kind, $file AS file, _line AS line,
               to_json({{'platform': platform_text, 'period': period, 'metric': metric, 'value': value_text,
                        'source': source}})::VARCHAR AS record,
               to_json(problems)::VARCHAR AS problems
        FROM a_checked WHERE len(problems) > 0""", {"file": raw.name})
    con.execute("""CREATE OR REPLACE TEMP TABLE a_good AS
        SELECT source, platform, period, metric, arg_max(v, _line) AS value
        FROM a_checked WHERE len(problems) = 0 GROUP BY ALL""")
    good = con.execute("SELECT count(*) FROM a_checked WHERE len(problems) = 0").fetchall()[0][0]  # type: ignore[index]
    unchanged = con.execute("""SELECT count(*) FROM a_good g JOIN aggregates a USING (source, platform, period, metric)
                               WHERE a.value = g.value""").fetchall()[0][0]  # type: ignore[index]
    distinct = con.execute("SELECT count(*) FROM a_good").fetchall()[0][0]  # type: ignore[index]
    result.rows_read = n + len(raw.rejections)
    result.stored = distinct - unchanged
    result.duplicates = good - result.stored
    upsert = f"""
        DELETE FROM aggregates USING a_good g WHERE aggregates.source = g.source AND aggregates.platform = g.platform
           AND aggregates.period = g.period AND aggregates.metric = g.metric;
        INSERT INTO aggregates SELECT source, platform, period, metric, value, '{result.batch_id}' FROM a_good;
    """
    finish_table(store, raw, result, "aggregates", upsert, None)
    return result
