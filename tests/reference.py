"""An independent, deliberately plain reference for the usage-metric dictionary.

It re-computes, with Python dicts and loops, what the metric engine computes with SQL, so that tests can
compare the two on the same (tricky) input. It follows DESIGN.md, "Usage records" and "The metric
dictionary", made precise as follows:

* A raw record is a dict of CSV-like values. Invalid records are dropped (see ``parse_record`` for the rules);
  valid ones are deduplicated per source (``clean_records``): a non-empty ``record_id`` is the key (the first
  record seen wins), otherwise the key is the record's content after parsing (user, platform id, instant,
  numbers, resolved province code). The two key spaces are separate: a record without ``record_id`` is never
  a duplicate of one that has an id.
* The day of a record is its date in Asia/Ho_Chi_Minh; its month is that day's month. A record makes its
  person active on its day when ``sessions > 0`` or ``active_seconds > 0``.
* A person is (source, user_id). ``w(u, m)`` is the weight row of the source for that person and month, 1
  without one (when a source repeats a weight row, the last one counts).
* All arithmetic is exact (``fractions.Fraction``); numbers become floats only in the returned DataFrame.

Choices where the brief leaves room (named here so a disagreement with the engine is easy to diagnose):
* By province, a person-month with active days only counts the provinces of its active person-days; when
  none of them has a province the person-month's province is None (unknown), even if an inactive day has one.
* Province codes compare as strings ("smallest code").
* By province, ``rank`` is computed within (source, period, category, province).
"""

from __future__ import annotations

import calendar
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pandas as pd

try:
    from zoneinfo import ZoneInfo

    LOCAL_TZ: Any = ZoneInfo("Asia/Ho_Chi_Minh")
except (ImportError, KeyError):  # no tz database (ZoneInfoNotFoundError is a KeyError): Vietnam has been UTC+7
    LOCAL_TZ = timezone(timedelta(hours=7))  # without DST since 1975

NATIONAL = "*"  # the province key of national figures (None is the "unknown province" key)

METRIC_COLUMNS = ["mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs", "stickiness"]

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(?P<offset>Z|z|[+-]\d{2}:\d{2})?"
)
_DIGITS_RE = re.compile(r"\d+")
_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")
_QUARTER_RE = re.compile(r"(\d{4})-Q([1-4])")


# --------------------------------------------------------------------------------------------------------
# Parsing and validation of one raw record
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One valid usage record after parsing."""

    record_id: str | None
    user_id: str
    platform: str  # platform id from the catalog
    instant: datetime  # aware, UTC
    day: date  # local (Asia/Ho_Chi_Minh) day
    active_seconds: int
    bytes: int
    sessions: int
    installs: int
    province: str | None  # resolved (new) province code, None when absent or unresolvable

    @property
    def active(self) -> bool:
        return self.sessions > 0 or self.active_seconds > 0

    @property
    def month(self) -> str:
        return f"{self.day.year:04d}-{self.day.month:02d}"

    def content_key(self) -> tuple[Any, ...]:
        return (
            self.user_id,
            self.platform,
            self.instant,
            self.active_seconds,
            self.bytes,
            self.sessions,
            self.installs,
            self.province,
        )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_int(value: Any, default: int) -> int | None:
    """A non-negative integer, ``default`` when blank, None when malformed.

    >>> parse_int("12", 0), parse_int("", 1), parse_int(None, 0), parse_int("1.5", 0), parse_int("-3", 0)
    (12, 1, 0, None, None)
    """
    if _blank(value):
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _DIGITS_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def parse_time(value: Any) -> tuple[datetime, date] | None:
    """The (UTC instant, local day) of a ``time`` value, None when malformed.

    >>> parse_time("2022-01-31T17:30:00Z")[1], parse_time("2022-01-31")[1], parse_time("31/01/2022")
    (datetime.date(2022, 2, 1), datetime.date(2022, 1, 31), None)
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=LOCAL_TZ)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_RE.fullmatch(text):
                d = date.fromisoformat(text)
                moment = datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ)
            elif m := _DATETIME_RE.fullmatch(text):
                if m.group("offset") in ("Z", "z"):
                    text = text[:-1] + "+00:00"
                parsed = datetime.fromisoformat(text)
                moment = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_TZ)
            else:
                return None
        except ValueError:
            return None
    else:
        return None
    return moment.astimezone(UTC), moment.astimezone(LOCAL_TZ).date()


def parse_record(
    raw: dict[str, Any],
    *,
    resolve_platform: Callable[[str], str | None],
    resolve_province: Callable[[str, date], str | None],
) -> tuple[Record | None, str | None]:
    """(record, None) for a valid raw record, (None, reason) otherwise.

    Rules: record_id optional, at most 128 characters; user_id 1-256 characters; platform resolvable;
    time as in ``parse_time``; active_seconds integer 0-86,400 (default 0); bytes, sessions, installs
    integers >= 0 (defaults 0, 1, 0); province optional, an unresolvable one is kept as None (not rejected).
    """
    record_id = raw.get("record_id")
    record_id = None if _blank(record_id) else str(record_id)
    if record_id is not None and len(record_id) > 128:
        return None, "record_id"

    user_id = raw.get("user_id")
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= 256:
        return None, "user_id"

    platform_value = raw.get("platform")
    if _blank(platform_value):
        return None, "platform"
    platform = resolve_platform(str(platform_value).strip())
    if platform is None:
        return None, "platform"

    parsed_time = parse_time(raw.get("time"))
    if parsed_time is None:
        return None, "time"
    instant, day = parsed_time

    active_seconds = parse_int(raw.get("active_seconds"), 0)
    if active_seconds is None or active_seconds > 86_400:
        return None, "active_seconds"
    numbers = {}
    for name, default in (("bytes", 0), ("sessions", 1), ("installs", 0)):
        numbers[name] = parse_int(raw.get(name), default)
        if numbers[name] is None:
            return None, name

    province_value = raw.get("province")
    province = None if _blank(province_value) else resolve_province(str(province_value).strip(), day)

    record = Record(
        record_id=record_id,
        user_id=user_id,
        platform=platform,
        instant=instant,
        day=day,
        active_seconds=active_seconds,
        bytes=numbers["bytes"],
        sessions=numbers["sessions"],
        installs=numbers["installs"],
        province=province,
    )
    return record, None


def clean_records(
    raw_records: Iterable[dict[str, Any]],
    *,
    resolve_platform: Callable[[str], str | None],
    resolve_province: Callable[[str, date], str | None],
) -> list[Record]:
    """The valid, deduplicated records of ONE source, in input order (the first of duplicates kept)."""
    seen_ids: set[str] = set()
    seen_contents: set[tuple[Any, ...]] = set()
    kept: list[Record] = []
    for raw in raw_records:
        record, _reason = parse_record(
            raw, resolve_platform=resolve_platform, resolve_province=resolve_province
        )
        if record is None:
            continue
        if record.record_id is not None:
            if record.record_id in seen_ids:
                continue
            seen_ids.add(record.record_id)
        else:
            key = record.content_key()
            if key in seen_contents:
                continue
            seen_contents.add(key)
        kept.append(record)
    return kept


def parse_weights(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Fraction]:
    """(user_id, month) -> weight; invalid rows (no user, bad month, weight not > 0) are ignored."""
    weights: dict[tuple[str, str], Fraction] = {}
    for row in rows:
        user_id, month, weight = row.get("user_id"), row.get("month"), row.get("weight")
        if not isinstance(user_id, str) or not user_id or not isinstance(month, str):
            continue
        m = _MONTH_RE.fullmatch(month.strip())
        if m is None or not 1 <= int(m.group(2)) <= 12:
            continue
        try:
            value = Fraction(str(weight).strip())
        except (ValueError, ZeroDivisionError):
            continue
        if value > 0:
            weights[(user_id, month.strip())] = value
    return weights


# --------------------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------------------


def period_months(period: str) -> list[str]:
    """The months of a period, YYYY-MM or YYYY-Qn.

    >>> period_months("2022-Q1")
    ['2022-01', '2022-02', '2022-03']
    """
    if m := _QUARTER_RE.fullmatch(period):
        year, quarter = int(m.group(1)), int(m.group(2))
        return [f"{year:04d}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1)]
    if (m := _MONTH_RE.fullmatch(period)) and 1 <= int(m.group(2)) <= 12:
        return [period]
    raise ValueError(f"not a period (YYYY-MM or YYYY-Qn): {period!r}")


def days_in_month(month: str) -> int:
    year, mon = int(month[:4]), int(month[5:7])
    return calendar.monthrange(year, mon)[1]


def previous_period(period: str) -> str:
    """The period just before (previous month or quarter).

    >>> previous_period("2022-01"), previous_period("2022-Q1")
    ('2021-12', '2021-Q4')
    """
    if m := _QUARTER_RE.fullmatch(period):
        year, quarter = int(m.group(1)), int(m.group(2))
        return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    period_months(period)  # validates
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def year_ago_period(period: str) -> str:
    period_months(period)  # validates
    return f"{int(period[:4]) - 1:04d}{period[4:]}"


# --------------------------------------------------------------------------------------------------------
# Provinces of person-days and person-months
# --------------------------------------------------------------------------------------------------------


def day_province(records: list[Record]) -> str | None:
    """The province of one person-day: that of its record with the most active_seconds (ties: smallest
    code), ignoring records without a (resolvable) province."""
    candidates = [(r.active_seconds, r.province) for r in records if r.province is not None]
    if not candidates:
        return None
    most = max(seconds for seconds, _ in candidates)
    return min(province for seconds, province in candidates if seconds == most)


def month_province(records_by_day: dict[date, list[Record]]) -> str | None:
    """The one province of a person-month (see the module docstring and the brief)."""
    active_days = {d: rs for d, rs in records_by_day.items() if any(r.active for r in rs)}
    if active_days:
        day_count: Counter[str] = Counter()
        day_seconds: Counter[str] = Counter()
        for records in active_days.values():
            province = day_province(records)
            if province is None:
                continue
            day_count[province] += 1
            day_seconds[province] += sum(r.active_seconds for r in records)
        if not day_count:
            return None
        return min(day_count, key=lambda p: (-day_count[p], -day_seconds[p], p))
    candidates = []
    for records in records_by_day.values():
        province = day_province(records)
        if province is not None:
            candidates.append((sum(r.active_seconds for r in records), province))
    if not candidates:
        return None
    most = max(seconds for seconds, _ in candidates)
    return min(province for seconds, province in candidates if seconds == most)


# --------------------------------------------------------------------------------------------------------
# Monthly totals and the metrics built from them
# --------------------------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Additive, weighted figures of a group of person-months (one platform, month and province key)."""

    mau: Fraction = Fraction(0)  # Σ w over persons active in the month
    person_days: Fraction = Fraction(0)  # Σ w × number of distinct active days
    seconds: Fraction = Fraction(0)  # Σ active_seconds × w
    bytes: Fraction = Fraction(0)
    sessions: Fraction = Fraction(0)
    installs: Fraction = Fraction(0)
    records: int = 0


def month_totals(
    records: list[Record], weights: dict[tuple[str, str], Fraction], month: str, by_province: bool
) -> dict[tuple[str, str | None], Totals]:
    """(platform, province key) -> Totals for the records of ONE source in ``month``."""
    person_months: dict[tuple[str, str], dict[date, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.month == month:
            person_months[(r.platform, r.user_id)][r.day].append(r)

    totals: dict[tuple[str, str | None], Totals] = defaultdict(Totals)
    for (platform, user_id), by_day in person_months.items():
        w = weights.get((user_id, month), Fraction(1))
        key = month_province(by_day) if by_province else NATIONAL
        t = totals[(platform, key)]
        active_days = [d for d, rs in by_day.items() if any(r.active for r in rs)]
        if active_days:
            t.mau += w
            t.person_days += w * len(active_days)
        for rs in by_day.values():
            for r in rs:
                t.seconds += w * r.active_seconds
                t.bytes += w * r.bytes
                t.sessions += w * r.sessions
                t.installs += w * r.installs
                t.records += 1
    return dict(totals)


def _ratio(numerator: Fraction, denominator: Fraction) -> Fraction | None:
    return None if denominator == 0 else numerator / denominator


def month_metrics(t: Totals, month: str) -> dict[str, Fraction | None]:
    dau = t.person_days / days_in_month(month)
    return {
        "mau": t.mau,
        "dau": dau,
        "minutes_per_day": _ratio(t.seconds / 60, t.person_days),
        "mb_per_user": _ratio(t.bytes / 10**6, t.mau),
        "sessions": t.sessions,
        "installs": t.installs,
        "stickiness": _ratio(dau, t.mau),
    }


def quarter_metrics(monthly: list[tuple[str, Totals]]) -> dict[str, Fraction | None]:
    """Metrics of a quarter from its three (month, Totals) (an empty Totals for a month without records)."""
    days = sum(days_in_month(month) for month, _ in monthly)
    mau = sum((t.mau for _, t in monthly), Fraction(0)) / 3
    person_days = sum((t.person_days for _, t in monthly), Fraction(0))
    seconds = sum((t.seconds for _, t in monthly), Fraction(0))
    mb_values = [month_metrics(t, month)["mb_per_user"] for month, t in monthly if t.mau > 0]
    dau = person_days / days
    return {
        "mau": mau,
        "dau": dau,
        "minutes_per_day": _ratio(seconds / 60, person_days),
        "mb_per_user": sum(mb_values, Fraction(0)) / len(mb_values) if mb_values else None,
        "sessions": sum((t.sessions for _, t in monthly), Fraction(0)),
        "installs": sum((t.installs for _, t in monthly), Fraction(0)),
        "stickiness": _ratio(dau, mau),
    }


def period_metrics(
    clean_by_source: dict[str, list[Record]],
    weights_by_source: dict[str, dict[tuple[str, str], Fraction]],
    period: str,
    by_province: bool,
) -> dict[tuple[str, str, str | None], dict[str, Fraction | None]]:
    """(source, platform, province key) -> metrics, for the rows that exist in ``period``."""
    months = period_months(period)
    result: dict[tuple[str, str, str | None], dict[str, Fraction | None]] = {}
    for source, records in clean_by_source.items():
        weights = weights_by_source.get(source, {})
        per_month = {m: month_totals(records, weights, m, by_province) for m in months}
        keys = sorted({key for totals in per_month.values() for key in totals}, key=_key_order)
        for platform, province in keys:
            monthly = [(m, per_month[m].get((platform, province), Totals())) for m in months]
            if sum(t.records for _, t in monthly) == 0:
                continue
            if len(months) == 1:
                result[(source, platform, province)] = month_metrics(monthly[0][1], months[0])
            else:
                result[(source, platform, province)] = quarter_metrics(monthly)
    return result


def _key_order(key: tuple[str, str | None]) -> tuple[str, bool, str]:
    platform, province = key
    return platform, province is None, province or ""


# --------------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------------


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _change(current: Fraction, previous: dict[str, Fraction | None] | None) -> Fraction | None:
    if previous is None or previous["mau"] in (None, 0):
        return None
    return (current - previous["mau"]) / previous["mau"]


def reference_metrics(
    records_by_source: dict[str, list[dict[str, Any]]],
    weights_by_source: dict[str, list[dict[str, Any]]],
    period: str,
    *,
    resolve_platform: Callable[[str], str | None],
    resolve_province: Callable[[str, date], str | None],
    platform_info: dict[str, tuple[str, str]],
    by_province: bool = False,
) -> pd.DataFrame:
    """One row per (source, platform[, province]) with records in ``period`` (YYYY-MM or YYYY-Qn).

    Columns: source, period, platform, category, origin, [province,] mau, dau, minutes_per_day, mb_per_user,
    sessions, installs, stickiness, rank, mau_change_prev, mau_change_yoy. Missing values are NaN.
    """
    clean = {
        source: clean_records(raw, resolve_platform=resolve_platform, resolve_province=resolve_province)
        for source, raw in records_by_source.items()
    }
    weights = {source: parse_weights(rows) for source, rows in weights_by_source.items()}
    current = period_metrics(clean, weights, period, by_province)
    previous = period_metrics(clean, weights, previous_period(period), by_province)
    year_ago = period_metrics(clean, weights, year_ago_period(period), by_province)

    rows = []
    for (source, platform, province), metrics in current.items():
        category, origin = platform_info.get(platform, (None, None))
        rows.append(
            {
                "source": source,
                "period": period,
                "platform": platform,
                "category": category,
                "origin": origin,
                "province": province,
                **metrics,
                "mau_change_prev": _change(metrics["mau"], previous.get((source, platform, province))),
                "mau_change_yoy": _change(metrics["mau"], year_ago.get((source, platform, province))),
            }
        )

    # rank by mau within (source, period, category[, province]), descending, ties share the lower rank
    for row in rows:
        peers = [
            other["mau"]
            for other in rows
            if (other["source"], other["category"], other["province"])
            == (row["source"], row["category"], row["province"])
        ]
        row["rank"] = 1 + sum(1 for mau in peers if mau > row["mau"])

    float_columns = [*METRIC_COLUMNS, "mau_change_prev", "mau_change_yoy"]
    columns = ["source", "period", "platform", "category", "origin"]
    columns += ["province"] if by_province else []
    columns += [*METRIC_COLUMNS, "rank", "mau_change_prev", "mau_change_yoy"]
    frame = pd.DataFrame(
        [{c: _float(row[c]) if c in float_columns else row[c] for c in columns} for row in rows],
        columns=columns,
    )
    for column in float_columns:
        frame[column] = frame[column].astype(float)
    frame["rank"] = frame["rank"].astype(int)
    return frame.reset_index(drop=True)


def reference_category_shares(metrics: pd.DataFrame, metric: str = "mau") -> pd.DataFrame:
    """Per source, period, category (and province when the metrics have one): Σ of ``metric`` over `vn`
    platforms (domestic), over `foreign` ones, over all (total), domestic ÷ total and domestic ÷ foreign
    (NaN when the divisor is 0). Missing metric values count as 0."""
    group_columns = ["source", "period", "category"] + (["province"] if "province" in metrics.columns else [])
    groups: dict[tuple[Any, ...], dict[str, float]] = {}
    for row in metrics.to_dict("records"):
        key = tuple(row[c] for c in group_columns)
        sums = groups.setdefault(key, {"domestic": 0.0, "foreign": 0.0, "total": 0.0})
        value = row[metric]
        value = 0.0 if value is None or pd.isna(value) else float(value)
        if row["origin"] == "vn":
            sums["domestic"] += value
        elif row["origin"] == "foreign":
            sums["foreign"] += value
        sums["total"] += value

    out = []
    for key, sums in groups.items():
        out.append(
            {
                **dict(zip(group_columns, key, strict=True)),
                **sums,
                "domestic_share": sums["domestic"] / sums["total"] if sums["total"] else None,
                "ratio": sums["domestic"] / sums["foreign"] if sums["foreign"] else None,
            }
        )
    columns = [*group_columns, "domestic", "foreign", "total", "domestic_share", "ratio"]
    frame = pd.DataFrame(out, columns=columns)
    for column in ["domestic", "foreign", "total", "domestic_share", "ratio"]:
        frame[column] = frame[column].astype(float)
    return frame
