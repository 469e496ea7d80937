"""The demo panel's design: weights add up to the universe, and expected audiences equal the profiles."""

from __future__ import annotations

import numpy as np

from thuocdo.catalog import load_catalog
from thuocdo.demo.panel import REACH_CAP, design
from thuocdo.demo.targets import MONTHS, PROFILES, PROVINCIAL, QUARTERS, TRENDS, UNIVERSE


def test_weights_add_up_to_the_universe_of_each_province_and_month() -> None:
    panel = design(load_catalog(), 500, np.random.default_rng(1))
    for m in (0, len(MONTHS) - 1):
        by_province = np.bincount(panel.home, weights=panel.weights(m), minlength=len(panel.provinces))
        assert np.allclose(by_province, panel.universe[m])
    assert abs(panel.universe[MONTHS.index("2021-07")].sum() - UNIVERSE[2021]) < 1
    june_2022 = UNIVERSE[2021] + (UNIVERSE[2022] - UNIVERSE[2021]) * 11 / 12  # linear between mid-years
    assert abs(panel.universe[MONTHS.index("2022-06")].sum() - june_2022) < 1
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
