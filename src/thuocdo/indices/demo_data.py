"""Plausible indicator values for the demo: DTI main indices of the 63 former provinces (2022–2024) and of the
34 provinces (2025), ministries (2023–2024), the national DTI pillars, the UN EGDI components and the
national scorecard indicators.

The provincial and ministerial values are SYNTHETIC (a province's level follows its share of smartphone
users, with a lead for the cities that top the published rankings, and noise); the national figures quoted by
the seed documents are real and say so in ``evidence`` (e.g. online dossiers 45.8% in 2024, EGDI rank 71,
Viet Nam's EGDI components 2024 from the UN survey); everything else says it is illustrative.
Rows are the long format of ``thuocdo ingest indicators`` (all values as text). No I/O.

>>> from thuocdo.catalog import load_catalog
>>> rows = demo_indicators(load_catalog(), seed=1)
>>> sorted({r["period"] for r in rows})
['2022', '2023', '2024', '2025']
>>> next(r["value"] for r in rows if r["indicator"] == "online_dossiers" and r["period"] == "2024")
'45.8'
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.catalog.frameworks import load_framework, load_ministries
from thuocdo.ingest.indicators import INDICATORS

DEMO = "Giá trị minh họa (demo), không phải số liệu chính thức"
#: the sources of the national figures that come from a publication (the others are the demo's own)
REVIEW_2024 = "btttt-tong-ket-2024"
UN_SURVEY = "un-egov-survey"
SEED_001 = "Báo cáo tổng kết năm 2024 của Bộ TT&TT"
#: mean level of each DTI main index in 2022 and its gain per year (foundation high, activities lower)
_LEVELS = {
    "dti_awareness": (0.78, 0.03), "dti_institutions": (0.80, 0.03), "dti_infrastructure": (0.74, 0.03),
    "dti_human_resources": (0.70, 0.03), "dti_cybersecurity": (0.76, 0.03), "dti_smart_city": (0.35, 0.05),
    "dti_gov_activity": (0.50, 0.03), "dti_economy_activity": (0.45, 0.04), "dti_society_activity": (0.44, 0.04),
    "dti_dt_activity": (0.55, 0.04),
}
#: former provinces that lead the published provincial rankings get a lift
_LEADERS = {"01": 0.12, "46": 0.11, "48": 0.11, "31": 0.10, "79": 0.09, "22": 0.09, "74": 0.05, "24": 0.05}
_GDP_2024 = "Bộ TT&TT, ước đạt năm 2024 (báo cáo tổng kết năm 2024)"
_EGDI_2024 = "Liên hợp quốc, công bố 9/2024: hạng 71/193"
_EGDI_2022 = "Liên hợp quốc, năm 2022 (năm 2024 tăng 15 bậc)"
_SURVEY_2024 = "Khảo sát Chính phủ điện tử 2024 của Liên hợp quốc"
_REVENUE_2024 = "Bộ TT&TT, ước thực hiện năm 2024 (40 tỷ USD)"
#: the source of each published national figure (seeds 000 and 001); the others are the demo's own
_PUBLISHED_BY = {SEED_001: REVIEW_2024, _GDP_2024: REVIEW_2024, _EGDI_2024: UN_SURVEY, _EGDI_2022: UN_SURVEY,
                 _SURVEY_2024: UN_SURVEY, _REVENUE_2024: REVIEW_2024}
#: national figures: (indicator, period, value, evidence)
_NATION = [
    ("online_dossiers", "2024", 45.8, SEED_001), ("online_dossiers", "2023", 38.0, DEMO),
    ("online_dossiers_ministries", "2024", 63.47, SEED_001), ("online_dossiers_ministries", "2023", 55.0, DEMO),
    ("online_dossiers_provinces", "2024", 18.54, SEED_001), ("online_dossiers_provinces", "2023", 15.0, DEMO),
    ("digital_economy_gdp_share", "2024", 18.3, _GDP_2024),
    ("digital_economy_gdp_share", "2023", 16.5, DEMO),
    ("egdi_rank", "2024", 71, _EGDI_2024),
    ("egdi_rank", "2022", 86, _EGDI_2022),
    ("domestic_mau_share", "2024", 25.25, SEED_001), ("open_data_share", "2024", 87, SEED_001),
    ("shared_database_catalogue_share", "2024", 90, SEED_001),
    ("community_digital_teams", "2024", 93524, SEED_001),
    ("platform_digital_economy_revenue", "2024", 40, _REVENUE_2024),
    ("egdi_osi", "2024", 0.70811, _SURVEY_2024),
    ("egdi_hci", "2024", 0.72665, _SURVEY_2024),
    ("egdi_tii", "2024", 0.87797, _SURVEY_2024),
    ("fibre_households", "2024", 83.0, DEMO), ("fibre_households", "2023", 79.0, DEMO),
    ("adult_smartphone_share", "2024", 84.0, DEMO), ("adult_smartphone_share", "2023", 80.5, DEMO),
    ("e_payment_accounts", "2024", 87.0, DEMO), ("adult_digital_signature", "2024", 30.0, DEMO),
    ("adult_digital_signature", "2023", 18.0, DEMO), ("online_public_services_level4", "2024", 55.0, DEMO),
    ("ndxp_transactions_growth", "2024", 35.0, DEMO), ("e_health_records", "2024", 60.0, DEMO),
    ("ecommerce_retail_share", "2024", 10.5, DEMO), ("basic_digital_skills", "2024", 45.0, DEMO),
]
#: published national DTI (Bộ KH&CN, 21/10/2025): 2023 0.7326, 2024 0.7955; split over the pillars for the demo
_NATION_DTI = {"2023": 0.7326, "2024": 0.7955}


def _row(entity: str, indicator: str, period: str, value: float, evidence: str = DEMO,
         self_score: float | None = None, council_score: float | None = None) -> dict[str, str]:
    """A row; a value from a publication carries that publication as its source (the others take the batch's,
    the demo's illustrative source)."""
    return {"entity": entity, "indicator": indicator, "period": period, "value": f"{value:.6g}",
            "self_score": "" if self_score is None else f"{self_score:.4f}",
            "council_score": "" if council_score is None else f"{council_score:.4f}", "evidence": evidence,
            "source": _PUBLISHED_BY.get(evidence, "")}


def _indicators(framework: str, level: str) -> list[str]:
    return [n.indicator for n in load_framework(framework).level(level).leaves if n.indicator]


def demo_indicators(catalog: Catalog, seed: int = 2024) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    pop = {r["code"]: r for r in catalog.population_rows() if r["level"] == "old" and r["year"] == 2022}
    share = np.array([float(pop[p.code]["smartphone_users"]) / float(pop[p.code]["population"])
                      for p in catalog.provinces_old])
    capacity = (share - share.mean()) / share.std()
    lift = np.array([_LEADERS.get(p.code, 0.0) for p in catalog.provinces_old])
    by_year: dict[int, np.ndarray] = {}
    for year, framework in ((2022, "dti-2022"), (2023, "dti-2022"), (2024, "dti-2025")):
        indicators = _indicators(framework, "province")
        values = np.empty((len(catalog.provinces_old), len(indicators)))
        for j, ind in enumerate(indicators):
            mean, gain = _LEVELS[ind]
            noise = rng.normal(0.0, 0.05, len(capacity))
            values[:, j] = np.clip(mean + gain * (year - 2022) + 0.04 * capacity + lift + noise, 0.05, 1.0)
        by_year[year] = values
        for i, unit in enumerate(catalog.provinces_old):
            for j, ind in enumerate(indicators):
                v = round(float(values[i, j]), 4)
                self_score = min(1.0, v + float(rng.uniform(0.0, 0.08)))
                rows.append(_row(f"old:{unit.code}", ind, str(year), v, DEMO, self_score, v))
    # 2025: the 34 provinces, from the mean of their former units in 2024, a little higher
    indicators = _indicators("dti-2025", "province")
    old_2024 = by_year[2024]
    for unit in catalog.provinces_new:
        members = [i for i, p in enumerate(catalog.provinces_old) if p.new_code == unit.code]
        for j, ind in enumerate(indicators):
            v = float(np.clip(old_2024[members, j].mean() + 0.03 + rng.normal(0.0, 0.02), 0.05, 1.0))
            rows.append(_row(f"new:{unit.code}", ind, "2025", round(v, 4)))
    for year in (2023, 2024):
        for m in load_ministries():
            base = 0.05 * rng.normal() + (0.0 if m.group == "public_services" else -0.08)
            for ind in _indicators("dti-2025", "ministry"):
                mean, gain = _LEVELS[ind]
                v = float(np.clip(mean + 0.05 + gain * (year - 2022) + base + rng.normal(0.0, 0.05), 0.05, 1.0))
                rows.append(_row(m.id, ind, str(year), round(v, 4)))
    for period, total in _NATION_DTI.items():  # pillars weighted 400/300/300 that add up to the published total
        for ind, v in (("dti_nation_government", total + 0.03), ("dti_nation_economy", total - 0.02),
                       ("dti_nation_society", total - 0.02)):
            rows.append(_row("VN", ind, period, round(v, 4), f"{DEMO}; tổng DTI quốc gia {period} đã công bố: {total}"))
    for ind, period, value, evidence in _NATION:
        rows.append(_row("VN", ind, period, float(value), evidence))
    return rows


def write_demo_indicators(path: Path, catalog: Catalog | None = None, seed: int = 2024) -> Path:
    """Write the demo's indicator values as a CSV for `thuocdo ingest indicators` (UTF-8, header row)."""
    rows = demo_indicators(catalog or load_catalog(), seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(INDICATORS.fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path
