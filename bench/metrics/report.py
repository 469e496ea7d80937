"""The agreement checks and what the benchmark prints: the table, the details and the closing JSON line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .common import fmt_s, log
from .compare import compare, load_result
from .phases import PhaseResults
from .profiler import print_profile

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

#: (baseline's name, (mismatching cells, largest relative difference, examples))
Check = tuple[str, tuple[int, float, list[str]]]


def check_agreement(workdir: Path, results: PhaseResults) -> tuple[int, list[Check]]:
    """The rows compared and each baseline's agreement with thuocdo's results."""
    ref = load_result(workdir / "result_thuocdo.parquet")
    checks = [("DuckDB SQL", compare(ref, load_result(workdir / "result_sql.parquet")))]
    if results.pandas:
        checks.append(("pandas", compare(ref, load_result(workdir / "result_pandas.parquet"))))
    return len(ref), checks


def results_table(m: dict, results: PhaseResults, checks: list[Check]) -> Table:
    """One row per timed step, then one per agreement check."""
    from rich.table import Table

    ing, td, sql, pdx = results.ingest, results.thuocdo, results.sql, results.pandas
    thuocdo_s = td["warm_s"]
    table = Table(title=f"thuocdo benchmark: {m['records']:,} records, {m['persons']:,} persons, "
                        f"{len(m['platforms'])} platforms, 2022-Q1 ({m['csv_mb']:,.0f} MB CSV, "
                        f"{len(m['usage_files'])} files)")
    for col in ("step", "wall time", "CPU time", "ratio / rate", "peak RSS", "load"):
        table.add_column(col, justify="left" if col == "step" else "right")

    def ratio(x: float) -> str:
        return f"{x / thuocdo_s:,.1f}× thuocdo"

    table.add_row("thuocdo ingest: weights", fmt_s(ing["weights_s"]), fmt_s(ing["weights_cpu_s"]),
                  f"{ing['weights_stored'] / ing['weights_s']:,.0f} rows/s", "", "")
    n = m["records"]
    mini, late = results.minimal, results.late
    table.add_row("minimal person-day pipeline, one file", fmt_s(mini["single_s"]), fmt_s(mini["single_cpu_s"]),
                  f"{n / mini['single_s']:,.0f} records/s, {per_record_us(mini['single_cpu_s'], n)}",
                  f"{mini['peak_rss_mb']:,.0f} MB", f"{mini['load']:.1f}")
    table.add_row("minimal person-day pipeline, by day", fmt_s(mini["by_day_s"]), fmt_s(mini["by_day_cpu_s"]),
                  f"{n / mini['by_day_s']:,.0f} records/s, {per_record_us(mini['by_day_cpu_s'], n)}", "", "")
    table.add_row("thuocdo ingest: usage (incl. rollups)", fmt_s(ing["usage_s"]), fmt_s(ing["usage_cpu_s"]),
                  f"{n / ing['usage_s']:,.0f} records/s, {per_record_us(ing['usage_cpu_s'], n)}, "
                  f"{ing['usage_s'] / mini['single_s']:.1f}× minimal "
                  f"(CPU {ing['usage_cpu_s'] / mini['single_cpu_s']:.1f}×)",
                  f"{ing['peak_rss_mb']:,.0f} MB", f"{ing['load']:.1f}")
    if results.ladder:
        rungs = results.ladder["rungs"]
        top = rungs["rollups"]
        for rung, label in LADDER_LABELS.items():
            r = rungs[rung]
            table.add_row(f"ladder: {label}", fmt_s(r["s"]), fmt_s(r["cpu_s"]),
                          f"{n / r['s']:,.0f} records/s, {r['s'] / mini['single_s']:.1f}× minimal", "", "")
        table.add_row("thuocdo ingest against the ladder's top rung", "", "",
                      f"{ing['usage_s'] / top['s']:.2f}× (CPU {ing['usage_cpu_s'] / top['cpu_s']:.2f}×)",
                      f"{results.ladder['peak_rss_mb']:,.0f} MB", f"{results.ladder['load']:.1f}")
    table.add_row(f"thuocdo ingest: late file ({late['late_records']:,} records)", fmt_s(late["late_s"]),
                  fmt_s(late["late_cpu_s"]), "", f"{late['peak_rss_mb']:,.0f} MB", f"{late['load']:.1f}")
    table.add_row("thuocdo metric set, cold (8 calls)", fmt_s(td["cold_s"]), fmt_s(td["cold_cpu_s"]), "", "", "")
    table.add_row("thuocdo metric set, warm (8 calls)", fmt_s(thuocdo_s), fmt_s(td["warm_cpu_s"]), "1.0×",
                  f"{td['peak_rss_mb']:,.0f} MB", f"{td['load']:.1f}")
    table.add_row("DuckDB SQL over raw table, cold", fmt_s(sql["cold_s"]), fmt_s(sql["cold_cpu_s"]), "", "", "")
    table.add_row("DuckDB SQL over raw table, warm", fmt_s(sql["warm_s"]), fmt_s(sql["warm_cpu_s"]),
                  ratio(sql["warm_s"]), f"{sql['peak_rss_mb']:,.0f} MB", f"{sql['load']:.1f}")
    if pdx:
        table.add_row("pandas: load from Parquet (not counted)", fmt_s(pdx["load_s"]), "", "", "", "")
        table.add_row("pandas: compute", fmt_s(pdx["compute_s"]), fmt_s(pdx["compute_cpu_s"]),
                      ratio(pdx["compute_s"]), f"{pdx['peak_rss_mb']:,.0f} MB", f"{pdx['load']:.1f}")
    if results.formats:
        csv_wall = min(w for w, _ in results.formats["runs"]["csv"])
        for fmt, runs in results.formats["runs"].items():
            wall, cpu = min(runs)
            table.add_row(f"thuocdo ingest from {fmt} ({results.formats['mb'][fmt]:,.0f} MB; best of {len(runs)})",
                          fmt_s(wall), fmt_s(cpu), f"{wall / csv_wall:.2f}× CSV", "", "")
    for name, (bad, worst, _) in checks:
        table.add_row(f"agreement thuocdo vs {name}", "", "", "OK" if bad == 0 else f"{bad} cells differ",
                      f"max rel diff {worst:.1e}", "")
    return table


#: the rungs of bench/metrics/ladder.py, as the table names them
LADDER_LABELS = {"minimal": "0 minimal (same process)", "pseudonyms": "1 + keyed pseudonyms",
                 "exactly_once": "2 + record keys, repeats dropped, key files", "validation": "3 + every field checked",
                 "validation_typed": "3' the same by DuckDB's typed reader",
                 "rollups": "4 + month and week rollups"}


def per_record_us(cpu_s: float, records: int) -> str:
    """CPU microseconds per record."""
    return f"{cpu_s / records * 1e6:.2f} µs CPU/record"


def summary(m: dict, results: PhaseResults) -> dict:
    """The closing JSON line's fields."""
    ing, td, pdx = results.ingest, results.thuocdo, results.pandas
    mini = results.minimal
    return {"records": m["records"], "ingest_records_per_s": round(m["records"] / ing["usage_s"]),
            "minimal_records_per_s": round(m["records"] / mini["single_s"]),
            "ingest_vs_minimal": round(ing["usage_s"] / mini["single_s"], 2),
            "ingest_cpu_us_per_record": round(ing["usage_cpu_s"] / m["records"] * 1e6, 3),
            "late_file_s": round(results.late["late_s"], 3),
            "thuocdo_s": round(td["warm_s"], 3), "duckdb_sql_s": round(results.sql["warm_s"], 3),
            "pandas_s": round(pdx["compute_s"], 3) if pdx else None,
            "peak_rss_mb": round(max(ing["peak_rss_mb"], td["peak_rss_mb"])),
            "ingest_peak_rss_mb": round(ing["peak_rss_mb"]),
            **({"ladder_top_s": round(results.ladder["rungs"]["rollups"]["s"], 2),
                "ladder_top_vs_minimal": round(results.ladder["rungs"]["rollups"]["s"] / mini["single_s"], 2),
                "ingest_vs_ladder_top": round(ing["usage_s"] / results.ladder["rungs"]["rollups"]["s"], 2)}
               if results.ladder else {}),
            **({f"{f}_vs_csv": round(min(r)[0] / min(results.formats["runs"]["csv"])[0], 2)
                for f, r in results.formats["runs"].items() if f != "csv"} if results.formats else {})}


def print_report(console: Console, m: dict, results: PhaseResults, checks: list[Check], rows_compared: int) -> None:
    """The table, the lake and per-step details, the profile if taken, mismatches, then the JSON line."""
    ing, td = results.ingest, results.thuocdo
    console.print(results_table(m, results, checks))
    log("load = highest 1-minute load average seen at the start or end of the step (2 cores: above ~1.2 means "
        "other processes competed with the measurement; CPU time is less affected than wall time)")
    log(f"thuocdo lake: {ing['lake_files']:,} Parquet files, {ing['lake_mb']:,.0f} MB; rows compared: "
        f"{rows_compared:,}")
    log("ingestion steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in ing["marks"]))
    log("warm metric calls: " + ", ".join(f"{k} {v:.2f} s" for k, v in td["calls"].items()))
    if "profile" in ing:
        print_profile(console, ing["profile"], ing["usage_s"] + ing["weights_s"])
    for name, (_, _, examples) in checks:
        for e in examples:
            log(f"  MISMATCH {name}: {e}")
    print(json.dumps(summary(m, results)))
