"""The use cases that the command line (and later the web) call. Thin glue: no SQL, no formatting."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlglot

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.engines.base import Engine, Relations
from thuocdo.engines.duckdb import DuckDBEngine
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.indicators import ingest_indicators
from thuocdo.ingest.indicators import retry_quarantined as retry_quarantined_indicators
from thuocdo.ingest.quarantine import problems_of
from thuocdo.ingest.readers import LINE, InputError, RawInput, csv_text
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.tables import ingest_aggregates, ingest_weights
from thuocdo.ingest.usage import ingest_usage, ingest_usage_file
from thuocdo.metrics import query as mq
from thuocdo.metrics import rollups
from thuocdo.model.periods import Period
from thuocdo.store import Store, resolve_home
from thuocdo.store.rollups import rebuild_dirty

INGEST_KINDS = ("usage", "weights", "aggregates", "indicators")


@dataclass
class IngestReport:
    results: list[BatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be read (nothing of them stored)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.results)


@contextmanager
def open_store(home: str | Path | None, *, read_only: bool = False, sweep: bool = True) -> Iterator[Store]:
    """Open the store; `sweep` removes what a killed writer left (writers do it, readers need not)."""
    store = Store(resolve_home(home), read_only=read_only, sweep=sweep)
    try:
        yield store
    finally:
        store.close()


def ingest(home: str | Path | None, kind: str, files: Sequence[Path], source: str,
           on_file: Callable[[Path, BatchResult | None], None] | None = None,
           on_rollup: Callable[[str, str], None] | None = None) -> IngestReport:
    """Ingest files of one kind into a source, one atomic batch per file, then bring the rollups up to date."""
    catalog = load_catalog()
    report = IngestReport()
    with open_store(home) as store:
        for path in files:
            result: BatchResult | None = None
            try:
                if kind == "usage":
                    result = ingest_usage_file(store, path, source, catalog)
                elif kind == "weights":
                    result = ingest_weights(store, path, source)
                elif kind == "indicators":
                    result = ingest_indicators(store, path, source, catalog)
                else:
                    result = ingest_aggregates(store, path, source, catalog)
            except InputError as exc:
                report.errors.append(str(exc))
            else:
                report.results.append(result)
                if result.rejected:
                    rows = store.con.execute(
                        "SELECT file, line, problems FROM quarantine WHERE batch_id = ? ORDER BY line LIMIT 50",
                        [result.batch_id]).fetchall()
                    result.problems = problems_of(rows)
            if on_file:
                on_file(path, result)
        rebuild_dirty(store, on_rollup)
    return report


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
        value = catalog.smartphone_users(year, None if code == mq.NATION else code)
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
    ]
    def render(expression: sqlglot.exp.Expr) -> str:
        if dialect == "spark":  # as the Spark engine runs it, with its literal casts (thuocdo.engines.spark)
            from thuocdo.engines.spark import spark_sql

            return spark_sql(expression)
        return mq.render(expression, dialect)

    text = [f"-- {title}\n{render(sqlglot.parse_one(sql, read='duckdb'))};" for title, sql in parts]
    text.append(f"-- Metric query for {request.period.label}, by {request.breakdown.value}\n"
                f"{render(mq.build(request))};")
    return "\n\n".join(text)


# -- engine choice (issue 6) -----------------------------------------------------------------------------------
#: the engines that run the metric queries: the embedded default, and Apache Spark for data beyond one machine
ENGINES = ("duckdb", "spark")


def metrics(home: str | Path | None, request: mq.MetricRequest, engine: str = "duckdb",
            master: str | None = None, distinct: str = "exact") -> pa.Table:
    """The metric table of a request, on `engine` (`master`: Spark's master URL, ``local[2]`` by default).

    `distinct` ``"sketch"``: ``mau`` from the stored HLL sketches, with its bounds and RSE
    (:mod:`thuocdo.metrics.distinct`); exact counts (the default) otherwise."""
    from thuocdo.metrics.distinct import Distinct, with_sketch_mau

    how = Distinct(distinct)
    if how is Distinct.SKETCH and request.breakdown is mq.Breakdown.CATEGORY:
        raise InputError("--distinct sketch chỉ dùng với --by platform hoặc --by province.")
    with open_store(home, sweep=False) as store:
        rebuild_dirty(store)
        table = _engine(store, engine, master).run(mq.build(request), relations(load_catalog(), request))
        return with_sketch_mau(store, request, table) if how is Distinct.SKETCH else table


def _engine(store: Store, name: str, master: str | None) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(store)
    if name != "spark":
        raise InputError(f"Không có engine '{name}': chọn một trong {', '.join(ENGINES)}.")
    try:
        from thuocdo.engines.spark import SparkEngine

        return SparkEngine(store, master=master)
    except ImportError as exc:
        raise InputError("--engine spark cần PySpark (pip install pyspark) và Java 17.") from exc
# -- end of engine choice --------------------------------------------------------------------------------------


def published_figures(home: str | Path | None, period: str) -> pa.Table:
    """Every published aggregate of a period (operator KPIs included): platform, period, metric, value, source."""
    with open_store(home, sweep=False) as store:
        return store.con.sql("SELECT platform, period, metric, value, source FROM aggregates WHERE period = ? "
                             "ORDER BY platform, metric, source", params=[period]).to_arrow_table()


# -- quarantine ------------------------------------------------------------------------------------------------
def quarantine_entries(home: str | Path | None, source: str | None = None, status: str = "open") -> pa.Table:
    with open_store(home) as store:
        sql = ("SELECT id, source, kind, file, line, problems, record, created_at FROM quarantine WHERE status = ?"
               + (" AND source = ?" if source else "") + " ORDER BY created_at, file, line NULLS FIRST, id")
        return store.con.sql(sql, params=[status] + ([source] if source else [])).to_arrow_table()


def quarantine_export(home: str | Path | None, output: Path, source: str | None = None) -> int:
    """Write the open usage entries as a CSV to repair (user_key stands for the pseudonymised user_id)."""
    entries = quarantine_entries(home, source).to_pylist()
    columns = ["quarantine_id", "source", "file", "line", "problems"] + [f for f in USAGE.fields if f != "user_id"]
    rows = []
    for e in entries:
        if e["kind"] != "usage" or e["record"] is None:
            continue
        problems = "; ".join(p["message"] for p in json.loads(e["problems"]))
        rows.append({"quarantine_id": e["id"], "source": e["source"], "file": e["file"], "line": e["line"],
                     "problems": problems, **json.loads(e["record"])})
    output.write_text(csv_text(rows, columns), encoding="utf-8")
    return len(rows)


def quarantine_retry(home: str | Path | None, file: Path | None = None, source: str | None = None) -> list[BatchResult]:
    """Re-ingest quarantined rows: usage rows as stored (after a catalog fix) or from a repaired export file;
    indicator rows as stored (after the catalog or a framework learnt what they lacked)."""
    catalog = load_catalog()
    with open_store(home) as store:
        if file is not None:
            table = pacsv.read_csv(file, convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns_of(file)}, strings_can_be_null=False))
            groups = _by_source(table.to_pylist(), source)
        else:
            rows = store.con.execute(
                "SELECT id, source, record FROM quarantine WHERE status = 'open' AND kind = 'usage' "
                "AND record IS NOT NULL" + (" AND source = ?" if source else ""), [source] if source else []
            ).fetchall()
            groups = _by_source([{"quarantine_id": str(i), "source": s, **json.loads(r)} for i, s, r in rows], None)
        results = []
        for src, records in groups.items():
            ids = [int(r["quarantine_id"]) for r in records if r.get("quarantine_id")]
            cols = {f: pa.array([_text(r.get(f)) for r in records], pa.string()) for f in USAGE.fields}
            cols[LINE] = pa.array([int(r["quarantine_id"] or 0) for r in records], pa.int64())
            raw = RawInput(file.name if file else "quarantine", "csv", pa.table(cols))
            results.append(ingest_usage(store, raw, src, catalog, kind="usage", resolves=ids))
        if file is None:
            results += retry_quarantined_indicators(store, source, catalog)
        rebuild_dirty(store)
        return results


def columns_of(file: Path) -> list[str]:
    with open(file, encoding="utf-8-sig") as f:
        return [c.strip() for c in f.readline().rstrip("\r\n").split(",")]


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _by_source(rows: list[dict[str, str]], source: str | None) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        src = source or r.get("source") or ""
        if not src:
            raise InputError("Không rõ nguồn của dòng cần nạp lại: thêm cột `source` hoặc dùng --source.")
        groups.setdefault(src, []).append(r)
    return groups
