"""A batch that fails after acceptance never poisons the store or another source: the merge of the inbox
survives any error, sets the failing batch aside with its reason, and /health says so."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.web.conftest import Served
from thuocdo.ingest import inbox

RECORD = {"user_id": "u1", "platform": "zalo", "time": "2022-01-03T08:00:00+07:00", "active_seconds": 60}


def post(served: Served, source: str, records: list[dict[str, object]]) -> dict[str, object]:
    r = served.client.post(f"/api/v1/sources/{source}/usage", content=orjson.dumps(records),
                           headers={**served.headers(source), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def health(served: Served, who: str | None = "admin") -> dict[str, object]:
    r = served.client.get("/api/v1/health", headers=served.headers(who))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_batch_whose_merge_fails_is_set_aside_and_the_rest_goes_on(served: Served,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    poisoned = post(served, "telco-a", [{**RECORD, "record_id": "bad"}])["batch_id"]
    post(served, "telco-a", [{**RECORD, "record_id": "good", "user_id": "u2"}])
    post(served, "telco-b", [{**RECORD, "record_id": "b1"}])
    real_rows = inbox.inbox_rows

    def failing_on_the_poisoned_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        table = real_rows(*args, **kwargs)
        if "batch_id" in table.column_names and poisoned in table["batch_id"].to_pylist():
            raise OverflowError("a made-up failure of this batch")
        return table

    monkeypatch.setattr(inbox, "inbox_rows", failing_on_the_poisoned_batch)
    rows = metrics(served, "2022-01")  # reading merges the inbox first: it must not fail
    assert rows[("telco-b", "zalo")]["mau"] == 1
    assert rows[("telco-a", "zalo")]["mau"] == 1  # the good batch of the same source is there
    state = health(served)
    assert state["status"] == "degraded"
    assert [(h["source"], h["records"]) for h in state["held"]] == [("telco-a", 1)]  # type: ignore[union-attr]
    assert "made-up failure" in state["held"][0]["reason"]  # type: ignore[index]
    assert health(served, None) == {"status": "degraded"}  # details are for the agency's keys only
    again = post(served, "telco-a", [{**RECORD, "record_id": "bad"}])  # still counted: not stored twice
    assert again["duplicates"] == 1 and again["stored"] == 0


def metrics(served: Served, period: str) -> dict[tuple[str, str], dict[str, object]]:
    r = served.client.get("/api/v1/metrics", params={"period": period}, headers=served.headers("analyst"))
    assert r.status_code == 200, r.text
    return {(row["source"], row["platform"]): row for row in r.json()["rows"]}


def test_the_background_merge_outlives_any_error(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = inbox.flush_inbox

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OSError("disk full (made up)")
        return real(*args, **kwargs)

    from thuocdo.ingest import pipeline

    monkeypatch.setattr(pipeline, "flush_inbox", flaky)
    post(served, "telco-a", [{**RECORD, "record_id": "r1"}])
    served.service.pipeline._flush_wanted.set()
    deadline = time.monotonic() + 20
    seen_failure = False
    while time.monotonic() < deadline:
        state = health(served)
        seen_failure |= state["merge_failures"] == 1 and "disk full" in str(state["last_merge_error"])
        if calls["n"] >= 3 and state["inbox_records"] == 0:
            break
        time.sleep(0.05)
    assert seen_failure
    assert calls["n"] >= 3 and health(served) == {**health(served), "status": "ok", "merge_failures": 0,
                                                   "inbox_records": 0}
    assert served.service.pipeline._flusher.is_alive()
