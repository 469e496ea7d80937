"""The pipeline on the DTI framework, worked by hand; the step log; the merged-province rule on the catalog."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from thuocdo.catalog import load_catalog
from thuocdo.catalog.frameworks import load_framework
from thuocdo.indices.compute import compute_index
from thuocdo.indices.merge import merge_units
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.spec import IndexSpec, spec_from_framework

DTI = load_framework("dti-2022").level("province")
# leaves: awareness, institutions, infrastructure, human_resources, cybersecurity, smart_city, gov, economy, society
A = [0.90, 0.80, 0.70, 0.60, 1.00, 0.10, 0.50, 0.40, 0.30]
B = [0.50, 0.50, 0.50, 0.50, 0.50, 0.90, 0.90, 0.90, 0.90]


def test_dti_total_is_points_obtained_over_1000_with_pillar_views() -> None:
    spec = spec_from_framework(DTI)
    r = compute_index(spec, ["A", "B"], np.array([A, B]))
    # A: 100·(0.9+0.8+0.7+0.6+1.0) = 400 foundation points; 200·0.5 + 150·0.4 + 150·0.3 = 205 activity points;
    # smart city is unscored. Total (400 + 205) / 1000 = 0.605.
    # B: 250 + 200·0.9 + 150·0.9 + 150·0.9 = 700 → 0.700.
    assert r.score().round(12).tolist() == [0.605, 0.7]
    assert r.score("foundation").round(12).tolist() == [0.8, 0.5]
    assert r.score("activity").round(12).tolist() == [0.41, 0.9]
    # pillar "digital government": (400 + 100) / 700 for A, (250 + 180) / 700 for B
    assert np.allclose(r.views["digital_government"], [500 / 700, 430 / 700])
    assert np.allclose(r.views["digital_economy"], [460 / 650, 385 / 650])
    assert r.rank.tolist() == [2.0, 1.0]


def test_a_missing_dti_index_scores_zero_and_is_flagged() -> None:
    spec = spec_from_framework(DTI)
    a = list(A)
    a[6] = np.nan  # no digital government activity value
    r = compute_index(spec, ["A"], np.array([a]))
    assert r.score().round(12).tolist() == [0.505]  # 605 − 100 points
    assert r.filled[0].tolist() == ["", "", "", "", "", "", "zero", "", ""]
    assert dict(r.log[1].params) == {"methods": ["zero"], "filled": {"zero": 1}}


def test_an_entity_without_any_value_gets_no_score_even_when_missing_values_score_zero() -> None:
    r = compute_index(spec_from_framework(DTI), ["A", "none"], np.array([A, [np.nan] * 9]))
    assert r.score()[0] == pytest.approx(0.605) and np.isnan(r.score()[1]) and np.isnan(r.rank[1])


def test_renormalising_instead_of_zero_and_the_availability_threshold() -> None:
    spec = replace(spec_from_framework(DTI), imputation=(), min_coverage=0.9)
    a = list(A)
    a[6] = np.nan
    r = compute_index(spec, ["A", "B"], np.array([a, B]))
    # the eight scored indices: A has 7 of 8 (0.875 < 0.9) and is left out; B is complete
    assert np.isnan(r.score()[0]) and np.isnan(r.rank[0]) and r.rank[1] == 1.0
    r = compute_index(replace(spec, min_coverage=0.0), ["A"], np.array([a]))
    # without gov activity the activity group is (150·0.4 + 150·0.3) / 300 = 0.35; total (400 + 500·0.35) / 1000
    assert r.score().round(12).tolist() == [0.575]


def test_the_step_log_rebuilds_the_index_with_other_weights() -> None:
    spec = spec_from_framework(DTI)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 1.0, size=(10, 9))
    r = compute_index(spec, [f"p{i}" for i in range(10)], x)
    log = json.loads(json.dumps([s.as_dict() for s in r.log]))
    rebuilt = IndexSpec.from_steps(log)
    assert rebuilt == spec
    equal = rebuilt.with_weights({"gov_activity": 150, "economy_activity": 150, "society_activity": 200})
    direct = compute_index(spec.with_weights({"gov_activity": 150, "economy_activity": 150, "society_activity": 200}),
                           r.entities, x)
    assert np.array_equal(compute_index(equal, r.entities, x).score(), direct.score())
    # hand: with the new points the activity group is (150 g + 150 e + 200 s) / 500
    g, e, s = x[:, 6], x[:, 7], x[:, 8]
    expected = (100 * x[:, :5].sum(axis=1) + 150 * g + 150 * e + 200 * s) / 1000
    assert np.allclose(direct.score(), expected)


def test_normalisation_and_geometric_from_the_log() -> None:
    spec = IndexSpec(spec_from_framework(DTI).tree, spec_from_framework(DTI).indicators,
                     Normalisation("min_max", lo=1, hi=100), "geometric", rank_decimals=None)
    back = IndexSpec.from_steps(spec.steps())
    assert back == spec
    x = np.array([A, B, [0.7] * 9])
    assert np.allclose(compute_index(back, ["a", "b", "c"], x).score(), compute_index(spec, ["a", "b", "c"], x).score())


def test_merged_province_rule_on_the_catalog_mapping() -> None:
    catalog = load_catalog()
    new_of_old = [p.new_code for p in catalog.provinces_old]
    new_codes = [p.code for p in catalog.provinces_new]
    old_index = {p.code: i for i, p in enumerate(catalog.provinces_old)}
    main = np.full((63, 2), np.nan)
    # new Tây Ninh (80) = former Long An (old 80) + former Tây Ninh (old 72); new Huế (46) = old Huế alone
    main[old_index["80"]] = [0.6, 0.2]
    main[old_index["72"]] = [0.8, np.nan]
    main[old_index["46"]] = [0.9, 0.7]
    merged, members, present = merge_units(main, new_of_old, new_codes)
    tay_ninh, hue = new_codes.index("80"), new_codes.index("46")
    assert merged[tay_ninh].tolist() == pytest.approx([0.7, 0.2])  # (0.6 + 0.8) / 2 and the only value 0.2
    assert (members[tay_ninh], present[tay_ninh].tolist()) == (2, [2, 1])
    assert merged[hue].tolist() == [0.9, 0.7] and members[hue] == 1
    assert members.sum() == 63 and (members >= 1).all()


def test_the_merged_total_is_the_mean_of_the_former_totals_when_complete() -> None:
    spec = spec_from_framework(DTI)
    old = compute_index(spec, ["long_an", "tay_ninh"], np.array([A, B]))
    merged, _, _ = merge_units(old.scores[:, [spec.tree.position[c] for c in DTI.main_indices]], ["80", "80"], ["80"])
    main_spec = replace(spec_from_framework(DTI, main_only=True), normalisation=Normalisation("none"))
    new = compute_index(main_spec, ["80"], merged)
    assert new.score().round(12).tolist() == [round((0.605 + 0.7) / 2, 12)]
