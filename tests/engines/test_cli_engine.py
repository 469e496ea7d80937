"""`thuocdo metrics --engine spark` through the command line: the same JSON as the default engine."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write
from tests.engines.conftest import FixtureStore, copy_home


def test_master_needs_the_spark_engine(fixture_store: FixtureStore, tmp_path: Path) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    result = cli("metrics", "--period", "2022-Q1", "--master", "local[2]")
    assert result.exit_code == 2 and "--engine spark" in result.stderr


@pytest.mark.spark
@pytest.mark.parametrize("selection", [[], ["--source", "national"]], ids=["every-source", "national"])
def test_cli_spark_engine_gives_the_default_numbers(fixture_store: FixtureStore, spark: Any, tmp_path: Path,
                                                   selection: list[str]) -> None:
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    default = cli.metrics("2022-Q1", *selection)
    on_spark = cli.metrics("2022-Q1", "--engine", "spark", "--master", "local[2]", *selection)
    assert len(on_spark) == len(default) > 5
    for d, s in zip(default, on_spark, strict=True):
        assert list(s) == list(d)
        for key, value in d.items():
            if isinstance(value, float):
                assert math.isclose(s[key], value, rel_tol=1e-9), (d["platform"], key)
            else:
                assert s[key] == value, (d["platform"], key)


def test_explain_for_spark_is_what_the_spark_engine_runs(tmp_path: Path) -> None:
    from thuocdo.engines.spark import spark_sql
    from thuocdo.metrics import query as mq
    from thuocdo.rollups.definitions import PERSON_MONTH, USAGE_MONTH
    from thuocdo.rollups.spark import rollup_sql
    from thuocdo.workflows import metrics as metric_workflow

    result = Cli(tmp_path / "home")("metrics", "--period", "2022-Q1", "--explain", "--dialect", "spark")
    assert result.exit_code == 0, result.stderr
    for sql in (spark_sql(rollup_sql(PERSON_MONTH)), spark_sql(rollup_sql(USAGE_MONTH)),
                spark_sql(mq.build(metric_workflow.metric_request("2022-Q1")))):
        assert sql + ";" in result.stdout
    assert "CAST(1.0 AS DOUBLE)" in result.stdout


def test_equal_mau_summed_in_another_order_ties_in_the_rank() -> None:
    """0.1 + 0.2 and 0.3 differ in the last bit: the rank compares MAU at 6 decimals, so both are first."""
    import duckdb
    import pyarrow as pa

    from thuocdo.catalog import load_catalog
    from thuocdo.engines.base import named_relations
    from thuocdo.metrics import query as mq
    from thuocdo.workflows import metrics as metric_workflow

    request = metric_workflow.metric_request("2022-01")
    rel = metric_workflow.relations(load_catalog(), request)
    con = duckdb.connect()
    rows = [("s", "zalo", 0.1), ("s", "zalo", 0.2), ("s", "viber", 0.3), ("s", "mocha", 0.2)]
    con.register("usage_month", pa.table({
        "source": [r[0] for r in rows], "platform": [r[1] for r in rows], "month": ["2022-01"] * 4,
        "province": [str(i) for i in range(4)], "persons": [1] * 4, "w_persons": [r[2] for r in rows],
        "w2_persons": [0.0] * 4, "w_active_days": [1.0] * 4, "w_seconds": [60.0] * 4, "w_bytes": [0.0] * 4,
        "w_sessions": [1.0] * 4, "w_installs": [0.0] * 4}))
    con.execute("CREATE TABLE aggregates (source VARCHAR, platform VARCHAR, period VARCHAR, metric VARCHAR, "
                "value DOUBLE)")
    for name, table in named_relations(rel).items():
        con.register(name, table)
    got = {r["platform"]: r for r in con.sql(mq.build(request).sql(dialect="duckdb")).to_arrow_table().to_pylist()
           if r["platform"] in ("zalo", "viber", "mocha")}
    assert got["zalo"]["mau"] != got["viber"]["mau"]  # 0.30000000000000004 and 0.3
    assert [got[p]["rank_in_category"] for p in ("zalo", "viber", "mocha")] == [1, 1, 3]


@pytest.mark.spark
def test_unions_of_persons_run_on_spark_with_the_default_numbers(fixture_store: FixtureStore, spark: Any,
                                                                  tmp_path: Path) -> None:
    """Two operators with shared keys (op-x and op-y hold overlapping parts of telco-b's records, so they share
    persons): their union and the national estimate collapse persons on Spark's side, and give the default's
    figures."""
    from tests.random_fixture import make_fixture, to_csv_text
    from thuocdo.catalog import load_catalog

    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    telco = make_fixture(seed=20220401, n_records=3000).records_by_source["telco-b"]
    lines = ["province,month,subscribers"] + [f"{p.code},2022-{m:02d},40" for p in load_catalog().provinces_new
                                              for m in (1, 2, 3)]
    coverage = write(tmp_path / "coverage.csv", "\n".join(lines) + "\n")
    third = len(telco) // 3
    for name, part in (("op-x", telco[: 2 * third]), ("op-y", telco[third:])):
        declared = cli("sources", "declare", name, "--kind", "census", "--link-key", "shared", "--coverage", coverage)
        assert declared.exit_code == 0, declared.stderr
        assert cli("ingest", "usage", write(tmp_path / f"{name}.csv", to_csv_text(part)), "--source",
                   name).exit_code in (0, 1)
    for selection in ("national", "op-x,op-y"):
        default = cli.metrics("2022-Q1", "--source", selection)
        on_spark = cli.metrics("2022-Q1", "--source", selection, "--engine", "spark", "--master", "local[2]")
        assert len(on_spark) == len(default) > 5
        assert all(row["source"] == selection for row in default)
        for d, s in zip(default, on_spark, strict=True):
            assert list(s) == list(d)
            for key, value in d.items():
                if isinstance(value, float):
                    assert math.isclose(s[key], value, rel_tol=1e-9, abs_tol=1e-9), (selection, d["platform"], key)
                else:
                    assert s[key] == value, (selection, d["platform"], key)


@pytest.mark.spark
def test_retention_on_spark_is_the_defaults(fixture_store: FixtureStore, spark: Any, tmp_path: Path) -> None:
    """The same query (thuocdo.metrics.retention, printed for Spark by SQLGlot) over the same person-months."""
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    for args in ([], ["--by", "province"]):
        asked = ["retention", "--cohort", "2022-01", "--months", "2", "--source", "panel-a", "--format", "json", *args]
        default, on_spark = cli(*asked), cli(*asked, "--engine", "spark", "--master", "local[2]")
        assert default.exit_code == on_spark.exit_code == 0, default.stderr + on_spark.stderr
        mine, theirs = json.loads(default.stdout), json.loads(on_spark.stdout)
        assert len(mine) == len(theirs) > 10 and {r["months_since"] for r in mine} == {0, 1, 2}
        assert_same_rows(mine, theirs)


@pytest.mark.spark
def test_person_months_in_a_patch_are_read_by_spark_as_by_default(fixture_store: FixtureStore, spark: Any,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """January's active persons of panel-a come back on 20 February by a late file: their February person-months
    go to the month's patch, and retention (which reads person-months) on Spark reads the base and the patch as
    the default engine does."""
    from tests.random_fixture import to_csv_text
    from thuocdo.rollups import person_rollups, rebuild
    from thuocdo.store import Store

    monkeypatch.setattr(rebuild, "INCREMENTAL_SHARE", 1e9)
    monkeypatch.setattr(person_rollups, "COMPACT_SHARE", 1e9)
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    asked = ["retention", "--cohort", "2022-01", "--months", "2", "--source", "panel-a", "--format", "json"]
    before = json.loads(cli(*asked).stdout)
    january = [r for r in fixture_store.records["panel-a"]
               if r["time"].startswith("2022-01") and (r["sessions"] not in ("", "0"))][:20]
    late = [dict(r, record_id=f"late-{i}", time="2022-02-20T10:00:00+07:00") for i, r in enumerate(january)]
    assert cli("ingest", "usage", write(tmp_path / "late.csv", to_csv_text(late)), "--source", "panel-a").exit_code == 0
    with Store(cli.home) as store:
        assert store.files("person_month_patch", source="panel-a", months=["2022-02"])
    default, on_spark = cli(*asked), cli(*asked, "--engine", "spark", "--master", "local[2]")
    assert default.exit_code == on_spark.exit_code == 0, default.stderr + on_spark.stderr
    mine, theirs = json.loads(default.stdout), json.loads(on_spark.stdout)
    assert mine != before and len(mine) == len(theirs) > 10  # the late file moved February's retention
    assert_same_rows(mine, theirs)


@pytest.mark.spark
def test_quality_on_spark_is_the_defaults(fixture_store: FixtureStore, spark: Any, tmp_path: Path) -> None:
    """The persons and platforms of each day counted by Spark over the same person-days; the rest is the same
    code on the same small inputs."""
    cli = Cli(copy_home(fixture_store, tmp_path / "home"))
    for source in ("panel-a", "telco-b"):
        asked = ["quality", "--source", source, "--period", "2022-Q1", "--format", "json"]
        default, on_spark = cli(*asked), cli(*asked, "--engine", "spark", "--master", "local[2]")
        assert default.exit_code == on_spark.exit_code == 0, default.stderr + on_spark.stderr
        mine = json.loads(default.stdout)
        assert len(mine) > 20 and all(r["persons"] > 0 for r in mine if r["records"])
        assert json.loads(on_spark.stdout) == mine


def assert_same_rows(mine: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    """Two engines' JSON rows: the same keys and values, floats to 1e-9."""
    for d, s in zip(mine, theirs, strict=True):
        assert d.keys() == s.keys()
        for key, value in d.items():
            if isinstance(value, float):
                assert math.isclose(s[key], value, rel_tol=1e-9, abs_tol=1e-12), (key, d)
            else:
                assert s[key] == value, (key, d)
