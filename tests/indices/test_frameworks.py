"""The frameworks and targets shipped as data: the structures the decisions publish, and the loader's rules."""

from __future__ import annotations

import pytest

from thuocdo.catalog import frameworks as fw
from thuocdo.catalog.frameworks import FrameworkError, load_framework, load_ministries, load_targets


def test_every_framework_names_its_legal_source_and_what_is_not_public() -> None:
    assert set(fw.framework_ids()) == {"desi-2022", "dti-2022", "dti-2025", "egdi"}
    for framework_id in fw.framework_ids():
        f = load_framework(framework_id)
        assert f.legal_source and f.not_public and f.url.startswith("https://")
    assert "922/QĐ-BTTTT" in load_framework("dti-2022").legal_source
    assert "405/QĐ-BKHCN" in load_framework("dti-2025").legal_source


def test_dti_2022_province_tree_as_decision_922() -> None:
    level = load_framework("dti-2022").level("province")
    main = {level.node(c).label_vi: level.node(c).points for c in level.main_indices}
    # nine main indices, 1,000 points: five foundation indices of 100, smart city unscored, activities 200/150/150
    assert main == {"Nhận thức số": 100, "Thể chế số": 100, "Hạ tầng số": 100, "Nhân lực số": 100,
                    "An toàn thông tin mạng": 100, "Đô thị thông minh": 0, "Hoạt động chính quyền số": 200,
                    "Hoạt động kinh tế số": 150, "Hoạt động xã hội số": 150}
    assert sum(level.node(c).sub_indicators or 0 for c in level.main_indices) == 98
    assert level.scale == 1000 and level.decimals == 4
    for view in level.views:  # each pillar: the five foundation indices and its own activity index
        assert len(view.members) == 6 and view.members[:5] == level.main_indices[:5]
    ministry = load_framework("dti-2022").level("ministry")
    assert sum(ministry.node(c).points for c in ministry.main_indices) == 1000
    assert sum(ministry.node(c).sub_indicators or 0 for c in ministry.main_indices) == 70


def test_dti_2025_structure_and_marked_assumptions() -> None:
    f = load_framework("dti-2025")
    province = f.level("province")
    assert len(province.main_indices) == 8 and province.node("dti").sub_indicators == 47
    assert all(province.node(c).assumed for c in province.main_indices)  # points not public: said so
    nation = f.level("nation")
    assert [(n.points, n.sub_indicators) for n in nation.nodes if n.parent == "dti"] == [(400, 4), (300, 3), (300, 5)]
    ministry = f.level("ministry")
    assert len(ministry.main_indices) == 6 and ministry.rank_groups == "ministry_group"
    groups = {m.group for m in load_ministries()}
    assert groups == set(fw.MINISTRY_GROUPS)


def test_egdi_is_the_mean_of_three_components() -> None:
    level = load_framework("egdi").level("nation")
    assert [(n.code, n.points) for n in level.leaves] == [("osi", 1), ("hci", 1), ("tii", 1)]


def test_targets_have_unit_direction_year_and_source() -> None:
    targets = {t.id: t for t in load_targets()}
    assert targets["de-gdp-2025-1437"].target == 20.5 and targets["de-gdp-2025-1437"].year == 2025
    assert (targets["dossiers-2025"].target, targets["dossiers-ministries-2025"].target,
            targets["dossiers-provinces-2025"].target) == (80, 85, 70)
    assert targets["digital-signature-2025"].target == 50
    egdi = targets["egdi-rank-2030"]
    assert (egdi.target, egdi.direction, egdi.unit) == (50, -1, "rank")
    for t in targets.values():
        assert t.source and t.unit in ("percent", "rank", "usd_bn", "percent_per_year") and t.direction in (1, -1)


def test_known_indicators_carry_ranges() -> None:
    known = fw.known_indicators()
    assert known["dti_awareness"] == (0.0, 1.0)
    assert known["online_dossiers"] == (0.0, 100.0)
    assert known["egdi_rank"] == (1.0, 1000.0)
    assert "domestic_mau_share" in known


def test_unknown_framework_or_level_is_said_in_vietnamese() -> None:
    with pytest.raises(FrameworkError, match="Không có bộ chỉ số 'dti-1999'"):
        load_framework("dti-1999")
    with pytest.raises(FrameworkError, match="không có cấp 'province'"):
        load_framework("egdi").level("province")


@pytest.mark.parametrize("nodes, message", [
    ([{"code": "r", "label_vi": "r"}, {"code": "a", "parent": "x", "label_vi": "a", "indicator": "i"}],
     "unknown parent"),
    ([{"code": "r", "label_vi": "r"}, {"code": "g", "parent": "r", "points": 10, "label_vi": "g"},
      {"code": "a", "parent": "g", "points": 4, "label_vi": "a", "indicator": "i"}], "sum to 4.0, not 10.0"),
    ([{"code": "r", "label_vi": "r"}, {"code": "a", "parent": "r", "label_vi": "a"}], "names no indicator"),
    ([{"code": "r", "label_vi": "r"}, {"code": "a", "parent": "r", "points": -1, "label_vi": "a", "indicator": "i"}],
     "expected a number"),
])
def test_the_loader_rejects_broken_trees(nodes: list[dict[str, object]], message: str) -> None:
    with pytest.raises(FrameworkError, match=message):
        fw._level("x.toml", "province", {"nodes": nodes})
