"""The lakehouse jars: one list of Maven coordinates that goes with the installed PySpark, fetched once into a
cache (a jar already there is never fetched again). No network: Maven is replaced by a script."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from thuocdo.engines.spark_jars import (
    HADOOP_VERSION,
    SPARK_JARS,
    JarError,
    ensure_jars,
    jar_name,
)

#: a stand-in for mvn: records its arguments and the artifacts its pom asks for, then "copies" them
FAKE_MVN = """#!/bin/sh
pom="$4"
echo "$@" >> "{log}"
out=$(sed -n 's:.*<outputDirectory>\\(.*\\)</outputDirectory>.*:\\1:p' "$pom")
grep -o '<artifactId>[^<]*</artifactId><version>[^<]*</version>' "$pom" | grep -v spark-jars \\
  | sed 's:<artifactId>\\([^<]*\\)</artifactId><version>\\([^<]*\\)</version>:\\1-\\2.jar:' | while read -r jar; do
    echo "$jar" >> "{log}"
    echo fake > "$out/$jar"
done
"""


def _fake_mvn(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "mvn.log"
    mvn = tmp_path / "mvn"
    mvn.write_text(FAKE_MVN.format(log=log))
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    return mvn, log


def test_present_jars_are_not_fetched_again(tmp_path: Path) -> None:
    cache = tmp_path / "jars"
    cache.mkdir()
    for coordinate in SPARK_JARS:
        (cache / jar_name(coordinate)).write_text("cached")
    mvn, log = _fake_mvn(tmp_path)
    paths = ensure_jars(cache, mvn=str(mvn))
    assert paths == [cache / jar_name(c) for c in SPARK_JARS]
    assert not log.exists()  # Maven never ran
    assert ensure_jars(cache, mvn="/nonexistent/mvn") == paths


def test_only_missing_jars_are_fetched_in_one_maven_run(tmp_path: Path) -> None:
    cache = tmp_path / "jars"
    cache.mkdir()
    missing = [SPARK_JARS[0], SPARK_JARS[-1]]
    for coordinate in SPARK_JARS:
        if coordinate not in missing:
            (cache / jar_name(coordinate)).write_text("cached")
    mvn, log = _fake_mvn(tmp_path)
    paths = ensure_jars(cache, mvn=str(mvn))
    assert all(p.is_file() for p in paths)
    lines = log.read_text().splitlines()
    assert sum("dependency:copy" in line for line in lines) == 1
    assert sorted(line for line in lines if line.endswith(".jar")) == sorted(jar_name(c) for c in missing)
    assert (cache / jar_name(SPARK_JARS[1])).read_text() == "cached"  # untouched


def test_missing_jars_without_maven_say_so(tmp_path: Path) -> None:
    with pytest.raises(JarError, match="a:b:1"):
        ensure_jars(tmp_path / "jars", ["a:b:1"], mvn=str(tmp_path / "absent"))


def test_the_jars_go_with_the_installed_pyspark() -> None:
    """hadoop-aws is of the Hadoop client inside PySpark; the Iceberg runtime is built for its Spark x.y."""
    pyspark = pytest.importorskip("pyspark")
    jars = Path(pyspark.__file__).parent / "jars"
    bundled = [m.group(1) for p in jars.glob("hadoop-client-api-*.jar")
               if (m := re.fullmatch(r"hadoop-client-api-(.+)\.jar", p.name))]
    assert bundled == [HADOOP_VERSION]
    assert f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}" in SPARK_JARS
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    runtime = [c for c in SPARK_JARS if ":iceberg-spark-runtime-" in c]
    assert len(runtime) == 1 and f"iceberg-spark-runtime-{spark_minor}_2.13:" in runtime[0]
    scala = [p.name for p in jars.glob("scala-library-2.13.*.jar")]
    assert scala, "Spark built for Scala 2.13"
