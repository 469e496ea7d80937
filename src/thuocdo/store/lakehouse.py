"""Where a lakehouse is: its object store (S3 API, credentials, bucket, warehouse) and its Iceberg catalog
(a SQL catalog on PostgreSQL), and the Iceberg catalog opened from Python. A lakehouse may also be a local
folder (:meth:`Lakehouse.local`: a SQLite catalog and a file warehouse, the same tables), which the default
engine writes and reads without any server.

Spark (:func:`thuocdo.engines.spark.lakehouse_session`) and Python (:func:`iceberg_catalog`) share one catalog:
Iceberg's JDBC catalog in Java and pyiceberg's SQL catalog keep the same tables (``iceberg_tables``,
``iceberg_namespace_properties``) in the same database, under the same catalog name, so a table committed by
one engine is read, and appended to, by the other. Data and metadata files are addressed as ``s3a://``: Spark
reads them through Hadoop's S3A filesystem, pyiceberg through PyArrow (which takes ``s3a://`` as ``s3://``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

import pyarrow as pa

from thuocdo.store.sql import literal

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

#: the catalog's name, in Spark (``lake.namespace.table``) and in the catalog's tables (``catalog_name``)
CATALOG_NAME = "lake"
REGION = "us-east-1"


@dataclass(frozen=True)
class Lakehouse:
    """How to reach a lakehouse: the S3 endpoint and its credentials, the bucket, and the catalog's database."""

    s3_endpoint: str  # http://127.0.0.1:PORT
    access_key: str
    secret_key: str
    bucket: str
    db_host: str
    db_port: int
    db_user: str
    db_password: str
    db_name: str
    catalog: str = CATALOG_NAME
    region: str = REGION
    local_folder: str = ""  # a local lakehouse (see :meth:`local`): no object store, no catalog server

    @classmethod
    def local(cls, folder: str | os.PathLike[str]) -> Lakehouse:
        """A lakehouse in a local folder: the catalog in ``FOLDER/catalog.db`` (SQLite), the tables' files under
        ``FOLDER/warehouse``."""
        return cls("", "", "", "", "", 0, "", "", "", local_folder=str(Path(folder).resolve()))

    @property
    def warehouse(self) -> str:
        """Where new tables go: ``s3a://BUCKET/warehouse`` (``file://FOLDER/warehouse`` for a local one)."""
        if self.local_folder:
            return (Path(self.local_folder) / "warehouse").as_uri()
        return f"s3a://{self.bucket}/warehouse"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.db_host}:{self.db_port}/{self.db_name}"

    @property
    def sqlalchemy_url(self) -> str:
        if self.local_folder:
            return f"sqlite:///{Path(self.local_folder) / 'catalog.db'}"
        return (f"postgresql+psycopg2://{quote(self.db_user, safe='')}:{quote(self.db_password, safe='')}"
                f"@{self.db_host}:{self.db_port}/{self.db_name}")

    def s3_properties(self) -> dict[str, str]:
        """pyiceberg's FileIO settings for the object store (path-style addressing, plain HTTP; none for a local
        lakehouse)."""
        if self.local_folder:
            return {}
        return {"s3.endpoint": self.s3_endpoint, "s3.access-key-id": self.access_key,
                "s3.secret-access-key": self.secret_key, "s3.region": self.region,
                "s3.force-virtual-addressing": "false"}


def iceberg_catalog(lake: Lakehouse) -> SqlCatalog:
    """The lakehouse's Iceberg catalog from Python: pyiceberg's SQL catalog on the catalog's PostgreSQL
    database (the one Spark's JDBC catalog uses), files on the object store."""
    from pyiceberg.catalog.sql import SqlCatalog

    if lake.local_folder:
        (Path(lake.local_folder) / "warehouse").mkdir(parents=True, exist_ok=True)
    # two processes opening a new catalog create its own tables at once
    return _created(lambda: SqlCatalog(lake.catalog, uri=lake.sqlalchemy_url, warehouse=lake.warehouse,
                                       **lake.s3_properties()))


T = TypeVar("T")


def _created(create: Callable[[], T]) -> T:
    """`create` again while it fails by losing a race to create the same thing (a catalog's tables, a namespace,
    a table) with another process: the next attempt finds it there."""
    for attempt in range(1, 6):
        try:
            return create()
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            lost = any(s in text for s in ("already exists", "AlreadyExists", "UNIQUE constraint", "duplicate key"))
            if not lost or attempt == 5:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


#: the namespace of thuocdo's tables in the catalog
NAMESPACE = "thuocdo"

#: The lakehouse's tables (Iceberg, format 2), one definition for every engine that writes them.
#:
#: * ``usage_records``: every accepted usage record once, keyed by (source, day, k1, k2), the record key of
#:   :mod:`thuocdo.ingest.usage`. It is the truth and the exactly-once gate: a batch enters it by one ``MERGE``
#:   (insert where the key is not there), an atomic, conflict-checked commit of the table format.
#: * ``person_day``: one row per source × platform × person × day, rebuilt from ``usage_records`` for the days a
#:   commit touched (a late day costs a day); ``person_day_built`` says how many records each day was built from,
#:   so a day left stale by an interrupted run is found and rebuilt by the next one.
#: * ``person_month``: one row per source × platform × person × month (``PERSON_MONTH`` of
#:   :mod:`thuocdo.rollups.definitions`), kept in step with ``person_day`` for the persons whose person-days
#:   changed; ``person_month_built`` says from which ``person_day`` snapshot each source-month was last brought up
#:   to date (the next update compares the two snapshots' days and recomputes only the person-months whose
#:   person-days differ).
#: * ``usage_month``: the weighted sums per source × platform × month × province (``USAGE_MONTH``) that every
#:   metric query reads, for either engine; ``usage_month_built`` says from which person_month data files and
#:   which weights (``thuocdo.rollups.served.weights_stamps``) each source-month was summed, so that a reader
#:   knows whether it is current.
#: * ``usage_week``: the weekly active persons per source × platform × week × province (the metric queries' ``wau``,
#:   :func:`thuocdo.rollups.definitions.usage_week_sql`), kept by the default engine; ``usage_week_built`` says from
#:   which person_day data files of the week's days and which weights each source-week was computed, so that a
#:   reader computes again from the person-days a week that another writer (Spark) changed since.
#: * ``quarantine``: every rejected line once per source and fingerprint, with its problems.
#: * ``batches``: the ledger, one row per ingested file; ``batch_days``: each file's rows per local day of activity
#:   (good, stored, rejected; day NULL for rejected lines without a readable time), as on the embedded store.
TABLES: dict[str, str] = {
    "usage_records": """(
        source STRING NOT NULL, day DATE NOT NULL, k1 BIGINT NOT NULL, k2 BIGINT NOT NULL, person BIGINT NOT NULL,
        platform STRING NOT NULL, active_seconds BIGINT NOT NULL, bytes BIGINT NOT NULL, sessions BIGINT NOT NULL,
        installs BIGINT NOT NULL, province STRING, batch_id STRING NOT NULL)
        USING iceberg PARTITIONED BY (source, day)""",
    "person_day": """(
        source STRING NOT NULL, platform STRING NOT NULL, person BIGINT NOT NULL, day DATE NOT NULL,
        month STRING NOT NULL, active_seconds BIGINT, bytes BIGINT, sessions BIGINT, installs BIGINT,
        active BOOLEAN, province STRING, province_seconds BIGINT)
        USING iceberg PARTITIONED BY (source, day)""",
    "person_day_built": "(source STRING NOT NULL, day DATE NOT NULL, records BIGINT NOT NULL) USING iceberg",
    "person_month": """(
        source STRING NOT NULL, platform STRING NOT NULL, person BIGINT NOT NULL, month STRING NOT NULL,
        province STRING, active_days BIGINT, active_seconds BIGINT, bytes BIGINT, sessions BIGINT, installs BIGINT)
        USING iceberg PARTITIONED BY (source, month)""",
    "person_month_built": """(source STRING NOT NULL, month STRING NOT NULL, person_day_snapshot BIGINT NOT NULL)
        USING iceberg""",
    "usage_month": """(
        source STRING NOT NULL, platform STRING NOT NULL, month STRING NOT NULL, province STRING,
        persons BIGINT NOT NULL, w_persons DOUBLE NOT NULL, w2_persons DOUBLE NOT NULL, w_active_days DOUBLE NOT NULL,
        w_seconds DOUBLE NOT NULL, w_bytes DOUBLE NOT NULL, w_sessions DOUBLE NOT NULL, w_installs DOUBLE NOT NULL)
        USING iceberg PARTITIONED BY (source, month)""",
    "usage_month_built": """(source STRING NOT NULL, month STRING NOT NULL, person_month_files STRING NOT NULL,
        weights STRING NOT NULL) USING iceberg""",
    "usage_week": """(
        source STRING NOT NULL, platform STRING NOT NULL, week DATE NOT NULL, province STRING, persons BIGINT NOT NULL,
        w_persons DOUBLE NOT NULL, w2_persons DOUBLE NOT NULL) USING iceberg PARTITIONED BY (source, week)""",
    "usage_week_built": """(source STRING NOT NULL, week DATE NOT NULL, person_day_files STRING NOT NULL,
        weights STRING NOT NULL) USING iceberg""",
    "quarantine": """(
        batch_id STRING NOT NULL, source STRING NOT NULL, kind STRING NOT NULL, file STRING, line BIGINT,
        record STRING, problems STRING NOT NULL, fingerprint STRING NOT NULL, created_at TIMESTAMP)
        USING iceberg PARTITIONED BY (source)""",
    "batches": """(
        batch_id STRING NOT NULL, source STRING NOT NULL, kind STRING NOT NULL, file STRING NOT NULL,
        file_sha256 STRING, rows_read BIGINT, stored BIGINT, duplicates BIGINT, rejected BIGINT,
        error STRING, committed_at TIMESTAMP) USING iceberg""",
    "batch_days": """(batch_id STRING NOT NULL, source STRING NOT NULL, day DATE, good BIGINT NOT NULL,
        stored BIGINT NOT NULL, rejected BIGINT NOT NULL) USING iceberg PARTITIONED BY (source)""",
}
#: the ``usage_records`` rows that are records. The others hold only a record key: the keys of the records an
#: embedded store kept before ``thuocdo migrate`` moved its person-days here (as records of their own, see
#: :mod:`thuocdo.ingest.migrate`), so that those records are still never stored twice. A key-only row's platform is
#: empty, which a record's never is (a platform is required); the person-day rebuild of either engine reads only
#: the rows this condition keeps.
RECORD_ROWS = "platform <> ''"

#: table properties: copy-on-write everywhere (a partition's record count is then exact in the metadata), and
#: serializable isolation for merges (a concurrent commit of matching keys makes the later one fail and retry)
TABLE_PROPERTIES = ("'format-version'='2', 'write.merge.mode'='copy-on-write', "
                    "'write.merge.isolation-level'='serializable', 'write.update.mode'='copy-on-write', "
                    "'write.delete.mode'='copy-on-write'")


def files_stamp(paths: list[str]) -> str:
    """What a partition is made of: the md5 of its sorted data file paths, joined by commas (Spark computes the
    same with ``md5(array_join(array_sort(collect_list(file_path)), ','))``)."""
    import hashlib

    return hashlib.md5(",".join(sorted(paths)).encode()).hexdigest()


def create_tables(lake: Lakehouse) -> None:
    """Create the namespace and every table of :data:`TABLES` that does not exist yet, from Python (pyiceberg):
    the same columns, types and partitions as :func:`create_tables_sql` gives Spark."""
    def create() -> None:
        catalog = iceberg_catalog(lake)
        catalog.create_namespace_if_not_exists(NAMESPACE)
        held = {identifier[-1] for identifier in catalog.list_tables(NAMESPACE)}
        properties = dict(_PROPERTY.findall(TABLE_PROPERTIES))
        for name, columns in TABLES.items():
            if name not in held:
                schema, spec = iceberg_schema(name, columns)
                catalog.create_table_if_not_exists(f"{NAMESPACE}.{name}", schema, partition_spec=spec,
                                                   properties=properties)

    _created(create)


_PROPERTY = re.compile(r"'([^']+)'='([^']*)'")


def iceberg_schema(name: str, columns: str) -> tuple[Schema, PartitionSpec]:
    """A table of :data:`TABLES` as pyiceberg's schema (fields numbered in their order) and partition spec."""
    import sqlglot
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.types import (
        BooleanType,
        DateType,
        DoubleType,
        LongType,
        NestedField,
        StringType,
        TimestamptzType,
    )

    types = {"STRING": StringType(), "BIGINT": LongType(), "DATE": DateType(), "DOUBLE": DoubleType(),
             "BOOLEAN": BooleanType(), "TIMESTAMP": TimestamptzType()}  # Spark's TIMESTAMP has a time zone
    create = sqlglot.parse_one(f"CREATE TABLE {name} {columns}", read="spark")
    fields = []
    for number, column in enumerate(create.this.expressions, start=1):
        required = any(isinstance(c.kind, sqlglot.exp.NotNullColumnConstraint) for c in column.constraints)
        fields.append(NestedField(number, column.name, types[column.args["kind"].sql("spark")], required=required))
    ids = {f.name: f.field_id for f in fields}
    partitioned = [p for p in create.args["properties"].expressions
                   if isinstance(p, sqlglot.exp.PartitionedByProperty)]
    names = [c.name for c in partitioned[0].this.expressions] if partitioned else []
    spec = PartitionSpec(*[PartitionField(ids[n], 1000 + i, IdentityTransform(), n) for i, n in enumerate(names)])
    return Schema(*fields), spec


def table_name(lake: Lakehouse, table: str) -> str:
    """A table's full name in Spark: ``CATALOG.thuocdo.TABLE``."""
    return f"{lake.catalog}.{NAMESPACE}.{table}"


def create_tables_sql(lake: Lakehouse) -> list[str]:
    """Spark SQL creating the namespace and every table of :data:`TABLES` that does not exist yet."""
    return [f"CREATE NAMESPACE IF NOT EXISTS {lake.catalog}.{NAMESPACE}"] + [
        f"CREATE TABLE IF NOT EXISTS {table_name(lake, name)} {columns} "
        f"TBLPROPERTIES ({TABLE_PROPERTIES})" for name, columns in TABLES.items()]



#: the lakehouse's quarantine as a reader sees it (:func:`quarantine_rows`)
QUARANTINE_READ = pa.schema([("source", pa.string()), ("kind", pa.string()), ("file", pa.string()),
                             ("line", pa.int64()), ("problems", pa.string()), ("record", pa.string()),
                             ("created_at", pa.timestamp("us"))])


def scan(lake: Lakehouse, name: str, columns: Sequence[str], where: str = "true") -> pa.Table | None:
    """The rows of a lakehouse table matching `where` (pyiceberg's filter syntax; strings quoted as
    :func:`thuocdo.store.sql.literal` quotes them), its `columns` only, read through pyiceberg: the data files
    whose partitions and statistics can hold them. None when the table does not exist yet."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = iceberg_catalog(lake).load_table(f"{NAMESPACE}.{name}")
    except NoSuchTableError:
        return None
    return read(table, columns, where)


def read(table: Table, columns: Sequence[str], where: str = "true", snapshot_id: int | None = None) -> pa.Table:
    """The rows of an Iceberg table matching `where` (as :func:`scan`), its `columns` only, at a snapshot (the
    current one by default). pyiceberg plans the data files (partitions and statistics); for a local warehouse
    DuckDB then reads those files itself, filtered by `where` (three times faster than pyiceberg's reading at a
    quarter of person-days): exact, since the tables are copy-on-write (no delete files; a plan with one is read by
    pyiceberg). On an object store pyiceberg reads them (DuckDB's S3 reader is an extension it cannot load here)."""
    import duckdb

    scan_ = table.scan(row_filter=where, selected_fields=tuple(columns), snapshot_id=snapshot_id)
    if table.metadata.location.startswith("file://"):
        tasks = list(scan_.plan_files())
        if not any(t.delete_files for t in tasks):
            if not tasks:
                return scan_.to_arrow().select(list(columns))  # no file: the empty table, typed by pyiceberg
            paths = [t.file.file_path.removeprefix("file://") for t in tasks]
            con = duckdb.connect()
            try:
                return con.sql(f"SELECT {', '.join(columns)} FROM read_parquet({literal(paths)}) "
                               f"WHERE {where}").to_arrow_table()
            finally:
                con.close()
    return scan_.to_arrow().select(list(columns))


def quarantine_rows(lake: Lakehouse, source: str | None = None) -> pa.Table:
    """The lakehouse's quarantine (every rejected line once per source and fingerprint), as
    :data:`QUARANTINE_READ`."""
    found = scan(lake, "quarantine", QUARANTINE_READ.names, f"source = {literal(source)}" if source else "true")
    return QUARANTINE_READ.empty_table() if found is None else found.cast(QUARANTINE_READ)
