"""The metric use cases: the metric table of a request on an engine, its SQL (explain), and the published
figures of a period. Rollups are brought up to date first (:func:`thuocdo.workflows.store.bring_up_to_date`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pyarrow as pa
import sqlglot

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.engines.base import Engine, Relations
from thuocdo.engines.duckdb import DuckDBEngine
from thuocdo.engines.spark import SparkEngine, spark_sql
from thuocdo.ingest.readers import InputError
from thuocdo.metrics import query as mq
from thuocdo.metrics.bands import bands as band_table
from thuocdo.metrics.distinct import Distinct, with_sketch_mau
from thuocdo.model.periods import Period
from thuocdo.rollups import definitions as rollups
from thuocdo.rollups.spark import SparkRollups
from thuocdo.store import Store
from thuocdo.workflows import estimates
from thuocdo.workflows.cluster import spark_lakehouse, spark_master
from thuocdo.workflows.store import bring_up_to_date, open_store

__all__ = ["ENGINES", "Bands", "InputError", "bands", "explain", "metric_request", "metrics", "metrics_many",
           "metrics_on", "panel_size", "published_figures", "published_history", "relations"]


def relations(catalog: Catalog, request: mq.MetricRequest) -> Relations:
    platforms = pa.table({
        "platform": [p.id for p in catalog.platforms], "name": [p.name for p in catalog.platforms],
        "category": [p.category for p in catalog.platforms], "origin": [p.origin for p in catalog.platforms],
    })
    rows = mq.period_rows(request)
    periods = pa.table({"period": [r[0] for r in rows], "month": [r[1] for r in rows],
                        "n_months": pa.array([r[2] for r in rows], pa.int64()),
                        "n_days": pa.array([r[3] for r in rows], pa.int64())})
    provinces, years, users = [], [], []
    year = request.period.year
    for code in [mq.NATION] + [p.code for p in catalog.provinces_new]:
        # the denominator of penetration: the population a panel's weights stand for (SOURCES.md)
        value = catalog.mobile_internet_users(year, None if code == mq.NATION else code)
        if value is not None:
            provinces.append(code)
            years.append(year)
            users.append(float(value))
    smartphones = pa.table({"province": pa.array(provinces, pa.string()), "year": pa.array(years, pa.int64()),
                            "users": pa.array(users, pa.float64())})
    return Relations(platforms, periods, smartphones)


def metric_request(period: str, by: str = "platform", source: str | None = None) -> mq.MetricRequest:
    return mq.MetricRequest(Period.parse(period), mq.Breakdown(by), source)


def explain(request: mq.MetricRequest, dialect: str = "duckdb") -> str:
    """The whole computation as SQL for a dialect: the two rollups kept at ingestion, then the metric query."""
    parts = [
        ("Rollup kept in step at ingestion: person_month, from person_day", rollups.PERSON_MONTH),
        ("Rollup kept in step at ingestion: usage_month, from person_month and weights", rollups.USAGE_MONTH),
        ("Rollup kept in step at ingestion: usage_week (the period's whole weeks), from person_day and weights",
         rollups.usage_week_sql("person_day", "weights", rollups.weeks_inside(request.period.first_day,
                                                                                 request.period.last_day))),
    ]

    def render(expression: sqlglot.exp.Expr) -> str:
        if dialect == "spark":  # as the Spark engine runs it, with its literal casts (thuocdo.engines.spark)
            return spark_sql(expression)
        return mq.render(expression, dialect)

    text = [f"-- {title}\n{render(sqlglot.parse_one(sql, read='duckdb'))};" for title, sql in parts]
    text.append(f"-- Metric query for {request.period.label}, by {request.breakdown.value}\n"
                f"{render(mq.build(request))};")
    return "\n\n".join(text)


#: the engines that run the metric queries: the embedded default, and Apache Spark for data beyond one machine
ENGINES = ("duckdb", "spark")


def metrics(home: str | Path | None, request: mq.MetricRequest, engine: str = "duckdb",
            master: str | None = None, distinct: str = "exact") -> pa.Table:
    """The metric table of a request, on `engine` (`master`: Spark's master URL, ``local[2]`` by default).

    `distinct` ``"sketch"``: ``mau`` from the stored HLL sketches, with its bounds and RSE
    (:mod:`thuocdo.metrics.distinct`); exact counts (the default) otherwise."""
    how = Distinct(distinct)
    if how is Distinct.SKETCH and request.breakdown is mq.Breakdown.CATEGORY:
        raise InputError("--distinct sketch chỉ dùng với --by platform hoặc --by province.")
    if how is Distinct.SKETCH and request.source is not None and (
            request.source == estimates.NATIONAL or estimates.SEPARATOR in request.source):
        raise InputError("--distinct sketch chỉ dùng với một nguồn: sketch đếm người của từng nguồn, không cho hợp "
                         "nguồn hay ước lượng toàn quốc.")
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        return metrics_on(store, engine_for(store, engine, master), [request], load_catalog(), how)[0]


@dataclasses.dataclass(frozen=True)
class Bands:
    """The MAU bands of a period (:func:`thuocdo.metrics.bands.bands`), the source they were counted in and how
    many platforms had no figure."""

    table: pa.Table
    source: str
    missing: int


def bands_source(home: str | Path | None, source: str | None) -> str:
    """The source bands are counted in: the one asked, else the default view (the national estimate when it can
    be made, the one source when there is one); InputError when neither."""
    if source is not None:
        return source
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        chosen = estimates.default_source(store)
        names = [s.name for s in estimates.usage_sources(store)]
    if chosen is None:
        raise InputError("Chưa có số liệu sử dụng nào để xếp nhóm." if not names else
                         f"Kho có nhiều nguồn ({', '.join(names)}) mà chưa ước lượng toàn quốc được: chọn một nguồn "
                         "bằng --source.")
    return chosen


def bands(home: str | Path | None, period: str, thresholds: tuple[float, ...], source: str | None = None,
          engine: str = "duckdb", master: str | None = None, table: pa.Table | None = None) -> Bands:
    """The MAU bands of a period in a source (see :func:`bands_source`), from its metric table by platform
    (computed here, or `table` when the caller has it: the public's, with withheld figures)."""
    chosen = bands_source(home, source)
    if table is None:
        table = metrics(home, metric_request(period, "platform", chosen), engine, master)
    found, missing = band_table(table, load_catalog(), thresholds, Period.parse(period).last_day)
    return Bands(found, chosen, missing)


def metrics_many(home: str | Path | None, requests: list[mq.MetricRequest], engine: str = "duckdb",
                 master: str | None = None) -> list[pa.Table]:
    """The metric tables of several requests (exact MAU), read through one opening of the store; on Spark, from
    one rollup of every month they need."""
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        return metrics_on(store, engine_for(store, engine, master), requests, load_catalog())


def metrics_on(store: Store, runner: Engine, requests: list[mq.MetricRequest], catalog: Catalog,
               how: Distinct = Distinct.EXACT) -> list[pa.Table]:
    """The metric tables of requests on an opened, up-to-date store. A union's or the national estimate's
    rollups are computed once for every month (and week) its requests need, and so are the weekly active persons
    of the single sources."""
    if isinstance(runner, SparkRollups):
        runner.prepare({row[1] for r in requests for row in mq.period_rows(r)})
        with runner.settled():  # every request from the rollups just prepared
            return _metrics_on(store, runner, requests, catalog, how)
    return _metrics_on(store, runner, requests, catalog, how)


def _metrics_on(store: Store, runner: Engine, requests: list[mq.MetricRequest], catalog: Catalog,
                how: Distinct) -> list[pa.Table]:
    selected: dict[str, estimates.SelectedUsage] = {}
    for source in {r.source for r in requests if r.source is not None}:
        selection = estimates.select(store, source)
        if selection is not None and selection.kind != "single":
            mine = [r for r in requests if r.source == source]
            months = sorted({row[1] for r in mine for row in mq.period_rows(r)})
            selected[source] = _selected(store, runner, selection, months, catalog, _weeks(mine))
    singles = [r for r in requests if r.source not in selected]
    weekly = None
    if singles:
        recorded = {s.name for s in estimates.usage_sources(store)}
        named = {r.source for r in singles}
        sources = sorted(recorded if None in named else recorded & {str(s) for s in named})
        place = runner if isinstance(runner, SparkRollups) else None
        weekly = estimates.weekly_usage(store, sources, sorted({m for r in singles for m in r.period.months}),
                                        _weeks(singles), place)
    return [_run(store, runner, r, catalog, how, selected.get(r.source or ""), weekly) for r in requests]


def _weeks(requests: list[mq.MetricRequest]) -> list[dt.date]:
    """The weeks lying wholly inside the requests' periods (their Mondays): those their ``wau`` averages."""
    return sorted({w for r in requests for w in rollups.weeks_inside(r.period.first_day, r.period.last_day)})


def _selected(store: Store, runner: Engine, selection: estimates.Selection, months: list[str],
              catalog: Catalog, weeks: list[dt.date]) -> estimates.SelectedUsage:
    """A union's or the national estimate's rollups; its union of persons runs where the engine holds the
    person-days (on Spark: on the cluster, over the embedded lake's and the lakehouse's)."""
    place = runner if isinstance(runner, SparkRollups) else None
    return estimates.selected_usage(store, selection, months, catalog, place, weeks)


def _run(store: Store, runner: Engine, request: mq.MetricRequest, catalog: Catalog, how: Distinct,
         selected: estimates.SelectedUsage | None, weekly: pa.Table | None) -> pa.Table:
    """A request's metric table on an opened, up-to-date store: the selection its source names read instead of
    the stored rollups when it is a union or the national estimate, then its margins and source mix."""
    selection = estimates.select(store, request.source)
    given = dataclasses.replace(relations(catalog, request), usage_week=weekly)
    estimate = None
    if selection is not None and selection.kind != "single":
        assert selected is not None
        estimate = selected.estimate
        given = dataclasses.replace(given, usage_month=selected.usage_month, usage_week=selected.usage_week)
    table = estimates.with_margins(store, runner.run(mq.build(request), given), request, selection, estimate)
    return with_sketch_mau(store, request, table) if how is Distinct.SKETCH else table


def engine_for(store: Store, name: str, master: str | None) -> Engine:
    """The engine a command names: DuckDB on the store, or Spark (with the cluster's lakehouse when it runs)."""
    if name == "duckdb":
        return DuckDBEngine(store)
    if name != "spark":
        raise InputError(f"Không có engine '{name}': chọn một trong {', '.join(ENGINES)}.")
    try:
        lake = spark_lakehouse(store.home)
        if lake is not None:  # a running cluster: its lakehouse too
            from thuocdo.engines.spark import lakehouse_session

            session = lakehouse_session(lake, master or spark_master(store.home))
            return SparkRollups(SparkEngine(store, session), lake=lake)
        return SparkRollups(SparkEngine(store, master=master))
    except ImportError as exc:
        raise InputError("--engine spark cần PySpark (pip install pyspark) và Java 17.") from exc


def published_figures(home: str | Path | None, period: str) -> pa.Table:
    """Every published aggregate of a period (operator KPIs included): platform, period, metric, value, source."""
    with open_store(home, sweep=False) as store:
        return store.con.sql("SELECT platform, period, metric, value, source FROM aggregates WHERE period = ? "
                             "ORDER BY platform, metric, source", params=[period]).to_arrow_table()


def published_history(home: str | Path | None, until: str) -> pa.Table:
    """The latest published figure of each source, platform and metric whose period ends by the end of
    `until` (a month or a quarter; years count as their 31 December): platform, period, metric, value, source."""
    end = Period.parse(until).last_day
    with open_store(home, sweep=False) as store:
        rows = store.con.sql("SELECT platform, period, metric, value, source FROM aggregates "
                             "ORDER BY platform, metric, source, period").to_arrow_table().to_pylist()
    latest: dict[tuple[str, str, str], tuple[dt.date, dict[str, object]]] = {}
    for r in rows:
        ends = _period_end(str(r["period"]))
        if ends is None or ends > end:
            continue
        key = (str(r["source"]), str(r["platform"]), str(r["metric"]))
        if key not in latest or latest[key][0] < ends:
            latest[key] = (ends, r)
    schema = pa.schema([("platform", pa.string()), ("period", pa.string()), ("metric", pa.string()),
                        ("value", pa.float64()), ("source", pa.string())])
    return pa.Table.from_pylist([r for _, r in latest.values()], schema=schema)


def _period_end(period: str) -> dt.date | None:
    if len(period) == 4 and period.isdigit():
        return dt.date(int(period), 12, 31)
    try:
        return Period.parse(period).last_day
    except ValueError:
        return None


def panel_size(home: str | Path | None, source: str, months: list[str]) -> dict[str, int]:
    """Month → the panelists with a weight in that month (the panel's size; empty without weights)."""
    with open_store(home, sweep=False) as store:
        rows = store.con.execute("SELECT month, count(DISTINCT person) FROM weights WHERE source = ? AND "
                                 "list_contains(?, month) GROUP BY month", [source, months]).fetchall()
    return {str(m): int(n) for m, n in rows}
