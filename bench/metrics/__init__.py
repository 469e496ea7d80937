"""Benchmark: thuocdo's ingestion and metric set vs a hand-written DuckDB query and pandas, on the same data.

    python -m bench.metrics [--records N] [--persons P] [--platforms K] [--workdir DIR] [--keep]

(run from the repository's root).

1. Generates N usage records for 2022-Q1 (``bench/generate.py``; not measured) as CSV files, a weights file
   for every person-month and a province lookup.
2. Prepares the baselines (not measured): loads the raw CSVs once into a DuckDB database (``time`` typed as
   TIMESTAMPTZ, numbers as BIGINT), checks that the data hold no duplicates, exports Parquet copies for pandas.
3. Measures, each engine in its own subprocess (so each peak RSS is its own):
   0. the minimal person-day pipeline (``minimal``: typed read_csv, unkeyed hash of the user id, local day,
      GROUP BY person × platform × day, Parquet), the reference line of ingestion;
   a. thuocdo ingestion: ``thuocdo.workflows.ingest.ingest`` of the weights, then of the usage files (validation, keyed
      hashing, deduplication, partition writing, rollup rebuild);
   b. thuocdo's metric set: ``thuocdo.workflows.metrics.metrics`` for 2022-01, 2022-02, 2022-03 and 2022-Q1, by
      platform and by province (8 calls), run twice: the second (warm) run is the one compared;
   c. one hand-written DuckDB SQL query over the raw table computing the same numbers (run twice, warm kept);
   d. the pandas groupby/nunique an analyst would write (load from Parquet timed apart, not included);
   e. a late file of 1,000 records into thuocdo's store (``late``; after the metric phases, which it would change).
4. Checks that all agree (every platform × period [× province] metric within 1e-9 relative), prints a table
   and ends with one JSON line: records, ingest_records_per_s, thuocdo_s, duckdb_sql_s, pandas_s, peak_rss_mb
   (peak_rss_mb: the highest peak RSS of the thuocdo processes, ingestion and metrics; the baselines' peaks are
   in the table).

``--profile`` times every step and SQL statement of thuocdo's ingestion (by wrapping them from here; a few
microseconds per call) and prints where the time goes.

Modules: ``cli`` (options, data, clean-up), ``phases`` (running each phase in its own process), one module
per phase (``prepare``, ``minimal``, ``ingest``, ``late``, ``thuocdo_phase``, ``sql``, ``pandas_phase``),
``compare`` (results and their agreement), ``report`` (the printed table), ``profiler`` and ``common``.
"""
