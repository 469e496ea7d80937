"""The Arrow staging of clean batches against the SQL staging, the inbox keys held as sorted runs, and the
inbox's segment files (written, listed, swept, merged)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from thuocdo.catalog import load_catalog
from thuocdo.ingest import inbox
from thuocdo.ingest.arrow_staging import ValueMaps, stage_clean
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.inbox import flush_inbox, inbox_rows, inbox_size
from thuocdo.ingest.keys import StoredKeys, _Runs
from thuocdo.ingest.readers import LINE
from thuocdo.ingest.stream import Submission, Writer, commit_staged, stage_batches, staged_clean, staging_connection
from thuocdo.store import Store

CATALOG = load_catalog()
MAPS = ValueMaps(CATALOG)
SECRET = bytes(range(32))


def _both(records: list[object]) -> tuple[pa.Table | None, pa.Table, int]:
    """(Arrow staging or None, SQL staging's good rows, how many records SQL found bad) of one posted body."""
    raw = parse_records(orjson.dumps(records), "t")
    fast = stage_clean(MAPS, SECRET, "telco-a", raw)
    con = staging_connection()
    try:
        staged = stage_batches(con, CATALOG, SECRET, "telco-a", [Submission(raw, Writer(None, "source"))])
    finally:
        con.close()
    return fast, staged.good.sort_by(LINE), staged.rejected.num_rows + len(raw.rejections)


def _same(fast: pa.Table, sql: pa.Table) -> None:
    fast = fast.sort_by(LINE)
    assert fast.column_names == sql.column_names
    assert [f.type for f in fast.schema] == [f.type for f in sql.schema]
    assert fast.to_pylist() == sql.to_pylist()


# -- generated batches: the Arrow staging gives the SQL staging's rows, or declines ------------------------------
_TIMES = st.one_of(
    st.builds(lambda d, fmt: d.strftime(fmt),
              st.datetimes(min_value=dt.datetime(1999, 12, 31), max_value=dt.datetime(2101, 1, 2)),
              st.sampled_from(["%Y-%m-%dT%H:%M:%S+07:00", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S-03:30",
                               "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%f+07:00", "%Y-%m-%dT%H:%M:%S",
                               "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%Sz", " %Y-%m-%d", "%Y-%m-%dT%H:%M+14:00"])),
    st.sampled_from(["2025-06-30T23:59:59+07:00", "2025-07-01T00:00:00+07:00", "2025-06-30T17:00:00Z",
                     "2022-02-30", "2022-13-01T00:00:00", "2022-01-01T24:00:00", "2022-01-01T10:00:00+25:00",
                     "2022-01-01T10:00:00.1234567+07:00", "hôm qua", "", None, 20220101]))
_RECORD = st.fixed_dictionaries({
    "record_id": st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5), st.just("r" * 200)),
    "user_id": st.one_of(st.sampled_from(["0901", "0902", "u é", " x ", "", "9" * 300]), st.text(max_size=4)),
    "platform": st.sampled_from(["zalo", "Zalo", "facebook", "tiktok", "không-có", " zalo", ""]),
    "time": _TIMES,
}, optional={
    "active_seconds": st.one_of(st.none(), st.integers(0, 90_000), st.just(-1), st.sampled_from(["12", "x", " 5"])),
    "bytes": st.one_of(st.none(), st.integers(0, 10**12), st.just("7")),
    "sessions": st.one_of(st.none(), st.integers(0, 5)),
    "installs": st.one_of(st.none(), st.integers(0, 2)),
    "province": st.sampled_from([None, "", "Hà Nội", "01", "79", "48", "Thừa Thiên Huế", " Hà Nội", "nơi khác"]),
})


#: records in the forms the Arrow staging reads (times of every accepted form, digits as text, absent fields)
_CLEAN_RECORD = st.fixed_dictionaries({
    "record_id": st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5)),
    "user_id": st.text(min_size=1, max_size=4),
    "platform": st.sampled_from(["zalo", "Zalo", "facebook", "tiktok"]),
    "time": st.builds(lambda d, fmt: d.strftime(fmt),
                      st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2100, 12, 30)),
                      st.sampled_from(["%Y-%m-%dT%H:%M:%S+07:00", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S-03:30",
                                       "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%f+07:00",
                                       "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"])),
}, optional={
    "active_seconds": st.one_of(st.none(), st.integers(0, 86_400)),
    "bytes": st.one_of(st.none(), st.integers(0, 10**12)),
    "sessions": st.integers(0, 5).map(str),
    "province": st.sampled_from([None, "", "Hà Nội", "01", "48", "Thừa Thiên Huế"]),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_CLEAN_RECORD, _CLEAN_RECORD, _CLEAN_RECORD, _RECORD), min_size=1, max_size=6))
def test_the_arrow_staging_gives_the_sql_rows_or_declines(records: list[dict]) -> None:
    fast, sql, bad = _both(records)
    event("taken" if fast is not None else "declined")
    if fast is not None:
        assert bad == 0  # it never takes a batch with a bad record
        _same(fast, sql)


# -- the usual batches do take it ------------------------------------------------------------------------------------
def _usual(**changes: object) -> list[dict]:
    records = [{"record_id": f"r{i}", "user_id": f"09{i % 7:02d}", "platform": ["zalo", "facebook", "tiktok"][i % 3],
                "time": f"2022-01-{1 + i % 28:02d}T{i % 24:02d}:30:00+07:00", "active_seconds": 60 * i,
                "bytes": 1000 * i, "province": ["Hà Nội", "79", "Đà Nẵng"][i % 3]} for i in range(30)]
    for i, r in enumerate(records):
        for name, value in changes.items():
            if value is None:
                r.pop(name, None)
            else:
                r[name] = value(i) if callable(value) else value
    return records


@pytest.mark.parametrize("changes", [
    {},
    {"record_id": None},                                                   # content keys
    {"record_id": lambda i: "" if i % 2 else f"r{i}"},                     # some with, some without
    {"time": lambda i: f"2022-01-{1 + i % 28:02d}T23:{i:02d}:00"},         # local times, no offset
    {"time": lambda i: f"2022-01-{1 + i % 28:02d}" if i % 2 else f"2022-01-01T17:{i:02d}:00Z"},  # mixed forms
    {"time": lambda i: ["2025-06-30T23:59:59+07:00", "2025-07-01T00:00:00+07:00"][i % 2],
     "province": lambda i: ["48", "01", ""][i % 3]},                       # both sides of the reform, bare codes
    {"active_seconds": str, "sessions": 2, "installs": lambda i: i % 2},   # digits sent as text
    {"province": None, "bytes": None},                                     # optional fields absent
])
def test_a_usual_batch_takes_the_arrow_staging(changes: dict) -> None:
    fast, sql, bad = _both(_usual(**changes))
    assert bad == 0 and sql.num_rows == 30
    assert fast is not None
    _same(fast, sql)


@pytest.mark.parametrize(("field", "value"), [
    ("platform", "không-có"),         # a bad record: the SQL staging writes its problem
    ("time", "2022-01-05T10:00:00z"),  # good, but not in the form the Arrow staging reads
    ("province", " Hà Nội"),           # good, blanks around
    ("active_seconds", -5),            # bad
])
def test_a_doubtful_value_sends_the_batch_to_the_sql_staging(field: str, value: object) -> None:
    records = _usual()
    records[7][field] = value
    fast, _, _ = _both(records)
    assert fast is None


# -- inbox keys as sorted runs -------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)), max_size=30), max_size=8),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)), max_size=30))
def test_runs_hold_exactly_the_keys_added(chunks: list[list[tuple[int, int, int]]],
                                          asked: list[tuple[int, int, int]]) -> None:
    # tiny ranges: many keys share k1 (and k2), so membership must compare all three parts
    runs = _Runs()
    for chunk in chunks:
        if chunk:
            runs.add(*(np.array(col, dtype=t) for col, t in
                       zip(zip(*chunk, strict=True), (np.int64, np.uint64, np.uint64), strict=True)))
    assert len(runs.runs) <= max(1, int(np.log2(max(sum(map(len, chunks)), 1))) + 1)
    got = runs.contains(np.array([d for d, _, _ in asked], dtype=np.int64),
                        np.array([a for _, a, _ in asked], dtype=np.uint64),
                        np.array([b for _, _, b in asked], dtype=np.uint64))
    assert got.tolist() == [key in {k for c in chunks for k in c} for key in asked]


# -- segments --------------------------------------------------------------------------------------------------------
def _clean_batch(prefix: str, n: int = 5) -> Submission:
    records = [{"record_id": f"{prefix}{i}", "user_id": f"u{i}", "platform": "zalo",
                "time": f"2022-01-0{1 + i % 5}T10:00:00+07:00", "active_seconds": 60} for i in range(n)]
    raw = parse_records(orjson.dumps(records), "t")
    return Submission(raw, Writer("k1", "source"), clean=stage_clean(MAPS, SECRET, "telco-a", raw))


def _keys_in_lake(store: Store) -> int:
    files = store.files("record_keys", source="telco-a")
    return store.con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchall()[0][0] if files else 0


def test_a_committed_group_is_one_listed_segment_and_a_merge_removes_it(tmp_path: Path) -> None:
    keys = StoredKeys()
    with Store(tmp_path) as store:
        [out] = commit_staged(store, [staged_clean("telco-a", _clean_batch("a"))], keys)
        assert out.stored == 5 and inbox_size(store) == 5
        [(path,)] = store.con.execute("SELECT path FROM inbox_segments").fetchall()
        assert (store.lake / path).is_file()
        assert store.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == 1
        assert flush_inbox(store) == 5
        keys.forget()
        assert not (store.lake / path).exists() and inbox_size(store) == 0 and _keys_in_lake(store) == 5
        [again] = commit_staged(store, [staged_clean("telco-a", _clean_batch("a"))], keys)
        assert (again.stored, again.duplicates) == (0, 5)


def test_a_failed_commit_leaves_no_segment_and_no_ledger_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path) as store:
        monkeypatch.setattr(inbox, "segment_sql", lambda *a: "INSERT INTO no_such_table VALUES (1)")
        with pytest.raises(Exception, match="no_such_table"):
            commit_staged(store, [staged_clean("telco-a", _clean_batch("a"))], StoredKeys())
        assert not list((store.lake / "inbox").rglob("*.arrow"))
        assert store.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == 0
        monkeypatch.undo()
        [out] = commit_staged(store, [staged_clean("telco-a", _clean_batch("a"))], StoredKeys())
        assert out.stored == 5  # the connection is usable again: the failed transaction was rolled back


def test_an_unlisted_segment_is_swept_when_the_store_opens(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        orphan = inbox.write_segment(store, "telco-a", _clean_batch("a").clean.append_column(
            "batch_id", pa.array(["x"] * 5)))  # written, never listed: as if the process died before its commit
        commit_staged(store, [staged_clean("telco-a", _clean_batch("b"))], StoredKeys())
    with Store(tmp_path) as store:
        assert not (store.lake / orphan).exists()
        assert inbox_size(store) == 5 and len(inbox_rows(store)) == 5


def test_rows_left_in_the_inbox_table_by_an_earlier_version_are_merged(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        commit_staged(store, [staged_clean("telco-a", _clean_batch("a"))], StoredKeys())
        store.con.execute("""
            INSERT INTO inbox (source, batch_id, person, platform, day, month, active_seconds_n, bytes_n, sessions_n,
                               installs_n, province_code, k1, k2)
            VALUES ('telco-a', 'old', 42, 'zalo', DATE '2022-01-09', '2022-01', 30, 0, 1, 0, NULL, 1, 2)""")
        assert inbox_size(store) == 6
        keys = StoredKeys()
        hit = keys.stored(store, "telco-a", pa.array([dt.date(2022, 1, 9)], pa.date32()),
                          pa.array([1], pa.uint64()), pa.array([2], pa.uint64()))
        assert hit.tolist() == [True]  # a retry of it is a duplicate
        assert flush_inbox(store) == 6
        assert inbox_size(store) == 0 and _keys_in_lake(store) == 6
