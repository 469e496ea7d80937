"""Measured: a small late delivery into the ingested store (issue 16): 1,000 new records spread over the days
of the last usage file (copies of its records under new record ids), ingested as one file, rollups included."""

from __future__ import annotations

from pathlib import Path

from .common import SOURCE, Clock, manifest

LATE_RECORDS = 1_000


def write_late_file(workdir: Path, name: str = "late", first: int = 0) -> Path:
    """``<name>.csv``: every k-th record of the last usage file from its `first`, record ids prefixed with
    ``<name>-``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    m = manifest(workdir)
    table = pacsv.read_csv(m["usage_files"][-1], convert_options=pacsv.ConvertOptions(
        column_types={"record_id": pa.string(), "user_id": pa.string(), "time": pa.string()}))
    step = max(1, table.num_rows // LATE_RECORDS)
    late = table.take(pa.array(range(first % step, step * LATE_RECORDS, step)))
    if "record_id" in late.column_names:
        late = late.set_column(late.column_names.index("record_id"), "record_id",
                               pc.binary_join_element_wise(f"{name}-", late["record_id"], ""))
    path = workdir / f"{name}.csv"
    pacsv.write_csv(late, path)
    return path


def phase_late(workdir: Path) -> dict:
    """Ingest ``late.csv`` into ``workdir/home`` (after the metric phases, which it would change)."""
    from thuocdo.workflows import ingest as ingest_workflow

    path = write_late_file(workdir)
    with Clock() as c:
        report = ingest_workflow.ingest(workdir / "home", "usage", [path], SOURCE)
    if report.errors or sum(r.stored for r in report.results) != LATE_RECORDS:
        raise SystemExit(f"late file not stored whole: {report.errors or [r.stored for r in report.results]}")
    return {"late_s": c.wall, "late_cpu_s": c.cpu, "late_records": LATE_RECORDS}
