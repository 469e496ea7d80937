"""The 63 former and 34 current province-level units, and resolving incoming ``province`` values.

Codes were reused by the 2025 reorganisation (old 80 was Long An, new 80 is Tây Ninh), so a code is
only ever looked up in the set that was in force on the record's date, and old units reach new ones
through the official mapping (``new_code``), never through code equality.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from thuocdo.catalog.model import LEVEL_NEW, LEVEL_OLD, CatalogError, Province, ResolvedProvince
from thuocdo.catalog.names import nfc, province_key
from thuocdo.catalog.tables import read_table, require_unique

REORGANISATION_DATE: Final = dt.date(2025, 7, 1)  # Resolution 202/2025/QH15 takes effect
NEW_FILE = "provinces_new.csv"
OLD_FILE = "provinces_old.csv"
ALIASES_FILE = "province_aliases.csv"


def normalise_code(value: str) -> str | None:
    """``"1"``, ``"01"``, ``" 01 "`` → ``"01"``; None when the value is not a 1–3 digit number."""
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        return None
    return f"{int(text):02d}"


def load_provinces() -> tuple[tuple[Province, ...], tuple[Province, ...]]:
    """(the 34 new units, the 63 old units), each sorted by code."""
    new = tuple(
        Province(r["code"], r["name"], r["short_name"], LEVEL_NEW, r["code"])
        for r in read_table(NEW_FILE, ("code", "name", "short_name", "kind"))
    )
    old = tuple(
        Province(r["code"], r["name"], r["short_name"], LEVEL_OLD, r["new_code"])
        for r in read_table(OLD_FILE, ("code", "name", "short_name", "new_code"))
    )
    require_unique((p.code for p in new), f"{NEW_FILE} code")
    require_unique((p.code for p in old), f"{OLD_FILE} code")
    new_codes = {p.code for p in new}
    for unit in old:
        if unit.new_code not in new_codes:
            raise CatalogError(f"{OLD_FILE} row {unit.code}: unknown new_code {unit.new_code!r}")
    return tuple(sorted(new, key=lambda p: p.code)), tuple(sorted(old, key=lambda p: p.code))


def load_province_aliases() -> tuple[tuple[str, str, str], ...]:
    """(level, code, alias) rows: former official names and common abbreviations."""
    rows = read_table(ALIASES_FILE, ("level", "code", "alias"))
    return tuple((r["level"], r["code"], r["alias"]) for r in rows)


class ProvinceResolver:
    """Maps a code or a name (any case, with or without diacritics and kind prefix) to units."""

    def __init__(self, new: Sequence[Province], old: Sequence[Province],
                 aliases: Iterable[tuple[str, str, str]] = ()) -> None:
        self._new = {p.code: p for p in new}
        self._old = {p.code: p for p in old}
        members: dict[str, list[str]] = {}
        for unit in old:
            members.setdefault(unit.new_code, []).append(unit.code)
        # A new unit that is exactly one former unit (not merged) is also that former unit.
        self._unchanged_old: Mapping[str, str] = {
            code: codes[0] for code, codes in members.items() if len(codes) == 1}
        self._names = self._name_index(new, old, aliases)

    def _name_index(self, new: Sequence[Province], old: Sequence[Province],
                    aliases: Iterable[tuple[str, str, str]]) -> Mapping[str, ResolvedProvince]:
        found: dict[str, set[ResolvedProvince]] = {}

        def add(name: str, target: ResolvedProvince) -> None:
            key = province_key(name)
            if key:
                found.setdefault(key, set()).add(target)

        old_by_key = {province_key(p.short_name): p.code for p in old}
        for unit in old:
            for name in (unit.name, unit.short_name):
                add(name, ResolvedProvince(unit.new_code, unit.code))
        for unit in new:
            for name in (unit.name, unit.short_name):
                add(name, ResolvedProvince(unit.code, old_by_key.get(province_key(unit.short_name))))
        for level, code, alias in aliases:
            if level == LEVEL_OLD and code in self._old:
                add(alias, ResolvedProvince(self._old[code].new_code, code))
            elif level == LEVEL_NEW and code in self._new:
                add(alias, ResolvedProvince(code, self._unchanged_old.get(code)))
            else:
                raise CatalogError(f"{ALIASES_FILE}: unknown unit {level}/{code} for {alias!r}")
        ambiguous = sorted(k for k, targets in found.items() if len(targets) > 1)
        if ambiguous:
            raise CatalogError(f"province names that point to several units: {ambiguous}")
        return {key: next(iter(targets)) for key, targets in found.items()}

    def resolve(self, value: str, on: dt.date | None = None) -> ResolvedProvince | None:
        """A code is read in the set in force on ``on`` (new when ``on`` is None); a name in both."""
        code = normalise_code(value)
        if code is not None:
            if on is not None and _as_date(on) < REORGANISATION_DATE:
                unit = self._old.get(code)
                return None if unit is None else ResolvedProvince(unit.new_code, unit.code)
            if code not in self._new:
                return None
            return ResolvedProvince(code, self._unchanged_old.get(code))
        key = province_key(nfc(value))
        return self._names.get(key) if key else None


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
