"""Population and smartphone users per unit and year (``data/populations.csv``; method in SOURCES.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, TypedDict

from thuocdo.catalog.model import LEVEL_NEW, LEVEL_OLD, CatalogError
from thuocdo.catalog.tables import read_table

POPULATIONS_FILE = "populations.csv"
MOBILE_INTERNET_FILE = "mobile_internet_users.csv"
LEVEL_NATION: Final = "nation"
NATION_CODE: Final = "VN"
COLUMNS: Final = ("level", "code", "year", "population", "smartphone_users",
                  "population_source", "smartphone_source")


class PopulationRow(TypedDict):
    """A row of the population table with numbers as numbers."""

    level: str
    code: str
    year: int
    population: int
    smartphone_users: int
    population_source: str
    smartphone_source: str


class PopulationTable:
    """Lookup of ``populations.csv`` by (level, code, year)."""

    def __init__(self, rows: Iterable[dict[str, str]]) -> None:
        self._rows: list[dict[str, str]] = []
        self._values: dict[tuple[str, str, int], tuple[float, float]] = {}
        for row in rows:
            where = f"{POPULATIONS_FILE} row {row.get('level')}/{row.get('code')}/{row.get('year')}"
            if row["level"] not in (LEVEL_NEW, LEVEL_OLD, LEVEL_NATION):
                raise CatalogError(f"{where}: unknown level")
            try:
                key = (row["level"], row["code"], int(row["year"]))
                value = (float(row["population"]), float(row["smartphone_users"]))
            except ValueError as exc:
                raise CatalogError(f"{where}: {exc}") from exc
            if key in self._values:
                raise CatalogError(f"{where}: duplicate row")
            self._values[key] = value
            self._rows.append(dict(row))

    @classmethod
    def load(cls) -> PopulationTable:
        return cls(read_table(POPULATIONS_FILE, COLUMNS))

    def population(self, year: int, level: str, code: str) -> float | None:
        found = self._values.get((level, code, year))
        return None if found is None else found[0]

    def smartphone_users(self, year: int, level: str, code: str) -> float | None:
        found = self._values.get((level, code, year))
        return None if found is None else found[1]

    def rows(self) -> list[PopulationRow]:
        """Plain rows with numbers as numbers, for loading into a database."""
        return [
            {"level": r["level"], "code": r["code"], "year": int(r["year"]),
             "population": int(r["population"]), "smartphone_users": int(r["smartphone_users"]),
             "population_source": r["population_source"],
             "smartphone_source": r["smartphone_source"]}
            for r in self._rows
        ]


def load_mobile_internet_anchor() -> tuple[int, float]:
    """(year, persons): the national mobile internet users of one year, which the other years and the units
    follow in proportion to their smartphone users (method in SOURCES.md)."""
    rows = read_table(MOBILE_INTERNET_FILE, ("year", "users", "source"))
    if len(rows) != 1:
        raise CatalogError(f"{MOBILE_INTERNET_FILE}: exactly one anchor row expected")
    try:
        return int(rows[0]["year"]), float(rows[0]["users"])
    except ValueError as exc:
        raise CatalogError(f"{MOBILE_INTERNET_FILE}: {exc}") from exc
