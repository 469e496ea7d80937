"""Sampling error of the demo panel's estimates, derived from its design (weights, panelists, reach) and from
the generator's distributions: what a reference figure may differ by, and nothing else.

* MAU (a weighted count): within each province the panelists are a random sample, so
  Var = Σ_h U_h² r_h (1 − r_h) / n_h (U universe, r reach, n panelists).
* Time per active day and MB per user (ratios of weighted sums over users): linearised variance
  Σ_h w_h² n_h r_h Var(z) / (Σ_h w_h n_h r_h E[x])², with the per-user variance ``Var(z)`` given by the
  log-normal spreads and the binomial number of active days of :mod:`thuocdo.demo.generator`.
* A decline against the same quarter of the year before (users of the later quarter are a thinning of the
  earlier ones, because each person's draw is kept): Var(ρ) ≈ Σ w² n r ρ (1 − ρ) / (Σ w n r)².
"""

from __future__ import annotations

import calendar
import math

import numpy as np

from thuocdo.demo.generator import SIGMA_BYTES, SIGMA_DAY, SIGMA_INTENSITY
from thuocdo.demo.panel import PanelDesign
from thuocdo.demo.targets import MONTHS, PROFILES


def _spread(sigma: float) -> float:
    """Variance of a log-normal factor with mean 1."""
    return math.exp(sigma * sigma) - 1


def _days(month: int) -> int:
    year, mon = (int(x) for x in MONTHS[month].split("-"))
    return calendar.monthrange(year, mon)[1]


def _users(panel: PanelDesign, platform: str, quarter: str, province: str | None = None) -> tuple[np.ndarray, ...]:
    months = panel.quarter_months(quarter)
    p = panel.platforms.index(platform)
    reach = panel.reach[p, months].mean(axis=0)
    universe = panel.universe[months].mean(axis=0)
    n = panel.panelists.astype(float)
    if province is not None:
        keep = np.array(panel.provinces) == province
        reach, universe, n = reach * keep, universe * keep, n * keep
    w = universe / np.maximum(n, 1)
    return reach, universe, n, w


def mau_se(panel: PanelDesign, platform: str, quarter: str, province: str | None = None) -> float:
    reach, universe, n, _ = _users(panel, platform, quarter, province)
    return math.sqrt(float(np.sum(universe ** 2 * reach * (1 - reach) / np.maximum(n, 1))))


def _active_days(panel: PanelDesign, platform: str, quarter: str) -> tuple[float, float]:
    """Mean and variance of a user's active days in the quarter."""
    q = PROFILES[platform].days
    mean = var = 0.0
    for m in panel.quarter_months(quarter):
        d = _days(m)
        mean += 1 + (d - 1) * q
        var += (d - 1) * q * (1 - q)
    return mean, var


def minutes_se(panel: PanelDesign, platform: str, quarter: str) -> float:
    reach, _, n, w = _users(panel, platform, quarter)
    a, b = float(np.sum(w * w * n * reach)), float(np.sum(w * n * reach))
    ex, vx = _active_days(panel, platform, quarter)
    var_z = _spread(SIGMA_INTENSITY) * (vx + ex * ex) + (1 + _spread(SIGMA_INTENSITY)) * ex * _spread(SIGMA_DAY)
    return PROFILES[platform].minutes * math.sqrt(a * var_z) / (b * ex)


def mb_se(panel: PanelDesign, platform: str, quarter: str) -> float:
    reach, _, n, w = _users(panel, platform, quarter)
    a, b = float(np.sum(w * w * n * reach)), float(np.sum(w * n * reach))
    ex, vx = _active_days(panel, platform, quarter)
    months = len(panel.quarter_months(quarter))
    k_mean, k_var = ex / months, vx / months  # one month
    daily = (1 + _spread(SIGMA_DAY)) * (1 + _spread(SIGMA_BYTES)) - 1
    c_s = (k_mean * daily + k_var) / (k_mean * k_mean)
    cv2 = (1 + _spread(SIGMA_INTENSITY)) * (1 + c_s / months) - 1  # the mean of the quarter's months
    return PROFILES[platform].mb * math.sqrt(a * cv2) / b


def decline_se(panel: PanelDesign, platforms: list[str], earlier: str, later: str) -> tuple[float, float]:
    """Expected relative change of the platforms' summed MAU from `earlier` to `later`, and its standard error."""
    a = b = t_earlier = t_later = 0.0
    for pid in platforms:
        reach, universe, n, w = _users(panel, pid, earlier)
        a += float(np.sum(w * w * n * reach))
        b += float(np.sum(w * n * reach))
        t_earlier += float(np.sum(universe * reach))
        r2, u2, _, _ = _users(panel, pid, later)
        t_later += float(np.sum(u2 * r2))
    rho = t_later / t_earlier
    return rho - 1, math.sqrt(a * rho * (1 - rho)) / b
