"""Times read ahead by Arrow (`pretype_times`) are the times validation's SQL reads, value for value.

The reference is the SQL expression validation applies to a time's text (`_TIME_CLEAN`, then `_TS_UTC`), run by
DuckDB on the same strings: Arrow's reading must equal it wherever Arrow reads a value, and leave to it (NULL)
every value it does not read. Strings are drawn in the plain shapes with any digits (so days, hours and offsets
out of range are drawn too) and in near shapes (lower-case z, fractions, blanks, offsets without a colon).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checked_usage import checked_rows
from thuocdo.catalog.loader import load_catalog
from thuocdo.ingest import usage
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.readers import read_input
from thuocdo.ingest.validate import _TIME_CLEAN, _TS_UTC, TS_COLUMN, pretype_times


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    """Two digits, mostly in [low, high] (a little beyond the valid range), sometimes any."""
    return st.integers(low, high).map(lambda v: f"{v:02d}") | st.text("0123456789", min_size=2, max_size=2)


_DATE = st.builds(lambda y, m, d: f"{y}-{m}-{d}",
                  st.integers(1995, 2105).map(str) | st.sampled_from(["0000", "9999"]), _two(0, 13), _two(0, 32))
_TIME = st.builds(lambda h, mi, s: f"{h}:{mi}:{s}", _two(0, 24), _two(0, 60), _two(0, 60))
_OFFSET = st.sampled_from(["", "", "Z", "Z", "+07:00", "-07:00", "+00:00", "-00:00", "+14:00", "-12:00", "+24:00",
                           "+07:60", "z", "+0700", "+07", ".5Z", ".123456+07:00"]) | st.builds(
    lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), _two(0, 25), _two(0, 60))
_TIMES = st.builds(lambda date, sep, time, offset, pad: f"{pad}{date}{sep}{time}{offset}{pad}",
                   _DATE, st.sampled_from(["T", "T", " ", "t"]), _TIME, _OFFSET, st.sampled_from(["", "", "", " "]))


def _reference(values: list[str | None]) -> list[int | None]:
    """Microseconds since the epoch (UTC) of each time as validation's SQL reads it (None: not read)."""
    con = duckdb.connect()
    con.register("r", pa.table({"time": pa.array(values, pa.string())}))
    rows = con.execute(f"SELECT epoch_us({_TS_UTC}) FROM (SELECT _n, {_TIME_CLEAN} AS t_clean FROM "
                       "(SELECT row_number() OVER () AS _n, time FROM r)) ORDER BY _n").fetchall()
    return [r[0] for r in rows]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TIMES | st.sampled_from(["", "2022-01-31", "not a time"]) | st.none(), min_size=1, max_size=40))
def test_a_time_read_ahead_is_the_time_validation_reads(values: list[str | None]) -> None:
    expected = _reference(values)
    # the values together (one that Arrow cannot read leaves its whole form to validation), then each alone
    for chosen in [list(range(len(values)))] + [[i] for i in range(len(values))]:
        table = pretype_times(pa.table({"time": pa.array([values[i] for i in chosen], pa.string())}))
        if TS_COLUMN not in table.column_names:
            continue  # nothing read ahead: validation reads every value, as before
        got = table[TS_COLUMN].cast(pa.int64()).to_pylist()  # integers: years before 1 are drawn too
        for i, read in zip(chosen, got, strict=True):
            if read is not None:
                assert read == expected[i], values[i]


@pytest.mark.parametrize("value", ["2022-01-31T17:30:00+0700", "2022-01-31T17:30:00+07", "2022-01-31T17:30:00z",
                                   "2022-01-31t17:30:00Z", "2022-01-31T17:30:00.5Z", "2022-01-31T17:30Z",
                                   " 2022-01-31T17:30:00Z", "2022-01-31T17:30:00Z ", "12022-01-31T17:30:00Z",
                                   "2022-01-31", "2022-01-31T17:30:00 +07:00"])
def test_a_time_of_another_shape_is_left_to_validation(value: str) -> None:
    assert TS_COLUMN not in pretype_times(pa.table({"time": [value]})).column_names


def test_the_usual_times_are_all_read_ahead() -> None:
    values = ["2022-01-31T17:30:00Z", "2022-01-31T17:30:00+07:00", "2022-01-31 17:30:00", "2022-01-31T00:15:00-03:30"]
    table = pretype_times(pa.table({"time": values}))
    # by hand: 17:30 UTC; 17:30 at UTC+7 is 10:30 UTC; local 17:30 is 10:30 UTC; 00:15 at UTC-3:30 is 03:45 UTC
    assert table[TS_COLUMN].to_pylist() == [dt.datetime(2022, 1, 31, 17, 30), dt.datetime(2022, 1, 31, 10, 30),
                                            dt.datetime(2022, 1, 31, 10, 30), dt.datetime(2022, 1, 31, 3, 45)]


def test_an_unreadable_plain_time_leaves_its_form_to_validation() -> None:
    # 24:00 is read by DuckDB (the next midnight) and refused by Arrow: the times with an offset are all left
    # to validation, the local ones are still read ahead
    table = pretype_times(pa.table({"time": ["2022-01-31T24:00:00Z", "2022-01-31T17:30:00Z", "2022-01-31 17:30:00"]}))
    assert table[TS_COLUMN].to_pylist() == [None, None, dt.datetime(2022, 1, 31, 10, 30)]


def test_a_lower_case_z_is_utc_as_an_upper_case_one(tmp_path: Path) -> None:
    # the contract's pattern has always taken "z" (RFC 3339 allows it); DuckDB's cast refused it, so the row was
    # rejected as not ISO 8601
    path = tmp_path / "usage.csv"
    path.write_text("record_id,user_id,platform,time,active_seconds\n"
                    "a,u1,zalo,2022-01-31T17:30:00Z,60\nb,u1,zalo,2022-01-31T17:30:00z,60\n", encoding="utf-8")
    con = duckdb.connect()
    usage.check_usage(con, read_input(path, USAGE), "s", b"k" * 32, load_catalog(), "b", key_domain="s")
    # by hand: 17:30 UTC is 00:30 on 1 February in Vietnam
    assert con.execute("SELECT _line, day FROM unique_good ORDER BY _line").fetchall() == [
        (2, dt.date(2022, 2, 1)), (3, dt.date(2022, 2, 1))]
    assert con.execute("SELECT count(*) FROM q_batch").fetchall() == [(0,)]


def test_a_file_checked_with_and_without_times_read_ahead_gives_the_same_rows(tmp_path: Path,
                                                                             monkeypatch: object) -> None:
    lines = ["record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province"]
    times = ["2022-01-31T17:30:00Z", "2022-01-31T23:30:00+07:00", "2022-01-31 23:59:59", "2022-02-01T00:00:00z",
             " 2022-01-31T16:59:59Z", "2022-01-31T24:00:00Z", "2022-02-30T01:00:00Z", "2022-01-31", "", "31/01/2022",
             "2022-01-31T17:00:00.250+07:00", "1999-12-31T16:59:59Z", "2022-01-31T17:30:00+0700"]
    for i, t in enumerate(times):
        lines.append(f"r{i},u{i % 4},zalo,{t},60,100,1,0,Hà Nội")
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = read_input(path, USAGE)

    ahead = checked_rows(raw, b"k" * 32)
    assert TS_COLUMN in usage._pretyped(raw).table.column_names
    monkeypatch.setattr(usage, "pretype_times", lambda table: table)  # type: ignore[attr-defined]
    assert TS_COLUMN not in usage._pretyped(raw).table.column_names
    assert checked_rows(raw, b"k" * 32) == ahead
    good, bad = ahead
    # by hand: good are the first four (a lower-case z too), the one with blanks around, 24:00, the bare date and
    # the fraction; bad are 30 February, the empty time, 31/01/2022, the last second of 1999 in Vietnam and the
    # offset without its colon
    assert [line for line, *_ in good] == [2, 3, 4, 5, 6, 7, 9, 12]
    assert [line for line, *_ in bad] == [8, 10, 11, 13, 14]
