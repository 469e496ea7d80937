"""The demo names only platforms and provinces that the catalog knows, and profiles every catalog platform."""

from __future__ import annotations

from thuocdo.catalog import load_catalog
from thuocdo.demo.generator import PUBLISHED
from thuocdo.demo.targets import BOOST, PROFILES, PROVINCIAL, REFERENCE, TRENDS


def test_demo_platform_ids_exist() -> None:
    catalog = load_catalog()
    ids = {p.id for p in catalog.platforms}
    named = set(PROFILES) | set(PROVINCIAL) | {p for p, *_ in PUBLISHED} | {r.platform for r in REFERENCE}
    assert named - ids == set()
    assert ids - set(PROFILES) == set(), "every catalog platform has a demo profile"
    assert {p.trend for p in PROFILES.values()} <= set(TRENDS)
    codes = {p.code for p in catalog.provinces_new}
    assert set(PROVINCIAL.values()) <= codes and set(BOOST) <= codes


def test_published_metrics_are_known() -> None:
    kpis = {k.id for k in load_catalog().kpis}
    assert {m for _, _, m, _ in PUBLISHED} <= kpis | {"visits", "web_rank", "downloads_total"}
