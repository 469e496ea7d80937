"""Ingest indicator values (`thuocdo ingest indicators`) and read them back for the index engine.

The long format of DESIGN.md: ``entity, indicator, period, value`` (+ ``self_score``, ``council_score``,
``evidence``, ``source``). ``value`` is the final score; the self-assessed and council scores are kept beside
it. An entity is the nation (``VN``), a ministry (id, name or abbreviation of ``ministries.csv``) or a
province: a code or a name is read as one of the 63 former units for periods before 2025-07-01 and as one
of the 34 units from then on; ``old:`` or ``new:`` before a code or name forces the set (``old:80`` is Long
An whatever the period). Validation follows the other long tables: every problem of every row is collected
in SQL, bad rows go to the quarantine with their problems, good rows replace earlier values of the same key
(source, entity, indicator, period), and the whole file is one transaction. CSV, Parquet, NDJSON and Excel
workbooks (.xlsx, .xlsm: the first sheet with the required columns; problems name the spreadsheet row) are read.

``ingest_indicators`` reads a file; ``ingest_indicator_input`` takes rows already read (the HTTP API, the
indicators computed from usage metrics, quarantine retries); ``retry_quarantined`` re-ingests open quarantine
entries of indicator rows.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.catalog.frameworks import known_indicators, load_ministries
from thuocdo.catalog.names import loose_key, nfc, province_key
from thuocdo.catalog.provinces import REORGANISATION_DATE
from thuocdo.ingest.contracts import Contract
from thuocdo.ingest.ledger import commit_table
from thuocdo.ingest.readers import LINE, RawInput, read_input
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.validate import all_problems, excerpt, problem, source_relation, stage_table
from thuocdo.ingest.xlsx import is_excel, read_xlsx
from thuocdo.store import Store

INDICATORS = Contract(
    kind="indicators",
    fields=("entity", "indicator", "period", "value", "self_score", "council_score", "evidence", "source"),
    required=("entity", "indicator", "period", "value"),
    multiline=("evidence",),
)
NATION = "VN"
LEVELS = ("nation", "ministry", "province_old", "province_new")
MAX_EVIDENCE = 2000
SCHEMA = """
CREATE TABLE IF NOT EXISTS indicator_values (
    source        VARCHAR NOT NULL,
    level         VARCHAR NOT NULL,   -- nation | ministry | province_old (63 units) | province_new (34 units)
    entity        VARCHAR NOT NULL,   -- VN, a ministry id, or a province code of that level
    indicator     VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,   -- YYYY, YYYY-MM or YYYY-Qn
    value         DOUBLE NOT NULL,    -- the final score
    self_score    DOUBLE,
    council_score DOUBLE,
    evidence      VARCHAR,
    batch_id      VARCHAR NOT NULL
)"""
_PERIOD_RE = r"^(20\d\d|2100)(-(0[1-9]|1[0-2])|-Q[1-4])?$"
_NUMBER = "try_cast(nullif(trim({c}), '') AS DOUBLE)"
_NATION_KEYS = {"vn", "vietnam", "nation", "quocgia", "canuoc", "toanquoc"}
_OLD_PREFIXES = ("old:", "cu:", "cũ:")
_NEW_PREFIXES = ("new:", "moi:", "mới:")


def ensure_table(store: Store) -> None:
    store.con.execute(SCHEMA)


def period_end(period: str) -> dt.date | None:
    """The last day of a period text (YYYY, YYYY-MM, YYYY-Qn), or None when it is not one."""
    text = period.strip().upper()
    try:
        year = int(text[:4])
        if len(text) == 4:
            return dt.date(year, 12, 31)
        month = 3 * int(text[6]) if text[5] == "Q" else int(text[5:7])
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    except (ValueError, IndexError):
        return None


def resolve_entity(value: str, period: str, catalog: Catalog) -> tuple[str, str] | str:
    """(level, code) of an entity value in a period, or the Vietnamese reason it cannot be resolved ("" when
    it names a province but the period, itself invalid, cannot say which set)."""
    text = nfc(value)
    key = loose_key(text)
    if key in _NATION_KEYS:
        return ("nation", NATION)
    for m in load_ministries():
        if key in (loose_key(m.id), loose_key(m.name_vi), loose_key(m.short_name)):
            return ("ministry", m.id)
    lowered = text.casefold()
    forced = None
    for prefixes, era in ((_OLD_PREFIXES, "old"), (_NEW_PREFIXES, "new")):
        for prefix in prefixes:
            if lowered.startswith(prefix):
                forced, text = era, text[len(prefix):].strip()
    end = period_end(period)
    era = forced or ("old" if end is not None and end < REORGANISATION_DATE else "new")
    on = REORGANISATION_DATE - dt.timedelta(days=1) if era == "old" else REORGANISATION_DATE
    resolved = catalog.resolve_province(text, on)
    if resolved is None:
        return (f"không nhận ra đơn vị «{value[:40]}»: dùng VN (quốc gia), mã hoặc tên bộ, mã hoặc tên tỉnh "
                "(có thể thêm tiền tố old: hoặc new:)")
    if forced is None and end is None:
        return ""  # a province, but which set depends on the period, which is reported as wrong
    if era == "old":
        if resolved.old_code is None:
            return f"«{value[:40]}» không phải một trong 63 tỉnh cũ"
        return ("province_old", resolved.old_code)
    members = [p for p in catalog.provinces_old if p.new_code == resolved.new_code]
    new_unit = next(p for p in catalog.provinces_new if p.code == resolved.new_code)
    names_new_unit = (text.isdigit()
                      or province_key(text) in (province_key(new_unit.name), province_key(new_unit.short_name)))
    if len(members) > 1 and not names_new_unit:
        return (f"«{value[:40]}» là tỉnh cũ, đã sáp nhập vào {new_unit.short_name} từ 01/07/2025: với kỳ {period} "
                f"dùng tên tỉnh mới, hoặc old:{resolved.old_code} cho số liệu của tỉnh cũ")
    return ("province_new", resolved.new_code)


def _register_maps(store: Store, catalog: Catalog) -> None:
    con = store.con
    pairs = con.execute("""SELECT DISTINCT entity, upper(trim(period)) FROM src
                           WHERE nullif(trim(entity), '') IS NOT NULL""").fetchall()
    resolved = [resolve_entity(e, p or "", catalog) for e, p in pairs]
    con.register("entity_map", pa.table({
        "entity_value": pa.array([e for e, _ in pairs], pa.string()),
        "period_value": pa.array([p for _, p in pairs], pa.string()),
        "level": pa.array([r[0] if isinstance(r, tuple) else None for r in resolved], pa.string()),
        "code": pa.array([r[1] if isinstance(r, tuple) else None for r in resolved], pa.string()),
        "reason": pa.array([r if isinstance(r, str) else None for r in resolved], pa.string()),
    }))
    known = known_indicators()
    con.register("indicator_ranges", pa.table({
        "indicator_id": pa.array(list(known), pa.string()),
        "lo": pa.array([r[0] if r else None for r in known.values()], pa.float64()),
        "hi": pa.array([r[1] if r else None for r in known.values()], pa.float64()),
    }))


def ingest_indicators(store: Store, path: Path, source: str, catalog: Catalog | None = None) -> BatchResult:
    """Ingest one file of indicator values into a source as one atomic batch."""
    raw = read_xlsx(path, INDICATORS) if is_excel(path) else read_input(path, INDICATORS)
    return ingest_indicator_input(store, raw, source, catalog)


def input_from_rows(name: str, rows: Sequence[Mapping[str, object]], lines: Sequence[int] | None = None) -> RawInput:
    """Rows of the long format (dicts; values of any type, None or absent for empty) as a read input: what the
    HTTP API and the computed indicators hand to :func:`ingest_indicator_input`. ``lines`` number the rows
    in problems (1, 2, … by default)."""
    def text(v: object) -> str | None:
        return None if v is None or v == "" else str(v)

    cols = {f: pa.array([text(r.get(f)) for r in rows], pa.string()) for f in INDICATORS.fields}
    cols[LINE] = pa.array(list(lines) if lines is not None else range(1, len(rows) + 1), pa.int64())
    return RawInput(name, "rows", pa.table(cols))


def ingest_indicator_input(store: Store, raw: RawInput, source: str, catalog: Catalog | None = None, *,
                           resolves: Sequence[int] = ()) -> BatchResult:
    """Ingest rows already read (text columns of ``INDICATORS.fields`` and ``_line``) as one atomic batch;
    ``resolves`` lists open quarantine entries that this batch retries (marked resolved when it commits; a row
    that fails again is quarantined anew with its current problems)."""
    from thuocdo.catalog import load_catalog

    catalog = catalog or load_catalog()
    ensure_table(store)
    n = stage_table(store, raw, source_relation(raw, INDICATORS))
    con = store.con
    _register_maps(store, catalog)
    value, self_score, council = (_NUMBER.format(c=c) for c in ("value", "self_score", "council_score"))

    def number_problem(column: str, typed: str, label: str) -> str:
        return problem(f"nullif(trim({column}), '') IS NOT NULL AND ({typed} IS NULL OR NOT isfinite({typed}))",
                       column, f"'{label} ' || {excerpt(column)} || ' không phải số'")

    problems = ", ".join([
        problem("NOT _json_ok", "*", "'dòng không phải một đối tượng JSON hợp lệ'"),
        problem("_json_ok AND nullif(trim(entity), '') IS NULL", "entity", "'thiếu đơn vị (quốc gia, bộ hoặc tỉnh)'"),
        problem("nullif(m.reason, '') IS NOT NULL", "entity", "m.reason"),
        problem("_json_ok AND nullif(trim(indicator), '') IS NULL", "indicator", "'thiếu mã chỉ số'"),
        problem("nullif(trim(indicator), '') IS NOT NULL AND r.indicator_id IS NULL", "indicator",
                f"'chỉ số ' || {excerpt('indicator')} || ' không có trong danh mục chỉ số (khung chỉ số, mục tiêu)'"),
        problem("_json_ok AND NOT regexp_matches(coalesce(upper(trim(period)), ''), $period_re)", "period",
                f"'kỳ ' || {excerpt('coalesce(period, chr(32))')} || ' không đúng dạng YYYY, YYYY-MM hoặc YYYY-Qn'"),
        problem("_json_ok AND nullif(trim(value), '') IS NULL", "value", "'thiếu giá trị'"),
        number_problem("value", value, "giá trị"),
        problem(f"isfinite({value}) AND ({value} < r.lo OR {value} > r.hi)", "value",
                "'giá trị ' || trim(value) || ' nằm ngoài khoảng [' || printf('%g', r.lo) || '; ' "
                "|| printf('%g', r.hi) || '] của chỉ số ' || trim(indicator)"),
        number_problem("self_score", self_score, "điểm tự đánh giá"),
        number_problem("council_score", council, "điểm hội đồng thẩm định"),
        problem(f"length(evidence) > {MAX_EVIDENCE}", "evidence",
                f"'minh chứng dài ' || length(evidence) || ' ký tự, tối đa {MAX_EVIDENCE}'"),
    ])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE i_checked AS
        SELECT s._line, coalesce(nullif(trim(s.source), ''), $source) AS source, m.level, m.code AS entity_code,
               trim(s.indicator) AS indicator_id, upper(trim(s.period)) AS period_id,
               {value} AS v, {self_score} AS self_v, {council} AS council_v, nullif(s.evidence, '') AS evidence_text,
               s.entity, s.indicator, s.period, s.value, s.self_score, s.council_score, s.evidence,
               {all_problems(problems)} AS problems
        FROM src s
        LEFT JOIN entity_map m ON s.entity = m.entity_value AND upper(trim(s.period)) = m.period_value
        LEFT JOIN indicator_ranges r ON trim(s.indicator) = r.indicator_id
    """, {"source": source, "period_re": _PERIOD_RE})
    result = BatchResult(raw.name, source, "indicators", uuid.uuid4().hex)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_rows AS
        SELECT '{result.batch_id}' AS batch_id, source, 'indicators' AS kind, $file AS file, _line AS line,
               to_json({{'entity': entity, 'indicator': indicator, 'period': period, 'value': value,
                        'self_score': self_score, 'council_score': council_score, 'evidence': evidence,
                        'source': source}})::VARCHAR AS record,
               to_json(problems)::VARCHAR AS problems
        FROM i_checked WHERE len(problems) > 0""", {"file": raw.name})
    con.execute("""CREATE OR REPLACE TEMP TABLE i_good AS
        SELECT source, level, entity_code AS entity, indicator_id AS indicator, period_id AS period,
               arg_max(v, _line) AS value, arg_max(self_v, _line) AS self_score,
               arg_max(council_v, _line) AS council_score, arg_max(evidence_text, _line) AS evidence
        FROM i_checked WHERE len(problems) = 0 GROUP BY ALL""")
    ensure_table(store)
    good = con.execute("SELECT count(*) FROM i_checked WHERE len(problems) = 0").fetchall()[0][0]
    unchanged = con.execute("""SELECT count(*) FROM i_good g JOIN indicator_values i
                               USING (source, level, entity, indicator, period)
                               WHERE i.value = g.value AND i.self_score IS NOT DISTINCT FROM g.self_score
                               AND i.council_score IS NOT DISTINCT FROM g.council_score
                               AND i.evidence IS NOT DISTINCT FROM g.evidence""").fetchall()[0][0]
    distinct = con.execute("SELECT count(*) FROM i_good").fetchall()[0][0]
    result.rows_read = n + len(raw.rejections)
    result.stored = distinct - unchanged
    result.duplicates = good - result.stored
    upsert = f"""
        DELETE FROM indicator_values USING i_good g WHERE indicator_values.source = g.source
           AND indicator_values.level = g.level AND indicator_values.entity = g.entity
           AND indicator_values.indicator = g.indicator AND indicator_values.period = g.period;
        INSERT INTO indicator_values SELECT source, level, entity, indicator, period, value, self_score,
               council_score, evidence, '{result.batch_id}' FROM i_good;
    """
    if resolves:
        ids = ", ".join(str(int(i)) for i in resolves)
        upsert += (f"UPDATE quarantine SET status = 'resolved', resolved_by = '{result.batch_id}' "
                   f"WHERE status = 'open' AND id IN ({ids});")
    try:
        commit_table(store, raw, result, "indicators", upsert, None)
    finally:
        con.unregister("entity_map")
        con.unregister("indicator_ranges")
    return result


def read_values(store: Store, indicators: Sequence[str], levels: Sequence[str], *, periods: Sequence[str] | None = None,
                source: str | None = None) -> list[tuple[str, str, str, str, float]]:
    """(level, entity, indicator, period, value) rows; when several sources hold a value, the latest batch wins."""
    ensure_table(store)
    sql = """SELECT v.level, v.entity, v.indicator, v.period, arg_max(v.value, b.committed_at) AS value
             FROM indicator_values v JOIN batches b USING (batch_id)
             WHERE list_contains($indicators, v.indicator) AND list_contains($levels, v.level)"""
    params: dict[str, object] = {"indicators": list(indicators), "levels": list(levels)}
    if periods is not None:
        sql += " AND list_contains($periods, v.period)"
        params["periods"] = list(periods)
    if source is not None:
        sql += " AND v.source = $source"
        params["source"] = source
    rows = store.con.execute(sql + " GROUP BY ALL ORDER BY ALL", params).fetchall()
    return [(str(a), str(b), str(c), str(d), float(e)) for a, b, c, d, e in rows]


def read_sources(store: Store, indicators: Sequence[str],
                 levels: Sequence[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(indicator, period) → (source, evidence) of the value :func:`read_values` returns (the latest batch's),
    for one entity per indicator (the nation's, when `levels` is ``("nation",)``)."""
    ensure_table(store)
    rows = store.con.execute(
        """SELECT v.indicator, v.period, arg_max(v.source, b.committed_at),
                  arg_max(coalesce(v.evidence, ''), b.committed_at)
           FROM indicator_values v JOIN batches b USING (batch_id)
           WHERE list_contains($indicators, v.indicator) AND list_contains($levels, v.level)
           GROUP BY v.indicator, v.period""", {"indicators": list(indicators), "levels": list(levels)}).fetchall()
    return {(str(i), str(p)): (str(s), str(e)) for i, p, s, e in rows}


def retry_quarantined(store: Store, source: str | None = None, catalog: Catalog | None = None) -> list[BatchResult]:
    """Re-ingest the open quarantine entries of indicator rows as they were kept (after the catalog or a
    framework learnt a missing entity or indicator): one batch per source and file, problems still naming the
    original file and row; entries that pass are resolved, the others stay open with their current problems."""
    ensure_table(store)
    entries = store.con.execute(
        "SELECT id, source, file, line, record FROM quarantine WHERE status = 'open' AND kind = 'indicators' "
        "AND record IS NOT NULL" + (" AND source = ?" if source else "") + " ORDER BY id",
        [source] if source else []).fetchall()
    groups: dict[tuple[str, str], list[tuple[int, int | None, dict[str, object]]]] = {}
    for qid, src, file, line, record in entries:
        groups.setdefault((src, file or "quarantine"), []).append((int(qid), line, json.loads(record)))
    results = []
    for (src, file), items in groups.items():
        raw = input_from_rows(file, [r for _, _, r in items], [line if line is not None else 0 for _, line, _ in items])
        results.append(ingest_indicator_input(store, raw, src, catalog, resolves=[qid for qid, _, _ in items]))
    return results
