"""The rollups kept in step with the stored records, as engine-neutral SQL.

``person_day`` (stored, one row per source × platform × person × day within a file; a day's rows may be held in
several files, which :data:`PERSON_DAY_MERGE` collapses) → ``person_month`` (one row per source
× platform × person × month, with the person-month's province) → ``usage_month`` (weighted sums per source ×
platform × month × province), which every metric query reads.

A person-month's province is the province of most of its active days (then most active seconds, then the
smallest code; a person-month without active days takes the province of its other days), so that the
provinces partition the national figures exactly.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import sqlglot
from sqlglot import exp

#: the stored columns of a person_day file
PERSON_DAY_COLUMNS = ("platform", "person", "day", "month", "active_seconds", "bytes", "sessions", "installs", "active",
                      "province", "province_seconds")

#: a day's person-day rows from several files (``person_day_parts``, with their source) collapsed into one row per
#: person-day: sums, active on any part, and the province of the part with the most active seconds (then the
#: smallest code) with those seconds. Associative, so parts may themselves be collapsed rows. Sums are taken
#: wide and saturate at the largest BIGINT rather than overflow (with the records' bounds, ingest/contracts.py,
#: a person-day would need about a million records at the bound to reach it).
PERSON_DAY_MERGE = """
SELECT source, platform, person, day, month,
       CAST(LEAST(SUM(CAST(active_seconds AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS active_seconds,
       CAST(LEAST(SUM(CAST(bytes AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS bytes,
       CAST(LEAST(SUM(CAST(sessions AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS sessions,
       CAST(LEAST(SUM(CAST(installs AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS installs,
       BOOL_OR(active) AS active,
       ARG_MAX(province, CASE WHEN province IS NOT NULL
                              THEN province_seconds * 1000 + (999 - CAST(province AS INTEGER)) END) AS province,
       MAX(province_seconds) AS province_seconds
FROM person_day_parts
GROUP BY source, platform, person, day, month
"""

#: the score that picks a person-day's province: the record with most active seconds, then the smallest code
PROVINCE_SCORE = ("CASE WHEN province_code IS NOT NULL "
                  "THEN active_seconds_n * 1000 + (999 - CAST(province_code AS INTEGER)) END")

#: new records (``fresh``: person, platform, day, month, the typed measures ``*_n`` and ``province_code``) as one
#: row per person-day: saturating sums (see :data:`PERSON_DAY_MERGE`), active when any record has sessions or
#: active seconds, and the province of the record with the most active seconds with those seconds
PERSON_DAY_FROM_RECORDS = f"""
SELECT platform, person, day, month,
       CAST(LEAST(SUM(CAST(active_seconds_n AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS active_seconds,
       CAST(LEAST(SUM(CAST(bytes_n AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS bytes,
       CAST(LEAST(SUM(CAST(sessions_n AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS sessions,
       CAST(LEAST(SUM(CAST(installs_n AS DECIMAL(38, 0))), 9223372036854775807) AS BIGINT) AS installs,
       BOOL_OR(sessions_n > 0 OR active_seconds_n > 0) AS active,
       ARG_MAX(province_code, {PROVINCE_SCORE}) AS province,
       MAX(CASE WHEN province_code IS NOT NULL THEN active_seconds_n END) AS province_seconds
FROM fresh
GROUP BY platform, person, day, month
"""

#: the columns of a person_month row (:data:`PERSON_MONTH`)
PERSON_MONTH_COLUMNS = ("source", "platform", "person", "month", "province", "active_days", "active_seconds", "bytes",
                        "sessions", "installs")

PERSON_MONTH = """
WITH agg AS (
    SELECT source, platform, person, month,
           SUM(CASE WHEN active THEN 1 ELSE 0 END) AS active_days,
           SUM(active_seconds) AS active_seconds, SUM(bytes) AS bytes,
           SUM(sessions) AS sessions, SUM(installs) AS installs,
           MIN(CASE WHEN active THEN province END) AS active_min, MAX(CASE WHEN active THEN province END) AS active_max,
           MIN(province) AS any_min, MAX(province) AS any_max
    FROM person_day
    GROUP BY source, platform, person, month
), ambiguous AS (
    -- the few person-months seen in two provinces: only they need the ranking below
    SELECT source, platform, person, month FROM agg
    WHERE (active_days > 0 AND active_min <> active_max) OR (active_days = 0 AND any_min <> any_max)
), prov AS (
    SELECT d.source, d.platform, d.person, d.month, d.province,
           SUM(CASE WHEN d.active THEN 1 ELSE 0 END) AS days, SUM(d.active_seconds) AS secs
    FROM person_day AS d
    JOIN ambiguous AS a
      ON d.source = a.source AND d.platform = a.platform AND d.person = a.person AND d.month = a.month
    WHERE d.province IS NOT NULL
    GROUP BY d.source, d.platform, d.person, d.month, d.province
), pick AS (
    SELECT source, platform, person, month, province
    FROM (
        SELECT source, platform, person, month, province,
               ROW_NUMBER() OVER (PARTITION BY source, platform, person, month
                                  ORDER BY days DESC, secs DESC, province ASC) AS rn
        FROM prov
    ) AS ranked
    WHERE rn = 1
)
SELECT agg.source, agg.platform, agg.person, agg.month,
       CASE WHEN agg.active_days > 0
            THEN CASE WHEN agg.active_min = agg.active_max THEN agg.active_min ELSE pick.province END
            ELSE CASE WHEN agg.any_min = agg.any_max THEN agg.any_min ELSE pick.province END
       END AS province,
       agg.active_days, agg.active_seconds, agg.bytes, agg.sessions, agg.installs
FROM agg
LEFT JOIN pick
  ON agg.source = pick.source AND agg.platform = pick.platform AND agg.person = pick.person
 AND agg.month = pick.month
"""

USAGE_MONTH = """
WITH pw AS (
    SELECT pm.source, pm.platform, pm.month, pm.province, pm.active_days, pm.active_seconds, pm.bytes,
           pm.sessions, pm.installs, COALESCE(w.weight, 1.0) AS w
    FROM person_month AS pm
    LEFT JOIN weights AS w ON w.source = pm.source AND w.person = pm.person AND w.month = pm.month
)
SELECT source, platform, month, province,
       SUM(CASE WHEN active_days > 0 THEN 1 ELSE 0 END) AS persons,
       SUM(CASE WHEN active_days > 0 THEN w ELSE 0 END) AS w_persons,
       SUM(CASE WHEN active_days > 0 THEN w * w ELSE 0 END) AS w2_persons,
       SUM(w * active_days) AS w_active_days,
       SUM(w * active_seconds) AS w_seconds,
       SUM(w * bytes) AS w_bytes,
       SUM(w * sessions) AS w_sessions,
       SUM(w * installs) AS w_installs
FROM pw
GROUP BY source, platform, month, province
"""


#: the columns of a usage_week row (:func:`usage_week_sql`)
USAGE_WEEK_COLUMNS = ("source", "platform", "week", "province", "persons", "w_persons", "w2_persons")


def weeks_inside(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays of the weeks (Monday to Sunday) lying wholly between two days.

    >>> weeks_inside(dt.date(2022, 1, 1), dt.date(2022, 1, 31))
    [datetime.date(2022, 1, 3), datetime.date(2022, 1, 10), datetime.date(2022, 1, 17), datetime.date(2022, 1, 24)]
    """
    monday = first + dt.timedelta(days=-first.weekday() % 7)
    found = []
    while monday + dt.timedelta(days=6) <= last:
        found.append(monday)
        monday += dt.timedelta(weeks=1)
    return found


#: the columns of a person_week row (:func:`person_week_sql`)
PERSON_WEEK_COLUMNS = ("source", "platform", "person", "week", "month", "province")


def _week_days_values(weeks: Sequence[dt.date]) -> str:
    """(day, its week's Monday, the month of the week's Thursday) for the seven days of each week: person-days
    meet their week by an equality join, in any SQL dialect."""
    return ", ".join(f"(DATE '{(w + dt.timedelta(days=i)).isoformat()}', DATE '{w.isoformat()}', "
                     f"'{(w + dt.timedelta(days=3)).strftime('%Y-%m')}')" for w in sorted(set(weeks)) for i in range(7))


def person_week_sql(person_day: str, weeks: Sequence[dt.date]) -> str:
    """One row per person active in a week (:data:`PERSON_WEEK_COLUMNS`) of the weeks starting on the Mondays
    `weeks` (at least one), from the relation `person_day` (one row per person-day, with its source): the month
    holding the week's Thursday (whose weight the person carries) and the province of most of their active days
    of the week (then most active seconds, then the smallest code; NULL when none is known)."""
    return f"WITH {_person_week_ctes(person_day, weeks)} {_PERSON_WEEK_SELECT}"


def _person_week_ctes(person_day: str, weeks: Sequence[dt.date]) -> str:
    return f"""
weeks AS (
    SELECT * FROM (VALUES {_week_days_values(weeks)}) AS t(day, week, month)
), days AS (
    SELECT d.source, d.platform, d.person, w.week, w.month, d.province, d.active_seconds
    FROM {person_day} AS d
    JOIN weeks AS w ON d.day = w.day
    WHERE d.active
), pw AS (
    SELECT source, platform, person, week, month, MIN(province) AS pmin, MAX(province) AS pmax
    FROM days
    GROUP BY source, platform, person, week, month
), ambiguous AS (
    SELECT source, platform, person, week FROM pw WHERE pmin <> pmax
), prov AS (
    SELECT d.source, d.platform, d.person, d.week, d.province, COUNT(*) AS n_days, SUM(d.active_seconds) AS secs
    FROM days AS d
    JOIN ambiguous AS a ON d.source = a.source AND d.platform = a.platform AND d.person = a.person AND d.week = a.week
    WHERE d.province IS NOT NULL
    GROUP BY d.source, d.platform, d.person, d.week, d.province
), pick AS (
    SELECT source, platform, person, week, province
    FROM (
        SELECT source, platform, person, week, province,
               ROW_NUMBER() OVER (PARTITION BY source, platform, person, week
                                  ORDER BY n_days DESC, secs DESC, province ASC) AS rn
        FROM prov
    ) AS ranked
    WHERE rn = 1
)"""


_PERSON_WEEK_SELECT = """
SELECT pw.source, pw.platform, pw.person, pw.week, pw.month,
       CASE WHEN pw.pmin = pw.pmax THEN pw.pmin ELSE pick.province END AS province
FROM pw
LEFT JOIN pick
  ON pw.source = pick.source AND pw.platform = pick.platform AND pw.person = pick.person AND pw.week = pick.week
"""


#: weighted weekly active persons per source × platform × week × province from ``person_week``
#: (:func:`person_week_sql`) and ``weights``
USAGE_WEEK = """
SELECT p.source, p.platform, p.week, p.province, COUNT(*) AS persons,
       SUM(COALESCE(w.weight, 1.0)) AS w_persons,
       SUM(COALESCE(w.weight, 1.0) * COALESCE(w.weight, 1.0)) AS w2_persons
FROM person_week AS p
LEFT JOIN weights AS w ON w.source = p.source AND w.person = p.person AND w.month = p.month
GROUP BY p.source, p.platform, p.week, p.province
"""


def usage_week_sql(person_day: str, weights: str, weeks: Sequence[dt.date]) -> str:
    """Weighted weekly active persons per source × platform × week × province, for the weeks starting on the
    Mondays `weeks`, from the relation `person_day` (one row per person-day, with its source) and `weights`:
    :data:`USAGE_WEEK` over :func:`person_week_sql`.

    A person is active in a week when active on one of its seven days; weighted by their weight of the month
    holding the week's Thursday (1 without one, as for MAU); counted in the province of most of their active days
    of the week (then most active seconds, then the smallest code; a person-week without a known province is in
    none), so that the provinces partition the national figure."""
    if not weeks:
        return ("SELECT CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS platform, "
                "CAST(NULL AS DATE) AS week, CAST(NULL AS VARCHAR) AS province, CAST(0 AS BIGINT) AS persons, "
                "CAST(0 AS DOUBLE) AS w_persons, CAST(0 AS DOUBLE) AS w2_persons FROM (SELECT 1 AS one) AS t "
                "WHERE 1 = 0")
    weekly = reading(USAGE_WEEK, {"weights": weights}).sql("duckdb")
    return f"WITH {_person_week_ctes(person_day, weeks)}, person_week AS ({_PERSON_WEEK_SELECT}) {weekly}"


def rollup_sql(sql: str) -> exp.Expr:
    """A rollup of this module (written in DuckDB's dialect) as a SQLGlot expression (the caller's own copy)."""
    return _parsed(sql).copy()


@functools.lru_cache(maxsize=256)
def _parsed(sql: str) -> exp.Expr:
    """The parse of a rollup, made once per process and never changed: callers get copies."""
    return sqlglot.parse_one(sql, read="duckdb")


def reading(sql: str, views: dict[str, str]) -> exp.Expr:
    """A rollup (written in DuckDB's dialect) reading the tables named in `views` from the relations they map to,
    under their old names as aliases (so that columns qualified by the old names still resolve)."""
    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not node.db and node.name in views:
            return exp.to_table(views[node.name]).as_(node.alias or node.name)
        return node

    return _parsed(sql).transform(rename)  # a transformed copy: the cached parse stays as it is
