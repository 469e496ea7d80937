"""Ingest files of one kind into a source: one atomic batch per file, then the rollups brought up to date."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.ingest.aggregates import ingest_aggregates
from thuocdo.ingest.inbox import flush_inbox, held_segments
from thuocdo.ingest.indicators import ingest_indicators
from thuocdo.ingest.lakehouse_ingest import ingest_usage_lakehouse
from thuocdo.ingest.landing import land, landed, landing_bytes, landing_of, mark_ingested
from thuocdo.ingest.quarantine import problems_of
from thuocdo.ingest.readers import InputError, ahead
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.spark_ingest import WEIGHTS_SCHEMA, SparkIngestReport, ingest_usage_spark
from thuocdo.ingest.usage import ReadFile, ingest_usage_file, read_usage_file
from thuocdo.ingest.weights import ingest_weights
from thuocdo.rollups.served import weights_stamps
from thuocdo.store import Store
from thuocdo.store import sources as registry
from thuocdo.store.home import DATABASE_FILE, resolve_home
from thuocdo.workflows.store import attach_lakehouse, bring_up_to_date, open_store

INGEST_KINDS = ("usage", "weights", "aggregates", "indicators")
#: problems read back from the quarantine for a batch's report (all are kept there)
SHOWN_PROBLEMS = 50


@dataclass
class IngestReport:
    results: list[BatchResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be read (nothing of them stored)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.results)


def check_kind(kind: str) -> None:
    """An unknown kind is an input error (never a silent default)."""
    if kind not in INGEST_KINDS:
        raise InputError(f"Không có loại dữ liệu '{kind}': chọn một trong {', '.join(INGEST_KINDS)}.")


def ingest(home: str | Path | None, kind: str, files: Sequence[Path], source: str,
           on_file: Callable[[Path, BatchResult | None], None] | None = None,
           on_rollup: Callable[[str, str], None] | None = None) -> IngestReport:
    """Ingest files of one kind into a source, one atomic batch per file, then bring the rollups up to date."""
    check_kind(kind)
    catalog = load_catalog()
    report = IngestReport()
    with open_store(home) as store:
        if kind == "usage":  # records accepted over HTTP are in the lake before a file is checked against it
            flush_inbox(store, source)
            check_nothing_held(store, source)
            if in_lakehouse(store, source):  # continued there, by this engine
                _into_lakehouse(store, files, source, report, on_file)
                bring_up_to_date(store, on_rollup)
                return report
        for path, read in _read_ahead(kind, files):
            result: BatchResult | None = None
            try:
                result = ingest_file(store, kind, path, source, catalog, read.result() if read else None)
            except InputError as exc:
                report.errors.append(str(exc))
            else:
                report.results.append(result)
            if on_file:
                on_file(path, result)
        bring_up_to_date(store, on_rollup)
    return report


def _read_ahead(kind: str, files: Sequence[Path]) -> Iterator[tuple[Path, Future[ReadFile] | None]]:
    """Each file with, for usage files, its read: the next file is read (parsed, hashed: work that needs no
    database and mostly releases the interpreter's lock) in a thread while the current one is stored. At most
    two files are held in memory."""
    if kind != "usage":
        yield from ((path, None) for path in files)
        return
    yield from ahead(files, read_usage_file, "thuocdo-read")


def check_nothing_held(store: Store, source: str) -> None:
    """A file is checked against every stored record of its source: not while some are set aside."""
    held = held_segments(store, source)
    if held:
        records = f"{sum(h.records for h in held):,}".replace(",", ".")
        raise InputError(
            f"Nguồn {source} có {records} bản ghi gửi qua API đang bị giữ lại vì không gộp được vào kho "
            f"({held[0].reason[:200]}). Hãy khắc phục rồi chạy lại máy chủ (thuocdo serve), máy chủ sẽ gộp lại "
            "các bản ghi này; sau đó mới nạp tệp của nguồn này.")


def in_lakehouse(store: Store, source: str) -> bool:
    """Whether the cluster's lakehouse holds the source's records (the store only its rollup)."""
    return (attach_lakehouse(store) and not registry.person_days_here(store, source)
            and bool(registry.usage_months(store, [source])[source]))


def check_not_in_lakehouse(store: Store, source: str) -> None:
    """One source, one place: a source whose records the home's lakehouse holds is continued there, never in the
    embedded store (both are read, and a record would be counted in each)."""
    if in_lakehouse(store, source):
        raise InputError(f"Nguồn {source} nằm trong lakehouse, không nạp lại vào kho nhúng được: hãy sửa các dòng "
                         f"trong tệp gốc rồi gửi lại tệp đó bằng thuocdo ingest usage TỆP --source {source} (các bản "
                         "ghi đã lưu không bị ghi hai lần).")


def _into_lakehouse(store: Store, files: Sequence[Path], source: str, report: IngestReport,
                    on_file: Callable[[Path, BatchResult | None], None] | None) -> None:
    """Usage files of a source the cluster's lakehouse holds, ingested into it by the default engine
    (:func:`thuocdo.ingest.lakehouse_ingest.ingest_usage_lakehouse`: the same tables and rules as Spark's)."""
    from thuocdo.workflows.cluster import lakehouse

    given = spark_inputs(store, source)
    done = ingest_usage_lakehouse(lakehouse(store.home), [str(p) for p in files], source, given.secret,
                                  key_domain=given.key_domain, weights=given.weights, weights_stamps=given.stamps)
    report.results.extend(done.results)
    report.errors.extend(done.errors)
    if on_file:
        by_name = {r.file: r for r in done.results}
        for path in files:
            on_file(path, by_name.get(path.name))


def ingest_file(store: Store, kind: str, path: Path, source: str, catalog: Catalog,
                read: ReadFile | None = None) -> BatchResult:
    """One file as one batch (a usage file possibly read already); its first problems are read back from the
    quarantine."""
    match kind:
        case "usage":
            result = ingest_usage_file(store, path, source, catalog, read)
        case "weights":
            result = ingest_weights(store, path, source)
        case "aggregates":
            result = ingest_aggregates(store, path, source, catalog)
        case "indicators":
            result = ingest_indicators(store, path, source, catalog)
        case _:
            check_kind(kind)
            raise AssertionError(kind)
    if result.rejected:
        rows = store.con.execute(
            f"SELECT file, line, problems FROM quarantine WHERE batch_id = ? ORDER BY line LIMIT {SHOWN_PROBLEMS}",
            [result.batch_id]).fetchall()
        result.problems = problems_of(rows)
    return result


@dataclass(frozen=True)
class SparkInputs:
    """What a Spark ingestion of a source takes from the home's store: the secret, the source's key domain
    (:func:`thuocdo.store.sources.key_domain`), its weights and their stamps
    (:func:`thuocdo.rollups.served.weights_stamps`)."""

    secret: bytes
    key_domain: str
    weights: pa.Table
    stamps: dict[tuple[str, str], str]


def spark_inputs(store: Store, source: str) -> SparkInputs:
    """The store's part of a Spark ingestion; InputError when the embedded store holds the source's records (one
    source, one place: Spark reads both, and a record would be counted in each)."""
    if registry.person_days_here(store, source):  # its lake's person-days, or records waiting in its inbox
        raise InputError(f"Nguồn {source} đã có bản ghi sử dụng trong kho nhúng của thư mục này: nạp nguồn này "
                         "tiếp bằng DuckDB, hoặc đặt tên nguồn khác cho dữ liệu nạp bằng Spark.")
    return lakehouse_inputs(store, source)


def lakehouse_inputs(store: Store, source: str) -> SparkInputs:
    """What a lakehouse's ingestion of a source takes from the store: the secret, the source's key domain, its
    weights and their stamps."""
    weights = store.con.sql("SELECT source, person, month, weight FROM weights WHERE source = $source",
                            params={"source": source}).to_arrow_table().cast(WEIGHTS_SCHEMA)
    return SparkInputs(store.secret, registry.key_domain(store, source), weights, weights_stamps(store, [source]))


def ingest_spark(home: str | Path | None, paths: Sequence[str], source: str, *, master: str | None = None,
                 on_step: Callable[[str], None] | None = None, conf: Mapping[str, str] | None = None,
                 given: SparkInputs | None = None) -> SparkIngestReport:
    """Usage files (local paths or ``s3://`` prefixes) ingested by Spark into the lakehouse of the home's cluster
    (``thuocdo cluster up``), on its Spark master or on `master`; `given`: the store's part, read by a caller
    that holds the store open (the server), else read here."""
    from thuocdo.engines.spark import lakehouse_session
    from thuocdo.workflows.cluster import lakehouse, spark_lakehouse, spark_master

    lake = spark_lakehouse(home) or lakehouse(home)  # the latter says that no cluster runs
    if given is None:
        # read-only once the store exists: several Spark drivers of one home run at once
        with open_store(home, read_only=(resolve_home(home) / DATABASE_FILE).exists(), sweep=False) as store:
            given = spark_inputs(store, source)
    try:
        spark = lakehouse_session(lake, master or spark_master(home), conf)
    except ImportError as exc:
        raise InputError("--engine spark cần PySpark (pip install pyspark) và Java 17.") from exc
    return ingest_usage_spark(spark, lake, paths, source, given.secret, key_domain=given.key_domain,
                              weights=given.weights, weights_stamps=given.stamps, on_step=on_step)


def land_usage(home: str | Path | None, source: str, body: bytes, *, gzipped: bool = False) -> tuple[str, bool]:
    """A posted usage batch of a source the lakehouse holds, landed on the object store for Spark
    (:mod:`thuocdo.ingest.landing`): its file's URI, and whether it was new."""
    from thuocdo.workflows.cluster import lakehouse

    return land(landing_of(lakehouse(home)), source, landing_bytes(body, f"lô gửi vào {source}", gzipped=gzipped))


def has_landed(home: str | Path | None) -> bool:
    """Whether the home has a cluster and batches are waiting in its landing folder."""
    from thuocdo.workflows.cluster import home_lakehouse

    lake = home_lakehouse(home)
    return lake is not None and bool(landed(landing_of(lake)))


def ingest_landed(home: str | Path | None, source: str | None = None, *, engine: str, master: str | None = None,
                  on_step: Callable[[str], None] | None = None, conf: Mapping[str, str] | None = None,
                  inputs: Callable[[str], SparkInputs] | None = None) -> dict[str, SparkIngestReport]:
    """The batches landed for each source (or one) ingested like files, by `engine` (``spark``: a Spark application
    on the cluster; ``duckdb``: this process, :func:`thuocdo.ingest.lakehouse_ingest.ingest_usage_lakehouse`),
    each file then moved to the source's ``done/`` folder once its records are committed (a file the readers
    refused stays, named in the report's errors). `inputs`: the store's part of each source (see
    :func:`ingest_spark`)."""
    from thuocdo.workflows.cluster import lakehouse

    lake = lakehouse(home)
    landing = landing_of(lake)
    reports: dict[str, SparkIngestReport] = {}
    for name, uris in landed(landing, source).items():
        given = inputs(name) if inputs else None
        if engine == "spark":
            report = ingest_spark(home, uris, name, master=master, on_step=on_step, conf=conf, given=given)
        else:
            if given is None:
                with open_store(home, read_only=(resolve_home(home) / DATABASE_FILE).exists(), sweep=False) as store:
                    given = spark_inputs(store, name)
            report = ingest_usage_lakehouse(lake, uris, name, given.secret, key_domain=given.key_domain,
                                            weights=given.weights, weights_stamps=given.stamps, on_step=on_step)
        done = {r.file for r in report.results}
        mark_ingested(landing, name, [u for u in uris if u.rsplit("/", 1)[-1] in done])
        reports[name] = report
    return reports
