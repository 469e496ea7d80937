"""The record keys already stored, held in memory for checking posted batches against them.

A posted batch must be checked against every key already stored for the days it touches: in the lake's day
partitions and in the inbox. Asking the database for every group costs a statement or two each time, and
reading the days' key files costs more as the store grows (a month of a large source is millions of keys), so
the server keeps:

- each (source, day)'s lake keys as sorted arrays, with the file each key was read from. An entry is valid
  for exactly the files it was read from: when a merge appends a file to the day and rewrites some of its
  smaller files, the keys of the files no longer listed are dropped and only the new files are read. Memory
  is bounded: 20 bytes per key, the least recently used days dropped beyond `max_keys`;
- the list of each day's key files, and each source's inbox keys (24 bytes each: the inbox holds at most one
  merge's worth of records), as a few sorted runs, merged as they grow (:class:`_Runs`). Both are read from the
  database on first use and kept up to date by the writer (:meth:`StoredKeys.added`); whatever else changes the
  lake or the inbox (a merge, a file ingestion) must call :meth:`StoredKeys.forget`, under the same lock, before
  the next lookup.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from thuocdo.ingest.inbox import inbox_rows
from thuocdo.store import Store

#: keys held in memory at most (20 bytes each: 30 M keys are about 600 MB)
MAX_KEYS = 30_000_000


@dataclass(frozen=True)
class _DayKeys:
    files: tuple[str, ...]
    k1: np.ndarray  # uint64, sorted
    k2: np.ndarray
    origin: np.ndarray | None = None  # int32: the index in `files` of each key's file


def _read_keys(path: str, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pq.read_table(path, columns=["k1", "k2"], partitioning=None)
    k1 = table["k1"].to_numpy().astype(np.uint64, copy=False)
    return k1, table["k2"].to_numpy().astype(np.uint64, copy=False), np.full(len(k1), index, dtype=np.int32)


def _concat(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        return np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.int32)
    k1, k2, index = zip(*parts, strict=True)
    return np.concatenate(k1), np.concatenate(k2), np.concatenate(index)


class StoredKeys:
    """Which candidate records (day, k1, k2) of a source are stored already, in the lake or in the inbox.

    Not thread-safe: call it where the store's main connection is held, so that neither the lake's file list
    nor the inbox changes during a lookup."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._days: OrderedDict[tuple[str, dt.date], _DayKeys] = OrderedDict()
        self._held = 0
        self._listing: dict[str, dict[dt.date, tuple[str, ...]]] = {}  # source -> day -> its key files
        self._inbox: dict[str, _Runs] = {}  # source -> the keys of its inbox rows
        self.reads = 0  # key files read (for tests and benchmarks)

    def stored(self, store: Store, source: str, day: pa.Array, k1: pa.Array, k2: pa.Array) -> np.ndarray:
        """A boolean mask over the candidates: True where (day, k1, k2) is among the stored keys."""
        hit = np.zeros(len(day), dtype=bool)
        if not len(day):
            return hit
        days = np.asarray(day.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
        c1 = np.asarray(k1.to_numpy(zero_copy_only=False), dtype=np.uint64)
        c2 = np.asarray(k2.to_numpy(zero_copy_only=False), dtype=np.uint64)
        listing = self._files(store, source)
        for d in np.unique(days).tolist():
            files = listing.get(d)
            if files:
                rows = np.flatnonzero(days == np.datetime64(d, "D"))
                hit[rows] = _member(self._day(source, d, files), c1[rows], c2[rows])
        hit |= self._inbox_keys(store, source).contains(days.astype(np.int64), c1, c2)
        return hit

    def added(self, source: str, day: pa.Array, k1: pa.Array, k2: pa.Array) -> None:
        """Records the writer has just committed to the inbox (after :meth:`stored` for the same source)."""
        if source in self._inbox and len(day):
            days = np.asarray(day.to_numpy(zero_copy_only=False), dtype="datetime64[D]").astype(np.int64)
            self._inbox[source].add(days, np.asarray(k1.to_numpy(zero_copy_only=False), dtype=np.uint64),
                                    np.asarray(k2.to_numpy(zero_copy_only=False), dtype=np.uint64))

    def forget(self) -> None:
        """Drop what may be stale after a merge or an ingestion: the file lists and the inbox keys (they are
        read again when next needed). The lake keys of each day stay: they are checked against the files."""
        self._listing.clear()
        self._inbox.clear()

    def _files(self, store: Store, source: str) -> dict[dt.date, tuple[str, ...]]:
        listing = self._listing.get(source)
        if listing is None:
            rows = store.con.execute(
                "SELECT day, list(path ORDER BY path) FROM lake_files WHERE dataset = 'record_keys' AND source = ? "
                "GROUP BY day", [source]).fetchall()
            listing = self._listing[source] = {d: tuple(str(store.lake / p) for p in paths) for d, paths in rows}
        return listing

    def _inbox_keys(self, store: Store, source: str) -> _Runs:
        keys = self._inbox.get(source)
        if keys is None:
            rows = inbox_rows(store, source, columns=("day", "k1", "k2"))
            keys = self._inbox[source] = _Runs()
            if rows.num_rows:
                keys.add(np.asarray(rows["day"].to_numpy(), dtype="datetime64[D]").astype(np.int64),
                         rows["k1"].to_numpy().astype(np.uint64), rows["k2"].to_numpy().astype(np.uint64))
        return keys

    def _day(self, source: str, day: dt.date, files: tuple[str, ...]) -> _DayKeys:
        entry = self._days.get((source, day))
        if entry is not None and entry.files == files:
            self._days.move_to_end((source, day))
            return entry
        # a merge appends a file to the day and rewrites some of its smaller files: the keys of the files still
        # listed are kept, and only the files new to the listing are read
        runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # each sorted by k1
        known: set[str] = set()
        if entry is not None:
            self._drop((source, day))
            assert entry.origin is not None  # entries kept here always carry it
            position = np.array([files.index(f) if f in files else -1 for f in entry.files], dtype=np.int32)
            origin = position[entry.origin]
            keep = origin >= 0
            runs.append((entry.k1[keep], entry.k2[keep], origin[keep]))
            known = set(entry.files)
        parts = [_read_keys(f, files.index(f)) for f in files if f not in known]
        if parts:
            fresh = _concat(parts)
            order = np.argsort(fresh[0], kind="stable")
            runs.append((fresh[0][order], fresh[1][order], fresh[2][order]))
        k1, k2, origin = _concat(runs)
        if len(runs) > 1:  # two runs sorted by k1: the stable sort merges them in linear time
            order = np.argsort(k1, kind="stable")
            k1, k2, origin = k1[order], k2[order], origin[order]
        entry = _DayKeys(files, k1, k2, origin)
        self.reads += len(parts)
        if len(k1) <= self.max_keys:
            self._days[(source, day)] = entry
            self._held += len(k1)
            while self._held > self.max_keys:
                self._drop(next(iter(self._days)))
        return entry

    def _drop(self, key: tuple[str, dt.date]) -> None:
        entry = self._days.pop(key)
        self._held -= len(entry.k1)


class _Runs:
    """A growing set of (day, k1, k2) keys as sorted runs, each at most half the size of the one before it
    (a new run merges into the previous ones while it is not): a few runs, each key re-sorted O(log n) times."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (k1, k2, day), sorted by k1

    def add(self, day: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> None:
        self.runs.append((k1, k2, day))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            a, b = self.runs.pop(), self.runs.pop()
            self.runs.append((np.concatenate([b[0], a[0]]), np.concatenate([b[1], a[1]]), np.concatenate([b[2], a[2]])))
        k1, k2, day = self.runs[-1]
        order = np.argsort(k1, kind="stable")  # two sorted runs: the stable sort merges them in linear time
        self.runs[-1] = (k1[order], k2[order], day[order])

    def contains(self, day: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(c1), dtype=bool)
        for k1, k2, d in self.runs:
            hit |= _member(_DayKeys((), k1, k2), c1, c2, d, day)
        return hit


def _member(keys: _DayKeys, c1: np.ndarray, c2: np.ndarray, stored_days: np.ndarray | None = None,
            days: np.ndarray | None = None) -> np.ndarray:
    """Exact membership of (c1, c2) pairs in the sorted (k1, k2) arrays (and of their `days` in
    `stored_days`, the stored keys' days in the same order, when given)."""
    order = np.argsort(c1)  # sorted queries walk the stored keys in order: several times faster
    left = np.empty(len(c1), dtype=np.intp)
    right = np.empty(len(c1), dtype=np.intp)
    left[order] = np.searchsorted(keys.k1, c1[order], side="left")
    right[order] = np.searchsorted(keys.k1, c1[order], side="right")
    span = right - left
    out = np.zeros(len(c1), dtype=bool)
    one = np.flatnonzero(span == 1)
    out[one] = keys.k2[left[one]] == c2[one]
    if stored_days is not None and days is not None:
        out[one] &= stored_days[left[one]] == days[one]
    for i in np.flatnonzero(span > 1):  # several stored keys share this k1: compare the rest (rare)
        same = keys.k2[left[i]:right[i]] == c2[i]
        if stored_days is not None and days is not None:
            same &= stored_days[left[i]:right[i]] == days[i]
        out[i] = bool(np.any(same))
    return out
