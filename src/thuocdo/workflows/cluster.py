"""`thuocdo cluster up|down|status`: the local lakehouse cluster of a home, on loopback only.

Three parts, started in this order and stopped in the reverse one:

* the object store — SeaweedFS (S3 API), its data in ``HOME/cluster/seaweedfs``, one bucket (``thuocdo``)
  whose ``warehouse/`` holds the Iceberg tables;
* the catalog — PostgreSQL, its data in ``HOME/cluster/catalog``, the database ``iceberg`` of the Iceberg
  catalog shared by Spark (JDBC catalog) and Python (pyiceberg's SQL catalog);
* Spark — a standalone master and N workers (1 core, 1 GiB each), logs and work folders in ``HOME/cluster/spark``.

The credentials (S3 keys, the database's password) are generated once, kept in
``HOME/cluster/credentials.json`` (mode 0600) and reused at every start, like the data. The running cluster is
recorded in ``HOME/cluster.json`` (mode 0600): each part's address, ports and processes (PID and start time), and
where the credentials are; it is written as each part comes up, so that ``down`` stops whatever was started even
after a failed ``up``, and removed by ``down``. ``down`` stops only the processes recorded there (a PID reused by
another process since is left alone) and is idempotent.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import string
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thuocdo.engines.spark_cluster import SparkCluster, alive_workers, start_cluster, stop_cluster
from thuocdo.ingest.readers import InputError
from thuocdo.store import resolve_home
from thuocdo.store.home import make_home, private_files
from thuocdo.store.lakehouse import Lakehouse
from thuocdo.store.processes import LOOPBACK, Process, ServiceError, descendants, port_open, rss_bytes, running, stop
from thuocdo.store.services import (
    CatalogDatabase,
    ObjectStore,
    ensure_bucket,
    s3_identities,
    start_catalog_database,
    start_object_store,
    stop_catalog_database,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CONFIG_FILE = "cluster.json"
#: the home's local lakehouse (:func:`local_lakehouse`)
LOCAL_LAKEHOUSE_DIR = "lakehouse"
CLUSTER_DIR = "cluster"
CREDENTIALS_FILE = "credentials.json"
BUCKET = "thuocdo"
CATALOG_DATABASE = "iceberg"
CATALOG_USER = "thuocdo"
#: the parts, in starting order
PARTS = ("object_store", "catalog", "spark")


class ClusterError(RuntimeError):
    """The cluster cannot be started or used (the message says why, in Vietnamese)."""


@dataclass(frozen=True)
class Step:
    """Progress of `up` or `down`: a part (one of :data:`PARTS`) is `starting`, `ready`, `stopping` or
    `stopped`, `seconds` after its step began."""

    part: str
    phase: str
    seconds: float = 0.0
    detail: str = ""


OnStep = Callable[[Step], None]


# -- the home's files --------------------------------------------------------------------------------------
def cluster_dir(home: Path) -> Path:
    return home / CLUSTER_DIR


def config_path(home: Path) -> Path:
    return home / CONFIG_FILE


def credentials_path(home: Path) -> Path:
    return cluster_dir(home) / CREDENTIALS_FILE


def _write_private(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically, mode 0600."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _random_key(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def load_credentials(home: Path, *, create: bool = False) -> dict[str, dict[str, str]]:
    """The cluster's credentials (generated the first time when `create`)."""
    path = credentials_path(home)
    if path.is_file():
        data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        return data
    if not create:
        raise ClusterError(f"Không tìm thấy {path}: hãy chạy thuocdo cluster up.")
    data = {
        "s3": {"access_key": _random_key(20, string.ascii_uppercase + string.digits),
               "secret_key": _random_key(40, string.ascii_letters + string.digits)},
        "catalog": {"user": CATALOG_USER, "password": secrets.token_urlsafe(24)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, data)
    return data


@dataclass
class ClusterConfig:
    """What ``HOME/cluster.json`` records of a running (or partly started) cluster."""

    credentials: Path
    started_at: str
    workers: int
    bucket: str = BUCKET
    object_store: ObjectStore | None = None
    catalog: CatalogDatabase | None = None
    spark: SparkCluster | None = None
    logs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": 1, "started_at": self.started_at, "credentials": str(self.credentials),
                                "workers": self.workers, "bucket": self.bucket, "logs": self.logs}
        if self.object_store is not None:
            data["object_store"] = {"endpoint": self.object_store.endpoint, "ports": self.object_store.ports,
                                    "process": self.object_store.process.to_json(),
                                    "warehouse": f"s3a://{self.bucket}/warehouse"}
        if self.catalog is not None:
            data["catalog"] = {"host": self.catalog.host, "port": self.catalog.port, "user": self.catalog.user,
                               "database": self.catalog.database, "process": self.catalog.process.to_json()}
        if self.spark is not None:
            data["spark"] = self.spark.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterConfig:
        config = cls(Path(data["credentials"]), data["started_at"], int(data["workers"]), data.get("bucket", BUCKET),
                     logs=dict(data.get("logs", {})))
        if "object_store" in data:
            o = data["object_store"]
            config.object_store = ObjectStore(Process.from_json(o["process"]),
                                              {k: int(v) for k, v in o["ports"].items()})
        if "catalog" in data:
            c = data["catalog"]
            config.catalog = CatalogDatabase(Process.from_json(c["process"]), int(c["port"]), c["user"], c["database"])
        if "spark" in data:
            config.spark = SparkCluster.from_json(data["spark"])
        return config

    def processes(self) -> dict[str, list[Process]]:
        """The recorded processes of each part."""
        return {"object_store": [self.object_store.process] if self.object_store else [],
                "catalog": [self.catalog.process] if self.catalog else [],
                "spark": list(self.spark.processes) if self.spark else []}


def save_config(home: Path, config: ClusterConfig) -> None:
    _write_private(config_path(home), config.to_json())


def load_config(home: str | Path | None) -> ClusterConfig | None:
    """The recorded cluster of the home, None when there is none."""
    path = config_path(resolve_home(home))
    if not path.is_file():
        return None
    try:
        return ClusterConfig.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ClusterError(f"Tệp cấu hình cụm {path} hỏng ({exc}); hãy dừng các tiến trình của cụm bằng tay và xóa "
                           f"tệp này.") from exc


# -- up, down, status --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _step(on_step: OnStep | None, part: str, detail: str = "") -> Iterator[None]:
    t0 = time.monotonic()
    if on_step:
        on_step(Step(part, "starting", 0.0, detail))
    yield
    if on_step:
        on_step(Step(part, "ready", time.monotonic() - t0, detail))


def cluster_up(home: str | Path | None, workers: int = 2, *, on_step: OnStep | None = None,
               timeout: float = 120) -> ClusterConfig:
    """Start the cluster of the home (object store, catalog, Spark with `workers` workers) and record it.
    A cluster already running whole is returned as it is; a partly running one must be stopped first."""
    if workers < 1:
        raise ClusterError("Cần ít nhất một worker Spark (--workers 1 trở lên).")
    root = resolve_home(home)
    local = local_lakehouse(root)
    if local is not None:
        raise ClusterError(f"Kho của {root} đã chuyển sang lakehouse cục bộ {local.local_folder} (thuocdo migrate): "
                           "một thư mục chỉ có một lakehouse. Hãy dùng một thư mục khác cho cụm.")
    existing = load_config(root)
    if existing is not None:
        states = [running(p) for ps in existing.processes().values() for p in ps]
        if states and all(states) and existing.spark is not None:
            return existing
        if any(states):
            raise ClusterError(f"Cụm của {root} chỉ chạy một phần; hãy chạy thuocdo cluster down rồi up lại.")
        config_path(root).unlink()  # stale: nothing of it runs any more
    make_home(root)
    with private_files():  # credentials, configuration and the services' files: the owner's only
        folder = cluster_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        credentials = load_credentials(root, create=True)
        logs = folder / "logs"
        config = ClusterConfig(credentials_path(root), datetime.now(UTC).isoformat(timespec="seconds"), workers,
                               logs={"object_store": str(logs / "seaweedfs.log"),
                                     "catalog": str(logs / "postgresql.log"), "spark": str(folder / "spark")})
        try:
            with _step(on_step, "object_store"):
                s3 = credentials["s3"]
                s3_config = folder / "s3.json"
                _write_private(s3_config, s3_identities(s3["access_key"], s3["secret_key"]))
                config.object_store = start_object_store(folder / "seaweedfs", s3_config, log=logs / "seaweedfs.log",
                                                         timeout=timeout)
                save_config(root, config)
                ensure_bucket(config.object_store.endpoint, s3["access_key"], s3["secret_key"], config.bucket,
                              timeout=timeout)
            with _step(on_step, "catalog"):
                catalog = credentials["catalog"]
                config.catalog = start_catalog_database(folder / "catalog", catalog["password"], user=catalog["user"],
                                                        database=CATALOG_DATABASE, log=logs / "postgresql.log",
                                                        timeout=timeout)
                save_config(root, config)
            with _step(on_step, "spark", str(workers)):
                def record(spark: SparkCluster) -> None:
                    config.spark = spark
                    save_config(root, config)

                config.spark = start_cluster(folder / "spark", workers, timeout=timeout, on_started=record)
                save_config(root, config)
        except BaseException:
            _stop_parts(root, config, None)
            raise
    return config


def cluster_down(home: str | Path | None, *, on_step: OnStep | None = None) -> bool:
    """Stop what the home's cluster record names (Spark, then the catalog, then the object store) and remove
    the record. False when there was no record. The data and credentials stay for the next ``up``."""
    root = resolve_home(home)
    config = load_config(root)
    if config is None:
        return False
    _stop_parts(root, config, on_step)
    return True


def _stop_parts(root: Path, config: ClusterConfig, on_step: OnStep | None) -> None:
    parts: list[tuple[str, Callable[[], object]]] = []
    if config.spark is not None:
        spark = config.spark
        parts.append(("spark", lambda: stop_cluster(spark)))
    if config.catalog is not None:
        catalog = config.catalog
        parts.append(("catalog", lambda: stop_catalog_database(catalog.process)))
    if config.object_store is not None:
        store = config.object_store
        parts.append(("object_store", lambda: stop(store.process)))
    for part, stop_part in parts:
        t0 = time.monotonic()
        if on_step:
            on_step(Step(part, "stopping"))
        stop_part()
        if on_step:
            on_step(Step(part, "stopped", time.monotonic() - t0))
    config_path(root).unlink(missing_ok=True)


@dataclass(frozen=True)
class PartStatus:
    part: str
    running: bool
    address: str
    recorded: tuple[Process, ...]  # the processes `up` started (in cluster.json)
    processes: tuple[Process, ...]  # those of them that run, and what they started (executors, backends)
    rss: int  # bytes, of all the running ones
    workers: int | None = None  # Spark: the workers registered with the master


def cluster_status(home: str | Path | None) -> list[PartStatus] | None:
    """Each part of the home's cluster: running or not, its address, its processes and their memory. None
    when the home has no cluster record."""
    config = load_config(home)
    if config is None:
        return None
    result = []
    recorded = config.processes()
    for part in PARTS:
        processes = recorded[part]
        alive = bool(processes) and all(running(p) for p in processes)
        address = ""
        workers = None
        if part == "object_store" and config.object_store is not None:
            address = config.object_store.endpoint
            alive = alive and port_open(config.object_store.ports["s3"])
        elif part == "catalog" and config.catalog is not None:
            address = f"postgresql://{LOOPBACK}:{config.catalog.port}/{config.catalog.database}"
            alive = alive and port_open(config.catalog.port)
        elif part == "spark" and config.spark is not None:
            address = config.spark.url
            workers = max(alive_workers(config.spark.ui), 0) if alive else 0
            alive = alive and workers == len(config.spark.workers)
        tree = [q for p in processes if running(p) for q in (p, *descendants(p))]
        result.append(PartStatus(part, alive, address, tuple(processes), tuple(tree), sum(rss_bytes(p) for p in tree),
                                 workers))
    return result


# -- using the cluster -------------------------------------------------------------------------------------
def local_lakehouse(home: str | Path | None) -> Lakehouse | None:
    """The home's local lakehouse (``HOME/lakehouse``: a SQLite catalog and a folder warehouse, written by the
    default engine; made by ``thuocdo migrate`` without a cluster), None when the home has none."""
    folder = resolve_home(home) / LOCAL_LAKEHOUSE_DIR
    return Lakehouse.local(folder) if (folder / "catalog.db").is_file() else None


def home_lakehouse(home: str | Path | None) -> Lakehouse | None:
    """The lakehouse the home's commands read and write beside the embedded store: the running cluster's, else the
    home's local one, else None. A home has one of them (``cluster up`` refuses a home with a local lakehouse)."""
    config = load_config(home)
    if config is not None and config.object_store is not None and config.catalog is not None:
        return lakehouse(home)
    return local_lakehouse(home)


def lakehouse(home: str | Path | None) -> Lakehouse:
    """How to reach the home's lakehouse: the running cluster's object store and catalog, or else the home's local
    lakehouse (:func:`local_lakehouse`)."""
    config = load_config(home)
    if config is None or config.object_store is None or config.catalog is None:
        local = local_lakehouse(home)
        if local is not None:
            return local
        raise ClusterError(f"Cụm của {resolve_home(home)} chưa chạy: hãy chạy thuocdo cluster up.")
    credentials = json.loads(config.credentials.read_text(encoding="utf-8"))
    return Lakehouse(s3_endpoint=config.object_store.endpoint, access_key=credentials["s3"]["access_key"],
                     secret_key=credentials["s3"]["secret_key"], bucket=config.bucket, db_host=config.catalog.host,
                     db_port=config.catalog.port, db_user=config.catalog.user,
                     db_password=credentials["catalog"]["password"], db_name=config.catalog.database)


def spark_lakehouse(home: str | Path | None) -> Lakehouse | None:
    """The lakehouse Spark reads and writes for the home: the running cluster's, None without one. InputError when
    the home's lakehouse is local (Spark has no driver for its SQLite catalog: the default engine reads it)."""
    found = home_lakehouse(home)
    if found is not None and found.local_folder:
        raise InputError(f"Lakehouse của {resolve_home(home)} nằm trong thư mục {found.local_folder} (tạo bởi "
                           "thuocdo migrate, không có cụm): lệnh này chạy bằng engine mặc định, bỏ --engine spark.")
    return found


def spark_master(home: str | Path | None) -> str:
    """The running cluster's Spark master URL."""
    config = load_config(home)
    if config is None or config.spark is None:
        raise ClusterError(f"Cụm của {resolve_home(home)} chưa chạy: hãy chạy thuocdo cluster up.")
    return config.spark.url


def cluster_session(home: str | Path | None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session on the home's cluster, with its Iceberg catalog and object store."""
    from thuocdo.engines.spark import lakehouse_session

    return lakehouse_session(lakehouse(home), spark_master(home), conf)


__all__ = ["ClusterConfig", "ClusterError", "PartStatus", "ServiceError", "Step", "cluster_down", "cluster_session",
           "cluster_status", "cluster_up", "home_lakehouse", "lakehouse", "load_config", "local_lakehouse",
           "spark_lakehouse", "spark_master"]
