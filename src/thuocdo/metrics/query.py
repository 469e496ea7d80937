"""Metric queries for a request (period, breakdown), as SQLGlot expressions printable for any engine.

The query reads six relations that every engine provides under these names:
``usage_month`` (the rollup), ``usage_week`` (weekly active persons: source, platform, week, province, persons,
w_persons, w2_persons), ``aggregates`` (published figures), ``platforms`` (platform, name, category, origin),
``periods`` (period, month, n_months, n_days) and ``smartphones`` (province, year, users; province ``VN`` for the
nation).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import sqlglot
from sqlglot import exp

from thuocdo.metrics.dictionary import METRICS, MONTHLY_SUMS, SHARE_METRICS, STICKINESS
from thuocdo.model.periods import Period
from thuocdo.rollups.definitions import weeks_inside

NATION = "VN"


class Breakdown(Enum):
    PLATFORM = "platform"
    PROVINCE = "province"
    CATEGORY = "category"


@dataclass(frozen=True)
class MetricRequest:
    period: Period
    breakdown: Breakdown = Breakdown.PLATFORM
    source: str | None = None

    @property
    def compared(self) -> tuple[Period, ...]:
        """The period, the previous one and the same period a year before."""
        return (self.period, self.period.previous(), self.period.year_ago())


#: the rank compares MAU rounded to 6 decimals: engines sum the same weights in different orders (≈ 1e-15 relative
#: apart), and equal MAUs must tie on every engine
RANK_DECIMALS = 6


#: a row's ``wau``: 0 for a platform without weekly actives, unless no weekly rows were given at all (the query
#: run without them, as on a bare rollup: NULL, not computed)
WAU_SQL = "CASE WHEN wk.wau IS NOT NULL THEN wk.wau WHEN (SELECT COUNT(*) FROM usage_week) > 0 THEN 0.0 END"


def _platform_sql(req: MetricRequest) -> str:
    by_province = req.breakdown is Breakdown.PROVINCE
    dims = ["source", "platform"] + (["province"] if by_province else [])
    m_dims = ", ".join(f"m.{d}" for d in dims)
    sums = ",\n               ".join(f"SUM(u.{col}) AS {alias}" for alias, col in MONTHLY_SUMS.items())
    metrics = ",\n               ".join(f"{m.sql} AS {m.name}" for m in METRICS)
    quoted = "'" + req.source.replace("'", "''") + "'" if req.source else None
    where_source = f"WHERE u.source = {quoted}" if quoted else ""
    u_dims = ", ".join(f"u.{d}" for d in dims)
    same = " AND ".join(
        [f"{{a}}.{d} = cur.{d}" for d in ("source", "platform")]
        + (["{a}.province IS NOT DISTINCT FROM cur.province"] if by_province else [])
    )
    cur, prev, ago = req.compared
    weeks = weeks_inside(cur.first_day, cur.last_day)
    week_source = f"AND wk.source = {quoted}" if quoted else ""
    wk_dims = ", ".join(f"wk.{d}" for d in dims)
    penetration_province = "cur.province" if by_province else f"'{NATION}'"
    partition = "e.source, e.period, " + ("e.province, " if by_province else "") + "pl.category"
    return f"""
    WITH monthly AS (
        SELECT {u_dims}, pm.period, u.month,
               {sums}
        FROM usage_month AS u
        JOIN periods AS pm ON u.month = pm.month
        {where_source}
        GROUP BY {u_dims}, pm.period, u.month
    ), per AS (
        SELECT {m_dims}, m.period,
               {metrics}
        FROM monthly AS m
        JOIN (SELECT period, MAX(n_months) AS n_months, MAX(n_days) AS n_days FROM periods GROUP BY period) AS p
          ON m.period = p.period
        GROUP BY {m_dims}, m.period
    ), weekly AS (
        -- the weekly active persons of the weeks lying wholly inside the period, averaged over those weeks
        SELECT {wk_dims}, SUM(wk.w_persons) / {max(len(weeks), 1)} AS wau
        FROM usage_week AS wk
        WHERE wk.week >= DATE '{weeks[0].isoformat() if weeks else cur.first_day.isoformat()}'
          AND wk.week <= DATE '{weeks[-1].isoformat() if weeks else cur.first_day.isoformat()}' {week_source}
        GROUP BY {wk_dims}
    ), enriched AS (
        SELECT e.*, pl.name, pl.category, pl.origin,
               {STICKINESS.replace('dau', 'e.dau').replace('mau', 'e.mau')} AS stickiness,
               RANK() OVER (PARTITION BY {partition} ORDER BY ROUND(e.mau, {RANK_DECIMALS}) DESC) AS rank_in_category
        FROM per AS e
        JOIN platforms AS pl ON e.platform = pl.platform
    )
    SELECT cur.period, cur.source, cur.platform, cur.name, cur.category, cur.origin,
           {'cur.province, ' if by_province else ''}cur.mau, cur.dau, cur.minutes_per_day, cur.mb_per_user,
           cur.sessions, cur.installs, cur.stickiness, cur.sample_persons, cur.w2_persons, cur.rank_in_category,
           prev.mau AS mau_previous, (cur.mau - prev.mau) / NULLIF(prev.mau, 0) AS mau_change_previous,
           ago.mau AS mau_year_ago, (cur.mau - ago.mau) / NULLIF(ago.mau, 0) AS mau_change_year,
           s.users AS smartphone_users, cur.mau / NULLIF(s.users, 0) AS penetration,
           {WAU_SQL if weeks else "CAST(NULL AS DOUBLE)"} AS wau
    FROM enriched AS cur
    LEFT JOIN weekly AS wk ON {same.format(a='wk')}
    LEFT JOIN enriched AS prev ON {same.format(a='prev')} AND prev.period = '{prev.label}'
    LEFT JOIN enriched AS ago ON {same.format(a='ago')} AND ago.period = '{ago.label}'
    LEFT JOIN smartphones AS s ON s.province = {penetration_province} AND s.year = {cur.year}
    WHERE cur.period = '{cur.label}'
    """


def _category_sql(req: MetricRequest) -> str:
    inner = _platform_sql(MetricRequest(req.period, Breakdown.PLATFORM, req.source))
    parts = [
        f"""SELECT period, source, category, '{m}' AS metric,
               SUM(CASE WHEN origin = 'vn' THEN {m} ELSE 0 END) AS domestic_value,
               SUM(CASE WHEN origin = 'foreign' THEN {m} ELSE 0 END) AS foreign_value,
               SUM({m}) AS total_value
        FROM platform_metrics GROUP BY period, source, category"""
        for m in SHARE_METRICS
    ]
    union = "\n        UNION ALL\n        ".join(parts)
    return f"""
    WITH platform_metrics AS ({inner}), sums AS ({union})
    SELECT period, source, category, metric, domestic_value, foreign_value, total_value,
           domestic_value / NULLIF(total_value, 0) AS domestic_share,
           domestic_value / NULLIF(foreign_value, 0) AS domestic_foreign_ratio
    FROM sums
    """


#: figures that arrive only as published aggregates (web panels, platforms' own reports), shown beside the rest
PUBLISHED_ONLY = ("visits", "web_rank", "downloads_total")
#: dictionary metrics a published aggregate may supply when no records cover the platform
PUBLISHED_FILL = ("mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs")


def _with_published(req: MetricRequest) -> str:
    """Platform rows from records, completed by published aggregates of the same period (``basis`` says which)."""
    label = req.period.label
    pivot = ",\n               ".join(f"MAX(CASE WHEN metric = '{m}' THEN value END) AS pub_{m}"
                                     for m in PUBLISHED_ONLY + PUBLISHED_FILL)
    filled = ", ".join(f"COALESCE(r.{m}, pb.pub_{m}) AS {m}" for m in PUBLISHED_FILL)
    shown = ", ".join(f"pb.pub_{m} AS {m}" for m in PUBLISHED_ONLY)
    return f"""
    WITH recorded AS ({_platform_sql(req)}),
    published AS (
        SELECT platform, MIN(source) AS published_source,
               {pivot}
        FROM aggregates
        WHERE period = '{label}'
        GROUP BY platform
    )
    SELECT '{label}' AS period, COALESCE(r.source, pb.published_source) AS source, pl.platform, pl.name,
           pl.category, pl.origin, {filled},
           COALESCE(r.stickiness, pb.pub_dau / NULLIF(pb.pub_mau, 0)) AS stickiness, r.sample_persons, r.w2_persons,
           r.rank_in_category, r.mau_previous, r.mau_change_previous, r.mau_year_ago, r.mau_change_year,
           r.smartphone_users, r.penetration, r.wau, {shown},
           CASE WHEN r.platform IS NULL THEN 'published' ELSE 'records' END AS basis,
           pb.published_source
    FROM recorded AS r
    FULL OUTER JOIN published AS pb ON r.platform = pb.platform
    JOIN platforms AS pl ON pl.platform = COALESCE(r.platform, pb.platform)
    """


def build(req: MetricRequest) -> exp.Expr:
    """The metric query for a request, as one engine-neutral SQLGlot expression."""
    sql = {Breakdown.CATEGORY: _category_sql, Breakdown.PLATFORM: _with_published,
           Breakdown.PROVINCE: _platform_sql}[req.breakdown](req)
    order = {
        Breakdown.PLATFORM: "source, category, rank_in_category NULLS LAST, platform",
        Breakdown.PROVINCE: "source, province NULLS LAST, category, rank_in_category, platform",
        Breakdown.CATEGORY: "source, category, metric",
    }[req.breakdown]
    return sqlglot.parse_one(f"SELECT * FROM ({sql}) AS q ORDER BY {order}", read="duckdb")


def period_rows(req: MetricRequest) -> list[tuple[str, str, int, int]]:
    """(period, month, n_months, n_days) rows for the periods the query compares."""
    rows = []
    for p in req.compared:
        for month in p.months:
            rows.append((p.label, month, len(p.months), p.days))
    return rows


def render(expression: exp.Expr, dialect: str) -> str:
    return expression.sql(dialect=dialect, pretty=True)
