"""The report's retention sentence for declining categories (thuocdo.reports.build.retention_sentence), on the
hand-made panel of tests/reports/report_fixture.py: persons p01…pN of each platform each month, so a platform's
December users are the first of its March users (or the reverse) and every share follows from the user counts."""

from __future__ import annotations

import pytest

from tests.reports.report_fixture import USERS
from thuocdo.catalog import load_catalog
from thuocdo.reports.build import period_true, retention_sentence
from thuocdo.reports.context import ReportInputs, platform_rows


def test_the_persons_are_followed_from_december_to_march(inputs: ReportInputs) -> None:
    followed = inputs.followed
    assert followed is not None
    assert (followed.source, followed.before, followed.after) == ("fixture-panel", "2021-12", "2022-03")
    kept = {r["platform"]: r for r in followed.kept.to_pylist() if r["months_since"] == 1}
    back = {r["platform"]: r for r in followed.returning.to_pylist() if r["months_since"] == 1}
    for platform, ((_, december, march), _, _) in USERS.items():
        if not december or not march:
            continue
        both = min(december, march)
        assert kept[platform]["retained_share"] == pytest.approx(both / december), platform
        assert back[platform]["retained_share"] == pytest.approx(both / march), platform
        assert kept[platform]["cohort_sample"] == december and back[platform]["cohort_sample"] == march


def test_the_sentence_says_who_keeps_users_and_who_gains_new_ones(inputs: ReportInputs) -> None:
    catalog = load_catalog()
    rows = period_true(platform_rows(inputs.platforms["2022-Q1"], inputs.min_cell), catalog, "2022-Q1")
    text = retention_sentence(inputs, catalog, rows, [catalog.platform("grab").category])
    # Grab 26 -> 30 users: all kept, 4 of 30 new; Be 22 -> 24: 2 of 24 new. Over the platforms with 20 or more
    # panelists in both months, every user is kept and the median share of new users is that of Zalo (2/36) and
    # Messenger (2/32) averaged: 5,9%
    assert "Grab: giữ lại 100,0%, người dùng mới 13,3%; Be: giữ lại 100,0%, người dùng mới 8,3%" in text
    assert text.endswith("Mức chung (trung vị các nền tảng): giữ lại 100,0%, người dùng mới 5,9%.")
    assert "tháng 12/2021" in text and "tháng 3/2022" in text
    assert retention_sentence(inputs, catalog, rows, []) == ""


def test_a_platform_below_the_median_is_said_to_lose_users_or_gain_few(inputs: ReportInputs) -> None:
    import dataclasses

    import pyarrow as pa

    from thuocdo.reports.context import Followed

    def table(shares: dict[str, float]) -> pa.Table:
        return pa.Table.from_pylist([{"platform": p, "months_since": 1, "retained_share": v, "cohort_sample": 50}
                                     for p, v in shares.items()])

    # kept: Zalo 50%, Messenger and Viber 90% (median 90%); new users: Zalo 5%, Messenger 20%, Viber 10%
    followed = Followed("fixture-panel", "2021-12", "2022-03", table({"zalo": 0.5, "messenger": 0.9, "viber": 0.9}),
                        table({"zalo": 0.95, "messenger": 0.8, "viber": 0.9}))
    catalog = load_catalog()
    rows = period_true(platform_rows(inputs.platforms["2022-Q1"], inputs.min_cell), catalog, "2022-Q1")
    text = retention_sentence(dataclasses.replace(inputs, followed=followed), catalog, rows,
                              [catalog.platform("zalo").category])
    assert ("Zalo: giữ lại 50,0%, người dùng mới 5,0% (mất người dùng cũ nhiều hơn mức chung và ít người dùng mới "
            "hơn mức chung); Messenger: giữ lại 90,0%, người dùng mới 20,0%.") in text
    assert text.endswith("giữ lại 90,0%, người dùng mới 10,0%.")
