"""Who may do what: API keys (stored only as hashes), their roles, and which periods are published.

Kept in a small SQLite file beside the store (``access.sqlite``) rather than in the DuckDB database, so that
an administrator can create or revoke a key, or publish a period, while ``thuocdo serve`` holds the store:
the server reads this file on every request, so a revoked key stops working at once.

A key reads ``td_<id>_<secret>``: the id (public, shown in lists and in the audit log) finds the row, and
the SHA-256 of the whole key must match the stored hash. The secret is 32 random bytes, so a plain hash is
enough: there is nothing to guess that a slow hash would protect.

Roles:

- ``admin``: everything, including keys and publication;
- ``analyst``: reads everything, including unpublished periods and small cells;
- ``source``: writes usage records, weights and aggregates of its own source only; reads published results;
- ``entity``: submits the indicator values of its own entity (a province or a ministry); reads published results;
- anonymous visitors (no key) read published results only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from thuocdo.model.periods import Period, PeriodKind
from thuocdo.store.home import make_home, private_files

ACCESS_FILE = "access.sqlite"
ROLES = ("admin", "analyst", "source", "entity")
ANONYMOUS = "anonymous"
_KEY = re.compile(r"^td_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_YEAR = re.compile(r"^\d{4}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    role       TEXT NOT NULL,
    source     TEXT,
    entity     TEXT,
    label      TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS publications (
    period       TEXT PRIMARY KEY,
    published_at TEXT NOT NULL,
    published_by TEXT
);
CREATE TABLE IF NOT EXISTS access_log (
    at     TEXT NOT NULL,
    actor  TEXT,
    action TEXT NOT NULL,
    detail TEXT
);
"""


class AccessError(ValueError):
    """A key cannot be created or changed as asked (the message is for the user, in Vietnamese)."""


@dataclass(frozen=True)
class Principal:
    """The caller of a request."""

    role: str
    key_id: str | None = None
    source: str | None = None
    entity: str | None = None

    @property
    def sees_unpublished(self) -> bool:
        return self.role in ("admin", "analyst")

    def may_write_source(self, source: str) -> bool:
        return self.role == "admin" or (self.role == "source" and self.source == source)

    def may_write_entity(self, entity: str) -> bool:
        return self.role == "admin" or (self.role == "entity" and self.entity == entity)


ANONYMOUS_PRINCIPAL = Principal(ANONYMOUS)


@dataclass(frozen=True)
class KeyInfo:
    id: str
    role: str
    source: str | None
    entity: str | None
    label: str | None
    created_at: str
    revoked_at: str | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Access:
    """The access file of a store home."""

    def __init__(self, home: Path) -> None:
        self.path = home / ACCESS_FILE
        make_home(home)
        with private_files():  # key hashes: the file and its journal readable by their owner only
            con = sqlite3.connect(self.path, timeout=10)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
            finally:
                con.close()
        if self.path.stat().st_mode & 0o077:
            self.path.chmod(0o600)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # -- keys --------------------------------------------------------------------------------------------------
    def create_key(self, role: str, *, source: str | None = None, entity: str | None = None,
                   label: str | None = None, actor: str | None = None) -> tuple[str, KeyInfo]:
        """Create a key; return the key itself (shown once, never stored) and its record."""
        if role not in ROLES:
            raise AccessError(f"Vai trò '{role}' không có; chọn một trong {', '.join(ROLES)}.")
        if role == "source" and not source:
            raise AccessError("Khóa vai trò source cần --source (nguồn mà khóa được ghi vào).")
        if role == "entity" and not entity:
            raise AccessError("Khóa vai trò entity cần --entity (tỉnh/thành hoặc bộ, ngành mà khóa được nộp chỉ số).")
        if source and role != "source":
            raise AccessError("--source chỉ dùng cho khóa vai trò source.")
        if entity and role != "entity":
            raise AccessError("--entity chỉ dùng cho khóa vai trò entity.")
        key_id = secrets.token_hex(6)
        key = f"td_{key_id}_{secrets.token_urlsafe(32)}"
        info = KeyInfo(key_id, role, source, entity, label, _now(), None)
        with self._connect() as con:
            con.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                        [key_id, _digest(key), role, source, entity, label, info.created_at])
            con.execute("INSERT INTO access_log VALUES (?, ?, 'create-key', ?)",
                        [info.created_at, actor, f"{key_id} {role} {source or entity or ''}".strip()])
        return key, info

    def revoke_key(self, key_id: str, *, actor: str | None = None) -> KeyInfo:
        with self._connect() as con:
            row = con.execute("SELECT revoked_at FROM api_keys WHERE id = ?", [key_id]).fetchone()
            if row is None:
                raise AccessError(f"Không có khóa '{key_id}'.")
            if row[0] is None:
                now = _now()
                con.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [now, key_id])
                con.execute("INSERT INTO access_log VALUES (?, ?, 'revoke-key', ?)", [now, actor, key_id])
        return next(k for k in self.keys() if k.id == key_id)

    def keys(self) -> list[KeyInfo]:
        with self._connect() as con:
            rows = con.execute("SELECT id, role, source, entity, label, created_at, revoked_at FROM api_keys "
                               "ORDER BY created_at, id").fetchall()
        return [KeyInfo(*r) for r in rows]

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a key, or None when the key is malformed, unknown, wrong or revoked."""
        m = _KEY.match(key.strip())
        if not m:
            return None
        con = sqlite3.connect(self.path, timeout=10)  # a read: no write lock, so requests do not queue here
        try:
            row = con.execute("SELECT hash, role, source, entity, revoked_at FROM api_keys WHERE id = ?",
                              [m.group(1)]).fetchone()
        finally:
            con.close()
        if row is None or row[4] is not None or not hmac.compare_digest(row[0], _digest(key.strip())):
            return None
        return Principal(row[1], m.group(1), row[2], row[3])

    # -- publication -------------------------------------------------------------------------------------------
    def publish(self, period: str, *, actor: str | None = None, withdraw: bool = False) -> None:
        label = normalise_period(period)
        with self._connect() as con:
            if withdraw:
                con.execute("DELETE FROM publications WHERE period = ?", [label])
            else:
                con.execute("INSERT INTO publications VALUES (?, ?, ?) ON CONFLICT(period) DO NOTHING",
                            [label, _now(), actor])
            con.execute("INSERT INTO access_log VALUES (?, ?, ?, ?)",
                        [_now(), actor, "withdraw" if withdraw else "publish", label])

    def publications(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT period FROM publications ORDER BY period").fetchall()]

    def is_published(self, period: str) -> bool:
        """A period is published when it or a period containing it (its quarter, its year) is."""
        return bool(covering(period) & set(self.publications()))


def normalise_period(period: str) -> str:
    """A month, a quarter or a year label, validated."""
    text = period.strip()
    if _YEAR.match(text):
        return text
    return Period.parse(text).label


def covering(period: str) -> set[str]:
    """The labels whose publication publishes `period`: itself, its quarter and its year."""
    label = normalise_period(period)
    if _YEAR.match(label):
        return {label}
    p = Period.parse(label)
    out = {label, str(p.year)}
    if p.kind is PeriodKind.MONTH:
        out.add(f"{p.year}-Q{(p.index - 1) // 3 + 1}")
    return out
