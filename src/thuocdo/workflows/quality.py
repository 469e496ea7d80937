"""`thuocdo quality`: the quality monitor of a source's deliveries (:mod:`thuocdo.metrics.quality`), from what the
store keeps of them: the records stored per day, each delivery's rows per day (``batch_days``) with its commit
time, and (for the daily table) the distinct persons and platforms of each day's person-days.

A source of the embedded store is read from its listing and tables; a source the cluster's lakehouse holds, from
its Iceberg tables (``person_day_built``, ``batch_days``, ``batches``; small) through pyiceberg, its person-days
on the engine chosen: Spark over the lakehouse, or the default engine through pyiceberg (a regional source; at
national scale use ``--engine spark``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from thuocdo.ingest.readers import InputError
from thuocdo.metrics import quality as monitor
from thuocdo.model.periods import Period
from thuocdo.rollups.served import lakehouse_person_days
from thuocdo.rollups.spark import SparkRelational, SparkRollups
from thuocdo.store import Store
from thuocdo.store import sources as registry
from thuocdo.store.lakehouse import scan
from thuocdo.store.sql import literal
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows.cluster import lakehouse
from thuocdo.workflows.store import bring_up_to_date, open_store

__all__ = ["InputError", "NoData", "Quality", "overview", "quality", "summaries"]


class NoData(InputError):
    """Nothing to monitor: an unknown source, or one without usage records."""


@dataclass(frozen=True)
class Quality:
    source: str
    period: Period
    rule: monitor.Rule
    days: pa.Table  # monitor.SCHEMA
    summary: monitor.Summary


def quality(home: str | Path | None, source: str, period: str, *, late_days: int = 2, engine: str = "duckdb",
            master: str | None = None) -> Quality:
    """The daily table and the summary of a source over a period (a month or a quarter)."""
    if late_days < 0:
        raise InputError(f"--late-days phải từ 0 trở lên (nhận {late_days}).")
    if engine not in metric_workflow.ENGINES:
        raise InputError(f"Không có engine '{engine}': chọn một trong {', '.join(metric_workflow.ENGINES)}.")
    chosen = Period.parse(period)
    rule = monitor.Rule(late_days=late_days)
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        check_source(store, source)
        inputs = read_inputs(store, source, chosen, activity=True, engine=engine, master=master)
    days = monitor.daily(inputs, chosen.first_day, chosen.last_day, rule)
    return Quality(source, chosen, rule, days, monitor.summary(inputs, days, chosen.first_day, chosen.last_day))


def overview(home: str | Path | None, period: str, sources: list[str] | None = None) -> dict[str, monitor.Summary]:
    """The summary of every usage source (or of `sources`) over a period (:func:`summaries`)."""
    chosen = Period.parse(period)
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        return summaries(store, chosen, sources)


def summaries(store: Store, period: Period, sources: list[str] | None = None,
              rule: monitor.Rule | None = None) -> dict[str, monitor.Summary]:
    """The summary of every usage source (or of `sources`) over the period, on an opened, up-to-date store (no
    person-days read: the records per day and the deliveries only)."""
    found: dict[str, monitor.Summary] = {}
    for info in registry.list_sources(store, sources):
        if not info.has_usage:
            continue
        inputs = read_inputs(store, info.name, period, activity=False)
        days = monitor.daily(inputs, period.first_day, period.last_day, rule or monitor.Rule())
        found[info.name] = monitor.summary(inputs, days, period.first_day, period.last_day)
    return found


def check_source(store: Store, source: str) -> None:
    info = registry.source_info(store, source)
    if info is None:
        known = ", ".join(s.name for s in registry.list_sources(store) if s.has_usage) or "chưa có nguồn nào"
        raise NoData(f"Không có nguồn '{source}' (các nguồn có bản ghi sử dụng: {known}).")
    if not info.has_usage:
        raise NoData(f"Nguồn {source} không gửi bản ghi sử dụng (chỉ có trọng số hoặc số liệu tổng hợp): "
                     "không có gì để theo dõi theo ngày.")


def read_inputs(store: Store, source: str, period: Period, *, activity: bool, engine: str = "duckdb",
                master: str | None = None) -> monitor.QualityInputs:
    """What the monitor reads of a source (see the module's doc); the persons and platforms of the period's days
    only when `activity`."""
    here = registry.person_days_here(store, source)
    if here:
        records = dict(store.con.execute(
            "SELECT day, sum(rows)::BIGINT FROM lake_files WHERE dataset = 'record_keys' AND source = ? "
            "GROUP BY day", [source]).fetchall())
        deliveries = [monitor.Delivery(*row) for row in store.con.execute(
            "SELECT d.day, d.good, d.stored, d.rejected, b.committed_at FROM batch_days d "
            "JOIN batches b USING (batch_id) WHERE d.source = ?", [source]).fetchall()]
    else:
        records, deliveries = _lakehouse_deliveries(store, source)
    days = _activity(store, source, period, here, engine, master) if activity else {}
    return monitor.QualityInputs(records, deliveries, days)


def _lakehouse_deliveries(store: Store, source: str) -> tuple[dict[dt.date, int], list[monitor.Delivery]]:
    """The records per day (as last built into person-days) and the deliveries of a lakehouse source."""
    lake = lakehouse(store.home)
    where = f"source = {literal(source)}"
    built = scan(lake, "person_day_built", ["day", "records"], where)
    per_day = scan(lake, "batch_days", ["batch_id", "day", "good", "stored", "rejected"], where)
    batches = scan(lake, "batches", ["batch_id", "committed_at"], where)
    records = {} if built is None else dict(zip(built["day"].to_pylist(), built["records"].to_pylist(), strict=True))
    if per_day is None or batches is None:
        return records, []
    committed = dict(zip(batches["batch_id"].to_pylist(), batches["committed_at"].to_pylist(), strict=True))
    return records, [monitor.Delivery(day, good, stored, bad, committed[batch])
                     for batch, day, good, stored, bad in zip(*(per_day[c].to_pylist() for c in per_day.column_names),
                                                              strict=True) if batch in committed]


#: the distinct persons and platforms per day of the view ``quality_person_day`` (one source's person-days)
ACTIVITY_SQL = """
    SELECT day, count(DISTINCT person) AS persons, count(DISTINCT platform) AS platforms
    FROM quality_person_day WHERE day BETWEEN $first AND $last GROUP BY day
"""


def _activity(store: Store, source: str, period: Period, here: bool, engine: str,
              master: str | None) -> dict[dt.date, tuple[int, int]]:
    sql = (ACTIVITY_SQL.replace("$first", f"DATE '{period.first_day.isoformat()}'")
           .replace("$last", f"DATE '{period.last_day.isoformat()}'"))
    months = list(period.months)
    if engine == "spark":
        runner = metric_workflow.engine_for(store, "spark", master)
        assert isinstance(runner, SparkRollups)
        from pyspark.sql import functions as F

        runner.engine.view("quality_person_day", runner.person_day(months, with_lakehouse=not here)
                           .where(F.col("source") == source))
        rows = SparkRelational(runner.engine).rows(sql)
    else:
        con = store.con
        if here:
            files = store.files("person_day", source=source, months=months)
            if not files:
                return {}
            con.execute("CREATE OR REPLACE TEMP VIEW quality_person_day AS SELECT day, person, platform "
                        f"FROM read_parquet({literal(files)}, union_by_name = true)")
        else:
            con.register("quality_lakehouse", lakehouse_person_days(lakehouse(store.home), [source], months))
            con.execute("CREATE OR REPLACE TEMP VIEW quality_person_day AS SELECT * FROM quality_lakehouse")
        try:
            rows = con.sql(sql).to_arrow_table()
        finally:
            con.execute("DROP VIEW IF EXISTS quality_person_day")
            if not here:
                con.unregister("quality_lakehouse")
    return {day: (int(p), int(n)) for day, p, n in
            zip(*(rows[c].to_pylist() for c in ("day", "persons", "platforms")), strict=True)}
