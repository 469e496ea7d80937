"""The demo panel's design: its universe by province and month, where its panelists live, their weights, and
each platform's reach by province and month calibrated to the audiences of :mod:`thuocdo.demo.targets`.

**Universe.** The panel stands for persons of all ages who use the internet on a mobile phone: in each month,
the catalog's figure for the province and the year (``Catalog.mobile_internet_users``; 78.0 M nationally in
2022, split over the 34 provinces like their smartphone users). ``penetration`` in the metric table divides
by the same figures, so no platform passes 100% of a province (the seed report's 101.3% for Hue-S divided an
all-ages audience by adult smartphone users; here Hue-S's 610,512 users are about 72% of Huế's).

**Sample.** Panelists are allocated half in proportion to each province's universe and half to its square
root (small provinces get enough panelists to be reported), and Huế has a boost sample (``targets.BOOST``).
A person's weight in a month is the province's universe that month divided by its panelists, so the weights
of each province add up to its universe exactly (calibration by province and month).

**Reach.** A platform's reach in a province is proportional to the province's smartphone rate (relative to
the nation) raised to the platform's ``urban`` elasticity, capped at 99.5%, and scaled so that the expected
weighted MAU of each quarter equals the profile's MAU × the trend level of the quarter. Each person draws one
uniform number per platform, kept for the whole period: the person uses the platform in a month when the
number is below that month's reach, so audiences persist and grow or shrink at the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thuocdo.catalog import Catalog
from thuocdo.demo.targets import BOOST, MONTHS, PROFILES, PROVINCIAL, QUARTERS, TRENDS

REACH_CAP = 0.995
MIN_PANELISTS = 5


@dataclass(frozen=True)
class PanelDesign:
    provinces: tuple[str, ...]  # the 34 new units' codes
    universe: np.ndarray  # (months, provinces) persons
    panelists: np.ndarray  # (provinces,) persons in the panel
    home: np.ndarray  # (persons,) index of the province each panelist lives in
    platforms: tuple[str, ...]
    reach: np.ndarray  # (platforms, months, provinces) probability of using the platform in the month

    @property
    def persons(self) -> int:
        return int(self.home.size)

    def weights(self, month: int) -> np.ndarray:
        """Each panelist's weight in a month: the province's universe ÷ its panelists."""
        weights: np.ndarray = (self.universe[month] / np.maximum(self.panelists, 1))[self.home]
        return weights

    def quarter_months(self, quarter: str) -> list[int]:
        return [MONTHS.index(m) for m in MONTHS if _quarter_of(m) == quarter]


def _quarter_of(month: str) -> str:
    year, mon = month.split("-")
    return f"{year}-Q{(int(mon) - 1) // 3 + 1}"


def universe(catalog: Catalog, provinces: tuple[str, ...]) -> np.ndarray:
    """(months, provinces): the catalog's mobile internet users of each province in the month's year."""
    out = np.empty((len(MONTHS), len(provinces)))
    for i, month in enumerate(MONTHS):
        year = int(month[:4])
        out[i] = [catalog.mobile_internet_users(year, c) or 0.0 for c in provinces]
    return out


def allocate(universe_2022: np.ndarray, persons: int, provinces: tuple[str, ...]) -> np.ndarray:
    """Panelists per province: half proportional, half square-root allocation, with boosts; sums to `persons`."""
    share = 0.5 * universe_2022 / universe_2022.sum() + 0.5 * np.sqrt(universe_2022) / np.sqrt(universe_2022).sum()
    share = share * np.array([BOOST.get(c, 1.0) for c in provinces])
    share /= share.sum()
    n: np.ndarray = np.maximum(MIN_PANELISTS, np.floor(share * persons)).astype(np.int64)
    left = persons - int(n.sum())
    if left > 0:  # largest remainders
        order = np.argsort(-(share * persons - np.floor(share * persons)))
        n[order[:left]] += 1
    return n


def urbanity(catalog: Catalog, provinces: tuple[str, ...], year: int = 2022) -> np.ndarray:
    """A province's smartphone users per inhabitant relative to the nation (about 0.8 to 1.1)."""
    rate = np.array([(catalog.smartphone_users(year, c) or 0.0) / (catalog.population(year, c) or 1.0)
                     for c in provinces])
    national = (catalog.smartphone_users(year) or 1.0) / (catalog.population(year) or 1.0)
    relative: np.ndarray = rate / national
    return relative


def calibrate_reach(catalog: Catalog, provinces: tuple[str, ...], platforms: tuple[str, ...],
                    universe_m: np.ndarray) -> np.ndarray:
    """(platforms, months, provinces) reach whose expected weighted MAU matches each quarter's target."""
    urb = urbanity(catalog, provinces)
    reach = np.zeros((len(platforms), len(MONTHS), len(provinces)))
    for p, pid in enumerate(platforms):
        prof = PROFILES[pid]
        shape = urb ** prof.urban
        if pid in PROVINCIAL:
            shape = np.where(np.array(provinces) == PROVINCIAL[pid], 1.0, 0.0)
        for q, quarter in enumerate(QUARTERS):
            months = [i for i, m in enumerate(MONTHS) if _quarter_of(m) == quarter]
            target = prof.mau * TRENDS[prof.trend][q]
            if target <= 0 or not months:
                continue
            pop = universe_m[months].mean(axis=0)
            lo, hi = 0.0, 1.0 / max(shape[shape > 0].min(), 1e-9)
            for _ in range(60):  # bisection: expected MAU rises with the scale
                mid = (lo + hi) / 2
                if (pop * np.minimum(REACH_CAP, mid * shape)).sum() < target:
                    lo = mid
                else:
                    hi = mid
            reach[p, months] = np.minimum(REACH_CAP, (lo + hi) / 2 * shape)
    return reach


def design(catalog: Catalog, persons: int, rng: np.random.Generator) -> PanelDesign:
    provinces = tuple(p.code for p in catalog.provinces_new)
    uni = universe(catalog, provinces)
    panelists = allocate(uni[MONTHS.index("2022-02")], persons, provinces)
    home = rng.permutation(np.repeat(np.arange(len(provinces)), panelists))
    platforms = tuple(p.id for p in catalog.platforms if p.id in PROFILES)
    return PanelDesign(provinces, uni, panelists, home, platforms, calibrate_reach(catalog, provinces, platforms, uni))
