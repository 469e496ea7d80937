"""The record keys of the lake's day partitions, held in memory for checking posted batches against them.

A posted batch must be checked against every key already stored for the days it touches. Reading those days'
key files for every batch costs more as the store grows (a month of a large source is millions of keys), so
the server keeps each (source, day)'s keys as sorted arrays, read once. An entry is valid for exactly the files
it was read from: the key files of a day are listed in `lake_files`, and when a merge rewrites the day under a
new file name the entry no longer matches and is read again. Keys in the inbox are not held here; they are
checked in the database.

Memory is bounded: 16 bytes per key, and the least recently used days are dropped beyond `max_keys`.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from thuocdo.store import Store

#: keys held in memory at most (16 bytes each: 30 M keys are about 480 MB)
MAX_KEYS = 30_000_000


@dataclass(frozen=True)
class _DayKeys:
    files: tuple[str, ...]
    k1: np.ndarray  # uint64, sorted by (k1, k2)
    k2: np.ndarray


class LakeKeys:
    """Which candidate records (day, k1, k2) of a source are already stored in the lake.

    Not thread-safe: call it where the store's main connection is held (the lake's file list must not change
    during a lookup)."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._days: OrderedDict[tuple[str, dt.date], _DayKeys] = OrderedDict()
        self._held = 0
        self.reads = 0  # days read from their files (for tests and benchmarks)

    def stored(self, store: Store, source: str, day: pa.Array, k1: pa.Array, k2: pa.Array) -> np.ndarray:
        """A boolean mask over the candidates: True where (day, k1, k2) is among the stored keys."""
        hit = np.zeros(len(day), dtype=bool)
        if not len(day):
            return hit
        days = np.asarray(day.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
        c1 = np.asarray(k1.to_numpy(zero_copy_only=False), dtype=np.uint64)
        c2 = np.asarray(k2.to_numpy(zero_copy_only=False), dtype=np.uint64)
        touched = np.unique(days)
        listed = store.con.execute(
            "SELECT day, list(path ORDER BY path) FROM lake_files WHERE dataset = 'record_keys' AND source = ? "
            "AND list_contains(?::DATE[], day) GROUP BY day",
            [source, [d.item() for d in touched]]).fetchall()
        for d, paths in listed:
            files = tuple(str(store.lake / p) for p in paths)
            keys = self._day(source, d, files)
            rows = np.flatnonzero(days == np.datetime64(d, "D"))
            hit[rows] = _member(keys, c1[rows], c2[rows])
        return hit

    def _day(self, source: str, day: dt.date, files: tuple[str, ...]) -> _DayKeys:
        entry = self._days.get((source, day))
        if entry is not None and entry.files == files:
            self._days.move_to_end((source, day))
            return entry
        if entry is not None:
            self._drop((source, day))
        table = pq.read_table(list(files), columns=["k1", "k2"], partitioning=None)
        k1 = table["k1"].to_numpy().astype(np.uint64, copy=False)
        k2 = table["k2"].to_numpy().astype(np.uint64, copy=False)
        order = np.lexsort((k2, k1))
        entry = _DayKeys(files, k1[order], k2[order])
        self.reads += 1
        if len(order) <= self.max_keys:
            self._days[(source, day)] = entry
            self._held += len(order)
            while self._held > self.max_keys:
                self._drop(next(iter(self._days)))
        return entry

    def _drop(self, key: tuple[str, dt.date]) -> None:
        entry = self._days.pop(key)
        self._held -= len(entry.k1)


def _member(keys: _DayKeys, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """Exact membership of (c1, c2) pairs in the sorted (k1, k2) arrays."""
    left = np.searchsorted(keys.k1, c1, side="left")
    right = np.searchsorted(keys.k1, c1, side="right")
    span = right - left
    out = np.zeros(len(c1), dtype=bool)
    one = np.flatnonzero(span == 1)
    out[one] = keys.k2[left[one]] == c2[one]
    for i in np.flatnonzero(span > 1):  # several stored keys share this k1: compare their k2 (rare)
        out[i] = bool(np.any(keys.k2[left[i]:right[i]] == c2[i]))
    return out
