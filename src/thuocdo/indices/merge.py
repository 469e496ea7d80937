"""The merged-province rule: a province formed on 2025-07-01 from several former ones takes, for each main
index, the mean of its former provinces' values; its total is then computed from those means as usual.
(The Ministry of Science and Technology published DTI 2024 for the 34 provinces this way.)

>>> old = np.array([[0.8, 0.6], [0.4, np.nan], [0.9, 0.9]])
>>> merged, members, present = merge_units(old, ["X", "X", "Y"], ["X", "Y"])
>>> merged.tolist(), members.tolist(), present.tolist()
([[0.6000000000000001, 0.6], [0.9, 0.9]], [2, 1], [[2, 1], [1, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def merge_units(values: np.ndarray, new_of_old: Sequence[str], new_units: Sequence[str]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means per new unit, number of former units per new unit, number of former values present).

    ``values`` has one row per former unit (the order of ``new_of_old``, which names the unit each merged
    into) and one column per main index. A mean is taken over the former units that have a value; the count
    of present values lets the caller flag a merged value that misses some of its former units.
    """
    a = np.asarray(values, dtype=float)
    if a.ndim != 2 or a.shape[0] != len(new_of_old):
        raise ValueError("values must have one row per former unit")
    index = {code: i for i, code in enumerate(new_units)}
    unknown = sorted(set(new_of_old) - set(index))
    if unknown:
        raise ValueError(f"former units map to unknown new units: {unknown}")
    rows = np.array([index[c] for c in new_of_old], dtype=int)
    present = ~np.isnan(a)
    sums = np.zeros((len(new_units), a.shape[1]))
    counts = np.zeros((len(new_units), a.shape[1]), dtype=int)
    np.add.at(sums, rows, np.where(present, a, 0.0))
    np.add.at(counts, rows, present.astype(int))
    members = np.bincount(rows, minlength=len(new_units))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
    return means, members, counts
