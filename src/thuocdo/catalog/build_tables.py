"""Rebuild ``provinces_old.csv``, ``provinces_new.csv`` and ``populations.csv`` (maintainer tool).

Nothing in the package imports this module; the CSV files it writes are committed and are what
:func:`thuocdo.catalog.load_catalog` reads. Run it only to refresh the tables::

    python -m thuocdo.catalog.build_tables      # needs vietnamadminunits==1.0.4 installed

It reads the data files of the PyPI package ``vietnamadminunits`` (MIT, Hieu Tran) directly, without
importing the package (whose import pulls geopy and shapely). The method and every input figure are
documented in ``data/SOURCES.md``; keep the two in step.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sqlite3
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
YEARS = (2020, 2021, 2022, 2023, 2024, 2025)

# GSO, Statistical Yearbook 2020, "Average population by province", preliminary 2020 (thousand persons,
# here in persons). Their sum, 97,582,600, matches the published national 97,582.7 thousand.
GSO_POPULATION_2020: Mapping[str, int] = {
    "01": 8246600, "02": 870200, "04": 533100, "06": 316500, "08": 792900, "10": 746400,
    "11": 613500, "12": 469800, "14": 1270600, "15": 831600, "17": 861200, "19": 1307900,
    "20": 788700, "22": 1337600, "24": 1841600, "25": 1481900, "26": 1171200, "27": 1419100,
    "30": 1916800, "31": 2053500, "33": 1269100, "34": 1870300, "35": 861800, "36": 1780300,
    "37": 993900, "38": 3664900, "40": 3365200, "42": 1296600, "44": 902000, "45": 637300,
    "46": 1133700, "48": 1169500, "49": 1505000, "51": 1233400, "52": 1487900, "54": 874300,
    "56": 1240400, "58": 593600, "60": 1239300, "62": 555600, "64": 1541800, "66": 1886900,
    "67": 637900, "68": 1309800, "70": 1011100, "72": 1178300, "74": 2580600, "75": 3177400,
    "77": 1167900, "79": 9227600, "80": 1713700, "82": 1772500, "83": 1292400, "84": 1009900,
    "86": 1023000, "87": 1600000, "89": 1904500, "91": 1728900, "92": 1240700, "93": 729800,
    "94": 1195700, "95": 913500, "96": 1193900,
}
# GSO national average population (persons): 2021-2024 from GSO's year-end press releases
# (98.51 M; 99.46 M; 100.3 M; 101.3 M); 2025 extrapolated at the 2024 growth rate.
NATIONAL_POPULATION: Mapping[int, float] = {
    2021: 98.51e6, 2022: 99.46e6, 2023: 100.3e6, 2024: 101.3e6, 2025: 101.3e6 * 101.3 / 100.3,
}
# Smartphone subscriptions (MIC), millions: 2020 = 69.55 % of the 2021 total of 123.76 M
# subscriptions; 2021 = end-2021 (Cục Viễn thông); 2022 = 03/2022 (Cục Viễn thông); 2023 = 06/2023
# (MIC Q2/2023 report); 2024-2025 extrapolated at the 2020-2023 compound growth rate.
_SUBS_2020 = 0.6955 * 123.76
_SUBS_CAGR = (101.12 / _SUBS_2020) ** (1 / 3)
SMARTPHONE_SUBSCRIPTIONS: Mapping[int, float] = {
    2020: _SUBS_2020, 2021: 91.3, 2022: 93.5, 2023: 101.12,
    2024: 101.12 * _SUBS_CAGR, 2025: 101.12 * _SUBS_CAGR**2,
}
NATIONAL_ADULT_RATE_2022 = 0.735  # Cục Viễn thông (MIC), 03/2022: adults using a smartphone
ADULT_SHARE = 0.757  # population aged 15+, 2019 Population and Housing Census (0-14: 24.3 %)
# Adult smartphone-use rates published by Cục Viễn thông (MIC) for 03/2022, by old province code.
MIC_PROVINCE_RATES_2022: Mapping[str, float] = {
    "31": 0.784, "48": 0.778, "79": 0.757, "01": 0.745,
    "14": 0.583, "02": 0.561, "12": 0.566, "11": 0.576,
}
RATE_CAP = 0.784  # the highest published provincial rate (Hải Phòng)
# Seed report 04/BC-UBQGCĐS: Hue-S peak MAU 610,512 = 101.3 % of Thừa Thiên Huế's smartphone users.
HUE_CODE = "46"
HUE_SMARTPHONE_USERS_2022 = 610512 / 1.013


def package_data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("vietnamadminunits is not installed: pip install vietnamadminunits==1.0.4")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _kind(name: str) -> str:
    return "thành phố" if name.startswith("Thành phố") else "tỉnh"


def province_tables(src: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(old rows, new rows) from the parser and converter data of vietnamadminunits."""
    legacy = json.loads((src / "parser_legacy.json").read_text("utf-8"))["DICT_PROVINCE"]
    current = json.loads((src / "parser_from_2025.json").read_text("utf-8"))["DICT_PROVINCE"]
    merged = json.loads((src / "converter_2025.json").read_text("utf-8"))["DICT_PROVINCE"]
    new_rows: list[dict[str, str]] = []
    new_code_of_old: dict[str, str] = {}
    for key, unit in current.items():
        name = unicodedata.normalize("NFC", unit["province"])
        new_rows.append({"code": unit["provinceCode"], "name": name,
                         "short_name": unicodedata.normalize("NFC", unit["provinceShort"]),
                         "kind": _kind(name)})
        for old_key in merged[key]:
            new_code_of_old[legacy[old_key]["provinceCode"]] = unit["provinceCode"]
    old_rows: list[dict[str, str]] = []
    for unit in legacy.values():
        name = unicodedata.normalize("NFC", unit["province"])
        old_rows.append({"code": unit["provinceCode"], "name": name,
                         "short_name": unicodedata.normalize("NFC", unit["provinceShort"]),
                         "kind": _kind(name), "new_code": new_code_of_old[unit["provinceCode"]]})
    old_rows.sort(key=lambda r: r["code"])
    new_rows.sort(key=lambda r: r["code"])
    if len(old_rows) != 63 or len(new_rows) != 34 or len(new_code_of_old) != 63:
        raise SystemExit("unexpected unit counts in vietnamadminunits data")
    return old_rows, new_rows


def urban_commune_share(src: Path) -> dict[str, float]:
    """The urbanisation factor: share of a former province's communes that are phường or thị trấn."""
    counts: dict[str, list[int]] = {}
    with sqlite3.connect(src / "dataset.db") as db:
        query = "SELECT provinceCode, wardType, COUNT(*) FROM admin_units_legacy GROUP BY 1, 2"
        for code, ward_type, n in db.execute(query):
            urban, total = counts.setdefault(code, [0, 0])
            counts[code] = [urban + (n if ward_type in ("Phường", "Thị trấn") else 0), total + n]
    return {code: urban / total for code, (urban, total) in counts.items()}


def adult_rates_2022(pop_2022: Mapping[str, float], urban: Mapping[str, float]) -> dict[str, float]:
    """Adult smartphone-use rate per former province in 2022, meeting the national 73.5 %.

    Published provinces keep their rate; Thừa Thiên Huế is calibrated to the seed report; the others
    follow ``a + b·ln(urban share) + shift`` (a, b fitted on the published rates below the cap, the shift
    solving the national total), capped at the highest published rate.
    """
    rates: dict[str, float] = dict(MIC_PROVINCE_RATES_2022)
    rates[HUE_CODE] = HUE_SMARTPHONE_USERS_2022 / (pop_2022[HUE_CODE] * ADULT_SHARE)
    fit = [(math.log(urban[c]), r) for c, r in MIC_PROVINCE_RATES_2022.items() if r < 0.75]
    mean_x = sum(x for x, _ in fit) / len(fit)
    mean_y = sum(y for _, y in fit) / len(fit)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in fit) / sum((x - mean_x) ** 2 for x, _ in fit)
    intercept = mean_y - slope * mean_x
    others = [c for c in pop_2022 if c not in rates]
    target = NATIONAL_ADULT_RATE_2022 * sum(pop_2022.values())
    fixed = sum(pop_2022[c] * r for c, r in rates.items())

    def curve(code: str, shift: float) -> float:
        return min(intercept + slope * math.log(urban[code]) + shift, RATE_CAP)

    low, high = -1.0, 1.0
    for _ in range(200):
        shift = (low + high) / 2
        if fixed + sum(pop_2022[c] * curve(c, shift) for c in others) < target:
            low = shift
        else:
            high = shift
    rates.update({c: curve(c, (low + high) / 2) for c in others})
    return rates


def population_rows(old_rows: Sequence[Mapping[str, str]],
                    urban: Mapping[str, float]) -> list[dict[str, object]]:
    base = sum(GSO_POPULATION_2020.values())
    scale = {2020: 1.0, **{y: NATIONAL_POPULATION[y] / base for y in YEARS if y != 2020}}
    pop = {y: {c: GSO_POPULATION_2020[c] * s for c in GSO_POPULATION_2020} for y, s in scale.items()}
    rates = adult_rates_2022(pop[2022], urban)
    users_2022 = {c: pop[2022][c] * ADULT_SHARE * rates[c] for c in pop[2022]}
    rows: list[dict[str, object]] = []
    new_of = {r["code"]: r["new_code"] for r in old_rows}
    for year in YEARS:
        growth = SMARTPHONE_SUBSCRIPTIONS[year] / SMARTPHONE_SUBSCRIPTIONS[2022]
        old = {c: (round(pop[year][c]), round(users_2022[c] * growth)) for c in sorted(pop[year])}
        for code, (people, users) in old.items():
            rows.append(_row("old", code, year, people, users, _population_source(year),
                             _smartphone_source(code, year)))
        for new_code in sorted(set(new_of.values())):
            members = [old[c] for c in old if new_of[c] == new_code]
            rows.append(_row("new", new_code, year, sum(m[0] for m in members),
                             sum(m[1] for m in members), "sum-of-old", "sum-of-old"))
        rows.append(_row("nation", "VN", year, sum(v[0] for v in old.values()),
                         sum(v[1] for v in old.values()), "sum-of-old", "sum-of-old"))
    return rows


def _population_source(year: int) -> str:
    return "gso-2020" if year == 2020 else "gso-2020-scaled"


def _smartphone_source(code: str, year: int) -> str:
    if code == HUE_CODE:
        base = "seed-hue-s"
    elif code in MIC_PROVINCE_RATES_2022:
        base = "mic-province-rate"
    else:
        base = "mic-urban-model"
    return base if year == 2022 else f"{base}-scaled"


def _row(level: str, code: str, year: int, population: int, users: int,
         population_source: str, smartphone_source: str) -> dict[str, object]:
    return {"level": level, "code": code, "year": year, "population": population,
            "smartphone_users": users, "population_source": population_source,
            "smartphone_source": smartphone_source}


def write_csv(path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    src = package_data_dir()
    old_rows, new_rows = province_tables(src)
    write_csv(DATA_DIR / "provinces_old.csv", ["code", "name", "short_name", "kind", "new_code"], old_rows)
    write_csv(DATA_DIR / "provinces_new.csv", ["code", "name", "short_name", "kind"], new_rows)
    fields = ["level", "code", "year", "population", "smartphone_users",
              "population_source", "smartphone_source"]
    write_csv(DATA_DIR / "populations.csv", fields, population_rows(old_rows, urban_commune_share(src)))


if __name__ == "__main__":
    main()
