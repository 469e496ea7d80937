"""Missing values: fill them (every filled cell is returned in a mask, so results can flag it) or measure
how much data an entity has. Entities along axis 0, indicators along axis 1.

>>> x = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 8.0]])
>>> filled, mask = impute_mean(x)
>>> filled.tolist(), mask.tolist()
([[1.0, 6.0], [3.0, 4.0], [2.0, 8.0]], [[False, True], [False, False], [True, False]])
>>> impute_group_mean(x, ["n", "n", "s"])[0].tolist()
[[1.0, 4.0], [3.0, 4.0], [nan, 8.0]]
>>> impute_last_value(x, np.array([[[0.5, 0.7], [2.0, 3.5], [2.5, np.nan]]]))[0].tolist()
[[1.0, 0.7], [3.0, 4.0], [2.5, 8.0]]
>>> coverage(x, weights=[1, 0]).tolist()
[1.0, 1.0, 0.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

IMPUTATIONS = ("none", "mean", "group_mean", "last_value", "zero")


def _filled(x: np.ndarray, fill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    missing = np.isnan(x)
    out = np.where(missing, fill, x)
    return out, missing & ~np.isnan(out)


def impute_mean(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each missing value becomes the mean of its indicator over the entities that have it."""
    a = np.asarray(x, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(a, axis=0)
    return _filled(a, np.broadcast_to(means, a.shape))


def impute_group_mean(x: np.ndarray, groups: Sequence[object] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each missing value becomes the mean of its indicator within the entity's group (e.g. region);
    it stays missing when nobody in the group has the indicator."""
    a = np.asarray(x, dtype=float)
    g = np.asarray(groups, dtype=object)
    fill = np.full(a.shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for group in dict.fromkeys(g.tolist()):
            rows = g == group
            fill[rows] = np.nanmean(a[rows], axis=0)
    return _filled(a, fill)


def impute_last_value(x: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each missing value becomes the entity's latest earlier value; ``previous`` stacks earlier periods
    (most recent first) with the shape of ``x``."""
    a = np.asarray(x, dtype=float)
    fill = np.full(a.shape, np.nan)
    for earlier in np.asarray(previous, dtype=float):
        fill = np.where(np.isnan(fill), earlier, fill)
    return _filled(a, fill)


def impute_zero(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each missing value scores 0 (a DTI index without data or evidence earns no points)."""
    a = np.asarray(x, dtype=float)
    return _filled(a, np.zeros(a.shape))


def coverage(x: np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Share of each entity's indicators that have a value, counting only indicators of positive weight."""
    present = ~np.isnan(np.asarray(x, dtype=float))
    counted = np.ones(present.shape[1], dtype=bool) if weights is None else np.asarray(weights, dtype=float) > 0
    if not counted.any():
        return np.ones(present.shape[0])
    return np.asarray(present[:, counted].mean(axis=1), dtype=float)
