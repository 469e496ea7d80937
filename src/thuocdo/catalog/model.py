"""The catalog's records: frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ORIGINS: Final = frozenset({"vn", "foreign"})
PLATFORM_KINDS: Final = frozenset({"app", "web", "app+web"})
LEVEL_NEW: Final = "new"
LEVEL_OLD: Final = "old"


class CatalogError(ValueError):
    """A shipped reference table breaks one of its rules (names the table, the row and the rule)."""


@dataclass(frozen=True)
class Category:
    """A need group of platforms (``communication``, ``payment``…)."""

    id: str
    name_vi: str
    name_en: str
    programme_2022: bool  # one of the nine need groups of the 2022 programme


@dataclass(frozen=True)
class Platform:
    """An app or website whose use is measured."""

    id: str
    name: str
    category: str  # a Category.id
    origin: str  # "vn" | "foreign"
    owner: str
    kind: str  # "app" | "web" | "app+web"
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Province:
    """A province-level unit: one of the 34 in force since 2025-07-01 (``new``) or the 63 before (``old``)."""

    code: str
    name: str
    short_name: str
    level: str  # "new" | "old"
    new_code: str  # for "new": its own code; for "old": the 34-unit it merged into


@dataclass(frozen=True)
class ResolvedProvince:
    """Where a ``province`` value points: always a new unit, and the former unit when one is named."""

    new_code: str
    old_code: str | None  # None when the value named a new unit that is not also a former unit


@dataclass(frozen=True)
class OperatorKpi:
    """An aggregate figure an operator may publish, beyond the metric dictionary."""

    id: str
    platform: str | None  # None: any platform may publish it
    unit: str
    label_vi: str
