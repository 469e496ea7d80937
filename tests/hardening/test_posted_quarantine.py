"""Posted batches: one quarantine row per rejected record (batch and index), a retried batch kept once."""

from __future__ import annotations

import uuid
from pathlib import Path

from thuocdo.catalog import load_catalog
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.stream import Submission, Writer, accept_usage
from thuocdo.store import Store

BAD = b'{"record_id": "b", "user_id": "u1", "platform": "no-such-app", "time": "2022-01-03"}'
GOOD = b'{"record_id": "g", "user_id": "u2", "platform": "zalo", "time": "2022-01-03"}'
BODY = b"\n".join([BAD, BAD, GOOD, b"1", b"1", b"\xff"]) + b"\n"


def post(store: Store, body: bytes) -> int:
    name = f"api-s-{uuid.uuid4().hex[:12]}"  # as the API names a batch: a new name for every request
    [outcome] = accept_usage(store, load_catalog(), "s", [Submission(parse_records(body, name), Writer(None, "admin"))])
    return outcome.rejected


def lines(store: Store) -> list[int]:
    return [r[0] for r in store.con.execute("SELECT line FROM quarantine ORDER BY line").fetchall()]


def test_identical_bad_records_of_a_batch_are_kept_one_by_one_and_a_retry_adds_none(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    try:
        assert post(store, BODY) == 5
        assert lines(store) == [1, 2, 4, 5, 6]
        assert post(store, BODY) == 5  # sent again (a retry): answered the same, kept once
        assert lines(store) == [1, 2, 4, 5, 6]
    finally:
        store.close()
