"""Indicators computed from the usage metrics, so that they stay current without anyone typing them.

For a year, from the metric tables of its quarters (by platform, and by province), over the panel estimates
only (``basis = records``; published aggregates are not summed with them):

- ``domestic_mau_share``: Σ MAU of Vietnamese platforms ÷ Σ MAU of all measured platforms, in percent;
- ``domestic_foreign_mau_ratio``: Σ MAU of Vietnamese platforms ÷ Σ MAU of foreign platforms, in percent;
- ``top_domestic_penetration``: the highest penetration of a Vietnamese platform, in percent: MAU ÷ the
  metric table's ``smartphone_users`` column, the population the panel stands for (mobile internet users of all
  ages, ``Catalog.mobile_internet_users``), so that it cannot pass 100% for a panel weighted to it.

Rows with no ``mau`` (figures withheld by disclosure control) are left out, so values computed from published
tables rest on published cells only.

A year's MAU of a platform is the mean of its quarterly MAU over the quarters of the year that have usage
data at all (for a province: data in that province; a platform absent from such a quarter counts 0 in it),
as a quarter's MAU is the mean of its months. Values go to the nation (``VN``) and to each province of the 34
(``new:CODE``), where the metric tables place every person-month. Pure functions: rows of the long format of
``thuocdo ingest indicators``.

>>> import pyarrow as pa
>>> q1 = pa.table({"platform": ["zalo", "messenger"], "origin": ["vn", "foreign"], "mau": [30.0, 10.0],
...                "smartphone_users": [60.0, 60.0], "basis": ["records", "records"]})
>>> q2 = pa.table({"platform": ["zalo", "messenger"], "origin": ["vn", "foreign"], "mau": [40.0, 20.0],
...                "smartphone_users": [60.0, 60.0], "basis": ["records", "records"]})
>>> rows = nation_indicators("2022", {"2022-Q1": q1, "2022-Q2": q2}, "panel")
>>> [(r["indicator"], round(float(r["value"]), 4)) for r in rows]
[('domestic_mau_share', 70.0), ('domestic_foreign_mau_ratio', 233.3333), ('top_domestic_penetration', 58.3333)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

#: the source under which computed values are stored (a source name like any other: see `ingest --source`)
COMPUTED_SOURCE = "computed-usage"
INDICATORS = ("domestic_mau_share", "domestic_foreign_mau_ratio", "top_domestic_penetration")


@dataclass(frozen=True)
class _Totals:
    domestic: float
    total: float
    quarters: tuple[str, ...]
    top: tuple[str, float] | None  # (platform, penetration 0–1) of the most penetrating Vietnamese platform


def _records(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    return [r for r in rows if (r.get("basis") or "records") == "records" and r.get("mau") is not None]


def _num(value: float) -> float:
    return float(value)


def _totals(quarters: Mapping[str, list[dict[str, Any]]]) -> _Totals | None:
    """Annual totals from each quarter's rows of one area (nation or a province); None without data."""
    used = {q: rows for q, rows in quarters.items() if sum(_num(r["mau"]) for r in rows) > 0}
    if not used:
        return None
    n = len(used)
    domestic = sum(_num(r["mau"]) for rows in used.values() for r in rows if r["origin"] == "vn") / n
    total = sum(_num(r["mau"]) for rows in used.values() for r in rows) / n
    yearly: dict[str, float] = {}
    users: dict[str, float] = {}
    for rows in used.values():
        for r in rows:
            if r["origin"] == "vn":
                p = str(r["platform"])
                yearly[p] = yearly.get(p, 0.0) + _num(r["mau"]) / n
                if r.get("smartphone_users"):
                    users[p] = _num(r["smartphone_users"])
    reach = {p: yearly[p] / users[p] for p in yearly if users.get(p)}
    top = max(reach.items(), key=lambda kv: (kv[1], kv[0])) if reach else None
    return _Totals(domestic, total, tuple(sorted(used)), top)


def _rows(entity: str, year: str, t: _Totals, usage_source: str) -> list[dict[str, str]]:
    basis = (f"tính từ chỉ số sử dụng của nguồn {usage_source}, trung bình {len(t.quarters)} quý có số liệu "
             f"({', '.join(t.quarters)})")
    out = [{"entity": entity, "indicator": "domestic_mau_share", "period": year,
            "value": repr(100.0 * t.domestic / t.total), "evidence": basis}]
    if t.total > t.domestic:
        out.append({"entity": entity, "indicator": "domestic_foreign_mau_ratio", "period": year,
                    "value": repr(100.0 * t.domestic / (t.total - t.domestic)), "evidence": basis})
    if t.top is not None:
        out.append({"entity": entity, "indicator": "top_domestic_penetration", "period": year,
                    "value": repr(100.0 * t.top[1]), "evidence": f"{basis}; nền tảng: {t.top[0]}"})
    return out


def nation_indicators(year: str, platforms: Mapping[str, pa.Table], usage_source: str) -> list[dict[str, str]]:
    """The nation's values from the by-platform metric tables of the year's quarters."""
    t = _totals({q: _records(table) for q, table in platforms.items()})
    return [] if t is None else _rows("VN", year, t, usage_source)


def province_indicators(year: str, provinces: Mapping[str, pa.Table], usage_source: str) -> list[dict[str, str]]:
    """Each province's values (34 units) from the by-province metric tables of the year's quarters."""
    by_area: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for q, table in provinces.items():
        for r in _records(table):
            if r.get("province"):
                by_area.setdefault(str(r["province"]), {}).setdefault(q, []).append(r)
    out = []
    for code in sorted(by_area):
        quarters = {q: by_area[code].get(q, []) for q in provinces}
        t = _totals(quarters)
        if t is not None:
            out += _rows(f"new:{code}", year, t, usage_source)
    return out
