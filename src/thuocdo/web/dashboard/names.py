"""Names as of the period a page shows, as the reports write them.

Platforms and provinces take their names on the period's last day (:meth:`Catalog.platform_name` and
:meth:`Catalog.province_name`, through :func:`thuocdo.reports.build.name_as_of`): in 2022 "Twitter", "Google
Pay" and "Thừa Thiên Huế", "TP. Hồ Chí Minh" always with its prefix, and a 34-unit before 01/07/2025 the area of
the former provinces it merged ("địa bàn Tây Ninh và Long An"). As in the reports, no change is shown against
a period that ended before the platform started (:func:`thuocdo.reports.build.started_after`).

>>> from thuocdo.catalog import load_catalog
>>> tile_labels(load_catalog(), dt.date(2022, 3, 31))["80"]
['Tây Ninh', '+1 tỉnh']
>>> tile_labels(load_catalog(), dt.date(2025, 9, 30))["79"]
['TP. Hồ Chí', 'Minh']
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

from thuocdo.catalog import Catalog
from thuocdo.catalog.model import LEVEL_NEW, LEVEL_OLD
from thuocdo.catalog.provinces import REORGANISATION_DATE
from thuocdo.model.periods import Period
from thuocdo.reports.build import name_as_of, started_after

#: characters per line of a tile's label (two lines of the name at most)
TILE_LINE = 10


def last_day(period: str) -> dt.date:
    return Period.parse(period).last_day


def platforms_as_of(rows: list[dict[str, Any]], catalog: Catalog, period: str) -> list[dict[str, Any]]:
    """Metric rows with each platform's name of the period, and without a change against a period that ended
    before the platform started (the rows are changed in place and returned)."""
    p = Period.parse(period)
    for r in rows:
        r["name"] = name_as_of(catalog, r["platform"], period, r.get("name") or r["platform"])
        if started_after(catalog, r["platform"], p.year_ago()):
            r["mau_year_ago"] = r["mau_change_year"] = None
        if started_after(catalog, r["platform"], p.previous()):
            r["mau_previous"] = r["mau_change_previous"] = None
    return rows


def province_names(catalog: Catalog, day: dt.date, units: str = "34") -> dict[str, str]:
    """Code → the unit's short name on `day`, for the 34 units (default) or the 63 former ones."""
    if units == "63":
        return {p.code: catalog.province_name(p.code, day, LEVEL_OLD) for p in catalog.provinces_old}
    return {p.code: catalog.province_name(p.code, day, LEVEL_NEW) for p in catalog.provinces_new}


def _key(name: str) -> str:
    return name.removeprefix("TP. ").casefold()


def tile_labels(catalog: Catalog, day: dt.date) -> dict[str, list[str]]:
    """The short label of each of the 34 units' tiles on `day`: its name on two lines at most; before 01/07/2025
    a unit that was the area of several former provinces is labelled by the one it is named after and how many
    more it covers ("Tây Ninh", "+1 tỉnh"), its full name staying in the tile's tooltip."""
    out = {}
    for unit in catalog.provinces_new:
        members = [p.code for p in catalog.provinces_old if p.new_code == unit.code]
        if day >= REORGANISATION_DATE or len(members) < 2:
            out[unit.code] = textwrap.wrap(catalog.province_name(unit.code, day, LEVEL_NEW), TILE_LINE)[:2]
            continue
        names = {code: catalog.province_name(code, day, LEVEL_OLD) for code in members}
        namesake = next((c for c in members if _key(names[c]) == _key(unit.short_name)), members[0])
        out[unit.code] = [*textwrap.wrap(names[namesake], TILE_LINE)[:2], f"+{len(members) - 1} tỉnh"]
    return out
