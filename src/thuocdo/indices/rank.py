"""Ranks with ties, vectorised over leading axes (one ranking per row of the last axis).

``rank_descending`` gives rank 1 to the highest score. Ties share the better (lower) rank by default
("1, 2, 2, 4", as published rankings do); ``decimals`` rounds scores first, so that values equal as
published (0.457210 and 0.457210) tie even when their floating-point sums differ in the last bit.
Missing scores (NaN) get no rank (NaN) and do not count.

>>> rank_descending([0.8, 0.5, 0.8, np.nan, 0.1]).tolist()
[1.0, 3.0, 1.0, nan, 4.0]
>>> rank_descending([0.8, 0.5, 0.8, 0.1], method="dense").tolist()
[1.0, 2.0, 1.0, 3.0]
>>> rank_ascending([3.0, 1.0, 3.0], method="average").tolist()
[2.5, 1.0, 2.5]
>>> rank_descending([[1.0, 2.0], [2.0, 1.0]]).tolist()
[[2.0, 1.0], [1.0, 2.0]]
>>> rank_within_groups([0.9, 0.2, 0.5, 0.7], ["a", "b", "a", "b"]).tolist()
[1.0, 2.0, 2.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RANK_METHODS = ("min", "dense", "average")


def rank_ascending(x: Sequence[float] | np.ndarray, method: str = "min") -> np.ndarray:
    """Rank 1 for the smallest value of each row (last axis)."""
    a = np.asarray(x, dtype=float)
    if method not in RANK_METHODS:
        raise ValueError(f"unknown rank method {method!r}")
    flat = a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)
    missing = np.isnan(flat)
    key = np.where(missing, np.inf, flat)
    order = np.argsort(key, axis=1, kind="stable")
    s = np.take_along_axis(key, order, axis=1)
    n = s.shape[1]
    pos = np.broadcast_to(np.arange(n), s.shape)
    starts = np.ones(s.shape, dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    if method == "min":
        ranked = first + 1.0
    elif method == "dense":
        ranked = np.cumsum(starts, axis=1).astype(float)
    else:
        ends = np.ones(s.shape, dtype=bool)
        ends[:, :-1] = s[:, :-1] != s[:, 1:]
        last = np.minimum.accumulate(np.where(ends, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
        ranked = (first + last) / 2.0 + 1.0
    out = np.empty_like(ranked)
    np.put_along_axis(out, order, ranked, axis=1)
    out[missing] = np.nan
    return out.reshape(a.shape)


def rank_descending(x: Sequence[float] | np.ndarray, method: str = "min", decimals: int | None = None) -> np.ndarray:
    """Rank 1 for the highest value of each row (last axis)."""
    a = np.asarray(x, dtype=float)
    if decimals is not None:
        a = np.round(a, decimals)
    return rank_ascending(-a, method)


def rank_within_groups(x: Sequence[float] | np.ndarray, groups: Sequence[object] | np.ndarray, method: str = "min",
                       decimals: int | None = None) -> np.ndarray:
    """Ranks computed separately inside each group (groups along the last axis)."""
    a = np.asarray(x, dtype=float)
    g = np.asarray(groups, dtype=object)
    out = np.full(a.shape, np.nan)
    for group in dict.fromkeys(g.tolist()):
        cols = np.flatnonzero(g == group)
        out[..., cols] = rank_descending(a[..., cols], method, decimals)
    return out


def rank_change(current: Sequence[float] | np.ndarray, previous: Sequence[float] | np.ndarray) -> np.ndarray:
    """Places gained since the previous ranking (positive: moved up); NaN when either rank is missing.

    >>> rank_change([1, 5, 3], [2, 4, np.nan]).tolist()
    [1.0, -1.0, nan]
    """
    change: np.ndarray = np.asarray(previous, dtype=float) - np.asarray(current, dtype=float)
    return change


def score_change(current: Sequence[float] | np.ndarray,
                 previous: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(absolute change, relative change) against the previous period; relative is NaN when previous is 0.

    >>> [c.tolist() for c in score_change([0.80, 0.50], [0.64, 0.0])]
    [[0.16000000000000003, 0.5], [0.25, nan]]
    """
    cur, prev = np.asarray(current, dtype=float), np.asarray(previous, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(prev != 0, cur / np.where(prev != 0, prev, 1.0) - 1.0, np.nan)
    return cur - prev, relative
