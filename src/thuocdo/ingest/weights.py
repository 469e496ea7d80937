"""Ingest panel weights: a small long table (user_id, month, weight), upserted per source.

It follows the usage pipeline's rules: every problem of every row is collected, bad rows go to the
quarantine (pseudonymised first), good rows replace earlier weights of the same person and month, and the
whole file is one transaction. Persons are keyed in the source's key domain, as its usage records are
(:func:`thuocdo.store.sources.key_domain`), so that a panel's weights find its persons.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from thuocdo.ingest.contracts import MAX_USER_ID, WEIGHTS
from thuocdo.ingest.ledger import commit_table
from thuocdo.ingest.pseudonymise import person_key_params, person_key_sql
from thuocdo.ingest.readers import read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.validate import NUMBER, all_problems, excerpt, problem, source_relation, stage_table
from thuocdo.store import Store
from thuocdo.store import sources as registry

_MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"


def ingest_weights(store: Store, path: Path, source: str) -> BatchResult:
    raw = read_input(path, WEIGHTS)
    n = stage_table(store, raw, source_relation(raw, WEIGHTS))
    con = store.con
    weight = NUMBER.format(c="weight")
    problems = ", ".join([
        problem("NOT _json_ok", "*", "'dòng không phải một đối tượng JSON hợp lệ'"),
        problem("coalesce(user_id, '') = '' AND try_cast(trim(user_key) AS BIGINT) IS NULL", "user_id",
                "'thiếu mã người dùng'"),
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
    """, person_key_params(store.secret, registry.key_domain(store, source)))  # each distinct id is hashed once
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE w_checked AS
        SELECT _line, trim(month) AS month, {weight} AS w,
               coalesce(p.person, try_cast(trim(user_key) AS BIGINT)) AS person, weight,
               {all_problems(problems)} AS problems
        FROM src LEFT JOIN w_persons p USING (user_id)
    """)
    result = BatchResult(raw.name, source, "weights", uuid.uuid4().hex)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_rows AS
        SELECT '{result.batch_id}' AS batch_id, $source AS source, 'weights' AS kind, $file AS file, _line AS line,
               to_json({{'user_key': CAST(person AS VARCHAR), 'month': month, 'weight': weight}})::VARCHAR AS record,
               to_json(problems)::VARCHAR AS problems
        FROM w_checked WHERE len(problems) > 0""", {"source": source, "file": raw.name})
    con.execute("""CREATE OR REPLACE TEMP TABLE w_good AS
        SELECT person, month, arg_max(w, _line) AS weight FROM w_checked WHERE len(problems) = 0
        GROUP BY person, month""")
    good = con.execute("SELECT count(*) FROM w_checked WHERE len(problems) = 0").fetchall()[0][0]
    unchanged = con.execute("""SELECT count(*) FROM w_good g JOIN weights w ON w.source = $source
                               AND w.person = g.person AND w.month = g.month AND w.weight = g.weight""",
                            {"source": source}).fetchall()[0][0]
    result.rows_read = n + len(raw.rejections)
    distinct = con.execute("SELECT count(*) FROM w_good").fetchall()[0][0]
    result.stored = distinct - unchanged
    result.duplicates = good - result.stored
    src = source.replace("'", "''")
    upsert = f"""
        DELETE FROM weights USING w_good g
        WHERE weights.source = '{src}' AND weights.person = g.person AND weights.month = g.month;
        INSERT INTO weights SELECT '{src}', person, month, weight, '{result.batch_id}' FROM w_good;
        INSERT INTO dirty_months SELECT DISTINCT '{src}', month FROM w_good ON CONFLICT DO NOTHING;
        -- new weights change every sum of the month: its rollup cannot be brought up to date by difference
        INSERT INTO dirty_persons SELECT DISTINCT '{src}', month, NULL FROM w_good;
    """
    commit_table(store, raw, result, "weights", upsert, None)
    return result
