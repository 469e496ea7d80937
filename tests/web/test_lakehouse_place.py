"""A usage batch posted to a source whose records the cluster's lakehouse holds is refused (409): the source is
continued on Spark (both engines read both places, and a record would be counted in each). The lakehouse's
rollup is stood in for by rows attached by hand (tests/test_attached_usage.py; the real one is read on the
cluster in tests/engines/test_lakehouse_ingest.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.web.conftest import Served
from tests.web.test_api import BATCH, post
from thuocdo.store import Store
from thuocdo.workflows import ingest as ingest_workflow

HELD = pa.table({
    "source": ["telco-a"], "platform": ["zalo"], "month": ["2022-01"], "province": ["01"],
    "persons": pa.array([5], pa.int64()), "w_persons": [5.0], "w2_persons": [5.0], "w_active_days": [12.0],
    "w_seconds": [3600.0], "w_bytes": [5_000_000.0], "w_sessions": [12.0], "w_installs": [0.0]})


def test_a_batch_for_a_source_the_lakehouse_holds_is_refused(served: Served,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def attach(store: Store) -> bool:  # as on a home whose cluster's lakehouse holds telco-a
        store.attach_usage(HELD)
        return True

    monkeypatch.setattr(ingest_workflow, "attach_lakehouse", attach)
    refused = post(served, BATCH)
    assert refused.status_code == 409
    assert "telco-a đã có bản ghi sử dụng trong lakehouse" in refused.json()["detail"]
    # another source is taken (its records go to the embedded store)
    taken = post(served, BATCH, who="telco-b", path="/api/v1/sources/telco-b/usage")
    assert taken.status_code == 200 and taken.json()["stored"] == 4
