"""The local lakehouse cluster for real: `thuocdo cluster up` starts SeaweedFS, PostgreSQL and a Spark master with
two workers on loopback; Spark on that cluster and pyiceberg share one Iceberg catalog (a table committed by one
is read, and appended to, by the other); `cluster status` sees every part; `cluster down` leaves no process.

One Spark application (in a process of its own: tests/engines/lakehouse_probe.py), a few rows."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import Cli
from tests.engines.conftest import require_spark

PROBE = Path(__file__).with_name("lakehouse_probe.py")
TABLE = "lake.thuocdo.probe"

SPARK_ROWS = [
    {"id": 1, "day": "2022-01-03", "platform": "zalo", "seconds": 1200},
    {"id": 2, "day": "2022-01-03", "platform": "messenger", "seconds": 600},
    {"id": 3, "day": "2022-01-04", "platform": "zalo", "seconds": 900},
]
PYICEBERG_ROWS = [
    {"id": 4, "day": "2022-01-04", "platform": "tiktok", "seconds": 300},
    {"id": 5, "day": "2022-01-05", "platform": "zalo", "seconds": 60},
]


class Probe:
    """The Spark application of the test: SQL in, rows out (see lakehouse_probe.py)."""

    def __init__(self, home: Path) -> None:
        env = os.environ | {"PYTHONPATH": os.pathsep.join([str(PROBE.parents[2]), *sys.path])}
        self.process = subprocess.Popen([sys.executable, str(PROBE), str(home)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._answer()

    def _answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the Spark probe ended (exit status {self.process.poll()})"
        answer = json.loads(line)
        assert not (isinstance(answer, dict) and "error" in answer), answer
        return answer

    def sql(self, query: str) -> list[dict[str, Any]]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"sql": query}) + "\n")
        self.process.stdin.flush()
        rows: list[dict[str, Any]] = self._answer()
        return rows

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["id"])


def _arrow_rows(table: pa.Table) -> list[dict[str, Any]]:
    return _sorted([{k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in row.items()}
                    for row in table.to_pylist()])


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.cluster
def test_spark_and_pyiceberg_share_the_clusters_iceberg_catalog(tmp_path: Path) -> None:
    require_spark()
    from thuocdo.store.lakehouse import iceberg_catalog
    from thuocdo.store.processes import Process, descendants, running, start_time
    from thuocdo.workflows.cluster import lakehouse, load_config

    home = tmp_path / "home"
    cli = Cli(home)
    up = cli("cluster", "up", "--workers", "2")
    assert up.exit_code == 0, up.stdout + up.stderr
    config = load_config(home)
    assert config is not None and config.spark is not None and len(config.spark.workers) == 2
    try:
        for private in (home / "cluster.json", config.credentials):
            assert stat.S_IMODE(private.stat().st_mode) == 0o600
        status = cli("cluster", "status")
        assert status.exit_code == 0, status.stdout
        assert status.stdout.count("đang chạy") == 3 and "không chạy" not in status.stdout

        probe = Probe(home)
        try:
            assert probe.info["master"] == config.spark.url and probe.info["executors"] == 2
            # every process of the cluster, executors and database backends included, while they run
            started = [q for ps in config.processes().values() for p in ps for q in (p, *descendants(p))]
            # no credential on a command line (any local user reads them), the driver's JVM included
            lake = lakehouse(home)
            probe_process = Process(probe.process.pid, start_time(probe.process.pid) or 0)
            for process in [*started, *descendants(probe_process)]:
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{process.pid}/cmdline").read_text(errors="replace")
                    assert lake.secret_key not in cmdline and lake.db_password not in cmdline, process

            # Spark creates a day-partitioned table and commits rows
            assert probe.sql("CREATE NAMESPACE IF NOT EXISTS lake.thuocdo") == []
            probe.sql(f"CREATE TABLE {TABLE} (id BIGINT, day DATE, platform STRING, seconds BIGINT) "
                      "USING iceberg PARTITIONED BY (days(day))")
            values = ", ".join(f"({r['id']}, DATE'{r['day']}', '{r['platform']}', {r['seconds']})" for r in SPARK_ROWS)
            probe.sql(f"INSERT INTO {TABLE} VALUES {values}")
            assert _sorted(probe.sql(f"SELECT * FROM {TABLE}")) == SPARK_ROWS

            # pyiceberg reads them through the same PostgreSQL catalog, files on SeaweedFS
            table = iceberg_catalog(lake).load_table("thuocdo.probe")
            assert [f.transform.__class__.__name__ for f in table.spec().fields] == ["DayTransform"]
            assert _arrow_rows(table.scan().to_arrow()) == SPARK_ROWS
            files = table.inspect.files().column("file_path").to_pylist()
            assert len(files) == 2 and all(f.startswith(f"s3a://{lake.bucket}/warehouse/thuocdo/probe/data/day_day=")
                                           for f in files)

            # pyiceberg appends; Spark reads its commit
            table.append(pa.Table.from_pylist(
                [r | {"day": datetime.date.fromisoformat(r["day"])} for r in PYICEBERG_ROWS],
                schema=table.schema().as_arrow()))
            assert _sorted(probe.sql(f"SELECT * FROM {TABLE}")) == SPARK_ROWS + PYICEBERG_ROWS
            assert probe.sql(f"SELECT count(*) AS snapshots FROM {TABLE}.snapshots") == [{"snapshots": 2}]
            assert _arrow_rows(iceberg_catalog(lake).load_table("thuocdo.probe").scan().to_arrow()) \
                == SPARK_ROWS + PYICEBERG_ROWS
        finally:
            probe.close()
    finally:
        down = cli("cluster", "down")
    assert down.exit_code == 0, down.stdout + down.stderr
    time.sleep(0.5)
    left = [p.pid for p in started if running(p)]
    assert left == [], f"processes left behind: {left}"
    assert not (home / "cluster.json").exists()
    after = cli("cluster", "status")
    assert after.exit_code == 1 and "không chạy" in after.stdout
    again = cli("cluster", "down")  # idempotent
    assert again.exit_code == 0 and "không chạy" in again.stderr
