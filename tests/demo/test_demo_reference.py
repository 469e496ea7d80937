"""The default demo panel reproduces the seed report's figures for quarter I/2022 within its sampling error.

The tolerance of each figure is four standard errors, computed from the panel's design (weights, panelists,
reach) and the generator's distributions by :mod:`thuocdo.demo.errors` — not chosen to pass. With about 25
figures, a correct generator fails this test by chance with a probability of about 0.2%.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from thuocdo.catalog import load_catalog
from thuocdo.demo import errors
from thuocdo.demo.generator import DemoFiles, generate
from thuocdo.demo.run import DEFAULT_PERSONS, PANEL_SOURCE
from thuocdo.demo.targets import (
    COACH_CHANGE_YEAR,
    DATA_SPLIT_FOREIGN_MB,
    DATA_SPLIT_VN_MB,
    HUE_S_MAU,
    PROVINCIAL,
    REFERENCE,
)
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import metrics as metric_workflow

K = 4.0  # standard errors
QUARTER = "2022-Q1"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFiles, Path]:
    folder = tmp_path_factory.mktemp("demo")
    files = generate(load_catalog(), folder / "in", DEFAULT_PERSONS, 2022)
    home = folder / "home"
    ingest_workflow.ingest(home, "weights", [files.weights], PANEL_SOURCE)
    report = ingest_workflow.ingest(home, "usage", files.usage, PANEL_SOURCE)
    assert report.rejected == 0 and not report.errors
    return files, home


@pytest.fixture(scope="module")
def rows(demo: tuple[DemoFiles, Path]) -> dict[str, dict[str, object]]:
    table = metric_workflow.metrics(demo[1], metric_workflow.metric_request(QUARTER, "platform", PANEL_SOURCE))
    return {r["platform"]: r for r in table.to_pylist()}


def _se(files: DemoFiles, platform: str, metric: str) -> float:
    panel = files.design
    return {"mau": errors.mau_se, "minutes_per_day": errors.minutes_se,
            "mb_per_user": errors.mb_se}[metric](panel, platform, QUARTER)


@pytest.mark.slow
@pytest.mark.parametrize("ref", REFERENCE, ids=lambda r: f"{r.platform}-{r.metric}")
def test_reference_figure(ref, demo, rows) -> None:  # type: ignore[no-untyped-def]
    estimate = float(rows[ref.platform][ref.metric])  # type: ignore[arg-type]
    se = _se(demo[0], ref.platform, ref.metric)
    assert abs(estimate - ref.value) <= K * se, f"{ref.note}: {estimate:.4g} vs {ref.value:.4g} (SE {se:.3g})"


@pytest.mark.slow
def test_top_five_data_split(demo, rows) -> None:  # type: ignore[no-untyped-def]
    for platforms, reference in ((["zalo", "mocha"], DATA_SPLIT_VN_MB),
                                 (["messenger", "viber", "telegram"], DATA_SPLIT_FOREIGN_MB)):
        estimate = sum(float(rows[p]["mb_per_user"]) for p in platforms)  # type: ignore[arg-type]
        se = math.sqrt(sum(errors.mb_se(demo[0].design, p, QUARTER) ** 2 for p in platforms))
        assert abs(estimate - reference) <= K * se, (platforms, estimate, reference, se)


@pytest.mark.slow
def test_coach_tickets_fell_by_about_80_percent(demo, rows) -> None:  # type: ignore[no-untyped-def]
    apps = ["an-vui", "vexere"]
    now = sum(float(rows[p]["mau"]) for p in apps)  # type: ignore[arg-type]
    before = sum(float(rows[p]["mau_year_ago"]) for p in apps)  # type: ignore[arg-type]
    expected, se = errors.decline_se(demo[0].design, apps, "2021-Q1", QUARTER)
    assert abs(expected - COACH_CHANGE_YEAR) < 0.01  # the profiles encode the seed's -80%
    assert abs(now / before - 1 - COACH_CHANGE_YEAR) <= K * se


@pytest.mark.slow
def test_hue_s_penetration_in_hue(demo) -> None:  # type: ignore[no-untyped-def]
    files, home = demo
    table = metric_workflow.metrics(home, metric_workflow.metric_request(QUARTER, "province", PANEL_SOURCE))
    row = next(r for r in table.to_pylist() if r["platform"] == "hue-s" and r["province"] == PROVINCIAL["hue-s"])
    users = load_catalog().mobile_internet_users(2022, PROVINCIAL["hue-s"])
    assert users is not None and row["smartphone_users"] == users  # one population for the panel and penetration
    se = errors.mau_se(files.design, "hue-s", QUARTER, PROVINCIAL["hue-s"]) / users
    assert abs(row["penetration"] - HUE_S_MAU / users) <= K * se
    assert row["penetration"] < 1
    others = [r for r in table.to_pylist() if r["platform"] == "hue-s" and r["province"] != PROVINCIAL["hue-s"]]
    assert not others  # used only in its province


@pytest.mark.slow
def test_ranks_of_the_seed_report(rows) -> None:  # type: ignore[no-untyped-def]
    assert rows["grab"]["rank_in_category"] == 1 and rows["be"]["rank_in_category"] == 2
    assert rows["viettel-post"]["rank_in_category"] == 1
    assert rows["so-suc-khoe-dien-tu"]["rank_in_category"] == 1
    assert rows["zalo"]["mau"] > rows["messenger"]["mau"]  # type: ignore[operator]
