"""`thuocdo migrate`: an embedded store's usage sources moved into the home's local lakehouse (a SQLite catalog and a
file warehouse) give the same person-days and figures; the store is then without them; a second run does nothing;
a file sent before the move is still stored once; a late file afterwards gives what the embedded store gives for
the same files; a run stopped before its end is finished by the next one, with nothing stored twice."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.lakehouse_files import small_file
from thuocdo.cli import app
from thuocdo.ingest import migrate as migrate_core
from thuocdo.ingest.readers import InputError
from thuocdo.rollups.served import lakehouse_weeks
from thuocdo.store import Store, StoreError
from thuocdo.store import sources as registry
from thuocdo.store.home import SECRET_FILE
from thuocdo.store.lakehouse import NAMESPACE, iceberg_catalog
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows import migrate as migrate_workflow
from thuocdo.workflows.cluster import ClusterError, cluster_up, local_lakehouse
from thuocdo.workflows.store import bring_up_to_date, open_store

SOURCE = "op"
OTHER = "op2"
DAY_KEY = ("platform", "person", "day")
USAGE_KEY = ("platform", "month", "province")
WEEK_KEY = ("platform", "week", "province")


#: the embedded store's person-days, one row each (a day's rows may lie in several files): sums, active on any part,
#: the province of the part with the most seconds in its province (then the smallest code) and those seconds
PERSON_DAYS = """
WITH parts AS (SELECT * FROM read_parquet($files, hive_partitioning = true)),
days AS (SELECT source, platform, person, day, bool_or(active) AS active, sum(active_seconds)::BIGINT AS active_seconds,
                sum(bytes)::BIGINT AS bytes, sum(sessions)::BIGINT AS sessions, sum(installs)::BIGINT AS installs,
                max(province_seconds) AS province_seconds
         FROM parts GROUP BY ALL),
provinces AS (SELECT source, platform, person, day, province FROM parts WHERE province IS NOT NULL
              QUALIFY row_number() OVER (PARTITION BY source, platform, person, day
                                         ORDER BY province_seconds DESC, province) = 1)
SELECT days.*, provinces.province FROM days LEFT JOIN provinces USING (source, platform, person, day)
"""


def embedded_person_days(home: Path, source: str = SOURCE) -> dict[tuple[Any, ...], dict[str, Any]]:
    with Store(home, read_only=True) as store:
        rows = store.con.sql(f"SELECT * EXCLUDE (source) FROM ({PERSON_DAYS}) WHERE source = $source",
                             params={"files": store.files("person_day", source=source),
                                     "source": source}).to_arrow_table().to_pylist()
    return {tuple(r[k] for k in DAY_KEY): r for r in rows}


def lakehouse_rows(home: Path, table: str, source: str = SOURCE) -> list[dict[str, Any]]:
    lake = local_lakehouse(home)
    assert lake is not None
    rows = iceberg_catalog(lake).load_table(f"{NAMESPACE}.{table}").scan().to_arrow().to_pylist()
    return [r for r in rows if r["source"] == source]


def usage(home: Path, source: str = SOURCE) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The usage_month rows every command reads (the store's, with the lakehouse's attached)."""
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        rows = store.con.sql("SELECT * FROM usage_month WHERE source = $source",
                             params={"source": source}).to_arrow_table().to_pylist()
    found = {tuple(r[k] for k in USAGE_KEY): r for r in rows}
    assert len(found) == len(rows)  # one row per key: never the store's and the lakehouse's both
    return found


def assert_same(mine: dict[tuple[Any, ...], dict[str, Any]], theirs: dict[tuple[Any, ...], dict[str, Any]],
                columns: tuple[str, ...] | None = None) -> None:
    assert mine.keys() == theirs.keys() and mine
    for key, row in theirs.items():
        for column in columns or tuple(row):
            value = row[column]
            expected = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
            assert mine[key][column] == expected, (key, column)


PERSON_DAY_COLUMNS = ("active_seconds", "bytes", "sessions", "installs", "active", "province", "province_seconds")


@dataclass
class Moved:
    home: Path  # migrated, then the late file ingested
    twin: Path  # the same files, embedded only
    before_days: dict[tuple[Any, ...], dict[str, Any]]
    before_usage: dict[tuple[Any, ...], dict[str, Any]]
    before_mau: dict[tuple[Any, ...], dict[str, Any]]
    after_usage: dict[tuple[Any, ...], dict[str, Any]]  # right after the move
    after_mau: dict[tuple[Any, ...], dict[str, Any]]
    migration: migrate_workflow.Migration
    again: migrate_workflow.Migration
    resent: Any
    after_days: dict[tuple[Any, ...], dict[str, Any]]
    files: dict[str, Path]
    before_weeks: dict[tuple[Any, ...], dict[str, Any]]  # the store's usage_week rows
    after_weeks: dict[tuple[Any, ...], dict[str, Any]]  # the lakehouse's, right after the move


def stored_weeks(home: Path) -> dict[tuple[Any, ...], dict[str, Any]]:
    with Store(home, read_only=True) as store:
        rows = store.con.sql("SELECT * FROM usage_week WHERE source = $source",
                             params={"source": SOURCE}).to_arrow_table().to_pylist()
    return {tuple(r[k] for k in WEEK_KEY): r for r in rows}


def mau(home: Path) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The month's metric table by province (MAU, time, data, …), through the metrics command's workflow."""
    request = metric_workflow.metric_request("2022-03", "province", SOURCE)
    rows = metric_workflow.metrics(home, request).to_pylist()
    return {(r["province"], r["platform"]): r for r in rows}


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Moved:
    tmp = tmp_path_factory.mktemp("migrate")
    # about two records a person-day, in several provinces or none: the province rule is exercised
    # days of the week of Monday 7 March 2022, wholly inside the month: the metrics have its WAU
    files = {"a": small_file(tmp / "a.csv", seed=11, n=3000, days=(7, 8)),
             "b": small_file(tmp / "b.csv", seed=12, n=1500, days=(9,)),
             "late": small_file(tmp / "late.csv", seed=13, n=600, days=(8, 9)),
             "other": small_file(tmp / "other.csv", seed=14, n=500, days=(7,))}
    home, twin = tmp / "home", tmp / "twin"
    for where, names in ((home, ("a", "b")), (twin, ("a", "b", "late"))):
        if where == twin:  # the same secret: the same person keys
            twin.mkdir(mode=0o700)
            shutil.copy2(home / SECRET_FILE, twin / SECRET_FILE)
        assert not ingest_workflow.ingest(where, "usage", [files[n] for n in names], SOURCE).errors
    assert not ingest_workflow.ingest(home, "usage", [files["other"]], OTHER).errors
    before_days, before_usage, before_mau = embedded_person_days(home), usage(home), mau(home)
    before_weeks = stored_weeks(home)
    migration = migrate_workflow.migrate(home, [SOURCE])
    after_usage, after_mau = usage(home), mau(home)
    again = migrate_workflow.migrate(home, [SOURCE])
    resent = ingest_workflow.ingest(home, "usage", [files["a"]], SOURCE)
    after_days = {tuple(r[k] for k in DAY_KEY): r for r in lakehouse_rows(home, "person_day")}
    after_weeks = {tuple(r[k] for k in WEEK_KEY): r for r in lakehouse_rows(home, "usage_week")}
    assert not ingest_workflow.ingest(home, "usage", [files["late"]], SOURCE).errors
    return Moved(home, twin, before_days, before_usage, before_mau, after_usage, after_mau, migration, again, resent,
                 after_days, files, before_weeks, after_weeks)


def test_the_person_days_come_back_row_for_row(moved: Moved) -> None:
    assert len(moved.before_days) > 1000
    several = sum(1 for r in moved.before_days.values()
                  if r["province"] and r["active_seconds"] > r["province_seconds"])
    assert several > 100  # person-days with records in another province or none: split in two records
    assert_same(moved.after_days, moved.before_days, PERSON_DAY_COLUMNS)


def test_the_store_no_longer_holds_the_source_and_its_files_are_gone(moved: Moved) -> None:
    with Store(moved.home, read_only=True) as store:
        assert not registry.person_days_here(store, SOURCE)
        assert registry.person_days_here(store, OTHER)  # only the source named moved
        ((files,), ) = store.con.execute("SELECT count(*) FROM lake_files WHERE source = ?", [SOURCE]).fetchall()
        ((batches,),) = store.con.execute("SELECT count(*) FROM batches WHERE source = ?", [SOURCE]).fetchall()
        lake = store.lake
    assert files == 0 and batches == 0
    assert not [p for p in lake.rglob("*.parquet") if f"source={SOURCE}/" in p.as_posix()]
    assert [p for p in lake.rglob("*.parquet") if f"source={OTHER}/" in p.as_posix()]


def test_the_migration_reports_what_it_moved_and_a_second_run_nothing(moved: Moved) -> None:
    (done,) = moved.migration.moved
    assert done.source == SOURCE and done.days == 3
    records = len(lakehouse_rows(moved.home, "usage_records"))
    assert done.stored == done.person_days + done.keys
    assert done.person_days == len(moved.before_days) + sum(
        1 for r in moved.before_days.values() if r["province"] and r["active_seconds"] > r["province_seconds"])
    assert done.batches == 2  # a.csv and b.csv
    assert records >= done.stored
    assert moved.again.moved == [] and moved.again.already == [SOURCE]


def test_the_figures_are_the_same_before_and_after(moved: Moved) -> None:
    assert_same(moved.after_usage, moved.before_usage)
    assert len(moved.before_mau) > 10
    assert_same(moved.after_mau, moved.before_mau)


def test_a_file_ingested_before_the_move_is_still_stored_once(moved: Moved) -> None:
    (result,) = moved.resent.results
    assert result.rows_read > 3000 and result.stored == 0


def test_a_late_file_after_the_move_gives_the_embedded_stores_figures(moved: Moved) -> None:
    after = {tuple(r[k] for k in DAY_KEY): r for r in lakehouse_rows(moved.home, "person_day")}
    assert_same(after, embedded_person_days(moved.twin), PERSON_DAY_COLUMNS)
    assert_same(usage(moved.home), usage(moved.twin))
    weeks = {tuple(r[k] for k in WEEK_KEY): r for r in lakehouse_rows(moved.home, "usage_week")}
    assert_same(weeks, stored_weeks(moved.twin), ("persons", "w_persons", "w2_persons"))  # its week, again


def test_the_ledger_moved_with_the_source(moved: Moved) -> None:
    files = sorted(Path(r["file"]).name for r in lakehouse_rows(moved.home, "batches"))
    assert files == ["a.csv", "a.csv", "b.csv", "late.csv"]  # a.csv sent again after the move stored nothing
    assert {r["batch_id"] for r in lakehouse_rows(moved.home, "batch_days")} <= {
        r["batch_id"] for r in lakehouse_rows(moved.home, "batches")}


def test_a_home_with_a_local_lakehouse_refuses_a_cluster_and_spark(moved: Moved) -> None:
    with pytest.raises(ClusterError, match="lakehouse cục bộ"):
        cluster_up(moved.home)
    with pytest.raises(InputError, match="bỏ --engine spark"):
        metric_workflow.metrics(moved.home, metric_workflow.metric_request("2022-03", "platform", SOURCE),
                                engine="spark")


def test_an_unknown_source_is_refused(moved: Moved) -> None:
    with pytest.raises(InputError, match="không-có"):
        migrate_workflow.migrate(moved.home, ["không-có"])


def test_a_stopped_migration_is_finished_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [small_file(tmp_path / "a.csv", seed=21, n=1500, days=(1, 2, 3)),
             small_file(tmp_path / "b.csv", seed=22, n=800, days=(4,))]
    home = tmp_path / "home"
    assert not ingest_workflow.ingest(home, "usage", files, SOURCE).errors
    before_usage, before_days, before_mau = usage(home), embedded_person_days(home), mau(home)
    monkeypatch.setattr(migrate_core, "GROUP_ROWS", 1)  # a group a day
    commits = {"n": 0}
    merge = migrate_core.merge_records

    def stopping(*args: Any, **kwargs: Any) -> Any:
        commits["n"] += 1
        if commits["n"] == 3:
            raise KeyboardInterrupt  # stopped after two days' commits
        return merge(*args, **kwargs)

    monkeypatch.setattr(migrate_core, "merge_records", stopping)
    with pytest.raises(KeyboardInterrupt):
        migrate_workflow.migrate(home)
    with Store(home, read_only=True) as store:
        assert registry.person_days_here(store, SOURCE)  # still the store's: read from there, once
    assert_same(usage(home), before_usage)
    assert_same(mau(home), before_mau)

    def differing(*args: Any) -> None:  # every day moved, then the comparison fails
        raise StoreError("khác")

    monkeypatch.setattr(migrate_core, "merge_records", merge)
    monkeypatch.setattr(migrate_workflow, "check_same_usage", differing)
    with pytest.raises(StoreError):
        migrate_workflow.migrate(home)
    assert_same(usage(home), before_usage)  # the lakehouse holds it all now, the store still rules

    monkeypatch.undo()
    done = migrate_workflow.migrate(home)
    (moved,) = done.moved
    assert moved.stored == 0  # everything was there already
    assert len(lakehouse_rows(home, "usage_records")) == moved.person_days + moved.keys
    assert len(lakehouse_rows(home, "batches")) == 2
    assert_same({tuple(r[k] for k in DAY_KEY): r for r in lakehouse_rows(home, "person_day")}, before_days,
                PERSON_DAY_COLUMNS)
    assert_same(usage(home), before_usage)
    assert_same(mau(home), before_mau)


def test_the_command_line_says_what_moved(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert not ingest_workflow.ingest(home, "usage", [small_file(tmp_path / "a.csv", seed=31, n=300)], SOURCE).errors
    runner = CliRunner()
    first = runner.invoke(app, ["--home", str(home), "migrate"])
    assert first.exit_code == 0, first.output
    said = " ".join(first.output.split())  # as the terminal wraps it
    assert f"Nguồn {SOURCE} đã chuyển sang lakehouse" in said and ": 3 ngày, " in said
    assert "tổng hợp tháng khớp với kho nhúng" in said
    second = runner.invoke(app, ["--home", str(home), "migrate"])
    assert second.exit_code == 0 and "Kho nhúng không còn nguồn sử dụng nào để chuyển." in second.output
    unknown = runner.invoke(app, ["--home", str(home), "migrate", "--source", "x"])
    assert unknown.exit_code == 2


def test_an_empty_home_has_nothing_to_move(tmp_path: Path) -> None:
    done = migrate_workflow.migrate(tmp_path / "empty")
    assert done.moved == [] and local_lakehouse(tmp_path / "empty") is None  # no lakehouse made for nothing


def test_batches_posted_for_a_moved_source_land_in_the_local_lakehouse(moved: Moved) -> None:
    body = (b'{"record_id":"http-1","user_id":"u7","platform":"zalo","time":"2022-03-05T09:00:00+07:00",'
            b'"active_seconds":60,"bytes":10,"sessions":1,"province":"01"}\n')
    uri, new = ingest_workflow.land_usage(moved.home, SOURCE, body)
    assert new and uri.startswith(str(moved.home.resolve() / "lakehouse" / "landing" / SOURCE))
    assert ingest_workflow.has_landed(moved.home)
    reports = ingest_workflow.ingest_landed(moved.home, SOURCE, engine="duckdb")
    ((result,),) = (r.results for r in reports.values())
    assert result.stored == 1 and not ingest_workflow.has_landed(moved.home)
    assert ingest_workflow.land_usage(moved.home, SOURCE, body)[1] is False  # sent again: landed already
    days = {r["day"].day for r in lakehouse_rows(moved.home, "person_day")}
    assert 5 in days
    posted = moved.twin.parent / "posted.ndjson"  # the twin takes the same record, as a file
    posted.write_bytes(body)
    assert ingest_workflow.ingest(moved.twin, "usage", [posted], SOURCE).results[0].stored == 1


def test_the_weeks_move_into_the_lakehouses_usage_week_and_are_read_from_there(moved: Moved) -> None:
    assert len(moved.before_weeks) > 10
    assert_same(moved.after_weeks, moved.before_weeks, ("persons", "w_persons", "w2_persons"))
    assert any(r["wau"] for r in moved.after_mau.values())  # the week is wholly inside the month
    lake = local_lakehouse(moved.home)
    assert lake is not None
    with Store(moved.home, read_only=True) as store:
        rows, missing = lakehouse_weeks(store, lake, [SOURCE], [dt.date(2022, 3, 7), dt.date(2022, 3, 14)])
    assert missing == set() and rows.num_rows > 10  # current (the late file's update too); no data the next week


def test_weights_given_after_the_move_weigh_the_weeks_as_in_the_embedded_store(moved: Moved, tmp_path: Path) -> None:
    lines = ["user_id,month,weight"] + [f"u{i},2022-03,{1 + i % 7}" for i in range(150)]
    weights = tmp_path / "weights.csv"
    weights.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for home in (moved.home, moved.twin):
        assert ingest_workflow.ingest(home, "weights", [weights], SOURCE).results[0].stored == 150
    lake = local_lakehouse(moved.home)
    assert lake is not None
    with Store(moved.home, read_only=True) as store:  # the stored week was weighted by no weights: not current
        assert lakehouse_weeks(store, lake, [SOURCE], [dt.date(2022, 3, 7)])[1] == {(SOURCE, dt.date(2022, 3, 7))}
    weighed, twin = mau(moved.home), mau(moved.twin)
    assert any(r["wau"] != moved.after_mau.get(k, r)["wau"] for k, r in weighed.items())
    assert_same(weighed, twin)
