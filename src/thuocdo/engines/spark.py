"""Apache Spark: the same rollup and metric SQL as DuckDB, printed by SQLGlot for Spark, over the Parquet lake.

The engine reads the ``person_day`` files that the store's manifest (``lake_files``) lists for the months a
query needs, from the local lake or from any Hadoop-compatible copy of it (``lake_uri``, e.g.
``s3a://bucket/thuocdo/lake``, or the Spark setting ``spark.thuocdo.lake``), rebuilds ``person_month`` and
``usage_month`` there with :data:`thuocdo.metrics.rollups.PERSON_MONTH` / ``USAGE_MONTH``, and runs the metric
query. Panel weights and published aggregates are small tables of the store's database; they travel from the
driver as Arrow. Nothing here knows a metric: the dictionary is only in ``thuocdo.metrics``.

Engine quirks (the only differences from DuckDB, all in this file):

* a fractional literal (``1.0``) is a DECIMAL in both engines, but DuckDB divides decimals in DOUBLE and Spark in
  DECIMAL rounded to six places; Spark is given such literals as DOUBLE (:func:`spark_sql`);
* ``RANK()`` is INT in Spark and BIGINT in DuckDB: results are handed back with DuckDB's types
  (:func:`_duckdb_types`), so nothing downstream can tell which engine ran;
* Spark does not use a cached DataFrame inside a query's WITH clauses, so the (small) ``usage_month`` is handed
  back to Spark as a local relation once built, and every metric query reads that;
* Spark computes a WITH clause again at every reference. The person_month rollup refers twice to ``agg``, its
  one aggregation of all the records (sort-based in Spark: MIN/MAX of a string), so ``agg`` runs once as its
  own query, is checkpointed, and the rest of the rollup reads it (:func:`split_cte`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import warnings
from functools import reduce
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from thuocdo.engines import sketches
from thuocdo.engines.base import Relations
from thuocdo.metrics.rollups import PERSON_DAY_MERGE, PERSON_MONTH, USAGE_MONTH
from thuocdo.store import Store, StoreError
from thuocdo.store.rollups import PERSON_DAY_COLUMNS, person_day_files

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[2]"
#: a Spark setting (spark-defaults.conf, --conf) naming a Hadoop-compatible copy of the store's lake folder
LAKE_SETTING = "spark.thuocdo.lake"
#: the stored person_day files, as written by ingestion (a schema given up front spares Spark a footer scan)
PERSON_DAY_SCHEMA = ("platform STRING, person BIGINT, day DATE, month STRING, active_seconds BIGINT, bytes BIGINT, "
                     "sessions BIGINT, installs BIGINT, active BOOLEAN, province STRING, province_seconds BIGINT")
#: log WARN and up, except known start-up and size notices that say nothing about the result
LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = error
logger.window.name = org.apache.spark.sql.execution.window.WindowExec
logger.window.level = error
logger.plans.name = org.apache.spark.util.SparkStringUtils
logger.plans.level = error
"""


def _log_config() -> Path:
    path = Path(tempfile.gettempdir()) / "thuocdo-spark-log4j2.properties"
    if not path.exists() or path.read_text() != LOG4J2:
        path.write_text(LOG4J2)
    return path


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A quiet, offline Spark session on `master` (``local[2]`` by default; ``spark://host:7077`` for a cluster).

    An active session on another master is stopped first. Settings not given here come from Spark's own
    configuration (``$SPARK_CONF_DIR/spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``), as for any Spark job.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        from pyspark.sql import SparkSession

        master = master or DEFAULT_MASTER
        active = SparkSession.getActiveSession()
        if active is not None:
            if active.sparkContext.master == master:
                return active
            active.stop()
        settings = {
            "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.sql.session.timeZone": "UTC",
        }
        if master.startswith("local") or _on_loopback(master):  # this machine only
            settings |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
        if master.startswith("local"):  # a few cores: Spark's 200 shuffle partitions are 200 tiny tasks
            settings["spark.sql.shuffle.partitions"] = "8"
        settings |= dict(conf or {})
        log_option = f"-Dlog4j2.configurationFile=file:{_log_config()}"
        settings["spark.driver.extraJavaOptions"] = f"{log_option} {settings.get('spark.driver.extraJavaOptions', '')}".strip()
        builder = SparkSession.builder.master(master).appName("thuocdo")
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("WARN")
        return session


def _on_loopback(master: str) -> bool:
    return any(f"://{host}" in master for host in ("127.0.0.1", "localhost"))


def spark_sql(query: exp.Expr) -> str:
    """The query as Spark runs it: SQLGlot's Spark printing, fractional literals as DOUBLE (see module doc)."""

    def as_double(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Literal) and node.is_number and "." in node.this and not isinstance(node.parent, exp.Cast):
            return exp.cast(node.copy(), exp.DataType.build("DOUBLE"))
        return node

    return query.transform(as_double).sql(dialect="spark", pretty=True)


def rollup_sql(sql: str) -> exp.Expr:
    """A rollup of ``thuocdo.metrics.rollups`` (written in DuckDB's dialect) as a SQLGlot expression."""
    return sqlglot.parse_one(sql, read="duckdb")


def split_cte(query: exp.Expr, name: str) -> tuple[exp.Expr, exp.Expr]:
    """The WITH clause `name` of `query` as a query of its own, and `query` without it (reading `name` as a table).

    >>> first, rest = split_cte(sqlglot.parse_one("WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) "
    ...                                           "SELECT * FROM a JOIN b USING (x)"), "a")
    >>> first.sql(), rest.sql()
    ('SELECT 1 AS x', 'WITH b AS (SELECT x FROM a) SELECT * FROM a JOIN b USING (x)')
    """
    rest = query.copy()
    with_clause = rest.find(exp.With)
    assert with_clause is not None, "a query with WITH clauses"
    cte = next(c for c in with_clause.expressions if c.alias == name)
    cte.pop()
    return cte.this, rest


class SparkEngine:
    name = "spark"
    dialect = "spark"

    def __init__(self, store: Store, spark: SparkSession | None = None, *, master: str | None = None,
                 lake_uri: str | None = None) -> None:
        self.store = store
        self.spark = spark or spark_session(master)
        configured = self.spark.conf.get(LAKE_SETTING, None)
        self.lake_uri = (lake_uri or configured or store.lake.resolve().as_uri()).rstrip("/")
        self._rollup: tuple[frozenset[str], str, DataFrame] | None = None

    # -- the relations ---------------------------------------------------------------------------------------
    def person_day(self, months: Iterable[str]) -> DataFrame:
        """The stored person_day rows of the months, with their source (from the manifest), as one DataFrame with
        one row per person-day: the days a merge of the inbox appended to, held in several files, are collapsed
        (``PERSON_DAY_MERGE``)."""
        from pyspark.sql import functions as F

        single: dict[str, list[str]] = {}
        several: dict[str, list[str]] = {}
        for source, path, split in person_day_files(self.store, sorted(set(months))):
            uri = f"{self.lake_uri}/{Path(path).relative_to(self.store.lake).as_posix()}"
            (several if split else single).setdefault(source, []).append(uri)

        def read(by_source: dict[str, list[str]]) -> DataFrame | None:
            frames = [self.spark.read.schema(PERSON_DAY_SCHEMA).parquet(*paths).withColumn("source", F.lit(source))
                      for source, paths in by_source.items()]
            return reduce(lambda a, b: a.unionByName(b), frames) if frames else None

        whole, parts = read(single), read(several)
        if parts is not None:
            parts.createOrReplaceTempView("person_day_parts")
            parts = self.spark.sql(spark_sql(rollup_sql(PERSON_DAY_MERGE))).select(*PERSON_DAY_COLUMNS, "source")
        frames = [f for f in (whole, parts) if f is not None]
        if not frames:
            return self.spark.createDataFrame([], f"{PERSON_DAY_SCHEMA}, source STRING")
        return reduce(lambda a, b: a.unionByName(b), frames)

    def _store_table(self, sql: str, params: Mapping[str, Any] | None = None) -> DataFrame:
        return self.spark.createDataFrame(self.store.con.sql(sql, params=dict(params or {})).to_arrow_table())

    def _fingerprint(self, months: list[str]) -> str:
        """What the rollup of these months is built from: the listed person_day files and the weights batches."""
        row = self.store.con.sql(
            "SELECT (SELECT md5(string_agg(path, ',' ORDER BY path)) FROM lake_files "
            "        WHERE dataset = 'person_day' AND list_contains($m, month)), "
            "       (SELECT md5(string_agg(DISTINCT batch_id, ',' ORDER BY batch_id)) FROM weights "
            "        WHERE list_contains($m, month))", params={"m": months}).fetchall()[0]
        return f"{row[0]}/{row[1]}"

    def prepare(self, months: Iterable[str]) -> None:
        """Register ``usage_month`` covering the months, rebuilt from person_day unless the rollup already built by
        this engine covers them and its inputs (person_day files, weights) have not changed since."""
        wanted = set(months)
        if self._rollup is not None:
            built, fingerprint, frame = self._rollup
            if wanted <= built and self._fingerprint(sorted(built)) == fingerprint:
                frame.createOrReplaceTempView("usage_month")
                return
            self._rollup = None
        from pyspark import StorageLevel

        ordered = sorted(wanted)
        fingerprint = self._fingerprint(ordered)
        self.person_day(ordered).createOrReplaceTempView("person_day")
        self._store_table("SELECT source, person, month, weight FROM weights WHERE list_contains($m, month)",
                          {"m": ordered}).createOrReplaceTempView("weights")
        agg, person_month = split_cte(rollup_sql(PERSON_MONTH), "agg")  # the records aggregated once (module doc)
        # on disk, serialised: on the heap (the default) the 10 M benchmark took 1.5x the CPU and 2x the memory
        self.spark.sql(spark_sql(agg)).localCheckpoint(storageLevel=StorageLevel.DISK_ONLY) \
            .createOrReplaceTempView("agg")
        self.spark.sql(spark_sql(person_month)).createOrReplaceTempView("person_month")
        # usage_month is small (source × platform × month × province): collected once and handed back as a local
        # relation, so that every query joins it by broadcast. (A cached DataFrame is not enough: Spark does not
        # substitute the cache inside the metric query's WITH clauses and would rebuild the rollups each time.)
        usage_month = self.spark.createDataFrame(self.spark.sql(spark_sql(rollup_sql(USAGE_MONTH))).toArrow())
        usage_month.createOrReplaceTempView("usage_month")
        self._rollup = (frozenset(wanted), fingerprint, usage_month)

    def run(self, query: exp.Expr, relations: Relations) -> pa.Table:
        self.prepare(relations.periods.column("month").to_pylist())
        self._store_table("SELECT source, platform, period, metric, value FROM aggregates") \
            .createOrReplaceTempView("aggregates")
        names = {"platforms": relations.platforms, "periods": relations.periods, "smartphones": relations.smartphones}
        for name, table in names.items():
            self.spark.createDataFrame(table).createOrReplaceTempView(name)
        return _duckdb_types(self.spark.sql(spark_sql(query)).toArrow())


    # -- mergeable distinct counts (see thuocdo.engines.sketches) -------------------------------------------
    def sketch_cells(self, months: Iterable[str], lg_k: int = sketches.LG_K) -> pa.Table:
        """The sketch_day cells of the months built by Spark (``hll_sketch_agg``, DataSketches HLL_8)."""
        self.person_day(months).createOrReplaceTempView("sketch_person_day")
        cells = self.spark.sql(
            f"SELECT source, platform, day, month, province, CAST({int(lg_k)} AS INT) AS lg_k, COUNT(*) AS persons, "
            f"hll_sketch_agg(person, {int(lg_k)}) AS sketch FROM sketch_person_day WHERE active "
            "GROUP BY source, platform, day, month, province").toArrow()
        return cells.cast(sketches.SKETCH_DAY_SCHEMA)

    def build_sketch_days(self, *, sources: Sequence[str] | None = None, months: Sequence[str] | None = None,
                          lg_k: int = sketches.LG_K) -> list[tuple[str, str]]:
        """Like :func:`thuocdo.engines.sketches.build_sketch_days`, the sketches computed by Spark."""
        stale = sketches.stale_months(self.store, sources=sources, months=months, lg_k=lg_k)
        batch_ids = sketches.sketch_batch_ids(self.store, sources, months, lg_k)
        if not stale:
            return []
        cells = self.sketch_cells(sorted({m for _, m in stale}), lg_k)
        for source, month in stale:
            mine = cells.filter(pc.and_(pc.equal(cells.column("source"), source), pc.equal(cells.column("month"), month)))
            sketches.write_sketch_days(self.store, source, month, mine, batch_ids[(source, month)])
        return stale

    def distinct_persons(self, first_day: dt.date, last_day: dt.date, *, by: Sequence[str] = ("source", "platform"),
                         lg_k: int = sketches.LG_K) -> pa.Table:
        """Like :func:`thuocdo.engines.sketches.distinct_persons`: Spark unions the stored sketches
        (``hll_union_agg``) per group; the driver reads each union's estimate and bounds."""
        months = sketches.months_between(first_day, last_day)
        stale = sketches.stale_months(self.store, months=months, lg_k=lg_k)
        if stale:
            raise StoreError("Sketch chưa cập nhật cho " + ", ".join(f"{s} {m}" for s, m in stale))
        paths = [r[0] for r in self.store.con.sql(
            "SELECT path FROM lake_files WHERE dataset = $d AND list_contains($m, month) ORDER BY path",
            params={"d": sketches.SKETCH_DAY, "m": months}).fetchall()]
        if not paths:
            return sketches.union_cells(sketches.SKETCH_DAY_SCHEMA.empty_table(), by, lg_k)
        self.spark.read.parquet(*[f"{self.lake_uri}/{p}" for p in paths]).createOrReplaceTempView("sketch_day")
        keys = ", ".join(f"`{c}`" for c in by)
        unions = self.spark.sql(
            f"SELECT {keys}, hll_union_agg(sketch) AS sketch FROM sketch_day "
            f"WHERE day BETWEEN DATE '{first_day.isoformat()}' AND DATE '{last_day.isoformat()}' GROUP BY {keys}"
        ).toArrow()
        return sketches.union_cells(unions, by, lg_k)


def _duckdb_types(table: pa.Table) -> pa.Table:
    """Spark's INT and DECIMAL results as DuckDB gives them (BIGINT, DOUBLE); Spark's all-nullable fields kept."""
    fields = []
    for f in table.schema:
        if pa.types.is_integer(f.type):
            fields.append(pa.field(f.name, pa.int64()))
        elif pa.types.is_decimal(f.type):
            fields.append(pa.field(f.name, pa.float64()))
        else:
            fields.append(pa.field(f.name, f.type))
    return table.cast(pa.schema(fields))
