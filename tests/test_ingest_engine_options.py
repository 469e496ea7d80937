"""`ingest usage --engine spark`: the options that cannot work are refused before anything starts (exit 2, a
Vietnamese reason), and a source stays in one store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, write

CSV = "user_id,platform,time\nu1,zalo,2022-03-01T10:00:00+07:00\n"


def test_spark_ingestion_without_a_cluster_says_to_start_one(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", "usage", write(tmp_path / "a.csv", CSV), "--source", "s", "--engine", "spark")
    assert result.exit_code == 2 and "thuocdo cluster up" in result.stderr


def test_master_and_s3_need_the_spark_engine(cli: Cli, tmp_path: Path) -> None:
    master = cli("ingest", "usage", write(tmp_path / "a.csv", CSV), "--source", "s", "--master", "local[2]")
    assert master.exit_code == 2 and "--master chỉ dùng với --engine spark" in master.stderr
    s3 = cli("ingest", "usage", "s3://thuocdo/inbox/", "--source", "s")
    assert s3.exit_code == 2 and "--engine spark" in s3.stderr


def test_a_missing_local_file_is_named(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", "usage", str(tmp_path / "none.csv"), "--source", "s", "--engine", "spark")
    assert result.exit_code == 2 and "none.csv" in result.stderr


def test_a_source_of_the_embedded_store_is_not_continued_on_spark(cli: Cli, home: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from thuocdo.ingest.readers import InputError
    from thuocdo.workflows import cluster as cluster_workflow
    from thuocdo.workflows import ingest as ingest_workflow

    assert cli("ingest", "usage", write(tmp_path / "a.csv", CSV), "--source", "s").exit_code == 0
    # the check comes before any part of the cluster is reached: a cluster that is not there is not asked
    monkeypatch.setattr(cluster_workflow, "lakehouse", lambda home: object())
    with pytest.raises(InputError, match="Nguồn s đã có bản ghi sử dụng trong kho nhúng"):
        ingest_workflow.ingest_spark(home, [str(tmp_path / "a.csv")], "s")


def test_the_spark_ingestion_summary_says_what_the_rollups_did() -> None:
    from thuocdo.cli.ingest import rollup_summary
    from thuocdo.ingest.spark_ingest import SparkIngestReport
    from thuocdo.rollups.lakehouse_months import MonthUpdate

    late = SparkIngestReport(days_rebuilt=1, person_month=MonthUpdate(incremental=1, person_months=1234),
                             usage_months=1)
    assert rollup_summary(late) == ("Cập nhật tổng hợp ở lakehouse: 1 ngày người-ngày dựng lại; 1.234 người-tháng "
                                    "tính lại trong 1 tháng; 1 tháng tổng hợp cộng lại.")
    first = SparkIngestReport(days_rebuilt=90, person_month=MonthUpdate(whole=3), usage_months=3)
    assert rollup_summary(first) == ("Cập nhật tổng hợp ở lakehouse: 90 ngày người-ngày dựng lại; 3 tháng tính "
                                     "người-tháng toàn bộ; 3 tháng tổng hợp cộng lại.")
