"""Normalisation of indicator values: entities along axis 0, indicators along axis 1; NaN stays NaN.

``direction`` is +1 when a higher value is better and -1 when a lower one is (per indicator or for all);
every method returns "higher is better" scores.

>>> x = np.array([[10.0, 3.0], [20.0, 1.0], [30.0, np.nan]])
>>> min_max(x, direction=[1, -1]).tolist()
[[0.0, 0.0], [0.5, 1.0], [1.0, nan]]
>>> np.round(z_score(x[:, :1]), 3).ravel().tolist()
[-1.0, 0.0, 1.0]
>>> goalposts(np.array([[50.0], [130.0]]), low=0, high=120).ravel().tolist()
[0.4166666666666667, 1.0]
>>> distance_to_target(np.array([[40.0], [100.0]]), target=80).ravel().tolist()
[0.5, 1.0]
>>> rank_score(np.array([[5.0], [7.0], [7.0], [1.0]])).ravel().tolist()
[0.3333333333333333, 0.8333333333333334, 0.8333333333333334, 0.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thuocdo.indices.rank import rank_ascending

METHODS = ("none", "min_max", "z_score", "goalposts", "distance_to_target", "rank")


def _columns(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def _direction(direction: float | Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    d = np.broadcast_to(np.asarray(direction, dtype=float), (k,))
    if not np.all(np.isin(d, (-1.0, 1.0))):
        raise ValueError("direction must be +1 or -1")
    return d


def _nan_stat(fn: Any, a: np.ndarray, **kw: Any) -> np.ndarray:
    with warnings.catch_warnings():  # all-NaN columns give NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(fn(a, axis=0, **kw))


def min_max(x: np.ndarray, direction: float | Sequence[float] | np.ndarray = 1, lo: float = 0.0,
            hi: float = 1.0) -> np.ndarray:
    """(x − min) ÷ (max − min), mapped onto [lo, hi]; a constant column scores the midpoint."""
    a = _columns(x)
    a = a * _direction(direction, a.shape[1])
    low, high = _nan_stat(np.nanmin, a), _nan_stat(np.nanmax, a)
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(span > 0, (a - low) / np.where(span > 0, span, 1.0), 0.5)
    unit = np.where(np.isnan(a), np.nan, unit)
    return lo + (hi - lo) * unit


def z_score(x: np.ndarray, direction: float | Sequence[float] | np.ndarray = 1, ddof: int = 1) -> np.ndarray:
    """(x − mean) ÷ standard deviation (ddof 1, as R's ``sd``); a constant column scores 0."""
    a = _columns(x)
    a = a * _direction(direction, a.shape[1])
    mean, sd = _nan_stat(np.nanmean, a), _nan_stat(np.nanstd, a, ddof=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, (a - mean) / np.where(sd > 0, sd, 1.0), 0.0)
    return np.where(np.isnan(a), np.nan, z)


def goalposts(x: np.ndarray, low: float | Sequence[float] | np.ndarray, high: float | Sequence[float] | np.ndarray,
              direction: float | Sequence[float] | np.ndarray = 1, cap: bool = True) -> np.ndarray:
    """(x − low) ÷ (high − low) (or (high − x) ÷ (high − low) when lower is better); capped to [0, 1]."""
    a = _columns(x)
    d = _direction(direction, a.shape[1])
    lo_, hi_ = (np.broadcast_to(np.asarray(v, dtype=float), (a.shape[1],)) for v in (low, high))
    if np.any(hi_ <= lo_):
        raise ValueError("each high goalpost must be above its low goalpost")
    s = np.where(d > 0, (a - lo_) / (hi_ - lo_), (hi_ - a) / (hi_ - lo_))
    return np.asarray(np.clip(s, 0.0, 1.0) if cap else s, dtype=float)


def distance_to_target(x: np.ndarray, target: float | Sequence[float] | np.ndarray,
                       direction: float | Sequence[float] | np.ndarray = 1, cap: bool = True) -> np.ndarray:
    """x ÷ target (target ÷ x when lower is better): 1 at or beyond the target; capped to [0, 1]."""
    a = _columns(x)
    d = _direction(direction, a.shape[1])
    t = np.broadcast_to(np.asarray(target, dtype=float), (a.shape[1],))
    if np.any(t <= 0):
        raise ValueError("targets must be positive")
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(d > 0, a / t, t / a)
    return np.asarray(np.clip(s, 0.0, 1.0) if cap else s, dtype=float)


def rank_score(x: np.ndarray, direction: float | Sequence[float] | np.ndarray = 1) -> np.ndarray:
    """(rank − 1) ÷ (n − 1) with ties at their average rank, so 0 is the worst and 1 the best."""
    a = _columns(x)
    a = a * _direction(direction, a.shape[1])
    ranks = rank_ascending(a.T, method="average").T  # 1 = smallest
    n = np.sum(~np.isnan(a), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(n > 1, (ranks - 1) / np.where(n > 1, n - 1, 1), 0.5)
    return np.where(np.isnan(a), np.nan, scores)


@dataclass(frozen=True)
class Normalisation:
    """A normalisation method and its parameters (per-indicator ones align with the tree's leaves)."""

    method: str = "none"
    lo: float = 0.0  # min_max output range
    hi: float = 1.0
    low: tuple[float, ...] = field(default=())  # goalposts
    high: tuple[float, ...] = field(default=())
    target: tuple[float, ...] = field(default=())  # distance_to_target
    cap: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown normalisation {self.method!r} (known: {', '.join(METHODS)})")

    def apply(self, x: np.ndarray, direction: float | Sequence[float] | np.ndarray = 1) -> np.ndarray:
        match self.method:
            case "none":
                return _columns(x).copy()
            case "min_max":
                return min_max(x, direction, self.lo, self.hi)
            case "z_score":
                return z_score(x, direction)
            case "goalposts":
                return goalposts(x, self.low, self.high, direction, self.cap)
            case "distance_to_target":
                return distance_to_target(x, self.target, direction, self.cap)
            case "rank":
                return rank_score(x, direction)
        raise AssertionError(self.method)

    def params(self) -> dict[str, Any]:
        """The parameters that matter for this method (for the step log)."""
        keep = {"none": (), "min_max": ("lo", "hi"), "z_score": (), "goalposts": ("low", "high", "cap"),
                "distance_to_target": ("target", "cap"), "rank": ()}[self.method]
        return {"method": self.method, **{k: _plain(getattr(self, k)) for k in keep}}


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
