"""The demo names only platforms and provinces that the catalog knows."""

from __future__ import annotations

from thuocdo.catalog import load_catalog
from thuocdo.demo.generator import PUBLISHED
from thuocdo.demo.targets import ACTIVITY, DECLINING, PROVINCIAL, TARGETS


def test_demo_platform_ids_exist() -> None:
    catalog = load_catalog()
    ids = {p.id for p in catalog.platforms}
    named = set(TARGETS) | set(ACTIVITY) | set(DECLINING) | set(PROVINCIAL) | {p for p, *_ in PUBLISHED}
    assert named - ids == set()
    codes = {p.code for p in catalog.provinces_new}
    assert {code for code, _ in PROVINCIAL.values()} <= codes
