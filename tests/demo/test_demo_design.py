"""The demo panel's design: weights add up to the universe, and expected audiences equal the profiles."""

from __future__ import annotations

import numpy as np

from thuocdo.catalog import load_catalog
from thuocdo.demo.panel import REACH_CAP, design
from thuocdo.demo.targets import MONTHS, PROFILES, PROVINCIAL, QUARTERS, TRENDS


def test_weights_add_up_to_the_universe_of_each_province_and_month() -> None:
    panel = design(load_catalog(), 500, np.random.default_rng(1))
    for m in (0, len(MONTHS) - 1):
        by_province = np.bincount(panel.home, weights=panel.weights(m), minlength=len(panel.provinces))
        assert np.allclose(by_province, panel.universe[m])
    catalog = load_catalog()
    for month in ("2021-07", "2022-06"):  # the catalog's mobile internet users: the denominator of penetration too
        assert abs(panel.universe[MONTHS.index(month)].sum() - (catalog.mobile_internet_users(int(month[:4])) or 0)) < 1
    assert abs((catalog.mobile_internet_users(2022) or 0) - 78e6) < 1
    hue = panel.provinces.index("46")
    share = panel.universe[0] / panel.universe[0].sum()
    assert panel.panelists[hue] / panel.panelists.sum() > 3 * share[hue]  # the boost sample


def test_expected_mau_equals_each_profile_and_trend() -> None:
    panel = design(load_catalog(), 500, np.random.default_rng(1))
    for p, pid in enumerate(panel.platforms):
        prof = PROFILES[pid]
        for q, quarter in enumerate(QUARTERS):
            months = panel.quarter_months(quarter)
            expected = (panel.universe[months] * panel.reach[p, months]).sum(axis=1).mean()
            assert abs(expected - prof.mau * TRENDS[prof.trend][q]) <= 1e-6 * max(prof.mau, 1), (pid, quarter)
        assert panel.reach[p].max() <= REACH_CAP
        if pid in PROVINCIAL:
            outside = np.array(panel.provinces) != PROVINCIAL[pid]
            assert panel.reach[p][:, outside].max() == 0


def test_no_platform_can_pass_the_population_it_is_divided_by() -> None:
    """Penetration = MAU ÷ the panel's universe: each person counts at most once, so no reach reaches 100%."""
    panel = design(load_catalog(), 500, np.random.default_rng(1))
    assert panel.reach.max() <= REACH_CAP < 1
