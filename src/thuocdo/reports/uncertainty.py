"""Sampling error of a panel estimate of MAU, and the minimum cell size below which a figure is withheld.

A weighted panel estimates a platform's MAU as T = Σ w over its active panelists. Within a province (a
stratum of the panel) the panelists are a simple random sample, so Var(T) = Σ_h N_h² p_h (1 − p_h) / n_h
= Σ_active w² (1 − p_h), where p_h is the platform's reach there. The metric table gives, per platform and
period, ``sample_persons`` (n, the unweighted active panelists) and, when the metric layer provides them,
``w2_persons`` (Σ w² over the active panelists) and ``universe`` (Σ w over all panelists: the population the
panel stands for). Without ``w2_persons`` the weights are taken as equal (Σ w² = MAU² ÷ n); without
``universe`` the factor (1 − p) is taken as 1, which overstates the error of very widespread platforms:
both fallbacks err on the side of a wider margin. A quarter's MAU is the mean of three monthly estimates
on the same panel, which are close to perfectly correlated: the error of one month is used.

>>> round(mau_standard_error(1_000_000, 100))
100000
>>> round(mau_standard_error(1_000_000, 100, w2=2e10))
141421
>>> round(mau_standard_error(75e6, 3000, universe=78e6))
268543
>>> round(margin_of_error(1_000_000, 100))
195996
>>> suppressed(19.0), suppressed(20.0), suppressed(None)
(True, False, False)
"""

from __future__ import annotations

import math

#: figures from fewer active panelists than this are not published (shown as "–" with a note)
MIN_CELL = 20
#: normal quantile of a two-sided 95% interval
Z95 = 1.959964


def mau_standard_error(mau: float, sample: float, *, w2: float | None = None,
                       universe: float | None = None) -> float:
    if sample <= 0 or mau <= 0:
        return math.nan
    sum_w2 = w2 if w2 is not None else mau * mau / sample
    finite = 1.0 - min(1.0, mau / universe) if universe else 1.0
    return math.sqrt(max(sum_w2 * finite, 0.0))


def margin_of_error(mau: float, sample: float, *, w2: float | None = None, universe: float | None = None) -> float:
    """Half-width of the 95% confidence interval of a MAU estimate."""
    return Z95 * mau_standard_error(mau, sample, w2=w2, universe=universe)


def suppressed(sample: float | None, minimum: int = MIN_CELL) -> bool:
    """A panel figure resting on fewer than `minimum` active panelists (published figures have no sample)."""
    return sample is not None and sample < minimum
