"""A usage batch posted to a source whose records the cluster's lakehouse holds lands on the object store as a
file for Spark (202, its good records pending; thuocdo.ingest.landing): the same batch twice, gzip or not, JSON
array or NDJSON, is one file, and a batch already ingested does not land again. Here the lakehouse's rollup is
stood in for by rows attached by hand and its object store by a local folder; Spark's ingestion of landed
batches is tested on the cluster (tests/engines/test_lakehouse_ingest.py)."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from pyarrow import fs

from tests.web.conftest import Served
from tests.web.test_api import BATCH, post
from thuocdo.ingest.landing import Landing, landed, landing_bytes, mark_ingested
from thuocdo.store import Store
from thuocdo.workflows import cluster as cluster_workflow
from thuocdo.workflows import ingest as ingest_workflow

HELD = pa.table({
    "source": ["telco-a"], "platform": ["zalo"], "month": ["2022-01"], "province": ["01"],
    "persons": pa.array([5], pa.int64()), "w_persons": [5.0], "w2_persons": [5.0], "w_active_days": [12.0],
    "w_seconds": [3600.0], "w_bytes": [5_000_000.0], "w_sessions": [12.0], "w_installs": [0.0]})


@pytest.fixture
def landing(served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Landing:
    def attach(store: Store) -> bool:  # as on a home whose cluster's lakehouse holds telco-a
        store.attach_usage(HELD)
        return True

    place = Landing(fs.LocalFileSystem(), str(tmp_path / "bucket" / "landing"), scheme="file://")
    monkeypatch.setattr(ingest_workflow, "attach_lakehouse", attach)
    monkeypatch.setattr(cluster_workflow, "lakehouse", lambda home: None)
    monkeypatch.setattr(ingest_workflow, "landing_of", lambda lake: place)
    return place


def test_a_batch_for_a_source_the_lakehouse_holds_lands_for_spark(served: Served, landing: Landing) -> None:
    answer = post(served, BATCH)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["received"], body["stored"], body["duplicates"], body["rejected"], body["pending"]) == (6, 0, 0, 1, 5)
    statuses = {r["index"]: r for r in body["records"]}
    assert [statuses[i]["status"] for i in range(1, 7)] == ["pending"] * 4 + ["rejected", "pending"]
    assert [p["field"] for p in statuses[5]["problems"]] == ["platform"]
    files = landed(landing)
    assert list(files) == ["telco-a"] and len(files["telco-a"]) == 1
    path = Path(files["telco-a"][0].removeprefix("file://"))
    assert body["batch_id"] == path.stem
    # line n of the landed file is record n of the answer: the quarantine will name it as the answer did
    assert path.read_bytes().splitlines() == [orjson.dumps(record) for record in BATCH]
    # the same batch again, gzip, then as NDJSON: the same file, nothing more lands
    again = post(served, gzip.compress(orjson.dumps(BATCH)), **{"Content-Encoding": "gzip"})
    ndjson = post(served, b"\n".join(orjson.dumps(r) for r in BATCH), **{"Content-Type": "application/x-ndjson"})
    assert again.status_code == ndjson.status_code == 202
    assert again.json()["batch_id"] == ndjson.json()["batch_id"] == body["batch_id"]
    assert landed(landing) == files
    # once ingested (moved to done/), the same batch does not land again
    mark_ingested(landing, "telco-a", files["telco-a"])
    assert landed(landing) == {} and post(served, BATCH).status_code == 202
    assert landed(landing) == {}
    # another source is taken by the embedded store, as before
    taken = post(served, BATCH, who="telco-b", path="/api/v1/sources/telco-b/usage")
    assert taken.status_code == 200 and taken.json()["stored"] == 4 and taken.json()["pending"] == 0


def test_ndjson_bodies_land_as_sent_and_arrays_one_record_a_line() -> None:
    assert landing_bytes(b'[{"a": 1}, {"b": "x"}]', "lô") == b'{"a":1}\n{"b":"x"}\n'
    sent = b'{"a": 1}\n\n\xff\xfe\n{"b": 2}'
    assert landing_bytes(sent, "lô") == sent + b"\n"  # blank and unreadable lines keep their numbers
    assert landing_bytes(gzip.compress(sent), "lô") == sent + b"\n"


def test_the_server_ingests_landed_batches_now_and_then_and_says_when_it_cannot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from thuocdo.workflows.service import Service, Settings

    calls: list[str] = []
    failures = [OSError("cụm không trả lời")]  # the first run fails, the next ones succeed

    def ingest_landed(home: object, source: object = None, **given: object) -> dict[str, object]:
        calls.append("ingest")
        if failures:
            raise failures.pop()
        return {}

    monkeypatch.setattr(ingest_workflow, "has_landed", lambda home: True)
    monkeypatch.setattr(ingest_workflow, "ingest_landed", ingest_landed)
    service = Service(tmp_path / "home", Settings(landed_every=0.05))
    try:
        deadline = time.monotonic() + 30
        while service.landing_failures == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        state = service.health()
        assert state["status"] == "degraded" and "cụm không trả lời" in str(state["last_landing_error"])
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert service.health()["status"] == "ok" and service.landing_failures == 0
    finally:
        service.close()
    assert calls[:2] == ["ingest", "ingest"]


def test_what_the_public_may_see_follows_the_lakehouses_rollup(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server remembers the withheld cells per state of the data: a Spark ingestion changes the lakehouse's
    rollup, not the home's database, and must be seen as a new state (a cell of 5 panelists withheld before must
    be withheld after a change elsewhere, and a cell grown to 60 no longer)."""
    from thuocdo.workflows import estimates
    from thuocdo.workflows import store as store_workflow

    assert served.client.put("/api/v1/sources/lake-panel", json={"kind": "panel"},
                             headers=served.headers("admin")).status_code == 200

    def rollup(persons: int) -> pa.Table:
        return pa.table({
            "source": ["lake-panel"] * 2, "platform": ["zalo", "facebook"], "month": ["2022-01"] * 2,
            "province": ["01", "01"], "persons": pa.array([persons, 80], pa.int64()),
            "w_persons": [persons * 1000.0, 80_000.0], "w2_persons": [persons * 1e6, 8e7],
            "w_active_days": [persons * 10_000.0, 800_000.0], "w_seconds": [1e6, 1e7], "w_bytes": [1e9, 1e10],
            "w_sessions": [1e4, 1e5], "w_installs": [0.0, 0.0]})

    held = {"rows": rollup(5)}
    monkeypatch.setattr(store_workflow, "home_lakehouse", lambda home: _Configured())
    monkeypatch.setattr(store_workflow, "lakehouse_usage", lambda store, lake: held["rows"])
    # the weekly figures read the lakehouse's person-days: this one has none
    monkeypatch.setattr(estimates, "lakehouse", lambda home: None)
    monkeypatch.setattr(estimates, "lakehouse_person_days", lambda lake, sources, months: pa.table(
        {"source": pa.array([], pa.string()), **{c: pa.array([], t) for c, t in PERSON_DAY_TYPES.items()}}))

    def withheld_platforms() -> set[str]:
        cells = served.service.withheld("2022-01", "lake-panel")
        return {key[1] for cells_of in cells.values() for key in cells_of}  # (source, platform, area, period)

    assert "zalo" in withheld_platforms()
    held["rows"] = rollup(60)  # the lakehouse's rollup after a Spark ingestion: Zalo now has 60 panelists
    assert "zalo" not in withheld_platforms()
    held["rows"] = rollup(5)
    assert "zalo" in withheld_platforms()
    with served.service.db() as store:
        assert store.con.execute("SELECT count(*) FROM usage_month").fetchall()[0][0] == 2
    monkeypatch.setattr(store_workflow, "home_lakehouse", lambda home: None)  # cluster down: its rows are forgotten
    assert withheld_platforms() == set()
    with served.service.db() as store:
        assert store.con.execute("SELECT count(*) FROM usage_month").fetchall()[0][0] == 0


#: the columns of the lakehouse's person_day, typed
PERSON_DAY_TYPES = {"platform": pa.string(), "person": pa.int64(), "day": pa.date32(), "month": pa.string(),
                    "active_seconds": pa.int64(), "bytes": pa.int64(), "sessions": pa.int64(),
                    "installs": pa.int64(), "active": pa.bool_(), "province": pa.string(),
                    "province_seconds": pa.int64()}


class _Configured:
    """A cluster's lakehouse, as far as the code under test looks at it."""

    local_folder = ""


def test_a_sources_place_is_looked_up_once_it_has_records_and_a_down_cluster_is_503(
        served: Served, landing: Landing, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the lakehouse's rollup to know where a source lives is not for every request: once a source has
    records its place cannot change. A batch for a lakehouse source while its cluster is down: 503, nothing lost."""
    looked: list[str] = []
    attach = ingest_workflow.attach_lakehouse

    def counted(store: Store) -> bool:
        looked.append("attach")
        return attach(store)

    monkeypatch.setattr(ingest_workflow, "attach_lakehouse", counted)
    for _ in range(3):
        assert post(served, BATCH).status_code == 202
    assert len(looked) == 1
    assert post(served, BATCH, who="telco-b", path="/api/v1/sources/telco-b/usage").status_code == 200
    assert post(served, BATCH, who="telco-b", path="/api/v1/sources/telco-b/usage").status_code == 200

    def down(lake: object) -> Landing:
        raise cluster_workflow.ClusterError("cụm chưa chạy")

    monkeypatch.setattr(ingest_workflow, "landing_of", down)
    refused = post(served, BATCH)
    assert refused.status_code == 503 and "cụm chưa chạy" in refused.json()["detail"]
