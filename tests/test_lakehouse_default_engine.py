"""The default engine's ingestion into a lakehouse (:mod:`thuocdo.ingest.lakehouse_ingest`), on a local one (a
SQLite catalog and a file warehouse: the same tables and code as on a cluster's object store): the figures of the
embedded store for the same files, every record once, and a late day that costs its day and its persons."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import write
from tests.engines.conftest import PERSON_DAYS
from tests.lakehouse_files import person_months, small_file
from thuocdo.ingest.lakehouse_ingest import ingest_usage_lakehouse
from thuocdo.ingest.spark_ingest import SparkIngestReport
from thuocdo.store import Store
from thuocdo.store.lakehouse import NAMESPACE, Lakehouse, iceberg_catalog
from thuocdo.workflows import ingest as ingest_workflow

SOURCE = "op"


@dataclass
class Runs:
    lake: Lakehouse
    twin: Path  # an embedded home holding the same files
    secret: bytes
    files: dict[str, Path]
    reports: dict[str, SparkIngestReport]

    def rows(self, table: str) -> list[dict[str, Any]]:
        return iceberg_catalog(self.lake).load_table(f"{NAMESPACE}.{table}").scan().to_arrow().to_pylist()

    def snapshot(self, table: str, snapshot_id: int | None) -> Any:
        found = iceberg_catalog(self.lake).load_table(f"{NAMESPACE}.{table}").metadata.snapshot_by_id(snapshot_id)
        assert found is not None
        return found


def ingest(runs: Runs, *files: Path) -> SparkIngestReport:
    return ingest_usage_lakehouse(runs.lake, [str(f) for f in files], SOURCE, runs.secret, key_domain=SOURCE)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    tmp = tmp_path_factory.mktemp("lakehouse-duckdb")
    files = {"a": small_file(tmp / "a.csv", seed=1, n=900, days=(1, 2, 3)),
             "b": small_file(tmp / "b.csv", seed=2, n=900, days=(3, 4)),
             "late": small_file(tmp / "late.csv", seed=3, n=40, days=(2,))}
    twin = tmp / "twin"
    assert not ingest_workflow.ingest(twin, "usage", [files["a"], files["b"], files["late"]], SOURCE).errors
    with Store(twin, read_only=True) as store:
        secret = store.secret
    runs = Runs(Lakehouse.local(tmp / "lake"), twin, secret, files, {})
    runs.reports["first"] = ingest(runs, files["a"], files["b"])
    runs.reports["again"] = ingest(runs, files["b"], files["a"])
    runs.reports["late"] = ingest(runs, files["late"])
    return runs


def test_the_lakehouse_holds_the_embedded_stores_figures(runs: Runs) -> None:
    with Store(runs.twin, read_only=True) as store:
        usage = store.con.sql("SELECT * FROM usage_month WHERE source = 'op'").to_arrow_table().to_pylist()
        days = store.con.sql(f"SELECT * EXCLUDE (source) FROM ({PERSON_DAYS}) WHERE source = 'op'",
                             params={"files": store.files("person_day", source=SOURCE)}).to_arrow_table().to_pylist()
        ((stored, rejected),) = store.con.sql("SELECT sum(stored), sum(rejected) FROM batches").fetchall()
    key = ("platform", "month", "province")
    lake_usage = {tuple(r[k] for k in key): r for r in runs.rows("usage_month")}
    assert len(lake_usage) == len(usage) > 0
    for row in usage:
        mine = lake_usage[tuple(row[k] for k in key)]
        for column, value in row.items():
            assert mine[column] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), column
    day_key = ("platform", "person", "day")
    lake_days = {tuple(r[k] for k in day_key): r for r in runs.rows("person_day")}
    assert len(lake_days) == len(days)
    for row in days:
        mine = lake_days[tuple(row[k] for k in day_key)]
        assert {c: mine[c] for c in ("month", "active", "province")} == {c: row[c] for c in ("month", "active",
                                                                                             "province")}
    assert len(runs.rows("usage_records")) == stored
    assert len(runs.rows("quarantine")) == rejected == 6  # two bad lines per file, each once


def test_the_stored_person_months_are_those_of_the_person_days(runs: Runs) -> None:
    months = sorted((r["platform"], r["person"], r["province"], r["active_days"], r["active_seconds"], r["bytes"],
                     r["sessions"], r["installs"]) for r in runs.rows("person_month"))
    assert months == person_months(runs.rows("person_day"))


def test_a_file_sent_again_stores_nothing(runs: Runs) -> None:
    first, again = runs.reports["first"], runs.reports["again"]
    assert [r.stored for r in first.results] and all(r.stored > 0 for r in first.results)
    assert [(r.stored, r.duplicates) for r in again.results] == [(0, r.duplicates) for r in again.results]
    assert sum(r.duplicates for r in again.results) == sum(r.stored + r.duplicates for r in first.results)
    assert again.days_rebuilt == 0 and again.person_month.snapshot is None and again.usage_months == 0
    assert len(runs.rows("batches")) == 5  # the ledger keeps every delivery


def test_a_late_file_rebuilds_its_day_and_recomputes_its_persons_months(runs: Runs) -> None:
    late = runs.reports["late"]
    good = [line.split(",") for line in runs.files["late"].read_text(encoding="utf-8").splitlines()[1:]
            if "-bad" not in line]
    assert late.results[0].stored == len({fields[0] for fields in good}) and late.days_rebuilt == 1
    commit = runs.snapshot("person_day", late.person_day_snapshot)
    assert commit.summary["changed-partition-count"] == "1", commit.summary  # 2022-03-02 of op, nothing else
    assert (late.person_month.whole, late.person_month.incremental) == (0, 1)
    assert late.person_month.person_months == len({(fields[2], fields[1]) for fields in good})
    first = runs.reports["first"].person_month
    assert (first.whole, first.incremental) == (1, 0)


def _race(lake_folder: str, secret: bytes, files: list[str], start: Any) -> list[int]:
    start.wait()
    report = ingest_usage_lakehouse(Lakehouse.local(lake_folder), files, SOURCE, secret, key_domain=SOURCE)
    return [r.stored for r in report.results]


def test_two_writers_at_once_store_every_record_once(tmp_path: Path) -> None:
    a = small_file(tmp_path / "a.csv", seed=11, n=400, days=(5, 6))
    b = small_file(tmp_path / "b.csv", seed=12, n=400, days=(6, 7))
    both = write(tmp_path / "ab.csv", a.read_text(encoding="utf-8")
                 + "".join(b.read_text(encoding="utf-8").splitlines(keepends=True)[1:]))
    secret = b"s" * 32
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(2)
        with context.Pool(2) as pool:
            stored = pool.starmap(_race, [(str(tmp_path / "lake"), secret, [str(a), str(b)], start),
                                          (str(tmp_path / "lake"), secret, [str(both)], start)])
    lake = Lakehouse.local(tmp_path / "lake")
    records = iceberg_catalog(lake).load_table(f"{NAMESPACE}.usage_records").scan().to_arrow()
    expected = len({line.split(",")[0] for f in (a, b) for line in f.read_text(encoding="utf-8").splitlines()[1:]
                    if "-bad" not in line})
    assert records.num_rows == expected == sum(sum(s) for s in stored)
    assert pa.compute.count_distinct(pa.compute.binary_join_element_wise(
        records["k1"].cast(pa.string()), records["k2"].cast(pa.string()), "/")).as_py() == expected
    days = iceberg_catalog(lake).load_table(f"{NAMESPACE}.person_day").scan().to_arrow()
    assert sorted(set(days["day"].to_pylist())) == [dt.date(2022, 3, d) for d in (5, 6, 7)]


def test_a_file_that_cannot_be_read_is_named_and_stores_nothing(tmp_path: Path) -> None:
    lake = Lakehouse.local(tmp_path / "lake")
    wrong = write(tmp_path / "wrong.csv", "a,b\n1,2\n")
    report = ingest_usage_lakehouse(lake, [str(wrong)], SOURCE, b"s" * 32, key_domain=SOURCE)
    assert not report.results and len(report.errors) == 1 and "wrong.csv" in report.errors[0]
    assert iceberg_catalog(lake).load_table(f"{NAMESPACE}.usage_records").scan().to_arrow().num_rows == 0
    (ledger,) = iceberg_catalog(lake).load_table(f"{NAMESPACE}.batches").scan().to_arrow().to_pylist()
    assert ledger["error"] == report.errors[0] and ledger["stored"] == 0


def test_a_commit_between_reading_the_keys_and_appending_makes_the_merge_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer commits some of the same records after this run read the stored keys: the run's append must
    fail (it would store them twice), and the merge run again from the new snapshot stores only the others."""
    from thuocdo.ingest import lakehouse_ingest
    from thuocdo.rollups.lakehouse_duckdb import conform

    lake, secret = Lakehouse.local(tmp_path / "lake"), b"s" * 32
    first = small_file(tmp_path / "first.csv", seed=21, n=300, days=(8,))
    ingest_usage_lakehouse(lake, [str(first)], SOURCE, secret, key_domain=SOURCE)  # the tables exist, day 8
    file = small_file(tmp_path / "file.csv", seed=22, n=300, days=(8, 9))
    loaded = lakehouse_ingest.load
    raced: list[int] = []

    def load_then_race(catalog: Any, name: str) -> Any:
        table = loaded(catalog, name)
        if name == "usage_records" and not raced:
            # the other writer: the first 100 of the same file's records, committed after this table was loaded
            rows = _checked_rows(tmp_path, file, secret)[:100]
            fresh = iceberg_catalog(lake).load_table(f"{NAMESPACE}.usage_records")
            fresh.append(conform(rows, fresh))
            raced.append(rows.num_rows)
        return table

    monkeypatch.setattr(lakehouse_ingest, "load", load_then_race)
    report = ingest_usage_lakehouse(lake, [str(file)], SOURCE, secret, key_domain=SOURCE)
    assert raced == [100] and report.merge_attempts == 2
    records = iceberg_catalog(lake).load_table(f"{NAMESPACE}.usage_records").scan().to_arrow()
    keys = set(zip(records["k1"].to_pylist(), records["k2"].to_pylist(), strict=True))
    assert len(keys) == records.num_rows  # nothing twice
    # 300 distinct good records in each file (their ids differ): the run stores the 200 the other did not
    assert records.num_rows == 600 and report.results[0].stored == 200 and report.results[0].duplicates == 101


def _checked_rows(tmp_path: Path, file: Path, secret: bytes) -> pa.Table:
    """The stored rows of a file as the other writer commits them (its good records, the source added)."""
    from thuocdo.ingest.spark_ingest import InputFile, TaskSettings, check_file

    settings = TaskSettings(SOURCE, secret, None, "other-writer", SOURCE)
    checked = check_file(InputFile(0, str(file)), settings, tmp_path)
    good = checked.filter(pa.compute.equal(checked["kind"], "good"))
    return good.append_column("source", pa.array([SOURCE] * good.num_rows))


def test_each_steps_time_is_summed_over_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A regression: the last file's time of a step replaced the others', and the lost time went to the next
    step. Checking is made 0.3 s slower per file here: two files, at least 0.6 s of checking, in checking."""
    import time

    from thuocdo.ingest import lakehouse_ingest

    checked = lakehouse_ingest.check_file

    def slow_check(*args: Any) -> Any:
        time.sleep(0.3)
        return checked(*args)

    monkeypatch.setattr(lakehouse_ingest, "check_file", slow_check)
    files = [small_file(tmp_path / f"{i}.csv", seed=30 + i, n=50, days=(10,)) for i in range(2)]
    report = ingest_usage_lakehouse(Lakehouse.local(tmp_path / "lake"), [str(f) for f in files], SOURCE, b"s" * 32,
                                    key_domain=SOURCE)
    assert set(report.seconds) == {"check", "merge", "quarantine", "person_day", "person_month", "usage_month",
                                   "usage_week", "ledger"}
    assert report.seconds["check"] >= 0.6


def test_days_rebuilt_in_groups_give_the_same_person_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person-day rebuild in groups of days (bounded memory), one commit each: the same rows as in one."""
    from thuocdo.rollups import lakehouse_duckdb

    file = small_file(tmp_path / "a.csv", seed=41, n=600, days=(11, 12, 13, 14))
    person_days = {}
    for name, budget in (("whole", lakehouse_duckdb.REBUILD_RECORDS), ("grouped", 200)):
        monkeypatch.setattr(lakehouse_duckdb, "REBUILD_RECORDS", budget)
        lake = Lakehouse.local(tmp_path / name)
        ingest_usage_lakehouse(lake, [str(file)], SOURCE, b"s" * 32, key_domain=SOURCE)
        table = iceberg_catalog(lake).load_table(f"{NAMESPACE}.person_day")
        person_days[name] = sorted(tuple(r.values()) for r in table.scan().to_arrow().to_pylist())
        person_days[f"{name}-commits"] = [s.summary.operation.value for s in table.snapshots()]
    assert person_days["grouped"] == person_days["whole"] and len(person_days["whole"]) > 0
    assert len(person_days["whole-commits"]) == 1 and len(person_days["grouped-commits"]) == 4  # a day each
