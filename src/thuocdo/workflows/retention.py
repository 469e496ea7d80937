"""`thuocdo retention`: the retention cohorts of a source (:mod:`thuocdo.metrics.retention`), from its stored
person-months: the embedded store's, or for a source the cluster's lakehouse holds, its Iceberg ``person_month``
rows of the cohort's months (read through pyiceberg)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from thuocdo.catalog import load_catalog
from thuocdo.ingest.readers import InputError
from thuocdo.metrics.retention import months_after, retention_sql, retention_table
from thuocdo.model.periods import Period
from thuocdo.reports.uncertainty import Z95
from thuocdo.rollups.person_rollups import person_month_sql
from thuocdo.rollups.served import lakehouse_person_months
from thuocdo.rollups.spark import SparkRelational, SparkRollups
from thuocdo.store import Store
from thuocdo.store.sources import source_info, usage_months
from thuocdo.workflows import estimates
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows.cluster import lakehouse
from thuocdo.workflows.store import bring_up_to_date, open_store

__all__ = ["InputError", "NoData", "Retention", "followed", "retention", "retention_source"]


class NoData(InputError):
    """Nothing to measure: an unknown platform, no usage records, or a cohort month without data."""


@dataclass(frozen=True)
class Retention:
    table: pa.Table
    source: str
    months: list[str]  # the months of the table: the cohort's and those after it with data


def retention(home: str | Path | None, cohort: str, months: int, *, platform: str | None = None,
              source: str | None = None, by_province: bool = False, engine: str = "duckdb",
              master: str | None = None) -> Retention:
    """The retention table of a cohort month over the `months` after it (those with data), for one source (the
    default view's when it is one source). InputError (Vietnamese) for what cannot be answered; PeriodError for
    a cohort that is not a month."""
    if months < 0:
        raise InputError(f"--months phải từ 0 trở lên (nhận {months}).")
    wanted = months_after(cohort, months)
    if platform is not None and platform not in {p.id for p in load_catalog().platforms}:
        raise NoData(f"Không có nền tảng '{platform}' trong danh mục.")
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        chosen = source or estimates.default_source(store)
        if chosen is None:
            raise NoData("Chưa có số liệu sử dụng nào, hoặc kho có nhiều nguồn: chọn một nguồn bằng --source.")
        selection = estimates.select(store, chosen)
        if selection is None or selection.kind != "single":
            raise InputError(f"Tỷ lệ giữ chân người dùng tính cho từng nguồn (người của các nguồn khác nhau không "
                             f"nối được qua các tháng): chọn một nguồn bằng --source thay vì '{chosen}'.")
        stored = usage_months(store, [chosen])[chosen]
        if wanted[0] not in stored:
            listed = ", ".join(stored[:24]) or "chưa có tháng nào"
            raise NoData(f"Nguồn {chosen} chưa có số liệu tháng {wanted[0]} (các tháng có số liệu: {listed}).")
        used = [m for m in wanted if m in stored]
        table = followed(store, chosen, used, platform=platform, by_province=by_province, engine=engine,
                         master=master)
    catalog, day = load_catalog(), Period.parse(wanted[0]).last_day  # the platforms as named in the cohort month
    names = [catalog.platform_name(p, day) for p in table.column("platform").to_pylist()]
    table = table.add_column(1, "name", pa.array(names, pa.string()))
    if not by_province:
        table = table.drop_columns(["province"])
    return Retention(table, chosen, used)


def followed(store: Store, source: str, months: list[str], *, platform: str | None = None,
             by_province: bool = False, engine: str = "duckdb", master: str | None = None) -> pa.Table:
    """The retention table (:data:`thuocdo.metrics.retention.SCHEMA`) of the cohort of ``months[0]`` followed in
    each of `months` (in any order: an earlier month gives the share of the cohort active then already), on an
    opened, up-to-date store."""
    query = retention_sql("retention_person_month", "retention_weights", source, months, platform, by_province)
    sums = _on_spark(store, master, source, months, query) if engine == "spark" else \
        _on_duckdb(store, source, months, query)
    info = source_info(store, source)
    return retention_table(sums, months[0], info is not None and info.kind == "panel", Z95)


def _on_duckdb(store: Store, source: str, months: list[str], query: str) -> pa.Table:
    """The sums on the store's connection: the embedded person-months, or the lakehouse's through pyiceberg."""
    held = person_month_sql(store, source, months)
    con = store.con
    if held is not None:
        con.execute(f"CREATE OR REPLACE TEMP VIEW retention_person_month AS {held}")
    else:  # the cluster's lakehouse holds the source
        con.register("lakehouse_person_month", lakehouse_person_months(lakehouse(store.home), [source], months))
        con.execute("CREATE OR REPLACE TEMP VIEW retention_person_month AS SELECT * FROM lakehouse_person_month")
    con.execute("CREATE OR REPLACE TEMP VIEW retention_weights AS SELECT source, person, month, weight FROM weights")
    try:
        return con.sql(query).to_arrow_table()
    finally:
        con.execute("DROP VIEW IF EXISTS retention_person_month; DROP VIEW IF EXISTS retention_weights")
        if held is None:
            con.unregister("lakehouse_person_month")


def _on_spark(store: Store, master: str | None, source: str, months: list[str], query: str) -> pa.Table:
    """The sums on Spark: the embedded lake's person-month files, or the lakehouse's table."""
    runner = metric_workflow.engine_for(store, "spark", master)
    assert isinstance(runner, SparkRollups)
    runner.engine.view("retention_person_month", runner.person_months(source, months))
    runner.engine.view("retention_weights", runner.engine.store_table(
        "SELECT source, person, month, weight FROM weights WHERE source = $source", {"source": source}))
    return SparkRelational(runner.engine).rows(query)


def retention_source(store: Store, source: str | None, month: str) -> str | None:
    """Whose persons are followed for a view of `source`: the source itself when it is one source, else (the
    national estimate, a union, or none named) the panel with the most panelists in `month` (persons cannot be
    followed across sources); None when there is none."""
    if source is not None and source != estimates.NATIONAL and estimates.SEPARATOR not in source:
        return source
    panels = [s.name for s in estimates.usage_sources(store) if s.kind == "panel"]
    sizes = dict(store.con.execute("SELECT source, count(DISTINCT person) FROM weights WHERE month = ? "
                                   "GROUP BY source", [month]).fetchall())
    return max(panels, key=lambda name: (sizes.get(name, 0), name), default=None)
