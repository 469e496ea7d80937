"""The rollup of sources kept outside the store (the cluster's lakehouse) attached to a store's connection
(`Store.attach_usage`): read beside the stored rollup by the registry and the metric queries, never written to,
and refused where persons must be unioned. The attached rows here are written by hand; the lakehouse's own are
tested on the cluster (tests/engines/test_lakehouse_ingest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import Cli, write
from thuocdo.catalog import load_catalog
from thuocdo.engines.duckdb import DuckDBEngine
from thuocdo.ingest.readers import InputError
from thuocdo.metrics import query as mq
from thuocdo.rollups.rebuild import rebuild_month
from thuocdo.store import Store
from thuocdo.store.sources import list_sources
from thuocdo.workflows import estimates
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows.store import bring_up_to_date

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
# op-a: u1 and u2 on Zalo on 3 January 2022 in Hà Nội
OP_A = HEADER + """a1,u1,zalo,2022-01-03T10:00:00+07:00,600,1000000,1,0,Hà Nội
a2,u2,zalo,2022-01-03T10:00:00+07:00,60,1000000,1,0,Hà Nội
"""
# the lakehouse's rollup of "lake-op": 5 persons on Zalo in January 2022 in Hà Nội (01), 12 active person-days,
# 3,600 active seconds, 5 MB
ATTACHED = pa.table({
    "source": ["lake-op"], "platform": ["zalo"], "month": ["2022-01"], "province": ["01"],
    "persons": pa.array([5], pa.int64()), "w_persons": [5.0], "w2_persons": [5.0], "w_active_days": [12.0],
    "w_seconds": [3600.0], "w_bytes": [5_000_000.0], "w_sessions": [12.0], "w_installs": [0.0]})


def zalo(store: Store, source: str) -> dict[str, object]:
    request = metric_workflow.metric_request("2022-01", "platform", source)
    table = DuckDBEngine(store).run(mq.build(request), metric_workflow.relations(load_catalog(), request))
    return next(r for r in table.to_pylist() if r["platform"] == "zalo")


@pytest.fixture
def store(cli: Cli, home: Path, tmp_path: Path) -> Iterator[Store]:
    assert cli("ingest", "usage", write(tmp_path / "a.csv", OP_A), "--source", "op-a").exit_code == 0
    with Store(home) as opened:
        bring_up_to_date(opened)  # no cluster: nothing attached
        assert {s.name for s in list_sources(opened)} == {"op-a"}
        opened.attach_usage(ATTACHED)
        yield opened


def test_attached_rows_are_listed_and_measured_beside_the_stored_ones(store: Store) -> None:
    listed = {s.name: s for s in list_sources(store)}
    assert listed["lake-op"].has_usage and listed["lake-op"].kind == "census" and not listed["lake-op"].declared
    lake = zalo(store, "lake-op")
    # 5 persons; 12 person-days over 31 days; 3,600 s = 60 min over 12 person-days; 5 MB over 5 persons
    assert lake["mau"] == pytest.approx(5)
    assert lake["dau"] == pytest.approx(12 / 31)
    assert lake["minutes_per_day"] == pytest.approx(60 / 12)
    assert lake["mb_per_user"] == pytest.approx(1.0)
    assert zalo(store, "op-a")["mau"] == pytest.approx(2)


def test_rollup_writers_write_the_stored_table_not_the_attached_view(store: Store) -> None:
    rebuild_month(store, "op-a", "2022-01", incremental=False)
    stored = store.con.execute(f"SELECT source, persons FROM {store.stored_usage_month}").fetchall()
    assert stored == [("op-a", 2)]
    assert zalo(store, "lake-op")["mau"] == pytest.approx(5) and zalo(store, "op-a")["mau"] == pytest.approx(2)


def test_a_union_with_a_source_whose_person_days_are_not_here_is_refused(store: Store) -> None:
    selection = estimates.select(store, "op-a,lake-op")
    assert selection is not None and selection.kind == "union"
    with pytest.raises(InputError, match="lake-op nằm trong lakehouse"):
        estimates.selected_usage(store, selection, ["2022-01"], load_catalog())


def test_national_is_not_the_default_when_shared_operators_are_partly_in_the_lakehouse(cli: Cli, home: Path,
                                                                                         tmp_path: Path) -> None:
    coverage = write(tmp_path / "coverage.csv", "province,month,subscribers\n01,2022-01,100\n")
    assert cli("sources", "declare", "op-a", "--kind", "census", "--link-key", "shared",
               "--coverage", coverage).exit_code == 0
    assert cli("ingest", "usage", write(tmp_path / "a.csv", OP_A), "--source", "op-a").exit_code == 0
    for link_key, national in (("shared", False), ("private", True)):
        assert cli("sources", "declare", "lake-op", "--kind", "census", "--link-key", link_key).exit_code == 0
        with Store(home) as store:
            bring_up_to_date(store)
            assert estimates.default_source(store) == "op-a"  # the one source with records
            store.attach_usage(ATTACHED)
            # two operators: shared keys must be unioned person-wise, and lake-op's person-days are not here
            assert estimates.default_source(store) == (estimates.NATIONAL if national else None), link_key
            if not national:
                selection = estimates.select(store, estimates.NATIONAL)
                assert selection is not None
                with pytest.raises(InputError, match="lake-op nằm trong lakehouse"):
                    estimates.selected_usage(store, selection, ["2022-01"], load_catalog())


def test_a_source_held_by_the_lakehouse_is_not_continued_in_the_embedded_store(home: Path, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from thuocdo.workflows import ingest as ingest_workflow

    def attach(store: Store) -> bool:  # as on a home whose cluster's lakehouse holds lake-op
        store.attach_usage(ATTACHED)
        return True

    monkeypatch.setattr(ingest_workflow, "attach_lakehouse", attach)
    path = write(tmp_path / "more.csv", OP_A)
    with pytest.raises(InputError, match="lake-op đã có bản ghi sử dụng trong lakehouse"):
        ingest_workflow.ingest(home, "usage", [path], "lake-op")
    # another source, and weights of lake-op (small tables of the home), are taken
    assert ingest_workflow.ingest(home, "usage", [path], "op-a").results[0].stored == 2
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,3\n")
    assert ingest_workflow.ingest(home, "weights", [weights], "lake-op").results[0].stored == 1
