"""Reference data shipped with thuocdo: platforms, categories, operator KPIs, provinces, populations.

Everything is read from the CSV files in ``data/`` (sources and dates in ``data/SOURCES.md``) by
:func:`load_catalog`, once, on first call; importing this package does no I/O.
"""

from thuocdo.catalog.loader import Catalog, load_catalog
from thuocdo.catalog.model import (
    CatalogError,
    Category,
    OperatorKpi,
    Platform,
    Province,
    ResolvedProvince,
)
from thuocdo.catalog.names import fold_diacritics

__all__ = [
    "Catalog",
    "CatalogError",
    "Category",
    "OperatorKpi",
    "Platform",
    "Province",
    "ResolvedProvince",
    "fold_diacritics",
    "load_catalog",
]
