"""The runnable examples in the docstrings of the pure modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["thuocdo.model.periods", "thuocdo.model.tree", "thuocdo.model.sources", "thuocdo.store.sql",
           "thuocdo.indices.tree", "thuocdo.reports.vietnamese", "thuocdo.ingest.pseudonymise",
           "thuocdo.catalog.names", "thuocdo.web.dashboard.names", "thuocdo.demo.population"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
