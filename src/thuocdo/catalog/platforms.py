"""Categories, platforms and operator KPIs: loading, checking and resolving incoming names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from thuocdo.catalog.model import (
    ORIGINS,
    PLATFORM_KINDS,
    CatalogError,
    Category,
    OperatorKpi,
    Platform,
)
from thuocdo.catalog.names import exact_key, loose_key
from thuocdo.catalog.tables import parse_bool, read_table, require_unique, split_list

CATEGORIES_FILE = "categories.csv"
PLATFORMS_FILE = "platforms.csv"
KPIS_FILE = "operator_kpis.csv"


def load_categories() -> tuple[Category, ...]:
    rows = read_table(CATEGORIES_FILE, ("id", "name_vi", "name_en", "programme_2022"))
    categories = tuple(
        Category(r["id"], r["name_vi"], r["name_en"],
                 parse_bool(r["programme_2022"], f"{CATEGORIES_FILE} row {r['id']}"))
        for r in rows
    )
    require_unique((c.id for c in categories), f"{CATEGORIES_FILE} id")
    return categories


def load_platforms(category_ids: Iterable[str]) -> tuple[Platform, ...]:
    known = set(category_ids)
    columns = ("id", "name", "category", "origin", "owner", "kind", "aliases")
    platforms: list[Platform] = []
    for row in read_table(PLATFORMS_FILE, columns):
        where = f"{PLATFORMS_FILE} row {row['id']!r}"
        if row["category"] not in known:
            raise CatalogError(f"{where}: unknown category {row['category']!r}")
        if row["origin"] not in ORIGINS:
            raise CatalogError(f"{where}: origin must be one of {sorted(ORIGINS)}")
        if row["kind"] not in PLATFORM_KINDS:
            raise CatalogError(f"{where}: kind must be one of {sorted(PLATFORM_KINDS)}")
        platforms.append(Platform(row["id"], row["name"], row["category"], row["origin"],
                                  row["owner"], row["kind"], split_list(row["aliases"])))
    require_unique((p.id for p in platforms), f"{PLATFORMS_FILE} id")
    return tuple(platforms)


def load_kpis(platform_ids: Iterable[str]) -> tuple[OperatorKpi, ...]:
    known = set(platform_ids)
    kpis: list[OperatorKpi] = []
    for row in read_table(KPIS_FILE, ("id", "platform", "unit", "label_vi")):
        platform = row["platform"] or None
        if platform is not None and platform not in known:
            raise CatalogError(f"{KPIS_FILE} row {row['id']!r}: unknown platform {platform!r}")
        kpis.append(OperatorKpi(row["id"], platform, row["unit"], row["label_vi"]))
    require_unique((k.id for k in kpis), f"{KPIS_FILE} id")
    return tuple(kpis)


def platform_names(platform: Platform) -> tuple[str, ...]:
    """Every string that names the platform: its id, display name and aliases."""
    return (platform.id, platform.name, *platform.aliases)


class PlatformResolver:
    """Maps an incoming ``platform`` value (id, name, alias, bundle id, domain) to a platform id.

    An exact match (case-insensitive, NFC, trimmed) wins; otherwise a match without diacritics,
    punctuation or URL decoration is accepted when it points to one platform only.
    """

    def __init__(self, platforms: Iterable[Platform]) -> None:
        self._exact: dict[str, str] = {}
        loose: dict[str, set[str]] = {}
        for platform in platforms:
            for name in platform_names(platform):
                key = exact_key(name)
                owner = self._exact.setdefault(key, platform.id)
                if owner != platform.id:
                    raise CatalogError(
                        f"{PLATFORMS_FILE}: {name!r} names both {owner!r} and {platform.id!r}")
                loose.setdefault(loose_key(name), set()).add(platform.id)
        self._loose: Mapping[str, str] = {
            k: next(iter(ids)) for k, ids in loose.items() if k and len(ids) == 1}
        self.ambiguous_loose_keys: frozenset[str] = frozenset(
            k for k, ids in loose.items() if len(ids) > 1)

    def resolve(self, value: str) -> str | None:
        found = self._exact.get(exact_key(value))
        if found is not None:
            return found
        key = loose_key(value)
        return self._loose.get(key) if key else None
