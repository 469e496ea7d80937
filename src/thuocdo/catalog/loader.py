"""The :class:`Catalog`: every reference table, loaded once and indexed for lookups."""

from __future__ import annotations

import datetime as dt
import functools

from thuocdo.catalog.history import (
    DatedName,
    Document,
    Issuer,
    PlatformDates,
    load_documents,
    load_issuers,
    load_platform_dates,
    load_platform_names,
    load_province_names,
    name_on,
)
from thuocdo.catalog.model import (
    LEVEL_NEW,
    LEVEL_OLD,
    Category,
    OperatorKpi,
    Platform,
    Province,
    ResolvedProvince,
)
from thuocdo.catalog.platforms import PlatformResolver, load_categories, load_kpis, load_platforms
from thuocdo.catalog.populations import (
    LEVEL_NATION,
    NATION_CODE,
    PopulationRow,
    PopulationTable,
    load_mobile_internet_anchor,
)
from thuocdo.catalog.provinces import (
    REORGANISATION_DATE,
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
                 province_aliases: tuple[tuple[str, str, str], ...] = (),
                 platform_names: tuple[DatedName, ...] = (), platform_dates: tuple[PlatformDates, ...] = (),
                 province_names: tuple[DatedName, ...] = (), issuers: tuple[Issuer, ...] = (),
                 documents: tuple[Document, ...] = (), mobile_internet_anchor: tuple[int, float] | None = None) -> None:
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
        self._platform_names = platform_names
        self._platform_dates = {d.platform: d for d in platform_dates}
        self._province_names = province_names
        self._old = {p.code: p for p in provinces_old}
        self._new = {p.code: p for p in provinces_new}
        self.issuers = issuers
        self.documents = documents
        self._mobile_internet_anchor = mobile_internet_anchor

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

    def mobile_internet_users(self, year: int, new_code: str | None = None) -> float | None:
        """Persons of all ages who use the internet on a mobile phone, in the nation (code None) or a 34-unit in
        ``year``: the population a panel's weights stand for and the denominator of penetration (SOURCES.md)."""
        if self._mobile_internet_anchor is None:
            return None
        anchor_year, anchor_users = self._mobile_internet_anchor
        national = self.smartphone_users(anchor_year)
        users = self.smartphone_users(year, new_code)
        return None if users is None or not national else users * anchor_users / national

    def platform_name(self, platform_id: str, on: dt.date) -> str:
        """The platform's name on a day, from ``platform_names.csv``; the catalog's name otherwise.

        The dates are the first day a new name was in use (the file's ``source`` column cites the press of the
        day): X was "Twitter" until 23/07/2023 (the rename was announced on 23/07/2023, the X name and logo went
        live on 24/07/2023); Google Wallet was "Google Pay" until 17/07/2022 (Google began rolling Wallet out as
        an update of the Google Pay app on 18/07/2022).
        """
        dated = name_on(self._platform_names, platform_id, on)
        return dated.name if dated is not None else self.platform(platform_id).name

    def platform_dates(self, platform_id: str) -> PlatformDates | None:
        """When the platform started (and stopped), where the catalog knows it."""
        return self._platform_dates.get(platform_id)

    def province_name(self, code: str, on: dt.date, level: str = LEVEL_NEW) -> str:
        """A unit's short name as it was on a day: "Thừa Thiên Huế" before 2025, "TP. Hồ Chí Minh" with its
        prefix; a 34-unit before 01/07/2025 is named by the former unit it was, or as the area of the former
        units it merged ("địa bàn Long An và Tây Ninh")."""
        if level == LEVEL_OLD:
            dated = name_on(self._province_names, f"{LEVEL_OLD}:{code}", on)
            unit = self._old.get(code)
            return dated.short_name if dated else unit.short_name if unit else code
        if on < REORGANISATION_DATE:
            members = [p.code for p in self.provinces_old if p.new_code == code]
            names = [self.province_name(m, on, LEVEL_OLD) for m in members]
            if len(names) == 1:
                return names[0]
            if names:
                return "địa bàn " + (", ".join(names[:-1]) + " và " + names[-1])
        dated = name_on(self._province_names, f"{LEVEL_NEW}:{code}", on)
        unit = self._new.get(code)
        return dated.short_name if dated else unit.short_name if unit else code

    def issuer(self, issuer_id: str) -> Issuer:
        """The issuing body with this id; KeyError when there is none."""
        for issuer in self.issuers:
            if issuer.id == issuer_id:
                return issuer
        raise KeyError(issuer_id)

    def issuer_on(self, day: dt.date) -> Issuer | None:
        """The body that issued the reports on a day (the Ministry of Information and Communications until
        28/02/2025, the Ministry of Science and Technology from 01/03/2025)."""
        return next((i for i in self.issuers if i.validity.holds_on(day)), None)

    def document(self, reference: str) -> Document | None:
        """A cited document (decision, resolution, report) by its reference, e.g. ``405/QĐ-BKHCN``."""
        return next((d for d in self.documents if d.reference == reference), None)

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
    ids = {p.id for p in platforms}
    codes = {LEVEL_NEW: {p.code for p in provinces_new}, LEVEL_OLD: {p.code for p in provinces_old}}
    return Catalog(
        categories=categories,
        platforms=platforms,
        kpis=load_kpis(p.id for p in platforms),
        provinces_new=provinces_new,
        provinces_old=provinces_old,
        populations=PopulationTable.load(),
        province_aliases=load_province_aliases(),
        platform_names=load_platform_names(ids),
        platform_dates=load_platform_dates(ids),
        province_names=load_province_names(codes),
        issuers=load_issuers(),
        documents=load_documents(),
        mobile_internet_anchor=load_mobile_internet_anchor(),
    )
