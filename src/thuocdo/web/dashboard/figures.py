"""What the pages read from the Service: metric tables as plain rows, and the source whose records a page shows."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from thuocdo.metrics.bands import platform_bands
from thuocdo.reports.vietnamese import format_band
from thuocdo.web.dashboard.periods import NotFound
from thuocdo.workflows.access import Principal
from thuocdo.workflows.estimates import NATIONAL
from thuocdo.workflows.service import Service


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and not math.isfinite(v):
                r[k] = None
    return rows


def source_volumes(rows: list[dict[str, Any]]) -> dict[str, float]:
    """How much panel data each records source holds in a metric table: the panelists behind its figures, summed
    over platforms (and provinces); a row without a sample size counts as one."""
    volumes: dict[str, float] = {}
    for r in rows:
        if r.get("basis", "records") == "records" and r.get("source"):
            n = r.get("sample_persons")
            volumes[r["source"]] = volumes.get(r["source"], 0.0) + (float(n) if n is not None else 1.0)
    return volumes


def main_source(rows: list[dict[str, Any]], asked: str | None) -> str | None:
    """The source whose records the page shows: the one asked, else the records source with the most panel data
    (never a small test source just because it covers as many platforms)."""
    volumes = source_volumes(rows)
    if asked and asked in volumes:
        return asked
    return max(sorted(volumes), key=lambda s: volumes[s]) if volumes else None


def landing(service: Service, who: Principal, quarters: list[str]) -> tuple[str, str] | None:
    """Where the dashboard opens when no period is asked: the national panel — the records source with the most
    panel data over the quarters the visitor may see — in the latest of those quarters where it has data. A
    small source that alone reaches a later quarter (an API test batch) does not move the landing page."""
    by_quarter = {q: source_volumes(table_rows(service.public_metrics(q, "platform", who))) for q in quarters}
    totals: dict[str, float] = {}
    for volumes in by_quarter.values():
        for s, v in volumes.items():
            totals[s] = totals.get(s, 0.0) + v
    if not totals:
        return None
    source = max(sorted(totals), key=lambda s: totals[s])
    latest = next(q for q in quarters if by_quarter[q].get(source))  # quarters: newest first
    return latest, asked(service, None) or source


def asked(service: Service, nguon: str | None) -> str | None:
    """The source a page reads: the one asked, else the national estimate when several sources have records
    (None: every source, the page then shows the one with most panel data)."""
    default, offered = service.usage_sources()
    if nguon:
        if any(name not in offered for name in nguon.split(",")):
            raise NotFound(f"Không có nguồn '{nguon[:64]}' trong kho.")
        return nguon
    return default if default == NATIONAL else None


def platform_rows(service: Service, who: Principal, period: str, asked_source: str | None
                  ) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    wanted = asked(service, asked_source)
    fused = wanted is not None and (wanted == NATIONAL or "," in wanted)
    rows = table_rows(service.public_metrics(period, "platform", who, wanted if fused else None))
    source = wanted if fused else main_source(rows, wanted)
    _, offered = service.usage_sources()
    sources = offered or sorted({r["source"] for r in rows if r.get("basis") == "records" and r.get("source")})
    shown = [r for r in rows if r.get("basis") == "published" or r.get("source") == source]
    return shown, source, sources


def band_rows(service: Service, period: str, platforms: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The MAU bands (:mod:`thuocdo.metrics.bands`, default thresholds) of the measured platforms shown (the
    published figures only), each with its label; and how many measured platforms have no published figure."""
    measured = [(r["platform"], r.get("mau")) for r in platforms if r.get("basis") == "records"]
    found, missing = platform_bands(measured, service.catalog, period)
    rows = found.to_pylist()
    for r in rows:
        label = format_band(r["band_low"], r["band_high"])
        r["label"] = label[0].upper() + label[1:]
    return rows, missing
