"""A seeded synthetic weighted panel of smartphone users (numpy-vectorised), written as contract files.

Panelists are spread over the 34 provinces in proportion to their smartphone users; each person's weight
in a month is the province's smartphone users divided by its panelists, so weighted counts estimate the
nation. Audiences follow the reference figures in :mod:`thuocdo.demo.targets`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from thuocdo.catalog import Catalog
from thuocdo.demo.targets import ACTIVITY, DECLINING, PROVINCIAL, TARGETS

MONTHS = tuple(f"{y}-{m:02d}" for y in (2021, 2022) for m in range(1, 13) if (y, m) <= (2022, 6))
DEFAULT_REACH = 0.01
DEFAULT_ACTIVITY = 0.35


@dataclass(frozen=True)
class DemoFiles:
    usage: list[Path]
    weights: Path
    aggregates: Path
    records: int


def generate(catalog: Catalog, out: Path, persons: int, seed: int) -> DemoFiles:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    provinces = [p.code for p in catalog.provinces_new]
    users = np.array([catalog.smartphone_users(2022, c) or 0.0 for c in provinces])
    home = rng.choice(len(provinces), size=persons, p=users / users.sum())
    panelists = np.bincount(home, minlength=len(provinces))
    old_names = {c: [o.name for o in catalog.provinces_old if o.new_code == c] for c in provinces}
    person_province = np.array([rng.choice(old_names[provinces[h]]) for h in home], dtype=object)
    nation = catalog.smartphone_users(2022) or float(users.sum())

    platforms = [p.id for p in catalog.platforms]
    reach = np.array([min(0.98, TARGETS[p][0] / nation) if p in TARGETS else DEFAULT_REACH for p in platforms])
    for pid, (code, share) in PROVINCIAL.items():
        if pid in platforms:
            reach[platforms.index(pid)] = 0.0  # handled below: only its province's residents
    is_user = rng.random((persons, len(platforms))) < reach
    for pid, (code, share) in PROVINCIAL.items():
        if pid in platforms and code in provinces:
            local = home == provinces.index(code)
            is_user[:, platforms.index(pid)] = local & (rng.random(persons) < 0.98 * share)
    person_idx, platform_idx = np.nonzero(is_user)

    files = []
    total = 0
    for m_index, month in enumerate(MONTHS):
        year, mon = (int(x) for x in month.split("-"))
        days = calendar.monthrange(year, mon)[1]
        monthly = np.full(len(person_idx), 0.95)
        for pid, (first, last) in DECLINING.items():
            if pid in platforms:
                factor = first + (last - first) * min(1.0, m_index / 12)
                monthly[platform_idx == platforms.index(pid)] *= factor
        active_month = rng.random(len(person_idx)) < monthly
        pairs_p, pairs_f = person_idx[active_month], platform_idx[active_month]
        q = np.array([ACTIVITY.get(platforms[f], DEFAULT_ACTIVITY) for f in range(len(platforms))])[pairs_f]
        day_mask = rng.random((len(pairs_p), days)) < q[:, None]
        day_mask[np.arange(len(pairs_p)), rng.integers(0, days, len(pairs_p))] = True  # active at least once
        rows, day0 = np.nonzero(day_mask)
        total += len(rows)
        files.append(_write_month(out, month, rng, pairs_p[rows], pairs_f[rows], day0, q[rows], platforms,
                                  person_province, m_index == 0))
    weights = _write_weights(out, rng, home, panelists, provinces, catalog)
    aggregates = _write_aggregates(out, catalog)
    return DemoFiles(files, weights, aggregates, total)


def _write_month(out: Path, month: str, rng: np.random.Generator, person: np.ndarray, platform: np.ndarray,
                 day0: np.ndarray, q: np.ndarray, platforms: list[str], person_province: np.ndarray,
                 first_month: bool) -> Path:
    n = len(person)
    minutes = np.array([TARGETS.get(p, (0, 10.0, 30.0))[1] for p in platforms])[platform]
    mb = np.array([TARGETS.get(p, (0, 10.0, 30.0))[2] for p in platforms])[platform]
    seconds = np.minimum(86_400, np.round(minutes * 60 * rng.lognormal(-0.125, 0.5, n))).astype(np.int64)
    expected_days = q * 30
    data = np.round(mb * 1e6 / expected_days * rng.lognormal(-0.125, 0.5, n)).astype(np.int64)
    local = (np.datetime64(f"{month}-01") + day0.astype("timedelta64[D]")).astype("datetime64[s]")
    local = local + rng.integers(0, 86_400, n).astype("timedelta64[s]")
    utc = local - np.timedelta64(7, "h")
    table = pa.table({
        "user_id": pa.array([f"demo-{p:06d}" for p in person]),
        "platform": pa.array(np.array(platforms, dtype=object)[platform]),
        "time": pa.array(utc, pa.timestamp("s", tz="UTC")),
        "active_seconds": seconds,
        "bytes": data,
        "sessions": rng.poisson(2.0, n) + 1,
        "installs": np.zeros(n, dtype=np.int64) if not first_month else (rng.random(n) < 0.02).astype(np.int64),
        "province": pa.array(person_province[person]),
    })
    path = out / f"usage-{month}.csv"
    pacsv.write_csv(table, path)
    return path


def _write_weights(out: Path, rng: np.random.Generator, home: np.ndarray, panelists: np.ndarray,
                   provinces: list[str], catalog: Catalog) -> Path:
    ids: list[str] = []
    months: list[str] = []
    weights: list[float] = []
    for month in MONTHS:
        year = int(month[:4])
        users = np.array([catalog.smartphone_users(year, c) or 0.0 for c in provinces])
        w = users[home] / np.maximum(panelists[home], 1)
        ids.extend(f"demo-{p:06d}" for p in range(len(home)))
        months.extend([month] * len(home))
        weights.extend(w.tolist())
    path = out / "weights.csv"
    pacsv.write_csv(pa.table({"user_id": ids, "month": months, "weight": weights}), path)
    return path


#: figures that only a web panel or a platform's own report gives (seed report, Q1/2022)
PUBLISHED = [
    ("vnexpress", "2022-Q1", "visits", 135.7e6), ("vnexpress", "2022-Q1", "web_rank", 1),
    ("vietnamnet", "2022-Q1", "visits", 41.07e6), ("vietnamnet", "2022-Q1", "web_rank", 8),
    ("nhan-dan", "2022-Q1", "visits", 2.17e6), ("nhan-dan", "2022-Q1", "web_rank", 61),
    ("vo-so", "2022-Q1", "visits", 109_000), ("vo-so", "2022-Q1", "web_rank", 43),
    ("postmart", "2022-Q1", "visits", 50_000), ("postmart", "2022-Q1", "web_rank", 274),
    ("azota", "2022-Q1", "visits", 25.6e6), ("hoc-mai", "2022-Q1", "visits", 2.9e6),
    ("on-luyen", "2022-Q1", "visits", 470_000), ("hue-s", "2022-02", "downloads_total", 793_050),
    ("so-suc-khoe-dien-tu", "2022-Q1", "downloads_total", 34e6),
]


def _write_aggregates(out: Path, catalog: Catalog) -> Path:
    rows = [r for r in PUBLISHED if catalog.resolve_platform(r[0])]
    path = out / "aggregates.csv"
    pacsv.write_csv(pa.table({"platform": [r[0] for r in rows], "period": [r[1] for r in rows],
                              "metric": [r[2] for r in rows], "value": [float(r[3]) for r in rows]}), path)
    return path
