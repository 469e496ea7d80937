"""Measured: thuocdo's metric set (8 calls: 4 periods × 2 breakdowns), run twice, the warm run compared."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .common import BREAKDOWNS, METRICS, NATIONAL, PERIODS, SOURCE, Clock
from .compare import write_result

if TYPE_CHECKING:
    import pyarrow


def phase_thuocdo(workdir: Path) -> dict:
    """The 8 metric calls on the ingested store, twice; the results of the second run are written."""
    import pyarrow as pa

    from thuocdo.workflows import metrics as metric_workflow

    home = workdir / "home"
    runs: list[dict] = []
    tables: list[tuple[str, pyarrow.Table]] = []
    for _attempt in range(2):
        calls: dict[str, float] = {}
        tables = []
        with Clock() as total:
            for period in PERIODS:
                for by in BREAKDOWNS:
                    with Clock() as c:
                        table = metric_workflow.metrics(home, metric_workflow.metric_request(period, by, SOURCE))
                    calls[f"{period} by {by}"] = c.wall
                    tables.append((by, table))
        runs.append({"total_s": total.wall, "cpu_s": total.cpu, "calls": calls})
    rows: dict[str, list] = {c: [] for c in ("period", "platform", "province", *METRICS)}
    for by, table in tables:
        d = table.to_pydict()
        for i in range(table.num_rows):
            rows["period"].append(d["period"][i])
            rows["platform"].append(d["platform"][i])
            rows["province"].append(d["province"][i] if by == "province" else NATIONAL)
            for c in METRICS:
                rows[c].append(d[c][i])
    write_result(workdir / "result_thuocdo.parquet", pa.table(rows))
    return {"cold_s": runs[0]["total_s"], "warm_s": runs[1]["total_s"], "cold_cpu_s": runs[0]["cpu_s"],
            "warm_cpu_s": runs[1]["cpu_s"], "calls": runs[1]["calls"]}
