"""Plausible upper bounds per field, and sums that cannot overflow: two valid values never poison the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, write
from thuocdo.ingest.contracts import MAX_ACTIVE_SECONDS, MAX_BYTES, MAX_INSTALLS, MAX_SESSIONS

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


@pytest.mark.parametrize("field, limit", [("active_seconds", MAX_ACTIVE_SECONDS), ("bytes", MAX_BYTES),
                                          ("sessions", MAX_SESSIONS), ("installs", MAX_INSTALLS)])
def test_a_value_above_its_bound_is_rejected_with_its_reason(cli: Cli, tmp_path: Path, field: str, limit: int) -> None:
    values = {"active_seconds": 60, "bytes": 0, "sessions": 1, "installs": 0}
    rows = []
    for i, value in enumerate((limit, limit + 1, 10**19 - 1)):  # the bound itself is accepted
        v = {**values, field: value}
        rows.append(f"r{i},u{i},zalo,2022-01-03,{v['active_seconds']},{v['bytes']},{v['sessions']},{v['installs']},\n")
    result = cli("ingest", "usage", write(tmp_path / "u.csv", HEADER + "".join(rows)), "--source", "s")
    assert result.exit_code == 0
    listed = cli("quarantine", "list", "--format", "json")
    entries = json.loads(listed.stdout)
    assert sorted(e["line"] for e in entries) == [3, 4]
    for e in entries:
        problems = json.loads(e["problems"])
        assert [p["field"] for p in problems] == [field]
        assert "vượt quá" in problems[0]["message"]


def test_many_records_at_the_bounds_of_one_person_day_are_summed_without_overflow(cli: Cli, tmp_path: Path) -> None:
    """Regression: two 19-digit values of one person-day made every later ingestion and query fail."""
    n = 12
    rows = "".join(f"r{i},u1,zalo,2022-01-03T0{i % 10}:00:00+07:00,0,{MAX_BYTES},{MAX_SESSIONS},{MAX_INSTALLS},\n"
                   for i in range(n))
    assert cli("ingest", "usage", write(tmp_path / "a.csv", HEADER + rows), "--source", "a").exit_code == 0
    other = "o1,u9,zalo,2022-01-04,60,100,1,0,\n"
    assert cli("ingest", "usage", write(tmp_path / "b.csv", HEADER + other), "--source", "b").exit_code == 0
    a = cli.metrics("2022-01", "--source", "a")[0]
    assert a["sessions"] == n * MAX_SESSIONS and a["installs"] == n * MAX_INSTALLS
    assert a["mb_per_user"] == pytest.approx(n * MAX_BYTES / 1e6)
    assert cli.metrics("2022-01", "--source", "b")[0]["mau"] == 1  # the other source is untouched


@pytest.mark.parametrize("printed", [False, True], ids=["as-written", "as-duckdb-runs-it"])
def test_the_person_day_merge_saturates_instead_of_overflowing(printed: bool) -> None:
    import duckdb

    from thuocdo.rollups.definitions import PERSON_DAY_MERGE
    from thuocdo.store.sql import duckdb_sql

    con = duckdb.connect()
    big = 9_000_000_000_000_000_000  # two of these exceed a BIGINT
    con.execute("CREATE TABLE person_day_parts AS SELECT * FROM (VALUES "
                f"('s', 'zalo', 1, DATE '2022-01-03', '2022-01', 10, {big}, {big}, {big}, TRUE, '01', 10), "
                f"('s', 'zalo', 1, DATE '2022-01-03', '2022-01', 20, {big}, {big}, {big}, TRUE, '01', 20)) "
                "t(source, platform, person, day, month, active_seconds, bytes, sessions, installs, active, province, "
                "province_seconds)")
    merge = duckdb_sql(PERSON_DAY_MERGE) if printed else PERSON_DAY_MERGE
    row = con.execute(f"SELECT active_seconds, bytes, sessions, installs FROM ({merge})").fetchall()
    assert row == [(30, 2**63 - 1, 2**63 - 1, 2**63 - 1)]


@pytest.mark.parametrize("printed", [False, True], ids=["as-written", "as-duckdb-runs-it"])
def test_new_records_summed_into_a_person_day_saturate(printed: bool) -> None:
    import duckdb

    from thuocdo.rollups.definitions import PERSON_DAY_FROM_RECORDS
    from thuocdo.store.sql import duckdb_sql

    con = duckdb.connect()
    big = 5_000_000_000_000_000_000  # two of these exceed a BIGINT (about 9.22e18); one does not
    con.execute("CREATE TABLE fresh AS SELECT * FROM (VALUES "
                f"('zalo', 1, DATE '2022-01-03', '2022-01', 7, {big}, 1, 0, '01'), "
                f"('zalo', 1, DATE '2022-01-03', '2022-01', 5, {big}, 2, 0, '79'), "
                f"('zalo', 2, DATE '2022-01-03', '2022-01', 0, {big}, 0, 1, NULL)) "
                "t(platform, person, day, month, active_seconds_n, bytes_n, sessions_n, installs_n, province_code)")
    rows = duckdb_sql(PERSON_DAY_FROM_RECORDS) if printed else PERSON_DAY_FROM_RECORDS
    got = con.execute(f"SELECT person, active_seconds, bytes, sessions, installs, active, province, province_seconds "
                      f"FROM ({rows}) ORDER BY person").fetchall()
    assert got == [(1, 12, 2**63 - 1, 3, 0, True, "01", 7), (2, 0, big, 0, 1, False, None, None)]
