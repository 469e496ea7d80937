"""Merges of the inbox append a file to each day they touch (and rewrite only the day's smaller files): a day is
then held in several files, and whatever reads person-days collapses them. The engines' fixture
(tests/engines/conftest.py) delivers part of a source this way, so the metrics and sketches of both engines
are checked against the independent reference on days held in several files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thuocdo.catalog import load_catalog
from thuocdo.ingest import inbox
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.inbox import flush_inbox
from thuocdo.ingest.keys import StoredKeys
from thuocdo.ingest.readers import read_input
from thuocdo.ingest.stream import Outcome, Submission, Writer, accept_usage
from thuocdo.ingest.usage import ingest_usage
from thuocdo.rollups.rebuild import rebuild_dirty
from thuocdo.store import Store

SOURCE = "telco-a"
DAY = dt.date(2022, 1, 3)


def _record(n: int, user: str = "0900001") -> dict[str, object]:
    return {"record_id": f"r{n}", "user_id": user, "platform": "zalo", "time": "2022-01-03T10:00:00+07:00",
            "active_seconds": 60, "province": "Hà Nội" if n % 2 else "01"}


def _post(store: Store, records: list[dict[str, object]], keys: StoredKeys) -> Outcome:
    submission = Submission(parse_records(orjson.dumps(records), "test"), Writer(None, "source"))
    [outcome] = accept_usage(store, load_catalog(), SOURCE, [submission], keys)
    return outcome


def _files(store: Store, dataset: str) -> list[str]:
    return store.files(dataset, source=SOURCE, days=[DAY])


def test_a_day_merged_into_n_times_is_held_in_one_file_per_binary_digit_of_n(tmp_path: Path) -> None:
    # one new record (a new person) per merge, every earlier record sent again: each merge brings one key and
    # one person-day, so the day's files are the 1-bits of n (n = 5: files of 4 rows and of 1 row)
    keys = StoredKeys()
    sent: list[dict[str, object]] = []
    with Store(tmp_path) as store:
        for n in range(1, 21):
            new = _record(n, f"09{n:05d}")
            answer = _post(store, [new, *sent], keys)
            assert (answer.stored, answer.duplicates) == (1, n - 1)  # the earlier ones found in every file of the day
            sent.append(new)
            assert flush_inbox(store) == 1
            keys.forget()
            ones = bin(n).count("1")
            assert (len(_files(store, "record_keys")), len(_files(store, "person_day"))) == (ones, ones), n
        rows = store.con.execute("SELECT count(*), count(DISTINCT (k1, k2)) FROM read_parquet($f)",
                                 {"f": _files(store, "record_keys")}).fetchall()[0]
        assert rows == (20, 20)
        rebuild_dirty(store)
        assert store.con.execute("SELECT sum(persons), sum(w_active_days), sum(w_seconds) FROM usage_month "
                                 "WHERE source = ?", [SOURCE]).fetchall() == [(20, 20.0, 20 * 60.0)]


def test_a_person_day_split_over_two_files_counts_once(tmp_path: Path) -> None:
    a, b = "0900001", "0900002"
    keys = StoredKeys()
    with Store(tmp_path) as store:
        first = [{**_record(1, a), "province": "Đà Nẵng", "active_seconds": 60}, _record(2, b)]
        _post(store, first, keys)
        flush_inbox(store)
        _post(store, [{**_record(3, a), "province": "Hà Nội", "active_seconds": 100, "bytes": 5}], keys)
        flush_inbox(store)  # 1 new row against a file of 2: appended, so a's person-day is in both files
        assert len(_files(store, "person_day")) == 2
        rebuild_dirty(store)
        rows = store.con.execute("SELECT province, persons, w_active_days, w_seconds, w_bytes FROM usage_month "
                                 "WHERE source = ? ORDER BY province", [SOURCE]).fetchall()
        # a: one active day in Hà Nội (01: most seconds that day), 160 s and 5 bytes; b: 60 s in Hà Nội too
        assert rows == [("01", 2, 2.0, 220.0, 5.0)]


def test_a_file_ingestion_rewrites_the_smaller_files_of_the_days_it_touches(tmp_path: Path) -> None:
    # the day's files (2 rows and 1 row) are no larger than the file's 2 new rows: all rewritten with them
    keys = StoredKeys()
    records = [_record(n, f"09{n:05d}") for n in range(1, 4)] + [_record(4, "0900001"), _record(5, "0900005")]
    with Store(tmp_path) as store:
        for record in records[:3]:
            _post(store, [record], keys)
            flush_inbox(store)
        assert len(_files(store, "person_day")) == len(_files(store, "record_keys")) == 2  # 2 + 1
        path = tmp_path / "more.ndjson"
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in records[2:]))
        result = ingest_usage(store, read_input(path, USAGE), SOURCE, load_catalog())
        assert (result.stored, result.duplicates) == (2, 1)
        assert len(_files(store, "person_day")) == len(_files(store, "record_keys")) == 1
        seconds = store.con.execute("SELECT active_seconds FROM read_parquet($f) ORDER BY active_seconds",
                                    {"f": _files(store, "person_day")}).fetchall()
        assert seconds == [(60,), (60,), (60,), (120,)]  # four persons, the first with two records
        keys.forget()
        assert _post(store, records, keys).duplicates == 5


def test_a_small_late_file_is_appended_to_a_larger_day(tmp_path: Path) -> None:
    # a day of 30 records (30 persons), then a late file of 2 new records and 1 already stored: the day's large
    # files stay as they are, the late rows are a file of their own, and the rollups count each person-day once
    big = tmp_path / "big.ndjson"
    big.write_bytes(b"\n".join(orjson.dumps(_record(n, f"09{n:05d}")) for n in range(1, 31)))
    late = tmp_path / "late.ndjson"
    late_records = [{**_record(31, "0900001"), "active_seconds": 40},  # a second record of person 1's day
                    _record(32, "0900032"), _record(5, "0900005")]  # a new person; record 5 stored already
    late.write_bytes(b"\n".join(orjson.dumps(r) for r in late_records))
    with Store(tmp_path / "home") as store:
        ingest_usage(store, read_input(big, USAGE), SOURCE, load_catalog())
        before = {d: _files(store, d) for d in ("person_day", "record_keys")}
        result = ingest_usage(store, read_input(late, USAGE), SOURCE, load_catalog())
        assert (result.stored, result.duplicates) == (2, 1)
        for dataset, files in before.items():
            after = _files(store, dataset)
            assert len(after) == 2 and set(files) < set(after), dataset  # appended, the old file untouched
        rebuild_dirty(store)
        rows = store.con.execute("SELECT sum(persons), sum(w_active_days), sum(w_seconds) FROM usage_month "
                                 "WHERE source = ?", [SOURCE]).fetchall()
        assert rows == [(31, 31.0, 31 * 60.0 + 40.0)]  # 31 persons, one active day each
        again = ingest_usage(store, read_input(late, USAGE), SOURCE, load_catalog())
        assert (again.stored, again.duplicates) == (0, 3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 11), st.integers(3, 5)), min_size=1, max_size=6),
                          st.booleans()), min_size=1, max_size=7))
def test_posts_and_merges_in_any_order_store_each_record_once(tmp_path_factory: pytest.TempPathFactory,
                                                               steps: list[tuple[list[tuple[int, int]], bool]]) -> None:
    # records are (record_id number, day of January): across batches a record_id identifies a record of one
    # day, so a pair sent again is a duplicate wherever its first copy is by then (the inbox, an appended file
    # or a rewritten one); the reference is a Python set of pairs
    keys = StoredKeys()
    seen: set[tuple[int, int]] = set()
    with Store(tmp_path_factory.mktemp("any-order")) as store:
        for records, merge in steps:
            body = [{**_record(n, f"09{n:05d}"), "time": f"2022-01-{d:02d}T10:00:00+07:00"} for n, d in records]
            answer = _post(store, body, keys)
            first: dict[int, int] = {}
            for n, d in records:  # inside a batch, as inside a file, the first record of a record_id counts
                first.setdefault(n, d)
            new = set(first.items()) - seen
            assert (answer.stored, answer.duplicates) == (len(new), len(records) - len(new))
            seen |= new
            if merge:
                flush_inbox(store)
                keys.forget()
        flush_inbox(store)
        stored = store.con.execute("SELECT count(*), count(DISTINCT (day, k1, k2)) FROM read_parquet($f)",
                                   {"f": store.files("record_keys", source=SOURCE)}).fetchall()[0]
        assert stored == (len(seen), len(seen))


def test_running_out_of_memory_while_merging_sets_no_batch_aside(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the machine's memory limit is not a bad batch: the merge fails as a whole, nothing is held, and the next
    # merge stores the records
    keys = StoredKeys()
    with Store(tmp_path / "home") as store:
        _post(store, [_record(1)], keys)
        _post(store, [_record(2, "0900002")], keys)

        def out_of_memory(*args: object, **kwargs: object) -> int:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")

        monkeypatch.setattr(inbox, "_merge", out_of_memory)
        with pytest.raises(duckdb.OutOfMemoryException):
            flush_inbox(store)
        held = store.con.execute("SELECT count(*) FROM inbox_segments WHERE held IS NOT NULL").fetchall()[0][0]
        assert held == 0
        monkeypatch.undo()
        assert flush_inbox(store) == 2
        assert store.con.execute("SELECT count(*) FROM read_parquet($f)",
                                 {"f": _files(store, "record_keys")}).fetchall()[0][0] == 2
