"""A seeded generator of tricky raw usage input, for comparing the metric engine with ``reference.py``.

``make_fixture(seed)`` returns raw records (dicts of CSV-like strings) for two sources, ``panel-a`` (with
panel weights for most, not all, person-months) and ``telco-b`` (no weights), covering 2020-12-31 (local) to
2022-04-01 (local), so that the months 2021-01..2022-03, their quarters, the previous quarter and the same
quarter a year before all have data. On purpose it contains:

* exact duplicate rows (with and without ``record_id``), rows repeating a ``record_id`` with other content
  (the first one counts), a ``record_id`` of one source reused in the other source (NOT a duplicate);
* with ``reformatted_duplicates``: rows without ``record_id`` repeating another such row's content in another
  form (same instant in another offset, the platform's alias instead of its id): duplicates "after parsing";
* install-only rows (sessions 0, active_seconds 0, installs 1), background-only rows (sessions 0,
  active_seconds 0, bytes > 0), rows active by seconds only or by sessions only, rows without ``sessions``
  (default 1: active);
* times in +07:00, Z, -05:00, +09:00, naive and date-only forms, with a space or a ``T``, sometimes with
  fractions of a second, clustered near local midnight and at month and quarter ends;
* Unicode user ids (Vietnamese with diacritics, emoji, CJK, Korean), ids with commas and quotes, ids
  differing only by case, a 1-character and a 256-character id; the same ids in both sources;
* province values as old names, new names, names without diacritics, codes (including the reused 80),
  an unresolvable value, and empty or missing;
* ``telco-b``/``telegram`` is scripted: install/background rows only in 2021-11 and 2022-02, activity only in
  2022-01 (a quarter with a month without activity, a row with mau 0); ``panel-a``/``mocha`` is active only
  in 2021-03 and 2022-03;
* with ``invalid_rate`` > 0: invalid rows (unknown platform, bad numbers, malformed time, missing or too long
  user id, too long record_id), each placed before a valid row that reuses its record_id when it has one.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

# platform id -> (category, origin), as in the real catalog
FIXTURE_PLATFORMS: dict[str, tuple[str, str]] = {
    "zalo": ("communication", "vn"),
    "mocha": ("communication", "vn"),
    "messenger": ("communication", "foreign"),
    "viber": ("communication", "foreign"),
    "telegram": ("communication", "foreign"),
    "be": ("mobility", "vn"),
    "grab": ("mobility", "foreign"),
    "vnexpress": ("news", "vn"),
}

# the raw `platform` values used for each platform: its id and its catalog aliases
PLATFORM_VALUES: dict[str, list[str]] = {
    "zalo": ["zalo", "com.zing.zalo"],
    "mocha": ["mocha"],
    "messenger": ["messenger", "com.facebook.orca"],
    "viber": ["viber"],
    "telegram": ["telegram"],
    "be": ["be"],
    "grab": ["grab"],
    "vnexpress": ["vnexpress", "vnexpress.net"],
}
_POPULARITY = {"zalo": 10, "messenger": 8, "grab": 5, "vnexpress": 5, "be": 3, "viber": 2, "telegram": 2}

# one group per (old, 63-unit) province: the ways a record may spell it
PROVINCE_SPELLINGS: list[list[str]] = [
    ["Hà Nội", "Ha Noi", "01", "Thành phố Hà Nội"],
    ["Hồ Chí Minh", "Ho Chi Minh", "79", "Thành phố Hồ Chí Minh"],
    ["Đà Nẵng", "Da Nang", "48"],
    ["Thừa Thiên Huế", "Thua Thien Hue", "46", "Huế"],
    ["Long An", "80"],  # 80 was Long An, and is Tây Ninh's code since 2025-07-01
    ["Tây Ninh", "Tay Ninh", "72"],
    ["Bình Dương", "Binh Duong", "74"],
    ["Quảng Nam", "Quang Nam", "49"],
    ["Hà Giang", "Ha Giang", "02"],
    ["Cần Thơ", "Can Tho", "92"],
    ["Hải Phòng", "Hai Phong", "31"],
]
UNRESOLVABLE_PROVINCE = "Atlantis"

SPECIAL_USERS = [
    "nguyễn.văn.an",
    "Đặng Thị Hương",
    "trần_thị_bích_ngọc",
    "phạm-đức-ứng",
    "😀-user",
    "🇻🇳🚀42",
    "李小龍",
    "ユーザー7",
    "사용자-1",
    'quote"inside',
    "comma,inside",
    'both,"of",them',
    "it's",
    "User-7",
    "user-7",
    "a",
    "x" * 255 + "y",
]

SOURCES = ("panel-a", "telco-b")
COLUMNS = [
    "record_id", "user_id", "platform", "time", "active_seconds", "bytes", "sessions", "installs", "province",
]
FIRST_MONTH, LAST_MONTH = (2021, 1), (2022, 3)


@dataclass
class Fixture:
    records_by_source: dict[str, list[dict[str, str]]]
    weights_by_source: dict[str, list[dict[str, str]]]
    platform_values: list[str]
    province_values: list[str]
    invalid_rows: dict[str, list[int]] = field(default_factory=dict)  # indices of rows broken on purpose
    months: list[str] = field(default_factory=list)


def _months() -> list[tuple[int, int]]:
    year, month = FIRST_MONTH
    out = []
    while (year, month) <= LAST_MONTH:
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def render_time(rng: random.Random, local: datetime, *, date_only_allowed: bool = True) -> str:
    """``local`` (naive Asia/Ho_Chi_Minh wall time) written in a random but equivalent form."""
    forms = ["+07:00", "Z", "-05:00", "+09:00", "naive"] + (["date"] if date_only_allowed else [])
    form = rng.choice(forms)
    if form == "date":
        return local.date().isoformat()
    sep = rng.choice(["T", "T", " "])
    spec = "milliseconds" if rng.random() < 0.1 else "seconds"
    if form == "naive":
        return local.isoformat(sep=sep, timespec=spec)
    shift = {"+07:00": 0, "Z": -7, "-05:00": -12, "+09:00": 2}[form]
    text = (local + timedelta(hours=shift)).isoformat(sep=sep, timespec=spec)
    return text + ("Z" if form == "Z" else form)


def _local_time(rng: random.Random, day: date) -> datetime:
    if rng.random() < 0.45:  # near local midnight, on either side
        minute = rng.choice([rng.randrange(0, 60), rng.randrange(23 * 60, 24 * 60)])
    else:
        minute = rng.randrange(0, 24 * 60)
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minute, seconds=rng.randrange(60))


def _numbers(rng: random.Random, kind: str) -> dict[str, str]:
    if kind == "install":
        return {"active_seconds": "0", "bytes": rng.choice(["0", "", str(rng.randrange(1, 3 * 10**7))]),
                "sessions": "0", "installs": "1"}
    if kind == "background":
        return {"active_seconds": rng.choice(["0", ""]), "bytes": str(rng.randrange(1, 5 * 10**7)),
                "sessions": "0", "installs": rng.choice(["0", ""])}
    if rng.random() < 0.5:  # round values, so that ties happen
        seconds = str(rng.choice([30, 60, 120, 300, 600, 900]))
    else:
        seconds = str(rng.choice([rng.randrange(1, 5400), rng.randrange(1, 5400), 86_400]))
    sessions = str(rng.randrange(1, 6))
    if kind == "seconds-only":
        sessions = "0"
    elif kind == "sessions-only":
        seconds = rng.choice(["0", ""])
    elif kind == "default-sessions":
        sessions = ""
    return {"active_seconds": seconds, "bytes": str(rng.choice([0, rng.randrange(10**3, 2 * 10**8)])),
            "sessions": sessions, "installs": rng.choice(["0", "0", "", "1"])}


class _Builder:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: dict[str, list[dict[str, str]]] = {s: [] for s in SOURCES}
        self.counter = 0
        self.users: dict[str, list[str]] = {
            "panel-a": SPECIAL_USERS + [f"u{n:04d}" for n in range(45)],
            "telco-b": SPECIAL_USERS[::2] + [f"u{n:04d}" for n in range(25, 70)],
        }
        self.home: dict[tuple[str, str], int] = {}
        self.platforms_of: dict[tuple[str, str], list[str]] = {}

    def province_value(self, source: str, user: str) -> str | None:
        """A raw province value (None = key absent)."""
        rng = self.rng
        home = self.home.setdefault((source, user), rng.randrange(len(PROVINCE_SPELLINGS)))
        draw = rng.random()
        if draw < 0.55:
            return rng.choice(PROVINCE_SPELLINGS[home])
        if draw < 0.75:
            return rng.choice(rng.choice(PROVINCE_SPELLINGS))
        if draw < 0.77:
            return UNRESOLVABLE_PROVINCE
        return rng.choice(["", None])

    def add(self, source: str, user: str, platform: str, local: datetime, kind: str) -> None:
        rng = self.rng
        row: dict[str, str] = {}
        self.counter += 1
        if rng.random() < 0.75:
            row["record_id"] = rng.choice([f"{source}:{self.counter}", f"r-{rng.getrandbits(40):010x}"])
        elif rng.random() < 0.5:
            row["record_id"] = ""
        row["user_id"] = user
        row["platform"] = rng.choice(PLATFORM_VALUES[platform])
        row["time"] = render_time(rng, local)
        for name, value in _numbers(rng, kind).items():
            if value != "" or rng.random() < 0.7:  # an empty value, or sometimes no key at all
                row[name] = value
        province = self.province_value(source, user)
        if province is not None:
            row["province"] = province
        self.rows[source].append(row)

    def burst(
        self, source: str, user: str, platform: str, year: int, month: int, *, kinds=None, spill=True
    ) -> None:
        """A few records of one person on one platform in one month, clustered on a few days."""
        rng = self.rng
        days = _month_days(year, month)
        edges = days[:2] + days[-2:]
        chosen = []
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 6])):
            draw = rng.random()
            if spill and draw < 0.06:  # spill to the neighbouring month (local)
                chosen.append(rng.choice([days[0] - timedelta(days=1), days[-1] + timedelta(days=1)]))
            elif draw < 0.45:
                chosen.append(rng.choice(edges))
            elif chosen and draw < 0.6:
                chosen.append(rng.choice(chosen))
            else:
                chosen.append(rng.choice(days))
        for day in chosen:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                kind = rng.choices(
                    ["active", "seconds-only", "sessions-only", "default-sessions", "install", "background"],
                    weights=[60, 6, 8, 6, 10, 10],
                )[0] if kinds is None else rng.choice(kinds)
                self.add(source, user, platform, _local_time(rng, day), kind)

    def random_burst(self) -> None:
        rng = self.rng
        source = rng.choices(SOURCES, weights=[65, 35])[0]
        user = rng.choice(self.users[source])
        if (source, user) not in self.platforms_of:
            names = list(_POPULARITY)
            picks = {rng.choices(names, weights=[_POPULARITY[n] for n in names])[0] for _ in range(4)}
            self.platforms_of[(source, user)] = sorted(picks)
        scripted = {("telco-b", "telegram"), ("panel-a", "mocha")}
        choices = [p for p in self.platforms_of[(source, user)] if (source, p) not in scripted]
        if not choices:
            return
        year, month = rng.choice(_months())
        self.burst(source, user, rng.choice(choices), year, month)

    def scripted(self) -> None:
        """Platform-months whose shape does not depend on the seed's luck."""
        users = self.users
        for user in users["telco-b"][:6]:
            self.burst("telco-b", user, "telegram", 2021, 11, kinds=["install", "background"], spill=False)
            self.burst("telco-b", user, "telegram", 2022, 2, kinds=["install", "background"], spill=False)
        for user in users["telco-b"][3:12]:
            self.burst(
                "telco-b", user, "telegram", 2022, 1, kinds=["active", "seconds-only", "install"], spill=False
            )
        for user in users["panel-a"][:8]:
            self.burst("panel-a", user, "mocha", 2021, 3, kinds=["active", "background"], spill=False)
            self.burst("panel-a", user, "mocha", 2022, 3, kinds=["active", "sessions-only"], spill=False)


def _weights(rng: random.Random, users: list[str]) -> list[dict[str, str]]:
    months = [(2020, 12), *_months(), (2022, 4)]
    rows = []
    for user in users:
        for year, month in months:
            if rng.random() < 0.85:
                weight = rng.choice([str(rng.randrange(1, 6)), f"{rng.uniform(0.2, 8):.3f}", "1", "0.5"])
                rows.append({"user_id": user, "month": f"{year:04d}-{month:02d}", "weight": weight})
    rng.shuffle(rows)
    return rows


def _reformatted(rng: random.Random, row: dict[str, str]) -> dict[str, str] | None:
    """The same content in another form: another offset for the same instant, another platform alias."""
    text = row["time"]
    if len(text) == 10:  # date-only: no other form of the same instant is obvious; skip
        return None
    # recover the local wall time from the rendered text
    stamp = text.replace(" ", "T")
    if stamp.endswith("Z"):
        stamp = stamp[:-1] + "+00:00"
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is not None:
        local = moment.astimezone(timezone(timedelta(hours=7))).replace(tzinfo=None)
    else:
        local = moment
    copy = dict(row)
    copy["time"] = render_time(rng, local, date_only_allowed=False)
    platform_id = next(p for p, values in PLATFORM_VALUES.items() if row["platform"] in values)
    copy["platform"] = rng.choice(PLATFORM_VALUES[platform_id])
    return copy


_INVALID_CHANGES = [
    ("platform", "not-a-real-platform"),
    ("active_seconds", "86401"),
    ("active_seconds", "-1"),
    ("bytes", "-5"),
    ("bytes", "12.5"),
    ("sessions", "one"),
    ("installs", "1e3"),
    ("time", "2022-13-01T10:00:00+07:00"),
    ("time", "31/01/2022"),
    ("time", ""),
    ("user_id", ""),
    ("user_id", "z" * 257),
    ("record_id", "R" * 129),
]


def make_fixture(
    seed: int,
    n_records: int = 3000,
    *,
    reformatted_duplicates: bool = True,
    invalid_rate: float = 0.0,
) -> Fixture:
    """About ``n_records`` raw rows (duplicates included) over the two sources, the same for the same seed."""
    rng = random.Random(seed)
    builder = _Builder(rng)
    builder.scripted()
    target = int(n_records * 0.88)
    while sum(len(rows) for rows in builder.rows.values()) < target:
        builder.random_burst()

    records_by_source: dict[str, list[dict[str, str]]] = {}
    invalid_rows: dict[str, list[int]] = {}
    for source in SOURCES:
        originals = builder.rows[source]
        other = builder.rows[SOURCES[1 - SOURCES.index(source)]]
        other_ids = [r["record_id"] for r in other if r.get("record_id")]
        keyed: list[tuple[float, int, dict[str, str], bool]] = []  # (position, tie-break, row, invalid?)
        for i, row in enumerate(originals):
            keyed.append((float(i), 0, row, False))

            def later(start: float = i + 0.01, end: int = len(originals)) -> float:  # a position after row i
                return rng.uniform(start, end)

            draw = rng.random()
            if draw < 0.05:  # an exact copy (a retry)
                keyed.append((later(), 1, dict(row), False))
            elif draw < 0.07 and row.get("record_id"):  # the same record_id with other content
                changed = dict(row, active_seconds=str(rng.randrange(3600)), bytes=str(rng.randrange(10**6)))
                keyed.append((later(), 1, changed, False))
            elif draw < 0.09 and reformatted_duplicates and not row.get("record_id"):
                copy = _reformatted(rng, row)
                if copy is not None:
                    keyed.append((later(), 1, copy, False))
            elif draw < 0.10 and other_ids:  # a record_id of the other source: NOT a duplicate here
                borrowed = dict(row, record_id=rng.choice(other_ids))
                if rng.random() < 0.5:  # else the same content under another id: two records
                    borrowed["bytes"] = str(rng.randrange(10**6))
                keyed.append((later(), 1, borrowed, False))
            if rng.random() < invalid_rate:
                name, value = rng.choice(_INVALID_CHANGES)
                broken = dict(row)
                broken[name] = value
                keyed.append((i - 0.5, 0, broken, True))  # just before the valid row (same record_id)
        keyed.sort(key=lambda item: (item[0], item[1]))
        records_by_source[source] = [row for _, _, row, _ in keyed]
        invalid_rows[source] = [n for n, (_, _, _, invalid) in enumerate(keyed) if invalid]

    weights_by_source = {"panel-a": _weights(rng, builder.users["panel-a"]), "telco-b": []}
    platform_values = sorted({r["platform"] for rows in records_by_source.values() for r in rows})
    province_values = sorted({r.get("province", "") for rows in records_by_source.values() for r in rows})
    return Fixture(
        records_by_source=records_by_source,
        weights_by_source=weights_by_source,
        platform_values=platform_values,
        province_values=province_values,
        invalid_rows=invalid_rows,
        months=[f"{y:04d}-{m:02d}" for y, m in _months()],
    )


def to_csv_text(records: list[dict[str, str]]) -> str:
    """CSV with a header and every column (missing values empty), quoted where needed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    return out.getvalue()


def to_ndjson_text(records: list[dict[str, str]]) -> str:
    """One JSON object per line, keys as in the records (absent keys stay absent), UTF-8 kept readable."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def weights_to_csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["user_id", "month", "weight"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
