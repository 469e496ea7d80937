"""National estimates fused from several sources: census sources (operators) expanded by their declared
coverage, panels where no census source covers a province and month.

The method (README, "National estimates"), per province ``p`` and month ``m``, with ``N`` the population the
estimate stands for (the province's mobile internet users):

1. **Census units.** Census sources declared with ``shared`` link keys are one unit: their person-days are
   collapsed person-wise (a person seen by two operators is one person; :data:`PERSON_DAY_MERGE`). Each
   ``private`` census source is a unit of its own (its persons cannot be recognised elsewhere).
2. **Covered persons.** A unit sees ``C`` = Σ of its sources' declared subscribers, which counts a person with
   SIMs at two of its operators twice: the distinct persons covered are estimated as ``n = C / μ`` where ``μ`` is
   the mean number of the unit's sources that see each of its active persons (the multiplicity; 1 for a single
   source), clamped to ``[A_any, N]`` (``A_any``: the unit's distinct active persons on any platform). Its
   sampling error (a mean over the active persons, a sample of the covered ones) adds ``Â² · var(μ̂)/μ̂²`` to the
   variance below (the delta method).
3. **Ratio estimator** (Cochran 1977, §6; calibration of the covered persons to the population total): the
   unit's ``A`` active persons of a platform are expanded by ``g = N / n``, ``Â = g·A``, with the variance of a
   proportion in a simple random sample of ``n`` among ``N`` persons, ``V = N²(1 − n/N)·r(1 − r)/n``,
   ``r = A/n``. It assumes that within a province the covered persons use platforms like the uncovered ones.
   With full coverage (``n = N``) the estimate is the unit's count and ``V = 0``.
4. **Several units** of a province-month are combined as ``Σ λ_u Â_u`` with ``λ_u`` ∝ ``n_u / (N − n_u)`` (the
   inverse of their relative variances; a unit covering everyone takes the whole weight), ``V = Σ λ_u² V_u``
   (their covariance is ignored: it is zero for independent subscriptions and negative for persons choosing one
   operator instead of another).
5. **Panels** estimate the province-months without census coverage: Σ weights of active panelists, with the
   Horvitz–Thompson variance of Poisson sampling ``Σ w(w − 1)`` over them (conservative); several panels are
   combined by their numbers of active panelists.

Every additive measure of the rollup (active days, seconds, bytes, sessions, installs) is expanded by the
same factors, so that the metric dictionary runs unchanged over the fused rollup (source ``national``). The
estimate of a figure summed over provinces has the sum of their variances; a quarter's MAU, the mean of its
months, takes the mean of their standard errors (months share their persons: fully correlated, conservative).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.engines.base import USAGE_WEEK_SCHEMA
from thuocdo.rollups.definitions import (
    PERSON_DAY_COLUMNS,
    PERSON_DAY_MERGE,
    PERSON_MONTH,
    USAGE_MONTH,
    USAGE_WEEK_COLUMNS,
    usage_week_sql,
)
from thuocdo.store.sql import literal

if TYPE_CHECKING:
    import duckdb

NATIONAL = "national"
#: the variance of a panel's Σ w over its active persons (Horvitz-Thompson for Poisson sampling), from a
#: usage_month row: Σ w(w - 1) = w2_persons - w_persons
PANEL_VARIANCE = "GREATEST(w2_persons - w_persons, 0)"
#: the rollup columns expanded by a unit's factor
EXPANDED = ("w_persons", "w_active_days", "w_seconds", "w_bytes", "w_sessions", "w_installs")
USAGE_COLUMNS = ("source", "platform", "month", "province", "persons", *EXPANDED[:1], "w2_persons", *EXPANDED[1:])

@dataclass(frozen=True)
class SourceSpec:
    """A source as the estimator sees it: its name, its kind and how its persons are keyed."""

    name: str
    kind: str  # census | panel | aggregates
    link_key: str = "private"  # shared | private


@dataclass(frozen=True)
class Unit:
    """Census sources estimated together (a shared-key union, or one source), or one panel."""

    label: str
    sources: tuple[str, ...]
    kind: str


def units(sources: Sequence[SourceSpec]) -> list[Unit]:
    """The estimation units of a set of sources: one for the shared-key census sources, one per other census
    source, one per panel (published aggregates take no part)."""
    shared = tuple(sorted(s.name for s in sources if s.kind == "census" and s.link_key == "shared"))
    out = [Unit("+".join(shared), shared, "census")] if shared else []
    out += [Unit(s.name, (s.name,), "census") for s in sorted(sources, key=lambda s: s.name)
            if s.kind == "census" and s.link_key != "shared"]
    out += [Unit(s.name, (s.name,), "panel") for s in sorted(sources, key=lambda s: s.name) if s.kind == "panel"]
    return out


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def union_person_day_sql(person_day: str, label: str, sources: Sequence[str], months: Sequence[str]) -> str:
    """The person-days of `sources` in `months` as one population labelled `label`: a person-day seen by
    several sources is one row (sums, active on any, the province of the part with most active seconds)."""
    columns = ", ".join(PERSON_DAY_COLUMNS)
    return (f"WITH person_day_parts AS (SELECT {literal(label)} AS source, {columns} FROM {person_day} "
            f"WHERE source IN {_in(sources)} AND month IN {_in(months)}) {PERSON_DAY_MERGE}")


def usage_sql(person_month: str, weights: str, label: str) -> str:
    """usage_month rows of the person-months in relation `person_month` (one source, `label`), with `weights`."""
    return (f"WITH weights AS (SELECT source, person, month, weight FROM {weights} "
            f"WHERE source = {literal(label)}), person_month AS (SELECT * FROM {person_month}) "
            f"SELECT * FROM ({USAGE_MONTH})")


def multiplicity_sql(person_day: str, union_person_month: str, sources: Sequence[str],
                     months: Sequence[str]) -> str:
    """Per province and month: the unit's distinct active persons (on any platform, each in the province of its
    person-month with most active days, then the smallest code, a known province before an unknown one) and
    their mean number of sources seeing them active."""
    return f"""
    WITH seen AS (
        SELECT person, month, count(DISTINCT source) AS m FROM {person_day}
        WHERE source IN {_in(sources)} AND month IN {_in(months)} AND active
        GROUP BY person, month
    ), home AS (
        SELECT person, month,
               arg_max(province, active_days * 1000 + COALESCE(999 - CAST(province AS INTEGER), -1)) AS province
        FROM {union_person_month}
        WHERE active_days > 0 GROUP BY person, month
    )
    SELECT h.province, h.month, count(*) AS active_any, avg(COALESCE(s.m, 1)) AS multiplicity,
           COALESCE(var_samp(COALESCE(s.m, 1)), 0) AS multiplicity_var
    FROM home AS h LEFT JOIN seen AS s ON s.person = h.person AND s.month = h.month
    GROUP BY h.province, h.month
    """


def present_sql(person_day: str, sources: Sequence[str], months: Sequence[str]) -> str:
    """Which of `sources` has records in which province and month."""
    return (f"SELECT DISTINCT source, province, month FROM {person_day} WHERE source IN {_in(sources)} "
            f"AND month IN {_in(months)}")


class Relational(Protocol):
    """Where the person-level work of a union runs: queries written in DuckDB's dialect, over relations of that
    engine (the person-days, the weights)."""

    def keep(self, name: str, sql: str) -> None:
        """Compute `sql` once and keep it as relation `name`."""

    def rows(self, sql: str) -> pa.Table:
        """The (small) result of `sql`."""

    def drop(self, name: str) -> None:
        """Forget relation `name`."""


class DuckDBRelational:
    """:class:`Relational` on a DuckDB connection (temporary tables)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def keep(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def rows(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")


#: the parts of :class:`UnionRows`
PARTS = ("usage", "multiplicity", "present")


@dataclass(frozen=True)
class UnionRows:
    """All the estimator needs of a union of sources, small whatever the number of persons: its usage_month
    rows (source: the union's label), per province and month its distinct active persons and their
    multiplicity (:func:`multiplicity_sql`), where each of its sources has records, and (when asked) its
    usage_week rows (:func:`thuocdo.rollups.definitions.usage_week_sql`)."""

    usage: pa.Table
    multiplicity: pa.Table
    present: pa.Table
    weekly: pa.Table | None = None


def union_rows(db: Relational, *, person_day: str, weights: str, label: str, sources: Sequence[str],
               months: Sequence[str], weeks: Sequence[dt.date] | None = None) -> UnionRows:
    """The person-days of `sources` (relation `person_day` of `db`, with their ``source``) collapsed person-wise
    into one population `label`, rolled up (by month, and by week for `weeks`); the only person-level step of
    unions and national estimates, run by whichever engine holds the person-days."""
    try:
        db.keep("union_person_day", union_person_day_sql(person_day, label, sources, months))
        db.keep("union_person_month", f"WITH person_day AS (SELECT * FROM union_person_day) "
                                      f"SELECT * FROM ({PERSON_MONTH})")
        weekly = None if weeks is None else db.rows(weekly_sql("union_person_day", weights, label, weeks))
        return UnionRows(db.rows(usage_sql("union_person_month", weights, label)),
                         db.rows(multiplicity_sql(person_day, "union_person_month", sources, months)),
                         db.rows(present_sql(person_day, sources, months)), weekly)
    finally:
        db.drop("union_person_month")
        db.drop("union_person_day")


def weekly_sql(person_day: str, weights: str, label: str, weeks: Sequence[dt.date]) -> str:
    """usage_week rows of one source (or union) `label` from relation `person_day` (its person-days, any source
    column), with its `weights`."""
    return (f"WITH week_person_day AS (SELECT * FROM {person_day} WHERE source = {literal(label)}), "
            f"week_weights AS (SELECT source, person, month, weight FROM {weights} WHERE source = {literal(label)}) "
            f"SELECT * FROM ({usage_week_sql('week_person_day', 'week_weights', weeks)}) AS wk")


@dataclass(frozen=True)
class Estimate:
    """The fused rollup (``usage_month`` rows of source ``national``), the variance of MAU per platform,
    month and province (``cells``), and each source's part of every cell's MAU (``contributions``)."""

    usage_month: pa.Table
    cells: pa.Table  # platform, month, province, mau, mau_var, sources
    contributions: pa.Table  # platform, month, province, source, mau
    usage_week: pa.Table | None = None  # usage_week rows of source national, when weeks were asked for

    def mau(self, platform: str, month: str, province: str | None = None) -> tuple[float, float]:
        """A month's MAU of a platform (nation, or one province) and its standard error."""
        value = variance = 0.0
        for row in self.cells.to_pylist():
            if row["platform"] == platform and row["month"] == month and (province is None
                                                                          or row["province"] == province):
                value += row["mau"]
                variance += row["mau_var"]
        return value, math.sqrt(variance)


def estimate_national(con: duckdb.DuckDBPyConnection, sources: Sequence[SourceSpec], *, person_day: str,
                      weights: str, coverage: str, population: Mapping[tuple[str, str], float],
                      months: Sequence[str] | None = None, stored_usage: str | None = None,
                      union_db: Relational | None = None, weeks: Sequence[dt.date] | None = None,
                      stored_weeks: pa.Table | None = None) -> Estimate:
    """The national estimate of `months` (every month of `person_day` when None) from the relations of `con`:
    `person_day` (source and :data:`PERSON_DAY_COLUMNS`), `weights` (source, person, month, weight),
    `coverage` (source, province, month, subscribers); `population` maps (province, month) to the persons the
    estimate stands for. `stored_usage` (optional): a relation with the usage_month rows of single sources,
    already rolled up, read instead of rolling their person-days up again. `union_db` (optional): where the
    person-days of a union of sources are collapsed (:func:`union_rows`; by default `con`): relations
    `person_day` and `weights` of that engine. `weeks` (optional, Mondays): the national weekly active persons
    of those weeks too, each unit's expanded by its factors of the province and the month of the week's Thursday
    (:attr:`Estimate.usage_week`): a single source's from `stored_weeks` (usage_week rows, already rolled up)
    when it is there, else from its person-days in `union_db`."""
    if months is None:
        months = [r[0] for r in con.sql(f"SELECT DISTINCT month FROM {person_day} ORDER BY 1").fetchall()]
    months = sorted(months)
    pop = pa.table({"province": [k[0] for k in population], "month": [k[1] for k in population],
                    "population": pa.array([float(v) for v in population.values()], pa.float64())})
    con.register("nat_population", pop)
    parts: list[str] = []
    weekly: list[pa.Table] = []
    try:
        for i, unit in enumerate(units(sources)):
            parts.append(_unit(con, i, unit, person_day=person_day, weights=weights, coverage=coverage,
                               months=months, stored_usage=stored_usage, union_db=union_db, weeks=weeks,
                               weekly=weekly, stored_weeks=stored_weeks))
        estimate = _combine(con, parts, units(sources), coverage)
        if weeks is None:
            return estimate
        return dataclasses.replace(estimate, usage_week=_national_weeks(con, units(sources), weekly))
    finally:
        con.unregister("nat_population")
        for name in parts:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute("DROP TABLE IF EXISTS nat_factors")
        for part in PARTS:
            con.unregister(f"nat_{part}_rows")


def _national_weeks(con: duckdb.DuckDBPyConnection, all_units: Sequence[Unit], weekly: list[pa.Table]) -> pa.Table:
    """The national usage_week rows: each unit's weekly rows expanded by its factor and weight (``nat_factors``,
    from :func:`_combine`) of the province and the month of the week's Thursday; the persons are the units'."""
    con.register("nat_week_rows", pa.concat_tables(
        [t.select(list(USAGE_WEEK_COLUMNS)).cast(USAGE_WEEK_SCHEMA).drop_columns(["source"])
         .append_column("unit", pa.array([u.label] * t.num_rows, pa.string()))
         for u, t in zip(all_units, weekly, strict=True)]
        or [USAGE_WEEK_SCHEMA.empty_table().drop_columns(["source"]).append_column("unit", pa.array([], pa.string()))]))
    try:
        return con.sql(f"""
            SELECT '{NATIONAL}' AS source, w.platform, w.week, w.province, CAST(SUM(w.persons) AS BIGINT) AS persons,
                   SUM(f.lam * f.g * w.w_persons) AS w_persons, CAST(NULL AS DOUBLE) AS w2_persons
            FROM nat_week_rows AS w
            JOIN nat_factors AS f ON f.unit = w.unit AND f.province IS NOT DISTINCT FROM w.province
                 AND f.month = strftime(w.week + INTERVAL 3 DAY, '%Y-%m')
            GROUP BY w.platform, w.week, w.province ORDER BY w.platform, w.week, w.province
        """).to_arrow_table().cast(USAGE_WEEK_SCHEMA)
    finally:
        con.unregister("nat_week_rows")


def _unit(con: duckdb.DuckDBPyConnection, i: int, unit: Unit, *, person_day: str, weights: str, coverage: str,
          months: Sequence[str], stored_usage: str | None, union_db: Relational | None,
          weeks: Sequence[dt.date] | None = None, weekly: list[pa.Table] | None = None,
          stored_weeks: pa.Table | None = None) -> str:
    """Materialise a unit's expanded cells as table ``nat_unit_<i>``: platform, month, province, the rollup
    sums, ``g`` (the expansion factor), ``n`` (covered persons), ``var`` (of the expanded MAU); with `weeks`, its
    usage_week rows appended to `weekly`."""
    name = f"nat_unit_{i}"
    single = len(unit.sources) == 1
    if weeks is not None and weekly is not None and single:  # a source's own persons, week by week
        kept = None if stored_weeks is None else stored_weeks.filter(pc.equal(stored_weeks["source"], unit.label))
        if kept is not None and kept.num_rows:
            weekly.append(kept)
        else:
            weekly.append((union_db or DuckDBRelational(con)).rows(weekly_sql(person_day, weights, unit.label,
                                                                              weeks)))
    if single and stored_usage is not None:
        usage = (f"SELECT * FROM {stored_usage} WHERE source = {literal(unit.label)} "
                 f"AND month IN {_in(months)}")
        multiplicity = (f"SELECT province, month, max(persons) AS active_any, 1.0 AS multiplicity, "
                        f"0.0 AS multiplicity_var FROM ({usage}) "
                        "GROUP BY province, month")
        present = f"SELECT DISTINCT source, province, month FROM ({usage})"
    else:  # a union of persons (or a source without its rollup): by the engine holding the person-days
        rows = union_rows(union_db or DuckDBRelational(con), person_day=person_day, weights=weights,
                          label=unit.label, sources=unit.sources, months=months,
                          weeks=None if single or weekly is None else weeks)
        if rows.weekly is not None and weekly is not None:
            weekly.append(rows.weekly)
        for part in PARTS:
            con.register(f"nat_{part}_rows", getattr(rows, part))
        usage, multiplicity, present = (f"SELECT * FROM nat_{part}_rows" for part in PARTS)
    if unit.kind == "panel":
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT platform, month, province, persons, {', '.join(EXPANDED)}, w2_persons,
               1.0 AS g, CAST(persons AS DOUBLE) AS n, {PANEL_VARIANCE} AS var
        FROM ({usage}) AS u
        """)
        return name
    sources = _in(unit.sources)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE nat_covered AS
    WITH mult AS ({multiplicity}),
    declared AS (
        SELECT province, month, SUM(subscribers) AS subscribers
        FROM {coverage} WHERE source IN {sources} AND month IN {_in(months)} GROUP BY province, month
    ), undeclared AS (
        -- a source of the unit with records in a province-month it declared no subscribers for
        SELECT DISTINCT r.province, r.month FROM ({present}) AS r
        LEFT JOIN {coverage} AS c ON c.source = r.source AND c.province = r.province AND c.month = r.month
        WHERE c.source IS NULL
    )
    -- covered where the unit's sources declared subscribers, unless one of them has records there without
    -- declaring any (a source without records there and without a declaration serves nobody there)
    SELECT d.province, d.month, p.population AS pop,
           LEAST(p.population, GREATEST(COALESCE(x.active_any, 0),
                 d.subscribers / COALESCE(x.multiplicity, 1.0))) AS n,
           COALESCE(x.active_any, 0) AS active_any, COALESCE(x.multiplicity, 1.0) AS mu,
           COALESCE(x.multiplicity_var, 0.0) AS mu_var
    FROM declared AS d
    JOIN nat_population AS p ON p.province = d.province AND p.month = d.month
    LEFT JOIN mult AS x ON x.province = d.province AND x.month = d.month
    WHERE d.subscribers > 0 AND p.population > 0
      AND NOT EXISTS (SELECT 1 FROM undeclared AS u WHERE u.province = d.province AND u.month = d.month)
    """)
    r = "LEAST(u.w_persons / c.n, 1.0)"
    # the multiplicity is a mean over the active persons, a sample of the covered ones: its relative variance
    # (with the finite population correction) adds to the estimate's, as the delta method of a product gives
    mu_relvar = ("CASE WHEN c.active_any > 0 THEN c.mu_var / c.active_any / (c.mu * c.mu) "
                 "* GREATEST(0.0, 1 - c.active_any / c.n) ELSE 0.0 END")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {name} AS
    SELECT u.platform, u.month, u.province, u.persons, {', '.join(f'u.{c}' for c in EXPANDED)},
           u.w2_persons, c.pop / c.n AS g, c.n AS n,
           c.pop * c.pop * (1 - c.n / c.pop) * {r} * (1 - {r}) / c.n
               + CASE WHEN c.n < c.pop THEN power(u.w_persons * c.pop / c.n, 2) * {mu_relvar} ELSE 0.0 END AS var
    FROM ({usage}) AS u JOIN nat_covered AS c ON c.province = u.province AND c.month = u.month
    """)
    # one row without a platform per covered province-month: the unit covers it even where nobody was active
    con.execute(f"INSERT INTO {name} SELECT NULL, month, province, 0, {', '.join('0' for _ in EXPANDED)}, 0, "
                "pop / n, n, 0 FROM nat_covered")
    con.execute("DROP TABLE nat_covered")
    return name


def _combine(con: duckdb.DuckDBPyConnection, tables: Sequence[str], all_units: Sequence[Unit],
             coverage: str) -> Estimate:
    """Census units weighted by their covered persons in each province-month; panels only where no census unit
    covers it, weighted by their active panelists."""
    rows = " UNION ALL ".join(
        f"SELECT {literal(u.label)} AS unit, {literal(u.kind)} AS kind, * FROM {t}"
        for u, t in zip(all_units, tables, strict=True))
    if not rows:
        rows = ("SELECT '' AS unit, '' AS kind, '' AS platform, '' AS month, '' AS province, 0 AS persons, "
                + ", ".join(f"0.0 AS {c}" for c in EXPANDED) + ", 0.0 AS w2_persons, 1.0 AS g, 0.0 AS n, "
                "0.0 AS var FROM (SELECT 1) WHERE false")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE nat_cells AS
    WITH cells AS ({rows}),
    census_area AS (
        SELECT DISTINCT province, month FROM cells WHERE kind = 'census'
    ), used AS (
        -- a panel where no census unit covers the province-month (its persons of unknown province only in a
        -- month without census coverage: elsewhere they live in provinces already estimated)
        SELECT c.* FROM cells AS c
        WHERE c.kind = 'census'
           OR NOT EXISTS (SELECT 1 FROM census_area AS a WHERE a.month = c.month
                          AND (a.province = c.province OR c.province IS NULL))
    ), unit_size AS (
        -- a unit's weight in a province-month: the inverse of its relative variance, n / (N - n) = 1 / (g - 1)
        -- for census units (a unit covering everyone outweighs the others), its active panelists for panels
        SELECT unit, province, month,
               MAX(CASE WHEN kind = 'panel' THEN persons WHEN g <= 1 + 1e-12 THEN 1e30 ELSE 1 / (g - 1) END) AS size
        FROM used GROUP BY unit, province, month
    ), lam AS (
        SELECT unit, province, month,
               COALESCE(size / NULLIF(SUM(size) OVER (PARTITION BY province, month), 0), 1.0) AS lam
        FROM unit_size
    )
    SELECT u.*, l.lam
    FROM used AS u JOIN lam AS l
      ON l.unit = u.unit AND l.province IS NOT DISTINCT FROM u.province AND l.month = u.month
    """)
    # each unit's factor and weight per province-month (also where none of its persons was active in the month:
    # the weekly figures use them for the weeks whose Thursday falls there)
    con.execute("CREATE OR REPLACE TEMP TABLE nat_factors AS SELECT DISTINCT unit, province, month, g, lam "
                "FROM nat_cells")
    con.execute("DELETE FROM nat_cells WHERE platform IS NULL")
    try:
        sums = ", ".join(f"SUM(lam * g * {c}) AS {c}" for c in EXPANDED)
        usage = con.sql(f"""
            SELECT '{NATIONAL}' AS source, platform, month, province, CAST(SUM(persons) AS BIGINT) AS persons,
                   {sums}, CAST(NULL AS DOUBLE) AS w2_persons
            FROM nat_cells GROUP BY platform, month, province ORDER BY platform, month, province
        """).to_arrow_table().select(list(USAGE_COLUMNS))
        cells = con.sql("""
            SELECT platform, month, province, SUM(lam * g * w_persons) AS mau, SUM(lam * lam * var) AS mau_var,
                   string_agg(DISTINCT unit, ',' ORDER BY unit) AS sources
            FROM nat_cells GROUP BY platform, month, province ORDER BY platform, month, province
        """).to_arrow_table()
        return Estimate(usage, cells, _contributions(con, all_units, coverage))
    finally:
        con.execute("DROP TABLE IF EXISTS nat_cells")


def _contributions(con: duckdb.DuckDBPyConnection, all_units: Sequence[Unit], coverage: str) -> pa.Table:
    """Each source's part of each cell's MAU: a unit's part, split among its sources as their declared
    subscribers in the province-month (a panel's part is its own)."""
    members = pa.table({"unit": pa.array([u.label for u in all_units for _ in u.sources], pa.string()),
                        "source": pa.array([s for u in all_units for s in u.sources], pa.string())})
    con.register("nat_members", members)
    try:
        return con.sql(f"""
            WITH declared AS (
                SELECT m.unit, m.source, c.province, c.month,
                       c.subscribers / NULLIF(SUM(c.subscribers) OVER (PARTITION BY m.unit, c.province, c.month), 0)
                           AS share
                FROM nat_members AS m JOIN {coverage} AS c ON c.source = m.source
            )
            SELECT c.platform, c.month, c.province, m.source,
                   SUM(c.lam * c.g * c.w_persons * CASE WHEN c.kind = 'panel' THEN 1.0 ELSE d.share END) AS mau
            FROM nat_cells AS c
            JOIN nat_members AS m ON m.unit = c.unit
            LEFT JOIN declared AS d ON d.unit = m.unit AND d.source = m.source AND d.province = c.province
                 AND d.month = c.month
            GROUP BY c.platform, c.month, c.province, m.source
            ORDER BY c.platform, c.month, c.province, m.source
        """).to_arrow_table()
    finally:
        con.unregister("nat_members")
