"""Where a lakehouse is: its object store (S3 API, credentials, bucket, warehouse) and its Iceberg catalog
(a SQL catalog on PostgreSQL), and the Iceberg catalog opened from Python.

Spark (:func:`thuocdo.engines.spark.lakehouse_session`) and Python (:func:`iceberg_catalog`) share one catalog:
Iceberg's JDBC catalog in Java and pyiceberg's SQL catalog keep the same tables (``iceberg_tables``,
``iceberg_namespace_properties``) in the same database, under the same catalog name, so a table committed by
one engine is read, and appended to, by the other. Data and metadata files are addressed as ``s3a://``: Spark
reads them through Hadoop's S3A filesystem, pyiceberg through PyArrow (which takes ``s3a://`` as ``s3://``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog

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

    @property
    def warehouse(self) -> str:
        """Where new tables go: ``s3a://BUCKET/warehouse``."""
        return f"s3a://{self.bucket}/warehouse"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.db_host}:{self.db_port}/{self.db_name}"

    @property
    def sqlalchemy_url(self) -> str:
        return (f"postgresql+psycopg2://{quote(self.db_user, safe='')}:{quote(self.db_password, safe='')}"
                f"@{self.db_host}:{self.db_port}/{self.db_name}")

    def s3_properties(self) -> dict[str, str]:
        """pyiceberg's FileIO settings for the object store (path-style addressing, plain HTTP)."""
        return {"s3.endpoint": self.s3_endpoint, "s3.access-key-id": self.access_key,
                "s3.secret-access-key": self.secret_key, "s3.region": self.region,
                "s3.force-virtual-addressing": "false"}


def iceberg_catalog(lake: Lakehouse) -> SqlCatalog:
    """The lakehouse's Iceberg catalog from Python: pyiceberg's SQL catalog on the catalog's PostgreSQL
    database (the one Spark's JDBC catalog uses), files on the object store."""
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(lake.catalog, uri=lake.sqlalchemy_url, warehouse=lake.warehouse, **lake.s3_properties())
