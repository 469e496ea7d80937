"""Ingest published aggregates (platform, period, metric, value [, source]): a small long table, upserted per
source, platform, period and metric, with the usage pipeline's rules (every problem of every row collected,
bad rows to the quarantine, the whole file one transaction).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from thuocdo.catalog import Catalog
from thuocdo.ingest.contracts import AGGREGATES
from thuocdo.ingest.ledger import commit_table
from thuocdo.ingest.readers import read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.validate import (
    NUMBER,
    all_problems,
    excerpt,
    problem,
    register_platform_map,
    source_relation,
    stage_table,
)
from thuocdo.metrics.dictionary import METRICS
from thuocdo.store import Store

_PERIOD_RE = r"^\d{4}(-(0[1-9]|1[0-2])|-[Qq][1-4])?$"

#: published aggregate metrics besides the usage dictionary (operator KPIs come from the catalog)
EXTRA_AGGREGATE_METRICS = ("web_rank", "downloads_total", "visits", "dau", "stickiness")


def ingest_aggregates(store: Store, path: Path, source: str, catalog: Catalog) -> BatchResult:
    raw = read_input(path, AGGREGATES)
    n = stage_table(store, raw, source_relation(raw, AGGREGATES))
    con = store.con
    register_platform_map(con, catalog, raw)
    names = [m.name for m in METRICS] + list(EXTRA_AGGREGATE_METRICS) + [k.id for k in catalog.kpis]
    value = NUMBER.format(c="value")
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
               {all_problems(problems)} AS problems
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
    good = con.execute("SELECT count(*) FROM a_checked WHERE len(problems) = 0").fetchall()[0][0]
    unchanged = con.execute("""SELECT count(*) FROM a_good g JOIN aggregates a USING (source, platform, period, metric)
                               WHERE a.value = g.value""").fetchall()[0][0]
    distinct = con.execute("SELECT count(*) FROM a_good").fetchall()[0][0]
    result.rows_read = n + len(raw.rejections)
    result.stored = distinct - unchanged
    result.duplicates = good - result.stored
    upsert = f"""
        DELETE FROM aggregates USING a_good g WHERE aggregates.source = g.source AND aggregates.platform = g.platform
           AND aggregates.period = g.period AND aggregates.metric = g.metric;
        INSERT INTO aggregates SELECT source, platform, period, metric, value, '{result.batch_id}' FROM a_good;
    """
    commit_table(store, raw, result, "aggregates", upsert, None)
    return result
