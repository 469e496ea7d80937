"""Synthetic usage records for the benchmark: one quarter (2022-Q1) of a skewed national panel, as CSV files.

The shape follows the usage-record contract of DESIGN.md and is meant to look like what an operator delivers:

* ``P`` persons with heavy-tailed activity (log-normal), each with ONE home province (34 new units, drawn by
  2022 population); every record of a person names that home province, as the new unit's short name, the
  name of one of the former (63) units merged into it, or either without diacritics. The person-month
  province rule of thuocdo (most active days, then seconds, then smallest code) is then trivially the home
  province, so the hand-written baselines can use ``min(province)`` and still agree exactly.
* ``K`` real platform ids from the catalog with Zipf-like popularity (and a per-person taste shift), several
  records (sessions) per person-day on popular platforms, background-only rows (bytes, no session, no
  seconds), install-only rows and a few "bounce" visits (a session without seconds).
* Local (Asia/Ho_Chi_Minh) times of day with an evening peak, a weekly rhythm and a Tết dip, written either in
  UTC (``2022-01-31T17:30:00Z``, which is already 1 February in Vietnam) or with ``+07:00``; each file covers a
  run of days and carries a few late records of the days before it (so day partitions are written twice).
* Every record has a unique ``record_id`` (or, with ``record_ids=False``, none, and then the content is the
  idempotency key): the data holds no duplicates, which the benchmark re-checks before measuring.
* A weights file (``user_id, month, weight``) for every person-month and a province lookup (``value, code``),
  the table an analyst would keep next to the raw data.

Everything is vectorised (numpy + pyarrow) and written file by file, so memory stays around one file's worth.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from thuocdo.catalog import load_catalog

QUARTER_START = dt.date(2022, 1, 1)
N_DAYS = 90  # 2022-01-01 .. 2022-03-31
MONTHS = ("2022-01", "2022-02", "2022-03")
EPOCH_Q1_UTC = 1_640_995_200  # 2022-01-01T00:00:00Z
LOCAL_OFFSET_S = 7 * 3600
RECORDS_PER_FILE = 1_500_000
COLUMNS = ("record_id", "user_id", "platform", "time", "active_seconds", "bytes", "sessions", "installs", "province")

#: a plausible popularity order for Vietnam; the rest of the catalog follows in catalog order
POPULAR = (
    "zalo", "facebook", "youtube", "messenger", "tiktok", "shopee", "google-maps", "momo", "zing-mp3", "vnexpress",
    "instagram", "lazada", "grab", "be", "vietcombank", "mb-bank", "zalopay", "tiki", "bao-moi", "viettel-money",
    "netflix", "spotify", "telegram", "viber", "pc-covid", "so-suc-khoe-dien-tu", "vneid", "dich-vu-cong", "fpt-play",
    "dan-tri", "kenh14", "24h", "techcombank", "bidv", "vietinbank", "agribank", "shopee-food", "grabfood", "baemin",
    "traveloka", "vietnam-airlines", "vietjet", "agoda", "booking", "vnedu", "azota", "duolingo", "ghn", "ghtk",
    "viettel-post",
)
#: foreground bytes per second by category (video heavy, messaging light)
BYTE_RATE = {"entertainment": 150_000, "social-media": 60_000, "communication": 15_000}
DEFAULT_BYTE_RATE = 8_000
#: share of a day's activity by local hour (0..23)
HOUR_WEIGHTS = np.array([2, 1, 0.6, 0.4, 0.4, 0.8, 2.5, 4.5, 5, 5, 5, 5.5, 6.5, 5, 4.5, 4.5, 4.5, 5, 6, 7, 8,
                         8, 6.5, 4], dtype=float)


@dataclass
class Dataset:
    workdir: Path
    records: int
    persons: int
    platforms: list[str]
    usage_files: list[Path] = field(default_factory=list)
    weights_file: Path | None = None
    provinces_file: Path | None = None
    record_ids: bool = True

    @property
    def csv_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.usage_files)


def fold(text: str) -> str:
    """Vietnamese text without diacritics (đ → d), as many operators write names."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class Universe:
    """Persons, platforms and provinces, fixed for the whole quarter."""

    def __init__(self, persons: int, n_platforms: int, seed: int) -> None:
        catalog = load_catalog()
        rng = np.random.default_rng(seed)
        by_id = {p.id: p for p in catalog.platforms}
        order = [p for p in POPULAR if p in by_id] + [p.id for p in catalog.platforms if p.id not in POPULAR]
        if n_platforms > len(order):
            raise ValueError(f"the catalog has {len(order)} platforms, asked for {n_platforms}")
        self.platforms = order[:n_platforms]
        k = np.arange(n_platforms)
        pop = 1.0 / (k + 1.0) ** 1.1
        self.platform_p = pop / pop.sum()
        # records per person-day: ~4 on the most popular platforms, ~1.2 on the tail
        self.mean_records_per_day = 1.0 + 3.0 * (pop / pop[0]) ** 0.5 + 0.2
        cats = [by_id[p].category for p in self.platforms]
        self.byte_rate = np.array([BYTE_RATE.get(c, DEFAULT_BYTE_RATE) for c in cats], dtype=float)
        self.web_like = np.array([c == "news" for c in cats])

        # provinces: new units weighted by 2022 population; texts = new name, former names, folded forms
        news = list(catalog.provinces_new)
        popn = np.array([catalog.population(2022, p.code) or 1.0 for p in news], dtype=float)
        self.province_codes = [p.code for p in news]
        self.province_p = popn / popn.sum()
        texts: dict[str, int] = {}
        variants: list[list[list[int]]] = [[[], [], [], []] for _ in news]  # new, old, folded new, folded old
        index = {p.code: i for i, p in enumerate(news)}

        def add(text: str, home: int, kind: int) -> None:
            t = texts.setdefault(text, len(texts))
            if t not in variants[home][kind]:
                variants[home][kind].append(t)

        for i, p in enumerate(news):
            add(p.short_name, i, 0)
            add(fold(p.short_name), i, 2)
        for p in catalog.provinces_old:
            add(p.short_name, index[p.new_code], 1)
            add(fold(p.short_name), index[p.new_code], 3)
        self.province_texts = list(texts)
        self.province_text_code = [None] * len(texts)
        for i, kinds in enumerate(variants):
            for kind in kinds:
                for t in kind:
                    if self.province_text_code[t] not in (None, self.province_codes[i]):
                        raise ValueError(f"province text {self.province_texts[t]!r} names two units")
                    self.province_text_code[t] = self.province_codes[i]
        # ragged (start, count) per home and kind, for vectorised picking
        flat: list[int] = []
        self.v_start = np.zeros((len(news), 4), dtype=np.int64)
        self.v_count = np.zeros((len(news), 4), dtype=np.int64)
        for i, kinds in enumerate(variants):
            for kind, ts in enumerate(kinds):
                self.v_start[i, kind] = len(flat)
                self.v_count[i, kind] = len(ts)
                flat.extend(ts)
        self.v_flat = np.array(flat, dtype=np.int64)
        self._check_provinces(catalog)

        # persons: heavy-tailed activity, a home province, a platform taste shift
        self.persons = persons
        activity = rng.lognormal(0.0, 1.3, persons)
        self.activity_cdf = np.cumsum(activity)
        self.home = rng.choice(len(news), size=persons, p=self.province_p).astype(np.int32)
        self.shift = rng.integers(0, n_platforms, persons, dtype=np.int32)

    def _check_provinces(self, catalog) -> None:
        """Every text must resolve (for 2022) to the unit the generator means; else the baselines would differ."""
        on = dt.date(2022, 1, 15)
        for text, code in zip(self.province_texts, self.province_text_code, strict=True):
            resolved = catalog.resolve_province(text, on)
            if resolved is None or resolved.new_code != code:
                raise ValueError(f"province text {text!r} resolves to {resolved}, expected {code}")

    def user_ids(self, persons: np.ndarray) -> pa.Array:
        """Phone-number-like ids: '84' + 9 digits, a bijection of the person index (3^18 is prime to 10^9)."""
        digits = (persons.astype(np.int64) * 387_420_489 + 123_456_789) % 1_000_000_000
        text = pc.utf8_lpad(pc.cast(pa.array(digits), pa.string()), width=9, padding="0")
        return pc.binary_join_element_wise("84", text, "")


def _day_weights(first: int, last: int) -> np.ndarray:
    days = np.arange(first, last)
    weekday = np.array([(QUARTER_START + dt.timedelta(days=int(d))).weekday() for d in days])
    w = np.where(weekday >= 5, 1.08, 1.0)
    tet = (days >= 29) & (days <= 35)  # Tết 2022 (1 February) and the days around it
    return np.where(tet, w * 0.85, w)


def _file_records(u: Universe, rng: np.random.Generator, n: int, day_lo: int, day_hi: int,
                  late: bool) -> dict[str, np.ndarray]:
    """n records of person-platform-day units whose local days are in [day_lo, day_hi) (+ late ones)."""
    parts: list[dict[str, np.ndarray]] = []
    total = 0
    dw = _day_weights(day_lo, day_hi)
    dw = dw / dw.sum()
    expected = float((u.platform_p * u.mean_records_per_day).sum())
    while total < n:
        m = int((n - total) / expected * 1.03) + 16
        person = np.searchsorted(u.activity_cdf, rng.random(m) * u.activity_cdf[-1]).astype(np.int64)
        person = np.minimum(person, u.persons - 1)
        rank = rng.choice(len(u.platforms), size=m, p=u.platform_p)
        shifted = rng.random(m) < 0.3
        platform = np.where(shifted, (rank + u.shift[person]) % len(u.platforms), rank)
        day = day_lo + rng.choice(day_hi - day_lo, size=m, p=dw)
        if late:  # late deliveries: records of the previous file's last two days
            is_late = rng.random(m) < 0.03
            day = np.where(is_late, np.maximum(day_lo - 1 - rng.integers(0, 2, m), 0), day)
        k = 1 + rng.poisson(u.mean_records_per_day[platform] - 1.0)
        parts.append({"person": np.repeat(person, k), "platform": np.repeat(platform, k), "day": np.repeat(day, k)})
        total += int(k.sum())
    rec = {c: np.concatenate([p[c] for p in parts])[:n] for c in ("person", "platform", "day")}
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    second = hour * 3600 + rng.integers(0, 3600, n)
    rec["epoch_utc"] = EPOCH_Q1_UTC + rec["day"].astype(np.int64) * 86_400 + second - LOCAL_OFFSET_S
    return rec


def _measures(u: Universe, rng: np.random.Generator, platform: np.ndarray) -> dict[str, np.ndarray]:
    n = len(platform)
    kind = rng.random(n)
    install_only = kind < 0.006
    background = (kind >= 0.006) & (kind < 0.056)
    active = ~(install_only | background)
    bounce = active & (rng.random(n) < 0.03)
    seconds = np.clip(rng.lognormal(math.log(150), 1.2, n), 1, 86_400).astype(np.int64)
    seconds = np.where(active & ~bounce, seconds, 0)
    fg_bytes = seconds * u.byte_rate[platform] * rng.lognormal(0.0, 0.5, n)
    bg_bytes = rng.lognormal(math.log(200_000), 1.0, n)
    inst_bytes = rng.uniform(20e6, 150e6, n)
    nbytes = np.where(active, fg_bytes, np.where(background, bg_bytes, inst_bytes)).astype(np.int64)
    sessions = np.where(active, 1 + np.where(u.web_like[platform], rng.poisson(0.6, n), 0), 0)
    installs = np.where(install_only, 1, np.where(active & (rng.random(n) < 0.002), 1, 0))
    return {"active_seconds": seconds, "bytes": nbytes, "sessions": sessions.astype(np.int64),
            "installs": installs.astype(np.int64)}


def _provinces(u: Universe, rng: np.random.Generator, person: np.ndarray) -> np.ndarray:
    home = u.home[person]
    r = rng.random(len(person))
    kind = np.select([r < 0.80, r < 0.90, r < 0.97], [0, 1, 2], 3)
    count = u.v_count[home, kind]
    kind = np.where(count == 0, 0, kind)  # a unit without former names of that kind: use its own name
    count = u.v_count[home, kind]
    pick = u.v_start[home, kind] + (rng.random(len(person)) * count).astype(np.int64)
    return u.v_flat[pick]


def _time_text(epoch_utc: np.ndarray, utc_style: np.ndarray) -> pa.Array:
    """'2022-01-31T17:30:00Z' (UTC) or '2022-02-01T00:30:00+07:00' (local) for each instant."""
    shown = np.where(utc_style, epoch_utc, epoch_utc + LOCAL_OFFSET_S)
    text = pc.cast(pa.array(shown, pa.timestamp("s")), pa.string())  # '2022-01-31 17:30:00'
    text = pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")
    suffix = pc.if_else(pa.array(utc_style), pa.scalar("Z"), pa.scalar("+07:00"))
    return pc.binary_join_element_wise(text, suffix, "")


def generate(workdir: Path, records: int, persons: int, n_platforms: int = 50, seed: int = 2022,
             record_ids: bool = True, records_per_file: int = RECORDS_PER_FILE, log=print) -> Dataset:
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    u = Universe(persons, n_platforms, seed)
    rng = np.random.default_rng(seed + 1)
    ds = Dataset(workdir, records, persons, u.platforms, record_ids=record_ids)
    n_files = max(2, math.ceil(records / records_per_file))
    bounds = [round(N_DAYS * i / n_files) for i in range(n_files + 1)]
    province_texts = pa.array(u.province_texts, pa.string())
    platform_ids = pa.array(u.platforms, pa.string())
    written = 0
    for i in range(n_files):
        lo, hi = bounds[i], bounds[i + 1]
        n = records - written if i == n_files - 1 else round(records * (hi - lo) / N_DAYS)
        rec = _file_records(u, rng, n, lo, hi, late=i > 0)
        order = np.argsort(rec["epoch_utc"], kind="stable")  # operators deliver files in time order
        rec = {c: v[order] for c, v in rec.items()}
        meas = _measures(u, rng, rec["platform"])
        cols: dict[str, pa.Array] = {}
        if record_ids:
            seq = pc.cast(pa.array(np.arange(written, written + n, dtype=np.int64)), pa.string())
            cols["record_id"] = pc.binary_join_element_wise("r", seq, "")
        cols["user_id"] = u.user_ids(rec["person"])
        cols["platform"] = platform_ids.take(pa.array(rec["platform"]))
        cols["time"] = _time_text(rec["epoch_utc"], rng.random(n) < 0.55)
        for c, v in meas.items():
            cols[c] = pa.array(v)
        cols["province"] = province_texts.take(pa.array(_provinces(u, rng, rec["person"])))
        path = data / f"usage_{i + 1:03d}.csv"
        pacsv.write_csv(pa.table(cols), path, pacsv.WriteOptions(quoting_style="none"))
        ds.usage_files.append(path)
        written += n
        log(f"  {path.name}: {n:,} records, local days {lo}..{hi - 1}{' + late ones' if i else ''}")
        del rec, meas, cols

    ds.weights_file = data / "weights.csv"
    schema = pa.schema([("user_id", pa.string()), ("month", pa.string()), ("weight", pa.float64())])
    with pacsv.CSVWriter(ds.weights_file, schema, write_options=pacsv.WriteOptions(quoting_style="none")) as w:
        chunk = 1_000_000
        for start in range(0, persons, chunk):
            idx = np.arange(start, min(persons, start + chunk), dtype=np.int64)
            ids = u.user_ids(idx)
            for month in MONTHS:
                weight = np.round(rng.lognormal(math.log(40.0), 0.5, len(idx)), 3)
                w.write_table(pa.table({"user_id": ids, "month": pa.array([month] * len(idx), pa.string()),
                                        "weight": pa.array(weight)}, schema=schema))
    ds.provinces_file = data / "provinces.csv"
    pacsv.write_csv(pa.table({"value": pa.array(u.province_texts, pa.string()),
                              "code": pa.array(u.province_text_code, pa.string())}), ds.provinces_file)
    return ds
