"""Measured (``--formats``, issue 16): the same usage records ingested from plain CSV, gzip CSV and Parquet.

The copies are written once, untimed, beside the CSV files (``formats/``): gzip at level 6 (gzip's default), and
Parquet as an operator would export the CSV with pyarrow (zstd, the record and user ids and the times kept as
text, the counts as int64). Each format is then ingested, rollups included, into a new store, in the order CSV,
gzip, Parquet, Parquet, gzip, CSV, so that a drift of the machine's load during the phase falls on each format
alike; every run's wall and CPU time is kept.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from .common import SOURCE, Clock, log, manifest

FORMATS = ("csv", "gzip", "parquet")


def write_copies(workdir: Path) -> dict[str, list[Path]]:
    """The usage files in each format (written the first time only)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_files = [Path(p) for p in manifest(workdir)["usage_files"]]
    out = workdir / "formats"
    out.mkdir(exist_ok=True)
    copies: dict[str, list[Path]] = {"csv": csv_files, "gzip": [], "parquet": []}
    for path in csv_files:
        gz = out / (path.name + ".gz")
        if not gz.exists():
            with open(path, "rb") as src, gzip.open(gz.with_suffix(".tmp"), "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 8 << 20)
            gz.with_suffix(".tmp").rename(gz)
        copies["gzip"].append(gz)
        parquet = out / (path.stem + ".parquet")
        if not parquet.exists():
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={
                "record_id": pa.string(), "user_id": pa.string(), "time": pa.string(), "province": pa.string()}))
            pq.write_table(table, parquet.with_suffix(".tmp"), compression="zstd")
            parquet.with_suffix(".tmp").rename(parquet)
        copies["parquet"].append(parquet)
    return copies


def phase_formats(workdir: Path) -> dict:
    """Each format's usage files ingested into a new store, twice, alternating."""
    from thuocdo.workflows import ingest as ingest_workflow

    copies = write_copies(workdir)
    sizes = {f: sum(p.stat().st_size for p in paths) / 1e6 for f, paths in copies.items()}
    runs: dict[str, list[tuple[float, float]]] = {f: [] for f in FORMATS}
    for fmt in (*FORMATS, *reversed(FORMATS)):
        home = workdir / f"home-{fmt}"
        shutil.rmtree(home, ignore_errors=True)
        with Clock() as c:
            report = ingest_workflow.ingest(home, "usage", copies[fmt], SOURCE)
        stored = sum(r.stored for r in report.results)
        if report.errors or report.rejected or stored != manifest(workdir)["records"]:
            raise SystemExit(f"{fmt}: not ingested whole: stored={stored} errors={report.errors}")
        runs[fmt].append((c.wall, c.cpu))
        log(f"    {fmt}: {c.wall:.2f} s wall, {c.cpu:.2f} s CPU")
        shutil.rmtree(home, ignore_errors=True)
    return {"runs": runs, "mb": sizes}
