"""The home's record of its lakehouse cluster (``HOME/cluster.json``) and its credentials, without starting any
service: what is written is read back the same, private files are 0600, credentials are made once and kept."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from thuocdo.engines.spark_cluster import SparkCluster
from thuocdo.store.processes import Process
from thuocdo.store.services import CatalogDatabase, ObjectStore
from thuocdo.workflows.cluster import (
    ClusterConfig,
    ClusterError,
    cluster_down,
    cluster_status,
    config_path,
    credentials_path,
    lakehouse,
    load_config,
    load_credentials,
    save_config,
)


def _config(home: Path) -> ClusterConfig:
    gone = Process(2**22 + 1, 1)  # beyond any PID this machine gives: never running
    return ClusterConfig(
        credentials=credentials_path(home), started_at="2026-12-04T00:00:00+00:00", workers=2,
        object_store=ObjectStore(gone, {"master": 21000, "volume": 21001, "filer": 21002, "s3": 21003,
                                        "admin": 21004}),
        catalog=CatalogDatabase(gone, 25432, "thuocdo", "iceberg"),
        spark=SparkCluster(home / "cluster" / "spark", "spark://127.0.0.1:27077", "http://127.0.0.1:28080", gone,
                           (Process(gone.pid + 1, 2), Process(gone.pid + 2, 3))),
        logs={"spark": str(home / "cluster" / "spark")})


def test_the_record_round_trips_and_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = _config(home)
    save_config(home, config)
    assert stat.S_IMODE(config_path(home).stat().st_mode) == 0o600
    loaded = load_config(home)
    assert loaded == config
    assert loaded is not None and loaded.to_json() == json.loads(config_path(home).read_text())
    assert loaded.processes()["spark"] == [config.spark.master, *config.spark.workers]  # type: ignore[union-attr]


def test_credentials_are_made_once_private_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(ClusterError):
        load_credentials(home)
    first = load_credentials(home, create=True)
    assert stat.S_IMODE(credentials_path(home).stat().st_mode) == 0o600
    assert load_credentials(home, create=True) == first
    assert len(first["s3"]["access_key"]) == 20 and len(first["s3"]["secret_key"]) == 40
    assert len(first["catalog"]["password"]) >= 24


def test_the_lakehouse_is_read_from_the_record(tmp_path: Path) -> None:
    home = tmp_path / "home"
    credentials = load_credentials(home, create=True)
    save_config(home, _config(home))
    lake = lakehouse(home)
    assert lake.s3_endpoint == "http://127.0.0.1:21003" and lake.warehouse == "s3a://thuocdo/warehouse"
    assert lake.jdbc_url == "jdbc:postgresql://127.0.0.1:25432/iceberg"
    assert lake.secret_key == credentials["s3"]["secret_key"]
    assert lake.db_password == credentials["catalog"]["password"]


def test_status_and_down_of_a_record_whose_processes_are_gone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    save_config(home, _config(home))
    parts = cluster_status(home)
    assert parts is not None and [p.part for p in parts] == ["object_store", "catalog", "spark"]
    assert not any(p.running for p in parts) and all(p.rss == 0 for p in parts)
    assert cluster_down(home)  # signals nothing (nothing of it runs), removes the record
    assert not config_path(home).exists()
    assert not cluster_down(home) and cluster_status(home) is None


def test_a_damaged_record_is_reported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config_path(home).write_text("{not json")
    os.chmod(config_path(home), 0o600)
    with pytest.raises(ClusterError, match="hỏng"):
        load_config(home)
