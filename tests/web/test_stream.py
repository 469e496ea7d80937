"""Posted batches below the HTTP layer: the fast conversion of JSON records, the in-memory lake keys, and the
staged groups committed together."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thuocdo.catalog import load_catalog
from thuocdo.ingest.bodies import _columns_by_value, _columns_of_objects, parse_records
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.inbox import flush_inbox, inbox_rows
from thuocdo.ingest.keys import StoredKeys, _DayKeys, _member
from thuocdo.ingest.stream import Submission, Writer, commit_staged, stage_batches, staging_connection
from thuocdo.store import Store

# -- JSON records to columns -------------------------------------------------------------------------------------
_INTS = st.integers(-(2**63), 2**64 - 1)  # what JSON gives through orjson
_VALUES = st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 10**6), st.integers(2**63, 2**64 - 1),
                    st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.lists(_INTS, max_size=2),
                    st.dictionaries(st.sampled_from("ab"), _INTS, max_size=1))
_FIELDS = st.sampled_from([*USAGE.fields, "extra"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(_FIELDS, _VALUES, max_size=5), max_size=6), st.data())
def test_the_fast_conversion_gives_the_general_one_or_declines(items: list[dict], data: st.DataObject) -> None:
    # a field kept homogeneous (all strings, or all integers) is what the fast path exists for
    field = data.draw(st.sampled_from(USAGE.fields))
    kind = data.draw(st.sampled_from(["text", "int"]))
    for i, item in enumerate(items):
        item[field] = f"v{i}" if kind == "text" else i
    fast = _columns_of_objects(items)
    general = _columns_by_value(items)
    if fast is not None:
        assert {k: v.to_pylist() for k, v in fast.items()} == {k: v.to_pylist() for k, v in general.items()}
        assert all(fast[k].type == general[k].type for k in general if fast[k].null_count < len(items))


def test_a_usual_batch_takes_the_fast_conversion() -> None:
    items = [{"record_id": f"r{i}", "user_id": "0901", "platform": "zalo", "time": "2022-01-03", "active_seconds": i,
              "bytes": 10 * i, "province": "Hà Nội"} for i in range(50)]
    assert _columns_of_objects(items) is not None
    assert _columns_of_objects([*items, ["not", "an", "object"]]) is None  # judged record by record instead
    mixed = [*items, {**items[0], "active_seconds": "12"}]
    assert _columns_of_objects(mixed) is None
    assert _columns_by_value(mixed)["active_seconds"].to_pylist()[-1] == "12"


# -- lake keys in memory -------------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=40),
       st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=40))
def test_membership_is_exact_even_when_first_halves_collide(stored: list[tuple[int, int]],
                                                             asked: list[tuple[int, int]]) -> None:
    # tiny key ranges make many stored keys share k1: membership must still compare k2
    k1 = np.array([a for a, _ in stored], dtype=np.uint64)
    k2 = np.array([b for _, b in stored], dtype=np.uint64)
    order = np.lexsort((k2, k1))
    keys = _DayKeys((), k1[order], k2[order])
    got = _member(keys, np.array([a for a, _ in asked], dtype=np.uint64),
                  np.array([b for _, b in asked], dtype=np.uint64))
    assert got.tolist() == [pair in set(stored) for pair in asked]


def _batch(records: list[dict]) -> Submission:
    return Submission(parse_records(orjson.dumps(records), "test"), Writer(None, "source"))


def _records(prefix: str, days: list[int]) -> list[dict]:
    return [{"record_id": f"{prefix}{i}", "user_id": f"09{i:04d}", "platform": "zalo",
             "time": f"2022-01-{d:02d}T10:00:00+07:00", "active_seconds": 60} for i, d in enumerate(days)]


def _commit(store: Store, keys: StoredKeys, *groups: list[Submission]):
    con = staging_connection()
    try:
        staged = [stage_batches(con, load_catalog(), store.secret, "telco-a", g) for g in groups]
    finally:
        con.close()
    return commit_staged(store, staged, keys)


def test_lake_keys_are_read_once_per_file_and_a_merge_reads_only_the_new_files(tmp_path: Path) -> None:
    keys = StoredKeys()
    with Store(tmp_path) as store:
        first = _records("a", [3, 3, 4])
        _commit(store, keys, [_batch(first)])
        assert keys.reads == 0  # nothing in the lake yet: the inbox holds them
        flush_inbox(store)
        keys.forget()
        [again] = _commit(store, keys, [_batch(first)])
        assert (again.stored, again.duplicates) == (0, 3)  # found in the lake's keys
        assert keys.reads == 2  # days 3 and 4, read once
        [more] = _commit(store, keys, [_batch(first + _records("b", [3]))])
        assert (more.stored, more.duplicates, keys.reads) == (1, 3, 2)  # same files: nothing read again
        flush_inbox(store)  # a file appended to day 3 (its 2 keys are more than the 1 new: not rewritten)
        keys.forget()
        [last] = _commit(store, keys, [_batch(_records("b", [3]) + _records("c", [4]))])
        assert (last.stored, last.duplicates, keys.reads) == (1, 1, 3)  # day 3's new file read, day 4 unchanged
        day = store.con.execute("SELECT count(*) FROM read_parquet($f)",
                                {"f": store.files("record_keys", source="telco-a", days=[dt.date(2022, 1, 3)])}
                                ).fetchall()[0][0]
        assert day == 3  # a0, a1 and b0 on 3 January


def test_a_memory_bound_drops_the_least_recent_days(tmp_path: Path) -> None:
    keys = StoredKeys(max_keys=2)
    with Store(tmp_path) as store:
        _commit(store, keys, [_batch(_records("a", [3, 3, 4, 5]))])
        flush_inbox(store)
        keys.forget()
        [answer] = _commit(store, keys, [_batch(_records("a", [3, 3, 4, 5]))])
        assert answer.duplicates == 4  # exact whatever is held
        assert keys._held <= 2


def test_groups_committed_together_keep_the_first_of_a_record(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        one, two = _batch(_records("a", [3, 4])), _batch(_records("a", [3]) + _records("z", [9]))
        outcomes = _commit(store, StoredKeys(), [one], [two])
        assert [(o.stored, o.duplicates) for o in outcomes] == [(2, 0), (1, 1)]
        assert [r["status"] for r in outcomes[1].records] == ["duplicate", "stored"]
        inbox = inbox_rows(store).group_by("batch_id").aggregate([("batch_id", "count")]).sort_by(
            [("batch_id_count", "descending")])
        assert inbox.to_pylist() == [{"batch_id": one.batch_id, "batch_id_count": 2},
                                     {"batch_id": two.batch_id, "batch_id_count": 1}]


@pytest.mark.parametrize("body", [b'[{"user_id": "1"}, 5, {"user_id": 2}]', b'{"user_id": "1"}\n7\n'])
def test_items_that_are_not_objects_are_flagged(body: bytes) -> None:
    raw = parse_records(body, "t")
    assert raw.table["_json_ok"].to_pylist()[:2] == [True, False]
    assert raw.table["user_id"].to_pylist()[0] == "1"
    assert pa.types.is_string(raw.table["user_id"].type)
