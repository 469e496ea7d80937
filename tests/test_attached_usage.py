"""The rollup of sources kept outside the store (the cluster's lakehouse) attached to a store's connection
(`Store.attach_usage`): read beside the stored rollup by the registry and the metric queries, never written to;
unions of persons read the lakehouse's person-days. The attached rows and person-days here come from an embedded
twin; the lakehouse's own are tested on the cluster (tests/engines/test_lakehouse_ingest.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import Cli, write
from thuocdo.catalog import load_catalog
from thuocdo.engines.duckdb import DuckDBEngine
from thuocdo.ingest.readers import InputError
from thuocdo.metrics import query as mq
from thuocdo.rollups.rebuild import person_days_sql, rebuild_month
from thuocdo.store import Store
from thuocdo.store import sources as registry
from thuocdo.store.sources import list_sources
from thuocdo.workflows import estimates
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows import store as store_workflow
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


# lake-op's records: u1 (also op-a's), u4, u5 on Zalo and u6 on Facebook, in Hà Nội, January 2022
LAKE_OP = HEADER + """l1,u1,zalo,2022-01-03T12:00:00+07:00,300,1000000,1,0,Hà Nội
l2,u4,zalo,2022-01-04T10:00:00+07:00,60,1000000,1,0,Hà Nội
l3,u5,zalo,2022-01-05T10:00:00+07:00,60,1000000,2,0,Hà Nội
l4,u6,facebook,2022-01-05T10:00:00+07:00,60,1000000,1,0,Hà Nội
"""
MONTHS = ["2022-01"]


@pytest.fixture
def twins(cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Twins:
    """`home` holds op-a; lake-op is "in the lakehouse": its rollup attached, its person-days read from there
    (here: the person-days of an embedded twin home, with the same secret, holding op-a and lake-op)."""
    coverage = write(tmp_path / "coverage.csv", "province,month,subscribers\n01,2022-01,100\n")
    with Store(home):
        pass
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy2(home / "secret.key", twin / "secret.key")
    for where, sources in ((home, ("op-a",)), (twin, ("op-a", "lake-op"))):
        for name in ("op-a", "lake-op"):
            assert Cli(where)("sources", "declare", name, "--kind", "census", "--link-key", "shared",
                              "--coverage", coverage).exit_code == 0
        for name in sources:
            text = OP_A if name == "op-a" else LAKE_OP
            assert Cli(where)("ingest", "usage", write(tmp_path / f"{name}.csv", text), "--source", name).exit_code == 0
    with Store(twin, read_only=True) as store:
        person_days = store.con.sql(person_days_sql(store, "lake-op", MONTHS) or "").to_arrow_table()
        usage = store.con.sql("SELECT * FROM usage_month WHERE source = 'lake-op'").to_arrow_table()
    asked: list[tuple[list[str], list[str]]] = []

    def from_lakehouse(lake: object, sources: list[str], months: list[str]) -> pa.Table:
        asked.append((list(sources), list(months)))
        return person_days

    monkeypatch.setattr(estimates, "lakehouse", lambda home: None)
    monkeypatch.setattr(estimates, "lakehouse_person_days", from_lakehouse)
    monkeypatch.setattr(store_workflow, "lakehouse_usage", lambda store, lake: usage)
    monkeypatch.setattr(store_workflow, "home_lakehouse",  # only `home` has a cluster
                        lambda where: _Configured() if Path(where).resolve() == home.resolve() else None)
    return home, twin, asked


Twins = tuple[Path, Path, list[tuple[list[str], list[str]]]]


class _Configured:
    """A cluster's lakehouse, as far as the code under test looks at it."""

    local_folder = ""


def selected(home: Path, text: str, weekly: bool = False) -> pa.Table:
    """The selection's usage_month rows (or its usage_week rows of January's weeks)."""
    with Store(home) as store:
        bring_up_to_date(store)
        selection = estimates.select(store, text)
        assert selection is not None
        found = estimates.selected_usage(store, selection, MONTHS, load_catalog(), weeks=JANUARY_WEEKS)
        rows = found.usage_week if weekly else found.usage_month
        return rows.sort_by([("platform", "ascending"), ("province", "ascending")]
                            + ([("week", "ascending")] if weekly else []))


#: the Mondays of January 2022's whole weeks
JANUARY_WEEKS = [dt.date(2022, 1, 3), dt.date(2022, 1, 10), dt.date(2022, 1, 17), dt.date(2022, 1, 24)]


def test_a_union_reads_the_person_days_of_a_lakehouse_source_from_there(twins: Twins) -> None:
    home, twin, asked = twins
    mine, theirs = selected(home, "op-a,lake-op"), selected(twin, "op-a,lake-op")
    assert mine.to_pylist() == theirs.to_pylist()
    assert asked == [(["lake-op"], MONTHS)]  # only the twin read lake-op from its own lake
    zalo = next(r for r in mine.to_pylist() if r["platform"] == "zalo")
    assert zalo["persons"] == 4  # u1, u2 (op-a), u1 again, u4, u5 (lake-op): u1 counted once
    weekly = selected(home, "op-a,lake-op", weekly=True)
    assert weekly.to_pylist() == selected(twin, "op-a,lake-op", weekly=True).to_pylist() and weekly.num_rows


def test_the_national_estimate_unions_shared_operators_partly_in_the_lakehouse(twins: Twins) -> None:
    home, twin, asked = twins
    for where in (home, twin):
        with Store(where) as store:
            bring_up_to_date(store)
            assert estimates.default_source(store) == estimates.NATIONAL
    for weekly in (False, True):
        mine, theirs = selected(home, estimates.NATIONAL, weekly), selected(twin, estimates.NATIONAL, weekly)
        assert mine.num_rows == theirs.num_rows > 0
        for a, b in zip(mine.to_pylist(), theirs.to_pylist(), strict=True):
            assert a.keys() == b.keys()
            for key, value in a.items():
                assert b[key] == pytest.approx(value, rel=1e-12) if isinstance(value, float) else b[key] == value
    assert asked and all(sources == ["lake-op"] for sources, _ in asked)


def test_a_source_held_by_the_lakehouse_is_continued_there_by_the_default_engine(home: Path, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch
                                                                                  ) -> None:
    from thuocdo.store.lakehouse import NAMESPACE, Lakehouse, iceberg_catalog
    from thuocdo.workflows import cluster
    from thuocdo.workflows import ingest as ingest_workflow

    def attach(store: Store) -> bool:  # as on a home whose cluster's lakehouse holds lake-op
        store.attach_usage(ATTACHED)
        return True

    lake = Lakehouse.local(tmp_path / "lake")  # the cluster's lakehouse, here a local one
    monkeypatch.setattr(ingest_workflow, "attach_lakehouse", attach)
    monkeypatch.setattr(cluster, "lakehouse", lambda where: lake)
    path = write(tmp_path / "more.csv", OP_A)
    first = ingest_workflow.ingest(home, "usage", [path], "lake-op")
    again = ingest_workflow.ingest(home, "usage", [path], "lake-op")
    assert [(r.file, r.stored, r.duplicates) for r in first.results + again.results] == [
        ("more.csv", 2, 0), ("more.csv", 0, 2)]
    records = iceberg_catalog(lake).load_table(f"{NAMESPACE}.usage_records").scan().to_arrow()
    assert records["source"].to_pylist() == ["lake-op"] * 2
    with Store(home, read_only=True) as store:  # nothing of it in the embedded store (one source, one place)
        assert not registry.person_days_here(store, "lake-op")
        assert store.con.sql("SELECT count(*) FROM batches WHERE source = 'lake-op'").fetchall() == [(0,)]
    # another source, and weights of lake-op (small tables of the home), are taken by the store
    assert ingest_workflow.ingest(home, "usage", [path], "op-a").results[0].stored == 2
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,3\n")
    assert ingest_workflow.ingest(home, "weights", [weights], "lake-op").results[0].stored == 1


def test_the_quarantine_lists_the_lakehouses_lines_and_does_not_retry_them_here(
        cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`quarantine list` shows the lines the lakehouse rejected beside the store's (no id: they are sent again
    with --engine spark); retrying an exported lakehouse line into the embedded store is refused."""
    import datetime as dt

    from thuocdo.store.lakehouse import QUARANTINE_READ
    from thuocdo.workflows import quarantine as quarantine_workflow

    bad = HEADER + "b1,u9,không-có,2022-01-03T10:00:00+07:00,60,1000,1,0,Hà Nội\n"
    assert cli("ingest", "usage", write(tmp_path / "a.csv", OP_A + bad.split("\n", 1)[1]), "--source",
               "op-a").exit_code == 0
    lake_line = pa.Table.from_pylist([{
        "source": "lake-op", "kind": "usage", "file": "s3://thuocdo/in/day.csv", "line": 7,
        "problems": '[{"field": "platform", "message": "nền tảng «x» không có trong danh mục"}]',
        "record": '{"record_id": "l7", "user_key": "123", "platform": "x", "time": "2022-01-03"}',
        "created_at": dt.datetime(2022, 1, 4)}], schema=QUARANTINE_READ)
    monkeypatch.setattr(quarantine_workflow, "home_lakehouse", lambda where: _Configured())
    monkeypatch.setattr(quarantine_workflow, "quarantine_rows",
                        lambda lake, source: lake_line if source in (None, "lake-op") else lake_line.slice(0, 0))
    listed = quarantine_workflow.quarantine_entries(home).to_pylist()
    # in the order they were quarantined: the lakehouse's line (4 January 2022) first
    assert [(r["source"], r["line"], r["id"] is None) for r in listed] == [("lake-op", 7, True), ("op-a", 4, False)]
    assert [r["source"] for r in quarantine_workflow.quarantine_entries(home, "op-a").to_pylist()] == ["op-a"]
    exported = tmp_path / "fix.csv"
    assert quarantine_workflow.quarantine_export(home, exported, "lake-op") == 1

    def attach(store: Store) -> bool:  # as on a home whose cluster's lakehouse holds lake-op
        store.attach_usage(ATTACHED)
        return True

    from thuocdo.workflows import ingest as ingest_workflow

    monkeypatch.setattr(ingest_workflow, "attach_lakehouse", attach)
    with pytest.raises(InputError, match="lake-op nằm trong lakehouse, không nạp lại vào kho nhúng"):
        quarantine_workflow.quarantine_retry(home, exported)
