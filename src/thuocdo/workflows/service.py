"""The long-running service behind the web face: it holds the store, runs the ingestion pipeline of posted
batches (:class:`thuocdo.ingest.pipeline.IngestPipeline`), and answers reads through the same workflows as
the command line, so the web never opens the store or computes a metric itself. Safe to call from many
request threads at once: one process holds the store (DuckDB allows one writer process) and every use of the
database goes through the pipeline's locks.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.indices.runs import IndexRun
from thuocdo.ingest.inbox import inbox_months
from thuocdo.ingest.pipeline import IngestPipeline, PipelineSettings
from thuocdo.ingest.readers import LINE, InputError, RawInput
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.sources import CoverageRow, DeclarationResult
from thuocdo.ingest.spark_ingest import SparkIngestReport
from thuocdo.ingest.stream import Outcome, Submission, Writer, record_write, stage_batches, staging_connection
from thuocdo.reports.build import ReportSettings, build_report
from thuocdo.reports.disclosure import CellKey, category_table, disclose
from thuocdo.reports.render import write
from thuocdo.store import Store, resolve_home
from thuocdo.store import sources as registry
from thuocdo.store.sources import declarations_stamp
from thuocdo.workflows import disclosure as disclosure_workflow
from thuocdo.workflows import estimates
from thuocdo.workflows import indices as index_workflow
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import metrics as metric_workflow
from thuocdo.workflows import quality as quality_workflow
from thuocdo.workflows import retention as retention_workflow
from thuocdo.workflows import sources as sources_workflow
from thuocdo.workflows.access import Access, Principal
from thuocdo.workflows.reports import report_inputs
from thuocdo.workflows.store import attach_lakehouse


@dataclass(frozen=True)
class Settings:
    flush_rows: int = 1_000_000   # merge the inbox into the lake when it holds this many records
    flush_idle: float = 2.0       # ... or when no batch arrived for this many seconds
    reader_processes: int = 0     # parse and stage posted bodies in this many worker processes (0: threads)
    database_threads: int = 0     # threads of the database's queries and merges (0: DuckDB's default, one per core)
    landed_every: float = 60.0    # ingest the batches landed for the lakehouse every this many seconds (0: never)
    landed_engine: str = "duckdb"  # by this engine: "duckdb" (in this process) or "spark" (a Spark driver here)

    @property
    def pipeline(self) -> PipelineSettings:
        return PipelineSettings(self.flush_rows, self.flush_idle, self.reader_processes)


class Service:
    """The store of one home, opened for the life of a server."""

    def __init__(self, home: str | Path | None, settings: Settings | None = None) -> None:
        self.home = resolve_home(home)
        self.settings = settings or Settings()
        self.store = Store(self.home)
        if self.settings.database_threads:
            self.store.con.execute(f"SET threads = {int(self.settings.database_threads)}")
        self._flusher_store = Store(self.home, sweep=False)  # a second connection, used by the flusher only
        self.catalog: Catalog = load_catalog()
        self.access = Access(self.home)
        self._report_lock = threading.Lock()
        self._withheld: dict[tuple[str, str | None, str], frozenset[CellKey]] = {}
        self.pipeline = IngestPipeline(self.store, self._flusher_store, self.catalog, self.settings.pipeline)
        self.readers = self.pipeline.readers
        self.lock = self.pipeline.lock
        self._placed: dict[str, bool] = {}  # source -> whether the lakehouse holds it (settled: in_lakehouse)
        self.landing_failures = 0
        self.last_landing_error: str | None = None
        self._stopping = threading.Event()
        self._lander: threading.Thread | None = None
        if self.settings.landed_every > 0:
            self._lander = threading.Thread(target=self._ingest_landed_now_and_then, name="thuocdo-landed",
                                             daemon=True)
            self._lander.start()

    def close(self) -> None:
        self._stopping.set()
        if self._lander is not None:
            self._lander.join(timeout=600)  # a Spark ingestion under way ends first
        try:
            self.pipeline.close()
        finally:
            with self.exclusive():
                self._flusher_store.close()
                self.store.close()

    @contextmanager
    def db(self) -> Iterator[Store]:
        """The store, for reading or writing anything (no merge of the inbox runs meanwhile)."""
        with self.exclusive():
            yield self.store

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Both of the pipeline's locks (:meth:`thuocdo.ingest.pipeline.IngestPipeline.exclusive`)."""
        with self.pipeline.exclusive():
            yield

    def health(self) -> dict[str, object]:
        """The state of the ingestion pipeline (:meth:`thuocdo.ingest.pipeline.IngestPipeline.health`), and of
        the ingestion of batches landed for the lakehouse."""
        state = self.pipeline.health()
        state |= {"landing_failures": self.landing_failures, "last_landing_error": self.last_landing_error}
        if self.landing_failures:
            state["status"] = "degraded"
        return state

    # -- writes ------------------------------------------------------------------------------------------------
    def clean_rows(self, source: str, raw: RawInput) -> pa.Table | None:
        return self.pipeline.clean_rows(source, raw)

    def submit_usage(self, source: str, submission: Submission) -> Future[Outcome]:
        """Queue a usage batch; the future gives its outcome once committed."""
        return self.pipeline.submit_usage(source, submission)

    def in_lakehouse(self, source: str) -> bool:
        """Whether the cluster's lakehouse holds the source's records (its batches land there:
        :meth:`land_usage`). A source's place is settled once it has records anywhere (Spark refuses a source
        with records here, and this store one the lakehouse holds), so it is looked up once then (reading the
        lakehouse's rollup is not for every request); a source without records is looked up each time."""
        with self.lock:
            if source not in self._placed:
                if registry.person_days_here(self.store, source):
                    self._placed[source] = False
                elif ingest_workflow.in_lakehouse(self.store, source):
                    self._placed[source] = True
                else:
                    return False
            return self._placed[source]

    def land_usage(self, source: str, submission: Submission, body: bytes, gzipped: bool) -> Outcome:
        """A batch for a source the lakehouse holds: checked here by the same rules for the answer (each record
        pending, or rejected with its reasons), landed on the object store as a file (the same batch twice is one
        file), and ingested with the files (:meth:`ingest_landed`): stored once, or found a duplicate,
        there. The answer's batch id is the landed file's name."""
        raw = submission.raw
        problems: dict[int, str] = {}
        if submission.clean is None:
            con = staging_connection()
            try:
                staged = stage_batches(con, self.catalog, self.store.secret, source, [submission],
                                       submission.key_domain)
            finally:
                con.close()
            problems = dict(zip(staged.rejected[LINE].to_pylist(), staged.rejected["problems"].to_pylist(),
                                strict=True))
        uri, _ = ingest_workflow.land_usage(self.home, source, body, gzipped=gzipped)
        name = uri.rsplit("/", 1)[-1]
        numbers = np.asarray(raw.table[LINE].to_pylist(), np.int64)
        states = np.asarray([2 if n in problems else 3 for n in numbers.tolist()], np.int64)
        rejected = len(problems) + len(raw.rejections)
        outcome = Outcome(name, source, "usage", name.removesuffix(".ndjson"), rows_read=len(numbers) +
                          len(raw.rejections), rejected=rejected, numbers=numbers, states=states,
                          record_problems=problems, unreadable=list(raw.rejections))
        with self.exclusive(), self.store.transaction() as con:
            record_write(con, submission.writer, "usage", source, outcome.batch_id, outcome.received, 0, 0, rejected)
        return outcome

    def ingest_landed(self) -> dict[str, SparkIngestReport]:
        """Ingest the batches landed for the lakehouse (:func:`thuocdo.workflows.ingest.ingest_landed`) with the
        settings' engine, in this process (DuckDB and pyiceberg, or this process's Spark driver); the store is only
        read, for each source's secret, key domain and weights."""
        def inputs(source: str) -> ingest_workflow.SparkInputs:
            with self.lock:
                return ingest_workflow.spark_inputs(self.store, source)

        return ingest_workflow.ingest_landed(self.home, engine=self.settings.landed_engine, inputs=inputs)

    def _ingest_landed_now_and_then(self) -> None:
        while not self._stopping.wait(self.settings.landed_every):
            try:
                if ingest_workflow.has_landed(self.home):
                    self.ingest_landed()
                    self.landing_failures, self.last_landing_error = 0, None
            except Exception as exc:  # noqa: BLE001 - the cluster may be down: said by health(), tried again
                self.landing_failures += 1
                self.last_landing_error = f"{type(exc).__name__}: {str(exc)[:500]}"

    def key_domain(self, source: str) -> str:
        """The key domain of the source's persons (:meth:`thuocdo.ingest.pipeline.IngestPipeline.key_domain`)."""
        return self.pipeline.key_domain(source)

    def declare_source(self, name: str, kind: str, link_key: str | None, coverage: list[CoverageRow] | None,
                       writer: Writer, row_name: Callable[[int], str]) -> sources_workflow.Declared:
        """Declare a source (:func:`thuocdo.workflows.sources.declare_in`; `row_name` names a coverage row in a
        message), its audit line in the same transaction; the pipeline keys the source's next batches in its
        domain. DeclarationError when refused."""
        received = len(coverage or ())

        def record(con: Any, result: DeclarationResult) -> None:
            record_write(con, writer, "sources", name, None, received, result.coverage_changed,
                         received - result.coverage_changed, 0)

        with self.exclusive():
            try:
                return sources_workflow.declare_in(self.store, self.catalog, name, kind, link_key, coverage,
                                                   "coverage", f"api:{writer.key_id}", record, row_name)
            finally:
                self.pipeline.declared(name)

    def ingest_table(self, kind: str, source: str, rows: list[dict[str, object]], writer: Writer,
                     name: str) -> BatchResult:
        """Weights, aggregates or indicator values posted as JSON records: ingested like a file of them."""
        with tempfile.TemporaryDirectory(prefix="thuocdo-api-") as tmp:
            path = Path(tmp) / f"{name}.ndjson"
            path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
            with self.exclusive():
                report = ingest_workflow.ingest(self.home, kind, [path], source)
                if report.errors:
                    raise InputError(report.errors[0])
                result = report.results[0]
                with self.store.transaction() as con:
                    record_write(con, writer, kind, source, result.batch_id, result.rows_read, result.stored,
                                 result.duplicates, result.rejected)
        return result

    # -- reads -------------------------------------------------------------------------------------------------
    def metrics(self, period: str, by: str = "platform", source: str | None = None,
                distinct: str = "exact") -> pa.Table:
        request = metric_workflow.metric_request(period, by, source)
        with self.exclusive():
            return metric_workflow.metrics(self.home, request, distinct=distinct)

    def usage_sources(self) -> tuple[str | None, list[str]]:
        """The source shown when none is asked (the national estimate when several sources have records) and
        the sources a visitor may choose (``national`` first when it is offered)."""
        with self.exclusive():
            attach_lakehouse(self.store)
            default = estimates.default_source(self.store)
            names = [s.name for s in estimates.usage_sources(self.store)]
        return default, ([estimates.NATIONAL] if default == estimates.NATIONAL else []) + names

    def public_metrics(self, period: str, by: str, principal: Principal, source: str | None = None,
                       distinct: str = "exact") -> pa.Table:
        """The metric table as `principal` may see it: for anyone but an analyst or an admin, the disclosure
        rules of :mod:`thuocdo.reports.disclosure` (panel figures from fewer than MIN_CELL panelists withheld,
        and the complementary cells that would betray them; a `suppressed` column says which; changes only
        between published cells; category totals over published cells, with a `withheld` count). Whether the
        period is published is the caller's check (the API answers 403, the dashboard does not offer it)."""
        if principal.sees_unpublished:
            return self.metrics(period, by, source, distinct)
        if source is not None and estimates.SEPARATOR in source:
            raise estimates.NotPublic("Hợp nguồn (a,b) chỉ dành cho khóa phân tích (analyst) hoặc quản trị (admin): "
                                      "hiệu của hợp và từng nguồn có thể làm lộ số liệu nhỏ không được công bố.")
        withheld = self.withheld(period, source)
        if by == "category":
            return category_table(disclose(self.metrics(period, "platform", source), False, withheld))
        return estimates.public_mix(disclose(self.metrics(period, by, source, distinct), by == "province", withheld))

    def bands(self, period: str, thresholds: tuple[float, ...], principal: Principal,
              source: str | None = None) -> metric_workflow.Bands:
        """The MAU bands of a period (:func:`thuocdo.workflows.metrics.bands`) from the metric table `principal`
        may see: a platform whose figure is withheld from the public is in no band (counted in ``missing``)."""
        with self.exclusive():
            chosen = metric_workflow.bands_source(self.home, source)
        table = self.public_metrics(period, "platform", principal, chosen)
        return metric_workflow.bands(self.home, period, thresholds, chosen, table=table)  # the store is not read

    def retention(self, cohort: str, months: int, platform: str | None, source: str | None,
                  by_province: bool) -> retention_workflow.Retention:
        """Retention cohorts (:func:`thuocdo.workflows.retention.retention`)."""
        with self.exclusive():
            return retention_workflow.retention(self.home, cohort, months, platform=platform, source=source,
                                                by_province=by_province)

    def quality(self, source: str, period: str, late_days: int) -> quality_workflow.Quality:
        """A source's quality monitor (:func:`thuocdo.workflows.quality.quality`)."""
        with self.exclusive():
            return quality_workflow.quality(self.home, source, period, late_days=late_days)

    def quality_overview(self, period: str, sources: list[str] | None = None) -> dict[str, Any]:
        """The quality summary of every usage source (or of `sources`) over a period."""
        with self.exclusive():
            return dict(quality_workflow.overview(self.home, period, sources))

    def platform_retention(self, platform: str, cohort: str, months: int,
                           source: str | None) -> retention_workflow.Retention | None:
        """A platform's users of `cohort` followed `months` months, in the persons of the view's source (or its
        largest panel: :func:`thuocdo.workflows.retention.retention_source`); None when none has that month."""
        with self.exclusive():
            attach_lakehouse(self.store)  # a panel the cluster's lakehouse holds is one of the sources
            chosen = retention_workflow.retention_source(self.store, source, cohort)
            if chosen is None:
                return None
            try:
                return retention_workflow.retention(self.home, cohort, months, platform=platform, source=chosen)
            except retention_workflow.NoData:
                return None

    def withheld(self, period: str, source: str | None = None) -> dict[str, frozenset[CellKey]]:
        """The withheld cells of the blocks a period's table depends on (its quarter's, and those of the periods
        it is compared with), computed once per state of the data."""
        out = {}
        with self.exclusive():
            attach_lakehouse(self.store)  # Spark's ingestions change the lakehouse's rollup, not this database
            stamp = str(self.store.con.execute(
                "SELECT count(*)::VARCHAR || '/' || coalesce(max(committed_at)::VARCHAR, '') FROM batches"
            ).fetchall()[0][0]) + "/" + declarations_stamp(self.store)  # a declaration moves the national figures
            stamp += "/" + self.store.attached_stamp
            self._withheld = {k: v for k, v in self._withheld.items() if k[2] == stamp}  # the data changed: forget
            for quarter in disclosure_workflow.compared_quarters(period):
                key = (quarter, source, stamp)
                if key not in self._withheld:
                    self._withheld[key] = disclosure_workflow.withheld(self.home, [quarter], source)[quarter]
                out[quarter] = self._withheld[key]
        return out

    def sources(self) -> list[dict[str, Any]]:
        """Every source (:func:`thuocdo.workflows.sources.summaries`)."""
        with self.lock:
            attach_lakehouse(self.store)
            return sources_workflow.summaries(self.store)

    def source(self, name: str) -> sources_workflow.SourceDetail | None:
        with self.lock:
            attach_lakehouse(self.store)
            return sources_workflow.detail(self.store, name)

    def months_with_data(self) -> list[str]:
        with self.lock:
            attach_lakehouse(self.store)
            rows = self.store.con.execute(
                "SELECT DISTINCT month FROM usage_month UNION SELECT DISTINCT month FROM dirty_months").fetchall()
            return sorted({r[0] for r in rows} | set(inbox_months(self.store)))

    def index(self, framework: str, period: str, level: str = "province", units: str | None = None,
              runs: int = 500) -> IndexRun:
        with self.exclusive():
            return index_workflow.run_index(self.home, framework, period, level, units, runs=runs)

    def targets(self, year: int) -> pa.Table:
        with self.exclusive():
            return index_workflow.targets(self.home, year)

    def audit(self, limit: int = 200) -> pa.Table:
        with self.lock:
            return self.store.con.sql(f'SELECT id, "at", key_id, role, action, target, batch_id, received, stored, '
                                      f"duplicates, rejected, client FROM audit_log ORDER BY id DESC LIMIT {int(limit)}"
                                      ).to_arrow_table()

    def report(self, period: str, fmt: str, settings: ReportSettings | None = None) -> Path:
        """The report of a quarter in a format, issued as `settings` say (issuing body, date, signer; default:
        as :mod:`thuocdo.reports.issuance` chooses), written under the home on first request and kept until the
        data change, one copy per set of options. Only reading the metric tables holds the store; the rendering
        (PDF: seconds) does not. An issue the options make impossible raises IssueError."""
        settings = settings or ReportSettings()
        with self._report_lock:
            with self.exclusive():
                stamp = str(self.store.con.execute("SELECT coalesce(max(committed_at)::VARCHAR, '') FROM batches"
                                                   ).fetchall()[0][0]) + "/" + declarations_stamp(self.store)
                folder = self.home / "reports" / period / _slug(stamp) / _settings_key(settings)
                existing = sorted(folder.glob(f"*.{fmt}")) if folder.exists() else []
                if existing:
                    return existing[0]
                inputs = report_inputs(self.home, period)
            report = build_report(inputs, self.catalog, settings)
            with tempfile.TemporaryDirectory(prefix="thuocdo-report-", dir=self.home) as tmp:
                files = write(report, Path(tmp), [fmt])
                folder.mkdir(parents=True, exist_ok=True)
                for path in Path(tmp).rglob("*"):
                    if path.is_file():
                        target = folder / path.relative_to(tmp)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(path, target)
            return folder / files[fmt].relative_to(tmp)


def _settings_key(settings: ReportSettings) -> str:
    """A folder name for a set of issue options: "mac-dinh" for the defaults, else a digest of the options."""
    if settings == ReportSettings():
        return "mac-dinh"
    fields = [settings.issuer, settings.date.isoformat() if settings.date else None, settings.signer_name,
              settings.signer_title, settings.place, settings.classification]
    return hashlib.sha256(orjson.dumps(fields)).hexdigest()[:16]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text) or "empty"

