"""A seeded synthetic weighted panel (numpy-vectorised), written as contract files for ``thuocdo ingest``.

One usage record per person × platform × active day (Parquet, one file per month), the panel weights per
person and month (Parquet), and the figures only a web panel or a platform's own report gives (CSV of
published aggregates). :mod:`thuocdo.demo.panel` explains the universe, the sample and the weights; this module
draws the activity:

* a person uses a platform in a month when the person's fixed uniform number for it is below the month's reach;
* a user is active on each day of the month with the profile's probability ``days`` (and on one day at least);
* time on an active day = profile minutes × the person's intensity for the platform (log-normal, mean 1,
  fixed over the period) × a daily factor (log-normal, mean 1);
* data on an active day is proportional to its time, at the rate that gives the profile's MB per user-month;
* sessions on an active day = 1 + Poisson(profile sessions − 1); a person who starts using a platform installs
  it on the first active day of that month.

Expected values equal the profiles exactly (the calibration is analytic), so the estimates differ from the
reference figures only by sampling error: :mod:`thuocdo.demo.errors` computes it.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from thuocdo.catalog import Catalog
from thuocdo.demo.panel import PanelDesign, design
from thuocdo.demo.targets import MONTHS, PROFILES

#: log-normal spreads (of the natural log): a person's intensity, a day's time, a day's data per minute
SIGMA_INTENSITY = 0.5
SIGMA_DAY = 0.6
SIGMA_BYTES = 0.3
FIRST_HOUR = 6  # activity is timed between 06:00 and 24:00 local time


@dataclass(frozen=True)
class DemoFiles:
    usage: list[Path]
    weights: Path
    aggregates: Path
    records: int
    design: PanelDesign


def _lognormal(rng: np.random.Generator, sigma: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Log-normal factors with mean 1."""
    return rng.lognormal(-sigma * sigma / 2, sigma, size)


def expected_days(share: np.ndarray, days: int) -> np.ndarray:
    """Expected active days of a user in a month: one sure day, the others each with probability `share`."""
    return 1 + (days - 1) * share


def generate(catalog: Catalog, out: Path, persons: int, seed: int,
             on_month: Callable[[str, int], None] | None = None) -> DemoFiles:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    panel = design(catalog, persons, rng)
    files, total, user_ids = _usage(catalog, panel, rng, out, MONTHS, "demo-", None, on_month)
    weights = _write_weights(out, panel, user_ids)
    aggregates = _write_aggregates(out, catalog)
    return DemoFiles(files, weights, aggregates, total, panel)


def _usage(catalog: Catalog, panel: PanelDesign, rng: np.random.Generator, out: Path, months: Sequence[str],
           prefix: str, keep: np.ndarray | None,
           on_month: Callable[[str, int], None] | None) -> tuple[list[Path], int, pa.Array]:
    """The usage files of the persons of a design over `months` (ids ``<prefix>NNNNNN``; only the persons
    `keep` says, when given): the files, their records and the persons' ids."""
    n, n_plat = panel.persons, len(panel.platforms)
    profiles = [PROFILES[p] for p in panel.platforms]
    share = np.array([p.days for p in profiles])
    minutes = np.array([p.minutes for p in profiles])
    mb = np.array([p.mb for p in profiles])
    sessions = np.array([p.sessions for p in profiles])
    latent = rng.random((n, n_plat), dtype=np.float32)
    intensity = _lognormal(rng, SIGMA_INTENSITY, (n, n_plat)).astype(np.float32)
    user_ids = pa.array([f"{prefix}{i:06d}" for i in range(n)])
    old_unit = _old_units(catalog, panel, rng)
    old_names = pa.array([o.name for o in catalog.provinces_old])
    platform_names = pa.array(list(panel.platforms))

    files, total = [], 0
    was_user = np.zeros((n, n_plat), dtype=bool)
    for month in months:
        m = MONTHS.index(month)
        is_user = latent < panel.reach[:, m, :].T[panel.home]  # (persons, platforms)
        if keep is not None:
            is_user &= keep[:, None]
        person, plat = np.nonzero(is_user)
        new_user = ~was_user[person, plat] if month != months[0] else np.zeros(person.size, dtype=bool)
        was_user = is_user
        days = calendar.monthrange(*(int(x) for x in month.split("-")))[1]
        mask = rng.random((person.size, days), dtype=np.float32) < share[plat, None]
        first = rng.integers(0, days, person.size)
        mask[np.arange(person.size), first] = True
        pair, day = np.nonzero(mask)
        first_active = np.zeros(mask.shape, dtype=bool)
        first_active[np.arange(person.size), mask.argmax(axis=1)] = True
        installs = (first_active[pair, day] & new_user[pair]).astype(np.int64)
        p_of, f_of = person[pair], plat[pair]
        k = pair.size
        seconds = minutes[f_of] * 60 * intensity[p_of, f_of] * _lognormal(rng, SIGMA_DAY, k)
        rate = (mb * 1e6 / np.maximum(expected_days(share, days) * minutes * 60, 1.0))[f_of]  # bytes per active second
        data = rate * seconds * _lognormal(rng, SIGMA_BYTES, k)
        seconds = np.clip(np.round(seconds), 1, 86_400).astype(np.int64)
        local = (np.datetime64(f"{month}-01", "s") + day.astype("timedelta64[D]") + np.timedelta64(FIRST_HOUR, "h")
                 + rng.integers(0, (24 - FIRST_HOUR) * 3600, k).astype("timedelta64[s]"))
        table = pa.table({
            "user_id": pa.DictionaryArray.from_arrays(pa.array(p_of.astype(np.int32)), user_ids),
            "platform": pa.DictionaryArray.from_arrays(pa.array(f_of.astype(np.int32)), platform_names),
            "time": pa.array(local, pa.timestamp("s")),
            "active_seconds": seconds,
            "bytes": np.round(data).astype(np.int64),
            "sessions": 1 + rng.poisson(np.maximum(sessions[f_of] - 1, 0)),
            "installs": installs,
            "province": pa.DictionaryArray.from_arrays(pa.array(old_unit[p_of]), old_names),
        })
        path = out / f"usage-{month}.parquet"
        pq.write_table(table, path, compression="zstd")
        files.append(path)
        total += k
        if on_month:
            on_month(month, k)
    return files, total, user_ids


def _old_units(catalog: Catalog, panel: PanelDesign, rng: np.random.Generator) -> np.ndarray:
    """Each panelist's former (63-unit) province, drawn within the new unit in proportion to smartphone users."""
    rows = [r for r in catalog.population_rows() if r["level"] == "old" and r["year"] == 2022]
    users = {str(r["code"]): float(r["smartphone_users"]) for r in rows}
    index = np.empty(panel.persons, dtype=np.int32)
    for h, code in enumerate(panel.provinces):
        olds = [i for i, o in enumerate(catalog.provinces_old) if o.new_code == code]
        p = np.array([users.get(catalog.provinces_old[i].code, 1.0) for i in olds])
        who = np.nonzero(panel.home == h)[0]
        index[who] = np.array(olds, dtype=np.int32)[rng.choice(len(olds), size=who.size, p=p / p.sum())]
    return index  # into catalog.provinces_old


def _write_weights(out: Path, panel: PanelDesign, user_ids: pa.Array) -> Path:
    n = panel.persons
    table = pa.table({
        "user_id": pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(n, dtype=np.int32), len(MONTHS))),
                                                  user_ids),
        "month": pa.array(np.repeat(np.array(MONTHS, dtype=object), n), pa.string()),
        "weight": np.concatenate([panel.weights(m) for m in range(len(MONTHS))]),
    })
    path = out / "weights.parquet"
    pq.write_table(table, path, compression="zstd")
    return path


#: figures that only a web panel, an app-market panel or a platform's own report gives, as the seed report
#: (04/BC-UBQGCĐS, 01/04/2022) publishes them: ingested with that report as their source
SEED_REPORT = "bc-04-ubqgcds"
PUBLISHED = [
    ("vnexpress", "2022-Q1", "visits", 135.7e6), ("vnexpress", "2022-Q1", "web_rank", 1),
    ("vietnamnet", "2022-Q1", "visits", 41.07e6), ("vietnamnet", "2022-Q1", "web_rank", 8),
    ("nhan-dan", "2022-Q1", "visits", 2.17e6), ("nhan-dan", "2022-Q1", "web_rank", 61),
    ("vo-so", "2022-Q1", "visits", 109_000), ("vo-so", "2022-Q1", "web_rank", 43),
    ("postmart", "2022-Q1", "visits", 50_000), ("postmart", "2022-Q1", "web_rank", 274),
    ("azota", "2022-Q1", "visits", 25.6e6), ("hoc-mai", "2022-Q1", "visits", 2.9e6),
    ("on-luyen", "2022-Q1", "visits", 470_000),
    ("hue-s", "2022-02", "downloads_total", 793_050), ("hue-s", "2022-Q1", "downloads_total", 793_050),
    ("so-suc-khoe-dien-tu", "2022-Q1", "downloads_total", 34e6),
    # the Mobile Money pilot after three months (operators' report) and Hue-S's own figures (Huế's report)
    ("mobile-money", "2022-Q1", "mobile_money_customers", 835_000),
    ("mobile-money", "2022-Q1", "mobile_money_rural_customers", 487_000),
    ("mobile-money", "2022-Q1", "mobile_money_active_accounts", 834_376),
    ("mobile-money", "2022-Q1", "mobile_money_points_of_sale", 2_642),
    ("mobile-money", "2022-Q1", "mobile_money_rural_points_of_sale", 537),
    ("mobile-money", "2022-Q1", "mobile_money_merchants", 11_254),
    ("mobile-money", "2022-Q1", "mobile_money_transactions", 7.5e6),
    ("mobile-money", "2022-Q1", "mobile_money_transaction_value", 280e9),
    ("hue-s", "2021", "hue_s_fines_collected", 3_098_490_000),
    ("hue-s", "2021", "hue_s_satisfied_share", 56.8), ("hue-s", "2021", "hue_s_accepted_share", 18.6),
    ("hue-s", "2021", "hue_s_dissatisfied_share", 24.6),
]
#: operator KPIs the seed report does not give, INVENTED for the demo (the source says so: the demo's own,
#: illustrative), so that the local-experience section shows feedback handled and processing time
ILLUSTRATIVE = [
    ("hue-s", "2021", "hue_s_feedback_received", 26_480), ("hue-s", "2021", "hue_s_feedback_handled", 25_310),
    ("hue-s", "2021", "hue_s_processing_time", 42.0),
]


def _write_aggregates(out: Path, catalog: Catalog) -> Path:
    rows = [(*r, SEED_REPORT) for r in PUBLISHED] + [(*r, "") for r in ILLUSTRATIVE]
    rows = [r for r in rows if catalog.resolve_platform(r[0])]
    path = out / "aggregates.csv"
    pacsv.write_csv(pa.table({"platform": [r[0] for r in rows], "period": [r[1] for r in rows],
                              "metric": [r[2] for r in rows], "value": [float(r[3]) for r in rows],
                              "source": [r[4] for r in rows]}), path)
    return path


@dataclass(frozen=True)
class OperatorFiles:
    """A demo operator's delivery: its usage files and the coverage it declares (subscribers per province and
    month), for the provinces it serves."""

    name: str
    usage: list[Path]
    coverage: Path
    records: int


def generate_operator(catalog: Catalog, out: Path, name: str, persons: int, seed: int, months: Sequence[str],
                      served: Sequence[str]) -> OperatorFiles:
    """A mobile operator's census of its subscribers in the provinces it serves (codes of the 34 units), drawn
    from the same model as the panel: `persons` spread over the nation as the panel is, those living where the
    operator does not serve left out; each subscriber's activity is delivered, and the coverage file counts the
    subscribers of each province and month."""
    rng = np.random.default_rng(seed)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    panel = design(catalog, persons, rng)
    codes = np.array(panel.provinces)
    keep = np.isin(codes[panel.home], list(served))
    files, total, _ = _usage(catalog, panel, rng, folder, months, f"{name}-", keep, None)
    counts = np.bincount(panel.home[keep], minlength=len(codes))
    rows = [(str(codes[h]), month, int(counts[h])) for month in months for h in range(len(codes))
            if codes[h] in served]
    coverage = folder / "coverage.csv"
    pacsv.write_csv(pa.table({"province": [r[0] for r in rows], "month": [r[1] for r in rows],
                              "subscribers": pa.array([r[2] for r in rows], pa.int64())}), coverage)
    return OperatorFiles(name, files, coverage, total)
