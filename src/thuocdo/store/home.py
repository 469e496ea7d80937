"""The home folder of a store: the secret, the DuckDB database and the Parquet lake.

A Parquet file belongs to the store only when the database lists it in ``lake_files``; files are written
under fresh names first and listed (or unlisted) in one database transaction, so a batch is all or nothing.
Files that no transaction lists (left by a killed process) are swept when the store is next opened.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

HOME_ENV = "THUOCDO_HOME"
#: the most memory the store's database may hold (DuckDB's ``memory_limit``, e.g. ``3GB`` or ``16GB``); beyond it,
#: large aggregations (a month's first rollup) spill to the home's disk
MEMORY_LIMIT_ENV = "THUOCDO_MEMORY_LIMIT"
#: the limit when the environment sets none (DuckDB's own default, 80% of the memory the process may use, when
#: that is less): it keeps a 100 M-record ingestion under 4 GiB (bench/README.md); a machine with memory to spare
#: may raise it
DEFAULT_MEMORY_LIMIT_BYTES = 3 * 10**9
DEFAULT_HOME = Path.home() / ".thuocdo"
SECRET_FILE = "secret.key"
DATABASE_FILE = "thuocdo.duckdb"
LAKE_DIR = "lake"
STAGING_DIR = "_staging"
INBOX_DIR = "inbox"  # segments of records accepted over HTTP (thuocdo.ingest.inbox)


class StoreError(RuntimeError):
    """The store cannot be opened or is inconsistent."""


#: while a store is open, what this process creates is readable by its owner only (files 0600, folders 0700):
#: the store holds pseudonymised data, key hashes and the secret. The process's umask is set while any store
#: is open and given back when the last one closes.
PRIVATE_UMASK = 0o077
_umask_lock = threading.Lock()
_umask_users = 0
_umask_saved = 0


@contextmanager
def private_files() -> Iterator[None]:
    """Create files readable by their owner only while the block runs (see :data:`PRIVATE_UMASK`)."""
    begin_private()
    try:
        yield
    finally:
        end_private()


def begin_private() -> None:
    global _umask_users, _umask_saved  # noqa: PLW0603 - the process's umask is global state by nature
    with _umask_lock:
        if _umask_users == 0:
            _umask_saved = os.umask(PRIVATE_UMASK)
        _umask_users += 1


def end_private() -> None:
    global _umask_users  # noqa: PLW0603 - see begin_private
    with _umask_lock:
        _umask_users -= 1
        if _umask_users == 0:
            os.umask(_umask_saved)


def make_home(home: Path) -> None:
    """Create the home folder (0700) if it does not exist; an existing folder keeps its mode."""
    if not home.exists():
        with private_files():
            home.mkdir(parents=True, exist_ok=True)


def resolve_home(home: str | Path | None) -> Path:
    if home:
        return Path(home).expanduser()
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else DEFAULT_HOME


@dataclass
class PendingBatch:
    """Files staged by the batch being built, and the listed files it replaces (absolute paths)."""

    files: list[Any] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)


class Store:
    """An opened store. Use as a context manager or call :meth:`close`."""

    def __init__(self, home: Path, *, read_only: bool = False, sweep: bool = True) -> None:
        begin_private()
        self._open = True
        try:
            self._start(home, read_only=read_only, sweep=sweep)
        except BaseException:
            self._open = False
            end_private()
            raise

    def _start(self, home: Path, *, read_only: bool, sweep: bool) -> None:
        self.home = home
        self.lake = home / LAKE_DIR
        #: what the rows attached last (:meth:`attach_usage`) are: the md5 of their Arrow serialisation ('' none)
        self.attached_stamp = ""
        self.pending = PendingBatch()
        if not read_only:
            make_home(home)
            self.lake.mkdir(parents=True, exist_ok=True)
        elif not (home / DATABASE_FILE).exists():
            raise StoreError(f"Không tìm thấy kho dữ liệu tại {home}: hãy nạp dữ liệu trước (thuocdo ingest …).")
        self._secret = _load_or_create_secret(home / SECRET_FILE, create=not read_only,
                                              has_data=(home / DATABASE_FILE).exists())
        try:
            self.con = duckdb.connect(str(home / DATABASE_FILE), read_only=read_only)
        except duckdb.IOException as exc:
            pid = re.search(r"PID (\d+)", str(exc))
            who = f" (PID {pid.group(1)})" if pid else ""
            raise StoreError(f"Kho dữ liệu {home} đang được một tiến trình khác dùng{who}, đang nạp dữ liệu hoặc "
                             f"đang phục vụ; hãy chờ tiến trình đó xong rồi chạy lại.") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        limit = memory_limit()
        if limit:
            try:
                self.con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
            except duckdb.Error as exc:
                self.con.close()
                raise StoreError(f"{MEMORY_LIMIT_ENV}={limit} không hợp lệ: hãy ghi dung lượng như 3GB hoặc "
                                 "512MB.") from exc
        if not read_only:
            self.con.execute(resources.files("thuocdo.store").joinpath("schema.sql").read_text("utf-8"))
            if sweep:
                self.sweep()

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.con.close()
            finally:
                end_private()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def secret(self) -> bytes:
        return self._secret

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- rollups kept outside this store --------------------------------------------------------------
    @property
    def stored_usage_month(self) -> str:
        """The store's own ``usage_month`` table by its full name: what writers of the rollup write to (reading
        ``usage_month`` unqualified reads :meth:`attach_usage`'s view once rows are attached)."""
        return f'"{self.con.sql("SELECT current_database()").fetchall()[0][0]}".main.usage_month'

    def attach_usage(self, rows: pa.Table) -> None:
        """Let every query of this connection that reads ``usage_month`` read `rows` beside the stored rows: the
        rollup of the sources kept in the cluster's lakehouse (:func:`thuocdo.rollups.served.lakehouse_usage`).
        A temporary view named ``usage_month`` shadows the table; it lives as long as the connection, and is
        replaced by the next call; :attr:`attached_stamp` names the rows (a cache of figures keys on it)."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, rows.schema) as writer:
            writer.write_table(rows)
        self.attached_stamp = hashlib.md5(sink.getvalue().to_pybytes()).hexdigest()
        self.con.register("attached_usage_month", rows)
        self.con.execute("CREATE OR REPLACE TEMP VIEW usage_month AS "
                         f"SELECT * FROM {self.stored_usage_month} "
                         "UNION ALL BY NAME SELECT * FROM attached_usage_month")

    def detach_usage(self) -> None:
        """Forget the rows of :meth:`attach_usage` (the cluster is gone): ``usage_month`` is the stored table."""
        if self.attached_stamp:
            self.con.execute("DROP VIEW IF EXISTS usage_month")
            self.con.unregister("attached_usage_month")
            self.attached_stamp = ""

    # -- the lake --------------------------------------------------------------------------------
    def staging_dir(self, batch_id: str) -> Path:
        path = self.lake / STAGING_DIR / batch_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, paths: Sequence[str]) -> list[str]:
        """Absolute lake paths as ``lake_files`` lists them (relative to the lake folder)."""
        return [Path(p).relative_to(self.lake).as_posix() for p in paths]

    def files(
        self,
        dataset: str,
        *,
        source: str | None = None,
        months: Sequence[str] | None = None,
        days: Sequence[object] | None = None,
    ) -> list[str]:
        """Absolute paths of the listed files of a dataset, optionally narrowed."""
        sql = "SELECT path FROM lake_files WHERE dataset = ?"
        params: list[object] = [dataset]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        if months is not None:
            sql += " AND list_contains(?, month)"
            params.append(list(months))
        if days is not None:
            sql += " AND list_contains(?::DATE[], day)"
            params.append(list(days))
        rows = self.con.execute(sql + " ORDER BY path", params).fetchall()
        return [str(self.lake / r[0]) for r in rows]

    def sweep(self) -> None:
        """Remove staging folders and lake files that no committed transaction lists."""
        shutil.rmtree(self.lake / STAGING_DIR, ignore_errors=True)
        listed = {r[0] for r in self.con.execute("SELECT path FROM lake_files").fetchall()}
        for path in self.lake.rglob("*.parquet"):
            if path.relative_to(self.lake).as_posix() not in listed:
                path.unlink(missing_ok=True)
        segments = {r[0] for r in self.con.execute("SELECT path FROM inbox_segments").fetchall()}
        for path in (self.lake / INBOX_DIR).rglob("*.arrow"):
            if path.relative_to(self.lake).as_posix() not in segments:
                path.unlink(missing_ok=True)


#: the secret is 32 random bytes, written as 64 hexadecimal digits
SECRET_BYTES = 32
_RESTORE = "hãy khôi phục tệp này từ bản sao lưu của kho (xem README, mục sao lưu khóa bí mật) rồi chạy lại"


def _load_or_create_secret(path: Path, *, create: bool, has_data: bool = False) -> bytes:
    """The store's pseudonymisation key: 32 random bytes, readable by the owner only.

    It is created once, atomically (a synced temporary file linked into place, so a crash leaves either no key
    or the whole key, and two processes opening a new store at once end with one key). It is never made again
    for a store that holds data (`has_data`): every person and record key would change, and re-ingested files
    would be stored twice. A missing, empty or malformed key is an error that says how to restore it."""
    if not path.exists():
        if has_data:
            raise StoreError(f"Kho dữ liệu {path.parent} đã có dữ liệu nhưng thiếu khóa bí mật {path}: khóa không "
                             f"thể tạo lại mà không làm đổi mã của mọi người dùng; {_RESTORE}.")
        if not create:
            raise StoreError(f"Thiếu khóa bí mật {path}.")
        _create_secret(path)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise StoreError(f"Khóa bí mật {path} không hợp lệ (cần {2 * SECRET_BYTES} chữ số thập lục phân); {_RESTORE}.")
    return secret


def _create_secret(path: Path) -> None:
    """Write a new key at `path` unless one appears there meanwhile (another process's: then that one stays)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # atomic, and never replaces a key that is there
        sync_path(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def memory_limit() -> str:
    """The memory limit a store opened now gets ('' for DuckDB's default)."""
    return os.environ.get(MEMORY_LIMIT_ENV, "").strip() or _default_memory_limit()


@functools.cache
def _default_memory_limit() -> str:
    """:data:`DEFAULT_MEMORY_LIMIT_BYTES` as a DuckDB size, or '' (DuckDB's default) when DuckDB's own default
    is no larger: 80% of the memory the process may use (the machine's, or its container's)."""
    with duckdb.connect() as con:
        own = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    return f"{DEFAULT_MEMORY_LIMIT_BYTES // 10**6}MB" if _bytes(own) > DEFAULT_MEMORY_LIMIT_BYTES else ""


_UNITS = {"": 1, "B": 1, "BYTES": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10,
          "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _bytes(size: str) -> float:
    """A size as DuckDB shows it ('18.8 GiB', '512.0 KiB') in bytes (infinite when it cannot be read).

    >>> _bytes("18.8 GiB") > 3e9, _bytes("1.5 GB"), _bytes("512.0 KiB")
    (True, 1500000000.0, 524288.0)
    """
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", size)
    if not match or match.group(2).upper() not in _UNITS:
        return float("inf")
    return float(match.group(1)) * _UNITS[match.group(2).upper()]


def sync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') changes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
