"""What the pages read from the Service: metric tables as plain rows, and the source whose records a page shows."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from thuocdo.workflows.access import Principal
from thuocdo.workflows.service import Service


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and not math.isfinite(v):
                r[k] = None
    return rows


def main_source(rows: list[dict[str, Any]], asked: str | None) -> str | None:
    """The source whose records the page shows: the one asked, else the records source with the most platforms."""
    counts: dict[str, int] = {}
    for r in rows:
        if r.get("basis", "records") == "records" and r.get("source"):
            counts[r["source"]] = counts.get(r["source"], 0) + 1
    if asked and asked in counts:
        return asked
    return max(sorted(counts), key=lambda s: counts[s]) if counts else None


def platform_rows(service: Service, who: Principal, period: str, asked_source: str | None
                  ) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    rows = table_rows(service.public_metrics(period, "platform", who))
    source = main_source(rows, asked_source)
    sources = sorted({r["source"] for r in rows if r.get("basis") == "records" and r.get("source")})
    shown = [r for r in rows if r.get("basis") == "published" or r.get("source") == source]
    return shown, source, sources
