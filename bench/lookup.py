"""The late file's two reads by person, on the lake's Parquet files and on DuckDB's own tables (issue 16): what a
store that looked persons up would save, measured on a store `bench.metrics` built.

    .venv/bin/python -m bench.lookup --workdir DIR [--persons 1000] [--seed 16] [--late K] [--layouts]

DIR is a `bench.metrics --keep` work directory (its store is DIR/home, source ``bench``). In the month with the
most person-months, `--persons` persons drawn at random from its person-months (a late file's persons are random
too) are looked up, side by side in one process (best of five runs each, two threads):

* ``parquet``: their person-months and their person-days as the rollup of a late file reads them
  (``person_rollups.effective_sql`` and ``rebuild.person_days_sql`` with the persons' relation), on the listed
  files;
* ``native``: the same rows from tables of a DuckDB database (``DIR/lookup.duckdb``) holding the month's
  person-months and person-days, loaded once from the same SQL without the persons' filter: by a semi join;
* ``native, index``: the same tables with an ART index on the person, the persons given as a constant list.

Every way must give the same rows (a checksum of every column); the load times and the sizes on disk are reported
with the reads. With `--late K`, first K late files of 1,000 records (``bench.metrics``' late file, under new
record ids) are ingested into the store, each with every SQL statement timed (``bench.metrics.profiler``): what
the two reads weigh in a late file. With `--layouts`, the month's person-months are also written again as Parquet
(``DIR/layouts/``) sorted by person with smaller row groups, and unsorted with other compressions, and each copy is
read both ways (the persons looked up, and a whole scan summed by platform and province). The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import duckdb

from thuocdo.rollups import person_rollups
from thuocdo.rollups.person_rollups import MONTHLY
from thuocdo.rollups.rebuild import person_day_files, person_days_sql
from thuocdo.store import Store

SOURCE = "bench"
RUNS = 5
#: the columns of each relation, folded into one number per row: two ways that give the same rows give the same sum
CHECKSUM = "SELECT count(*) AS n, sum(hash(COLUMNS(*)) % 1000000007) AS checksum FROM ({sql})"


def best(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, tuple[Any, ...]]:
    """The best wall time of `RUNS` runs of a query, and its checksum row."""
    fastest, row = float("inf"), None
    for _ in range(RUNS):
        start = time.perf_counter()
        row = con.execute(CHECKSUM.format(sql=sql)).fetchone()
        fastest = min(fastest, time.perf_counter() - start)
    assert row is not None
    return fastest, tuple(row)


def the_sql(home: Path) -> tuple[str, dict[str, str], dict[str, str], int]:
    """The month with the most person-months; the SQL of its person-months and person-days as a late file's
    rollup reads them (the persons' relation named ``touched``), and of them all; the bytes of their files."""
    with Store(home, read_only=True) as store:
        [(month,)] = store.con.execute(
            "SELECT month FROM lake_files WHERE source = ? AND dataset IN ('person_month', 'person_month_patch') "
            "GROUP BY month ORDER BY sum(rows) DESC LIMIT 1", [SOURCE]).fetchall()
        base, patches = person_rollups.files(store, MONTHLY, SOURCE, [month])
        touched = {"person_month": person_rollups.effective_sql(MONTHLY, base, patches, persons="touched"),
                   "person_day": person_days_sql(store, SOURCE, [month], persons="touched")}
        whole = {"person_month": person_rollups.effective_sql(MONTHLY, base, patches),
                 "person_day": person_days_sql(store, SOURCE, [month])}
        listed = base + patches + [path for _, path, _ in person_day_files(store, [month], SOURCE)]
        size = sum(Path(p).stat().st_size for p in listed)
    found = {k: v for k, v in touched.items() if v is not None}
    everything = {k: v for k, v in whole.items() if v is not None}
    assert len(found) == len(everything) == 2, "no person-months or person-days in the store"
    return month, found, everything, size


def late_files(workdir: Path, k: int) -> list[dict[str, Any]]:
    """Ingest `k` late files into the store, profiled: each one's time and its slowest statements."""
    from bench.metrics.late import LATE_RECORDS, write_late_file
    from bench.metrics.profiler import Profiler
    from thuocdo.workflows import ingest as ingest_workflow

    done = []
    for i in range(1, k + 1):
        path = write_late_file(workdir, f"lookup{int(time.time())}-{i}", first=i)
        profiler = Profiler()
        profiler.install()
        start = time.perf_counter()
        report = ingest_workflow.ingest(workdir / "home", "usage", [path], SOURCE)
        seconds = time.perf_counter() - start
        profiler.uninstall()
        assert not report.errors and sum(r.stored for r in report.results) == LATE_RECORDS, report
        top = profiler.report()["sql"][:6]
        done.append({"late_s": round(seconds, 3), "sql": [[label[:60], round(s, 3)] for label, _, s in top]})
        print(f"late file {i}: {seconds:.2f} s; slowest statements:")
        for label, _, s in top:
            print(f"  {s:6.3f} s  {label[:100]}")
    return done


#: (name, ORDER BY, COPY options) of the Parquet copies `--layouts` writes. The lake's own files are unsorted, with
#: DuckDB's default row groups (122,880 rows), in zstd until af3ed8d and in LZ4 since (``store.lake.COMPRESSION``)
LAYOUTS = [("zstd", "", "COMPRESSION zstd"),
           ("sorted, 122,880-row groups", "ORDER BY person", "COMPRESSION zstd"),
           ("sorted, 8,192-row groups", "ORDER BY person", "COMPRESSION zstd, ROW_GROUP_SIZE 8192"),
           ("sorted, 2,048-row groups", "ORDER BY person", "COMPRESSION zstd, ROW_GROUP_SIZE 2048"),
           ("snappy", "", "COMPRESSION snappy"),
           ("lz4", "", "COMPRESSION lz4_raw"),
           ("uncompressed", "", "COMPRESSION uncompressed")]


def layouts(con: duckdb.DuckDBPyConnection, workdir: Path, months: str, persons: list[int]) -> list[dict[str, Any]]:
    """The person-months of `months` (SQL) written as each of :data:`LAYOUTS`, then read: the persons looked up
    (a semi join and a constant list, the faster), and the whole file summed by platform and province."""
    folder = workdir / "layouts"
    folder.mkdir(exist_ok=True)
    listed = ", ".join(map(str, persons))
    done = []
    for i, (name, order, options) in enumerate(LAYOUTS):
        path = folder / f"person_month_{i}.parquet"
        con.execute(f"COPY (SELECT * FROM ({months}) {order}) TO '{path}' (FORMAT parquet, {options})")
        read = f"read_parquet('{path}')"
        semi = best(con, f"SELECT * FROM {read} SEMI JOIN (SELECT DISTINCT person FROM touched) USING (person)")
        constant = best(con, f"SELECT * FROM {read} WHERE person IN ({listed})")
        assert semi[1] == constant[1]
        scan = best(con, f"SELECT platform, province, sum(bytes), count(*) FROM {read} GROUP BY ALL")
        done.append({"layout": name, "mb": round(path.stat().st_size / 1e6, 1),
                     "lookup_s": round(min(semi[0], constant[0]), 4), "scan_s": round(scan[0], 4),
                     "found": semi[1][0]})
        path.unlink()
    print(f"{'person-months as Parquet':28s} {'size':>9s} {'lookup':>8s} {'scan':>8s}")
    for d in done:
        print(f"{d['layout']:28s} {d['mb']:6.1f} MB {d['lookup_s']:7.3f}s {d['scan_s']:7.3f}s")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--persons", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--late", type=int, default=0, help="late files ingested (profiled) first")
    parser.add_argument("--layouts", action="store_true", help="also person-months in other Parquet layouts")
    args = parser.parse_args(argv)
    late = late_files(args.workdir, args.late)
    month, touched, whole, parquet_bytes = the_sql(args.workdir / "home")
    db = args.workdir / "lookup.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET threads = 2")
    con.execute(f"CREATE TEMP TABLE touched AS SELECT DISTINCT month, person FROM ({whole['person_month']}) "
                f"USING SAMPLE reservoir({args.persons} ROWS) REPEATABLE ({args.seed})")
    persons = [r[0] for r in con.execute("SELECT DISTINCT person FROM touched").fetchall()]
    result: dict[str, Any] = {"month": month, "persons": len(persons), "parquet_mb": round(parquet_bytes / 1e6, 1),
                              "late": late}
    for name, sql in whole.items():  # the month's rows as they are stored (an index on the person comes later)
        start = time.perf_counter()
        con.execute(f"CREATE TABLE {name} AS {sql}")
        con.execute("CHECKPOINT")
        result[f"{name}_load_s"] = round(time.perf_counter() - start, 2)
        result[f"{name}_rows"] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
    result["native_mb"] = round(db.stat().st_size / 1e6, 1)
    listed = ", ".join(map(str, persons))
    for name, parquet in touched.items():
        rows = {}
        for way, sql in (("parquet", parquet),
                         ("native", f"SELECT * FROM {name} SEMI JOIN (SELECT DISTINCT person FROM touched) "
                                    "USING (person)")):
            seconds, rows[way] = best(con, sql)
            result[f"{name}_{way}_s"] = round(seconds, 4)
        start = time.perf_counter()
        con.execute(f"CREATE INDEX {name}_person ON {name} (person)")
        con.execute("CHECKPOINT")
        result[f"{name}_index_s"] = round(time.perf_counter() - start, 2)
        seconds, rows["native_index"] = best(con, f"SELECT * FROM {name} WHERE person IN ({listed})")
        result[f"{name}_native_index_s"] = round(seconds, 4)
        assert len(set(rows.values())) == 1, (name, rows)  # the same rows every way
        result[f"{name}_looked_up"] = rows["parquet"][0]
    result["native_indexed_mb"] = round(db.stat().st_size / 1e6, 1)
    if args.layouts:
        result["layouts"] = layouts(con, args.workdir, whole["person_month"], persons)
    con.close()
    print(f"{month}: {len(persons):,} persons among {result['person_month_rows']:,} person-months and "
          f"{result['person_day_rows']:,} person-days")
    print(f"{'':14s} {'parquet':>9s} {'native':>9s} {'native, index':>14s} {'load':>7s} {'index':>7s}")
    for name in touched:
        print(f"{name:14s} {result[name + '_parquet_s']:8.3f}s {result[name + '_native_s']:8.3f}s "
              f"{result[name + '_native_index_s']:13.3f}s {result[name + '_load_s']:6.2f}s "
              f"{result[name + '_index_s']:6.2f}s")
    print(f"on disk: Parquet {result['parquet_mb']} MB; DuckDB tables {result['native_mb']} MB, "
          f"{result['native_indexed_mb']} MB with the indexes")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
