"""The quality monitor of a source's deliveries: one row per local day, and a summary.

For a source and a period, per local day (Asia/Ho_Chi_Minh) of activity:

* ``records``: the records stored for the day, each once (the store's record keys);
* ``rejected``: the rows for the day that were rejected (into the quarantine), every delivery counted;
* ``duplicates``: the rows for the day that repeated a stored record or an earlier row of their delivery;
* ``persons``, ``platforms``: the distinct persons and platforms with a person-day on the day;
* ``late_records``: the day's records stored more than `late_days` days after it (the local date of the
  delivery's commit minus the day);
* ``baseline``: the median of ``records`` on the same weekday over the trailing `weeks` weeks (those inside the
  source's delivered range, a day without records counting 0), when at least `min_weeks` of them are;
* ``status``: ``missing`` (no record, inside the delivered range), ``low`` / ``high`` (records below / above the
  baseline by more than max(k × 1.4826 × MAD, `floor` × baseline), MAD being the median absolute deviation of
  those weekdays from the baseline), else ``ok``.

The days listed are those of the period inside the source's delivered range: from its first to its last day with
records. The summary counts the days by status (a day is complete when it is ``ok`` or ``high``), sums the rows,
and gives the share of rows received that were rejected (rejected ÷ (records + duplicates + rejected)) and the
median lateness of the period's records (in days, each record counted once: the lower median).

Everything here works on small per-day inputs (:class:`QualityInputs`); reading them from a store, on either
engine, is :mod:`thuocdo.workflows.quality`'s work.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

#: the columns of :func:`daily`
SCHEMA = pa.schema([("day", pa.date32()), ("records", pa.int64()), ("rejected", pa.int64()),
                    ("duplicates", pa.int64()), ("persons", pa.int64()), ("platforms", pa.int64()),
                    ("late_records", pa.int64()), ("baseline", pa.float64()), ("status", pa.string())])
STATUSES = ("ok", "missing", "low", "high")
#: the scale that makes the MAD a consistent estimate of a normal distribution's standard deviation
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Rule:
    """The monitor's settings: lateness threshold and the volume anomaly rule (see the module's doc)."""

    late_days: int = 2
    weeks: int = 8
    min_weeks: int = 4
    k: float = 3.5
    floor: float = 0.2


@dataclass(frozen=True)
class Delivery:
    """A delivery's rows for one day of activity (``batch_days``), with when the delivery was committed (UTC,
    naive). `day` None: rejected rows without a readable time."""

    day: dt.date | None
    good: int
    stored: int
    rejected: int
    committed_at: dt.datetime


@dataclass(frozen=True)
class QualityInputs:
    """What the monitor reads: the records stored per day (every day of the source), the deliveries, and the
    distinct persons and platforms per day of the period (empty when not asked for: they are then null)."""

    records: Mapping[dt.date, int]
    deliveries: Sequence[Delivery]
    activity: Mapping[dt.date, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    """A source's deliveries over a period (see the module's doc)."""

    days: int
    days_complete: int
    days_missing: int
    days_low: int
    days_high: int
    records: int
    rejected: int
    duplicates: int
    late_records: int
    rejected_share: float | None
    median_lateness_days: int | None
    first_day: dt.date | None  # the source's delivered range, whole (not only the period's)
    last_day: dt.date | None
    rejected_undated: int  # rejected rows without a readable time, of deliveries committed in the period

    def as_json(self) -> dict[str, object]:
        return {name: value.isoformat() if isinstance(value, dt.date) else value
                for name, value in self.__dict__.items()}


def local_date(committed_at: dt.datetime) -> dt.date:
    """The Asia/Ho_Chi_Minh date of a UTC time (naive, or aware)."""
    if committed_at.tzinfo is not None:
        committed_at = committed_at.astimezone(dt.UTC).replace(tzinfo=None)
    return (committed_at + dt.timedelta(hours=7)).date()


def delivered_range(records: Mapping[dt.date, int]) -> tuple[dt.date, dt.date] | None:
    days = [d for d, n in records.items() if n > 0]
    return (min(days), max(days)) if days else None


def baseline(records: Mapping[dt.date, int], day: dt.date, first: dt.date, rule: Rule) -> tuple[float, float] | None:
    """(median, MAD) of the records on the same weekday over the `rule.weeks` weeks before `day`, from `first`
    on; None when fewer than `rule.min_weeks` such days."""
    values = [records.get(day - dt.timedelta(weeks=w), 0) for w in range(1, rule.weeks + 1)
              if day - dt.timedelta(weeks=w) >= first]
    if len(values) < rule.min_weeks:
        return None
    median = statistics.median(values)
    return float(median), float(statistics.median(abs(v - median) for v in values))


def status(records: int, expected: tuple[float, float] | None, rule: Rule) -> str:
    if records == 0:
        return "missing"
    if expected is None:
        return "ok"
    median, mad = expected
    tolerance = max(rule.k * MAD_SCALE * mad, rule.floor * median)
    if records < median - tolerance:
        return "low"
    if records > median + tolerance:
        return "high"
    return "ok"


def daily(inputs: QualityInputs, start: dt.date, end: dt.date, rule: Rule | None = None) -> pa.Table:
    """The monitor's rows (:data:`SCHEMA`) for the days from `start` to `end` inside the delivered range."""
    rule = rule or Rule()
    span = delivered_range(inputs.records)
    if span is None:
        return SCHEMA.empty_table()
    first, last = max(start, span[0]), min(end, span[1])
    per_day: dict[dt.date, list[int]] = {}  # day -> rejected, duplicates, late
    for d in inputs.deliveries:
        if d.day is None or not first <= d.day <= last:
            continue
        row = per_day.setdefault(d.day, [0, 0, 0])
        row[0] += d.rejected
        row[1] += d.good - d.stored
        if (local_date(d.committed_at) - d.day).days > rule.late_days:
            row[2] += d.stored
    rows: list[dict[str, object]] = []
    day = first
    while day <= last:
        n = inputs.records.get(day, 0)
        expected = baseline(inputs.records, day, span[0], rule)
        rejected, duplicates, late = per_day.get(day, [0, 0, 0])
        # persons and platforms when they were read (a day of the period without person-days has none)
        persons, platforms = inputs.activity.get(day, (0, 0)) if inputs.activity else (None, None)
        rows.append({"day": day, "records": n, "rejected": rejected, "duplicates": duplicates, "persons": persons,
                     "platforms": platforms, "late_records": late,
                     "baseline": None if expected is None else expected[0], "status": status(n, expected, rule)})
        day += dt.timedelta(days=1)
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def lateness(deliveries: Sequence[Delivery], start: dt.date, end: dt.date) -> int | None:
    """The lower median, over the records of the days from `start` to `end`, of the days between a record's day
    and its delivery's commit (local dates); None without records."""
    counts: dict[int, int] = {}
    for d in deliveries:
        if d.day is not None and start <= d.day <= end and d.stored:
            late = (local_date(d.committed_at) - d.day).days
            counts[late] = counts.get(late, 0) + d.stored
    total = sum(counts.values())
    if not total:
        return None
    seen = 0
    for late in sorted(counts):
        seen += counts[late]
        if 2 * seen >= total:
            return late
    raise AssertionError("unreachable")


def summary(inputs: QualityInputs, days: pa.Table, start: dt.date, end: dt.date) -> Summary:
    """The summary of the monitor's rows `days` (:func:`daily` of the same inputs and period)."""
    statuses = days.column("status").to_pylist()
    records, rejected, duplicates, late = (sum(days.column(c).to_pylist()) for c in
                                           ("records", "rejected", "duplicates", "late_records"))
    received = records + duplicates + rejected
    span = delivered_range(inputs.records)
    undated = sum(d.rejected for d in inputs.deliveries
                  if d.day is None and start <= local_date(d.committed_at) <= end)
    return Summary(days=len(statuses), days_complete=sum(s in ("ok", "high") for s in statuses),
                   days_missing=statuses.count("missing"), days_low=statuses.count("low"),
                   days_high=statuses.count("high"), records=records, rejected=rejected, duplicates=duplicates,
                   late_records=late, rejected_share=rejected / received if received else None,
                   median_lateness_days=lateness(inputs.deliveries, start, end),
                   first_day=span[0] if span else None, last_day=span[1] if span else None,
                   rejected_undated=undated)
