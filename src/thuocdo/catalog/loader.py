"""The :class:`Catalog`: every reference table, loaded once and indexed for lookups."""

from __future__ import annotations

import datetime as dt
import functools

from thuocdo.catalog.model import (
    LEVEL_NEW,
    Category,
    OperatorKpi,
    Platform,
    Province,
    ResolvedProvince,
)
from thuocdo.catalog.platforms import PlatformResolver, load_categories, load_kpis, load_platforms
from thuocdo.catalog.populations import LEVEL_NATION, NATION_CODE, PopulationRow, PopulationTable
from thuocdo.catalog.provinces import (
    ProvinceResolver,
    load_province_aliases,
    load_provinces,
    normalise_code,
)


class Catalog:
    """Platforms, categories, operator KPIs, provinces (63 and 34) and populations."""

    def __init__(self, categories: tuple[Category, ...], platforms: tuple[Platform, ...],
                 kpis: tuple[OperatorKpi, ...], provinces_new: tuple[Province, ...],
                 provinces_old: tuple[Province, ...], populations: PopulationTable,
                 province_aliases: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.categories = categories
        self.platforms = platforms
        self.kpis = kpis
        self.provinces_new = provinces_new
        self.provinces_old = provinces_old
        self._categories = {c.id: c for c in categories}
        self._platforms = {p.id: p for p in platforms}
        self._platform_resolver = PlatformResolver(platforms)
        self._province_resolver = ProvinceResolver(provinces_new, provinces_old, province_aliases)
        self._populations = populations

    def platform(self, platform_id: str) -> Platform:
        """The platform with this id; KeyError when there is none."""
        return self._platforms[platform_id]

    def category(self, category_id: str) -> Category:
        """The category with this id; KeyError when there is none."""
        return self._categories[category_id]

    def resolve_platform(self, value: str) -> str | None:
        """The id of the platform an incoming value names (id, name, alias); None if unknown."""
        return self._platform_resolver.resolve(value)

    def resolve_province(self, value: str, on: dt.date | None = None) -> ResolvedProvince | None:
        """The unit a code or name points to; a bare code is old before 2025-07-01, new from then on
        (and when ``on`` is None)."""
        return self._province_resolver.resolve(value, on)

    def smartphone_users(self, year: int, new_code: str | None = None) -> float | None:
        """Smartphone users of the nation (code None) or of a 34-unit in ``year``; None if unknown."""
        return self._populations.smartphone_users(year, *self._population_key(new_code))

    def population(self, year: int, new_code: str | None = None) -> float | None:
        """Average population of the nation (code None) or of a 34-unit in ``year``; None if unknown."""
        return self._populations.population(year, *self._population_key(new_code))

    def platform_rows(self) -> list[dict[str, str]]:
        return [{"id": p.id, "name": p.name, "category": p.category, "origin": p.origin,
                 "owner": p.owner, "kind": p.kind} for p in self.platforms]

    def province_rows(self) -> list[dict[str, str]]:
        return [{"level": p.level, "code": p.code, "name": p.name, "short_name": p.short_name,
                 "new_code": p.new_code} for p in (*self.provinces_new, *self.provinces_old)]

    def population_rows(self) -> list[PopulationRow]:
        """Every row of the population table: levels ``nation``, ``new`` and ``old``."""
        return self._populations.rows()

    @staticmethod
    def _population_key(new_code: str | None) -> tuple[str, str]:
        if new_code is None:
            return LEVEL_NATION, NATION_CODE
        return LEVEL_NEW, normalise_code(new_code) or new_code


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog shipped with the package (read once, then cached)."""
    categories = load_categories()
    platforms = load_platforms(c.id for c in categories)
    provinces_new, provinces_old = load_provinces()
    return Catalog(
        categories=categories,
        platforms=platforms,
        kpis=load_kpis(p.id for p in platforms),
        provinces_new=provinces_new,
        provinces_old=provinces_old,
        populations=PopulationTable.load(),
        province_aliases=load_province_aliases(),
    )
