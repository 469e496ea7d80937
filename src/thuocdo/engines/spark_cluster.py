"""A Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

Started from the Spark distribution inside the pip-installed PySpark (``spark-class``), with Java 17 and no
network beyond loopback. Each process runs in a session of its own (an executor a worker starts stays in the
worker's process group, so stopping a worker's group stops its executors) and is known by PID and start time
(:class:`thuocdo.store.processes.Process`), so that a stop never signals a process it did not start.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thuocdo.store.processes import LOOPBACK, Process, ServiceError, free_port, running, spawn, stop_all

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def spark_home() -> Path:
    """``$SPARK_HOME``, else the Spark distribution inside the installed PySpark."""
    import pyspark

    return Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent)


@dataclass(frozen=True)
class SparkCluster:
    """A running standalone cluster: the master's URL and web UI, its processes, its folder (logs, work)."""

    folder: Path
    url: str  # spark://127.0.0.1:PORT
    ui: str  # http://127.0.0.1:PORT
    master: Process
    workers: tuple[Process, ...]

    @property
    def processes(self) -> tuple[Process, ...]:
        return (self.master, *self.workers)

    def to_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "url": self.url, "ui": self.ui, "master": self.master.to_json(),
                "workers": [w.to_json() for w in self.workers]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SparkCluster:
        return cls(Path(data["folder"]), data["url"], data["ui"], Process.from_json(data["master"]),
                   tuple(Process.from_json(w) for w in data["workers"]))


def _env(folder: Path) -> dict[str, str]:
    return dict(os.environ, SPARK_LOCAL_IP=LOOPBACK, SPARK_HOME=str(spark_home()), SPARK_LOG_DIR=str(folder),
                PYSPARK_PYTHON=os.environ.get("PYSPARK_PYTHON", sys.executable))


def _spawn(folder: Path, name: str, *args: str) -> Process:
    return spawn([str(spark_home() / "bin" / "spark-class"), *args], log=folder / f"{name}.log", env=_env(folder),
                 cwd=folder)


def alive_workers(ui: str) -> int:
    """How many workers the master counts alive (-1 when its web UI does not answer)."""
    try:
        with urllib.request.urlopen(f"{ui}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (OSError, ValueError):
        return -1


def start_cluster(folder: Path, workers: int = 2, *, cores: int = 1, memory: str = "1g", timeout: float = 120,
                  on_started: Callable[[SparkCluster], None] | None = None) -> SparkCluster:
    """Start a master and `workers` workers (`cores` cores and `memory` each); return when every worker has
    registered with the master. `on_started` is told the processes as soon as they are started (so that a
    caller can record them before waiting). On failure everything started is stopped again."""
    folder.mkdir(parents=True, exist_ok=True)
    port, ui_port = free_port(), free_port()
    url, ui = f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{ui_port}"
    master = _spawn(folder, "master", MASTER_CLASS, "--host", LOOPBACK, "--port", str(port), "--webui-port",
                    str(ui_port))
    cluster = SparkCluster(folder, url, ui, master, ())
    try:
        started = []
        for i in range(workers):
            work = folder / f"worker-{i}"
            work.mkdir(exist_ok=True)
            started.append(_spawn(folder, f"worker-{i}", WORKER_CLASS, "--host", LOOPBACK, "--cores", str(cores),
                                  "--memory", memory, "--webui-port", str(free_port()), "--work-dir", str(work), url))
        cluster = SparkCluster(folder, url, ui, master, tuple(started))
        if on_started is not None:
            on_started(cluster)
        deadline = time.monotonic() + timeout
        while alive_workers(ui) < workers:
            ended = [p for p in cluster.processes if not running(p)]
            if ended or time.monotonic() > deadline:
                reason = "một tiến trình đã dừng" if ended else f"quá {timeout:.0f} giây"
                raise ServiceError(f"Cụm Spark không khởi động được ({reason}); xem nhật ký trong {folder}.")
            time.sleep(0.25)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: SparkCluster, timeout: float = 20) -> list[Process]:
    """Stop the workers (with their executors) and the master, each process group at once; return those that
    were running."""
    return stop_all(cluster.processes, timeout=timeout)
