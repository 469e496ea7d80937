"""Apache Spark: engine-neutral SQL printed by SQLGlot for Spark, over the store's lake.

The engine is a Spark session bound to a store and to where its lake is read from: the local lake, or any
Hadoop-compatible copy of it (``lake_uri``, e.g. ``s3a://bucket/thuocdo/lake``, or the Spark setting
``spark.thuocdo.lake``). It offers what the layers above need (read Parquet files of the lake, run a query,
keep a result on disk, hand small tables over as Arrow) and runs metric queries over a registered
``usage_month``. What is read and built (the rollups) is :mod:`thuocdo.rollups.spark`'s; nothing here knows a
rollup or a metric. Panel weights and published aggregates are small tables of the store's database; they
travel from the driver as Arrow.

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

import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from thuocdo.engines.base import SELECTED_USAGE, Relations, named_relations, reading_selected
from thuocdo.engines.spark_jars import ensure_jars
from thuocdo.store import Store
from thuocdo.store.lakehouse import Lakehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[2]"
#: a Spark setting (spark-defaults.conf, --conf) naming a Hadoop-compatible copy of the store's lake folder
LAKE_SETTING = "spark.thuocdo.lake"
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
            if "PYSPARK_PYTHON" not in os.environ:  # Python tasks run thuocdo's code: this interpreter's
                settings["spark.pyspark.python"] = sys.executable
            # Spark starts the tasks' interpreter by its resolved path, outside a virtual environment: hand it
            # this one's packages (and thuocdo's own folder, for an editable install)
            settings["spark.executorEnv.PYTHONPATH"] = os.pathsep.join(_python_path())
        if master.startswith("local") or _on_loopback(master):  # a few cores: 200 shuffle partitions are tiny tasks
            settings["spark.sql.shuffle.partitions"] = "8"
        settings |= dict(conf or {})
        log_option = f"-Dlog4j2.configurationFile=file:{_log_config()}"
        java_options = settings.get("spark.driver.extraJavaOptions", "")
        settings["spark.driver.extraJavaOptions"] = f"{log_option} {java_options}".strip()
        builder = SparkSession.builder.master(master).appName("thuocdo")
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("WARN")
        return session


#: a class of the Iceberg runtime: present on the driver's class path only if the JVM was launched with the jars
_ICEBERG_CATALOG_CLASS = "org.apache.iceberg.spark.SparkCatalog"


def lakehouse_conf(lake: Lakehouse, jars: Sequence[Path]) -> dict[str, str]:
    """Spark settings for a lakehouse: the jars (:mod:`thuocdo.engines.spark_jars`), S3A on its object store,
    and its Iceberg catalog (named ``lake.catalog``, Iceberg's JDBC catalog on its PostgreSQL database, files
    through Hadoop's S3A: Iceberg's own S3FileIO of 1.12 needs an AWS SDK newer than the one hadoop-aws 3.4.2
    is built on, and one SDK on the class path is enough).

    The credentials are not among them: PySpark hands every setting given before the driver starts to
    ``spark-submit`` on its command line, which any local user can read (``/proc/PID/cmdline``), so
    :func:`lakehouse_session` sets them in the running driver (:func:`_set_credentials`)."""
    catalog = f"spark.sql.catalog.{lake.catalog}"
    s3a = "spark.hadoop.fs.s3a"
    return {
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        f"{s3a}.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",  # s3:// paths written by others
        f"{s3a}.endpoint": lake.s3_endpoint,
        f"{s3a}.endpoint.region": lake.region,
        f"{s3a}.path.style.access": "true",
        f"{s3a}.connection.ssl.enabled": str(lake.s3_endpoint.startswith("https:")).lower(),
        f"{s3a}.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        f"{catalog}.uri": lake.jdbc_url,
        f"{catalog}.jdbc.user": lake.db_user,
        f"{catalog}.jdbc.schema-version": "V1",
        f"{catalog}.warehouse": lake.warehouse,
        f"{catalog}.io-impl": "org.apache.iceberg.hadoop.HadoopFileIO",
        # other engines commit to the same tables: no cached table state (Spark would read a snapshot up to 30 s old)
        f"{catalog}.cache-enabled": "false",
    }


def lakehouse_session(lake: Lakehouse, master: str | None = None, conf: Mapping[str, str] | None = None, *,
                      jar_cache: Path | None = None) -> SparkSession:
    """A Spark session on `master` with the lakehouse's object store and Iceberg catalog (see
    :func:`lakehouse_conf`); the jars are fetched into `jar_cache` first when missing.

    The jars reach the driver only when its JVM starts: a process whose JVM was started without them (by an
    earlier session) cannot have a lakehouse session, and is told so."""
    from pyspark import SparkContext

    settings = lakehouse_conf(lake, ensure_jars(jar_cache)) | dict(conf or {})
    if SparkContext._jvm is not None and not _has_class(SparkContext._jvm, _ICEBERG_CATALOG_CLASS):
        raise RuntimeError("this process's Spark driver was started without the Iceberg jars; start the "
                           "lakehouse session in a new process (or before any other Spark session)")
    session = spark_session(master, settings)
    if session.conf.get(f"spark.sql.catalog.{lake.catalog}.uri", None) != lake.jdbc_url:
        raise RuntimeError(f"an active Spark session on {session.sparkContext.master} has another configuration; "
                           "stop it first")
    _set_credentials(session, lake)
    return session


def _set_credentials(session: SparkSession, lake: Lakehouse) -> None:
    """The lakehouse's credentials, set in the running driver (never on a command line): S3A's in the Hadoop
    configuration that every query's (and the Iceberg catalog's) is copied from, and which reaches the executors
    with the tasks; the catalog database's password in the session, read when the catalog is first loaded."""
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    hadoop.set("fs.s3a.access.key", lake.access_key)
    hadoop.set("fs.s3a.secret.key", lake.secret_key)
    session.conf.set(f"spark.sql.catalog.{lake.catalog}.jdbc.password", lake.db_password)


def _has_class(jvm: Any, name: str) -> bool:
    try:
        jvm.java.lang.Class.forName(name, False, jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException in its own error
        return False
    return True


def _python_path() -> list[str]:
    import site

    import thuocdo

    own = str(Path(thuocdo.__file__).resolve().parent.parent)
    return [own, *site.getsitepackages()]


def _on_loopback(master: str) -> bool:
    return any(f"://{host}" in master for host in ("127.0.0.1", "localhost"))


def spark_sql(query: exp.Expr) -> str:
    """The query as Spark runs it: SQLGlot's Spark printing, fractional literals as DOUBLE (see module doc)."""

    def as_double(node: exp.Expr) -> exp.Expr:
        if (isinstance(node, exp.Literal) and node.is_number and "." in node.this
                and not isinstance(node.parent, exp.Cast)):
            return exp.cast(node.copy(), exp.DataType.build("DOUBLE"))
        return node

    return query.transform(as_double).sql(dialect="spark", pretty=True)


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

    def uri(self, path: str | Path) -> str:
        """Where Spark reads a file of the lake (an absolute path in the store's lake, or one relative to it)."""
        relative = Path(path).relative_to(self.store.lake) if Path(path).is_absolute() else Path(path)
        return f"{self.lake_uri}/{relative.as_posix()}"

    def read_parquet(self, paths: Sequence[str | Path], schema: str | None = None,
                     constants: Mapping[str, str] | None = None) -> DataFrame:
        """Parquet files of the lake as one DataFrame (`schema` given up front spares Spark a footer scan),
        with constant string columns added."""
        from pyspark.sql import functions as F

        reader = self.spark.read.schema(schema) if schema else self.spark.read
        frame = reader.parquet(*[self.uri(p) for p in paths])
        for name, value in (constants or {}).items():
            frame = frame.withColumn(name, F.lit(value))
        return frame

    def empty(self, schema: str) -> DataFrame:
        return self.spark.createDataFrame([], schema)

    def sql(self, query: exp.Expr) -> DataFrame:
        """Run an engine-neutral query (printed for Spark by :func:`spark_sql`) over the registered views."""
        return self.spark.sql(spark_sql(query))

    def view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)

    @staticmethod
    def on_disk(frame: DataFrame) -> DataFrame:
        """The frame computed once and kept on local disk, serialised (on the heap, Spark's default, the
        10 M benchmark took 1.5x the CPU and 2x the memory)."""
        from pyspark import StorageLevel

        return frame.localCheckpoint(storageLevel=StorageLevel.DISK_ONLY)

    def local(self, frame: DataFrame) -> DataFrame:
        """A small result collected once and handed back to Spark as a local relation, so that every query
        joins it by broadcast (Spark does not substitute a cached DataFrame inside a query's WITH clauses)."""
        return self.spark.createDataFrame(frame.toArrow())

    def arrow(self, frame: DataFrame) -> pa.Table:
        return frame.toArrow()

    def from_arrow(self, table: pa.Table) -> DataFrame:
        return self.spark.createDataFrame(table)

    def store_table(self, sql: str, params: Mapping[str, Any] | None = None) -> DataFrame:
        """A small table of the store's database (weights, aggregates) as a DataFrame."""
        return self.spark.createDataFrame(self.store.con.sql(sql, params=dict(params or {})).to_arrow_table())

    def run(self, query: exp.Expr, relations: Relations) -> pa.Table:
        """A metric query over the registered ``usage_month`` (:meth:`thuocdo.rollups.spark.SparkRollups.prepare`),
        run without generated code (:data:`SMALL_QUERY_SETTINGS`)."""
        self.store_table("SELECT source, platform, period, metric, value FROM aggregates") \
            .createOrReplaceTempView("aggregates")
        names = named_relations(relations)
        if relations.usage_month is not None:
            names[SELECTED_USAGE] = relations.usage_month
            query = reading_selected(query)
        for name, table in names.items():
            self.spark.createDataFrame(table).createOrReplaceTempView(name)
        with session_settings(self.spark, SMALL_QUERY_SETTINGS):
            return _duckdb_types(self.spark.sql(spark_sql(query)).toArrow())


#: How a metric query runs: over the rollups (a few thousand rows a month and source), through a plan of a dozen
#: joins, windows and aggregations. Compiling generated code for each of its operators costs more than running
#: them interpreted on such rows (a report's 48 queries, bench/README.md "Metric queries on Spark"); the rollups
#: themselves, over every person-day, keep Spark's code generation.
SMALL_QUERY_SETTINGS = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


@contextmanager
def session_settings(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """The session's SQL settings changed while the block runs, then put back as they were."""
    before: dict[str, str | None] = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


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
