"""The Java libraries Spark needs for the lakehouse, in one place: Apache Iceberg, S3A, the PostgreSQL driver.

PySpark ships Spark and the Hadoop client but nothing for Iceberg, ``s3a://`` or a JDBC catalog. These jars go
together and move together (see the README, "Versions"):

* ``iceberg-spark-runtime-4.1_2.13`` — Iceberg's runtime for Spark 4.1 (Scala 2.13); none exists for Spark 4.2+,
  which is why pyproject.toml keeps ``pyspark<4.2``;
* ``hadoop-aws`` — the S3A filesystem, of the very version of the Hadoop client inside PySpark 4.1.x
  (``pyspark/jars/hadoop-client-api-3.4.2.jar``): S3A is compiled against its own Hadoop release;
* the AWS SDK v2 modules that S3A uses, of the version Hadoop 3.4.2's build names
  (``aws-java-sdk-v2.version`` in ``org.apache.hadoop:hadoop-project:3.4.2``): ``2.29.52``. Hadoop's build
  depends on the SDK's ``bundle`` (every AWS service, over 500 MB); S3A needs only the S3 client and what
  it stands on, 30 modules, 8.4 MB. Spark already ships what those modules need from outside the SDK (Netty,
  Apache HttpClient, commons-codec, SLF4J);
* ``org.postgresql:postgresql`` — the JDBC driver of Iceberg's JDBC catalog on PostgreSQL.

:func:`ensure_jars` fetches the missing ones with the machine's Maven (``mvn dependency:copy``, from whatever
repository Maven's settings name) into a cache folder, once; Spark gets them by path (``spark.jars``), never
through its own resolver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

ICEBERG_VERSION = "1.12.0"
HADOOP_VERSION = "3.4.2"  # the Hadoop client bundled in PySpark 4.1.x
AWS_SDK_VERSION = "2.29.52"  # aws-java-sdk-v2.version of hadoop-project 3.4.2
POSTGRESQL_JDBC_VERSION = "42.7.14"

#: the AWS SDK v2 modules S3A loads (the S3 client and its transitive compile dependencies), instead of `bundle`
_AWS_SDK_MODULES = (
    "annotations", "apache-client", "arns", "auth", "aws-core", "aws-query-protocol", "aws-xml-protocol",
    "checksums", "checksums-spi", "crt-core", "endpoints-spi", "http-auth", "http-auth-aws",
    "http-auth-aws-eventstream", "http-auth-spi", "http-client-spi", "identity-spi", "json-utils", "metrics-spi",
    "netty-nio-client", "profiles", "protocol-core", "regions", "retries", "retries-spi", "s3",
    "s3-transfer-manager", "sdk-core", "third-party-jackson-core", "utils",
)

#: Maven coordinates (group:artifact:version) of every jar the lakehouse session adds to Spark
SPARK_JARS: tuple[str, ...] = (
    f"org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:{ICEBERG_VERSION}",
    f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}",
    *(f"software.amazon.awssdk:{module}:{AWS_SDK_VERSION}" for module in _AWS_SDK_MODULES),
    "software.amazon.eventstream:eventstream:1.0.1",
    "org.reactivestreams:reactive-streams:1.0.4",
    f"org.postgresql:postgresql:{POSTGRESQL_JDBC_VERSION}",
)

#: where the project keeps them (git-ignored), relative to the project's root
DEFAULT_CACHE = Path(".cache") / "jars"
#: the environment variable naming another cache folder
CACHE_ENV = "THUOCDO_JAR_CACHE"


class JarError(RuntimeError):
    """A jar is missing and could not be fetched."""


def jar_name(coordinate: str) -> str:
    """The file name Maven gives a coordinate's jar: ``artifact-version.jar``."""
    _group, artifact, version = coordinate.split(":")
    return f"{artifact}-{version}.jar"


def default_cache() -> Path:
    """``$THUOCDO_JAR_CACHE``, or ``.cache/jars`` of the project this module was installed from (an editable
    install, as ``make`` does), or of the current folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent / DEFAULT_CACHE
    return Path.cwd() / DEFAULT_CACHE


def ensure_jars(cache_dir: Path | None = None, coordinates: Sequence[str] = SPARK_JARS, *,
                mvn: str | None = None) -> list[Path]:
    """The paths of the jars of `coordinates` in `cache_dir`, fetching those missing there with
    ``mvn dependency:copy`` (one Maven run for all of them). Present jars are never fetched again."""
    cache = cache_dir or default_cache()
    paths = [cache / jar_name(c) for c in coordinates]
    missing = [c for c, p in zip(coordinates, paths, strict=True) if not p.is_file()]
    if missing:
        _fetch(missing, cache, mvn or shutil.which("mvn"))
        absent = [c for c, p in zip(coordinates, paths, strict=True) if not p.is_file()]
        if absent:
            raise JarError(f"Maven did not put {', '.join(absent)} in {cache}")
    return paths


def _fetch(coordinates: Sequence[str], cache: Path, mvn: str | None) -> None:
    if mvn is None:
        raise JarError(f"Maven (mvn) is needed to fetch {len(coordinates)} jar(s) into {cache}: "
                       "install it (Debian: apt-get install maven) or put the jars there")
    cache.mkdir(parents=True, exist_ok=True)
    items = "".join(
        "<artifactItem><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></artifactItem>".format(
            *(escape(part) for part in c.split(":"))) for c in coordinates)
    pom = f"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>thuocdo</groupId><artifactId>spark-jars</artifactId><version>0</version><packaging>pom</packaging>
<build><plugins><plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
<configuration><outputDirectory>{escape(str(cache.resolve()))}</outputDirectory><artifactItems>{items}</artifactItems>
</configuration></plugin></plugins></build></project>"""
    with tempfile.TemporaryDirectory(prefix="thuocdo-jars-") as folder:
        (Path(folder) / "pom.xml").write_text(pom, encoding="utf-8")
        try:
            result = subprocess.run([mvn, "-B", "-q", "-f", str(Path(folder) / "pom.xml"), "dependency:copy"],
                                    capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise JarError(f"cannot run {mvn} to fetch {', '.join(coordinates)}: {exc}") from exc
    if result.returncode != 0:
        raise JarError(f"mvn dependency:copy failed for {', '.join(coordinates)}:\n{result.stdout[-4000:]}"
                       f"{result.stderr[-2000:]}")
