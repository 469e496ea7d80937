"""The quarantine's use cases: list the rejected rows, export the usage rows to repair, and retry them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from thuocdo.catalog import load_catalog
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.inbox import flush_inbox
from thuocdo.ingest.indicators import retry_quarantined as retry_quarantined_indicators
from thuocdo.ingest.readers import LINE, InputError, RawInput, csv_text
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.usage import ingest_usage
from thuocdo.store import StoreError
from thuocdo.store.lakehouse import QUARANTINE_READ, quarantine_rows
from thuocdo.workflows.cluster import home_lakehouse
from thuocdo.workflows.ingest import check_not_in_lakehouse
from thuocdo.workflows.store import bring_up_to_date, open_store


def quarantine_entries(home: str | Path | None, source: str | None = None, status: str = "open") -> pa.Table:
    """The quarantined lines (open, or resolved), with the cluster's lakehouse's (always open: a line rejected
    there is sent again, fixed, with ``ingest usage --engine spark``; it has no id here)."""
    with open_store(home) as store:
        store.con.register("lakehouse_quarantine", _lakehouse_quarantine(store.home, source, status))
        try:
            sql = ("SELECT * FROM (SELECT id, source, kind, file, line, problems, record, created_at FROM quarantine "
                   "WHERE status = $status AND ($source IS NULL OR source = $source) "
                   "UNION ALL SELECT NULL, source, kind, file, line, problems, record, created_at "
                   "FROM lakehouse_quarantine) ORDER BY created_at, file, line NULLS FIRST, id")
            return store.con.sql(sql, params={"status": status, "source": source}).to_arrow_table()
        finally:
            store.con.unregister("lakehouse_quarantine")


def _lakehouse_quarantine(home: Path, source: str | None, status: str) -> pa.Table:
    lake = home_lakehouse(home)
    if status == "open" and lake is not None:
        try:
            return quarantine_rows(lake, source)
        except Exception as exc:
            where = (f"lakehouse cục bộ {lake.local_folder}" if lake.local_folder
                     else "lakehouse của cụm (hãy xem thuocdo cluster status)")
            raise StoreError(f"Không đọc được khu cách ly trong {where}: {type(exc).__name__}.") from exc
    return QUARANTINE_READ.empty_table()


def quarantine_export(home: str | Path | None, output: Path, source: str | None = None) -> int:
    """Write the open usage entries as a CSV to repair, one row per rejected line (user_key stands for the
    pseudonymised user_id; a line kept without its content, such as one too long to be a record, has empty
    fields)."""
    entries = quarantine_entries(home, source).to_pylist()
    columns = ["quarantine_id", "source", "file", "line", "problems"] + [f for f in USAGE.fields if f != "user_id"]
    rows = []
    for e in entries:
        if e["kind"] != "usage":
            continue
        problems = "; ".join(p["message"] for p in json.loads(e["problems"]))
        record = json.loads(e["record"]) if e["record"] is not None else {}
        rows.append({"quarantine_id": e["id"], "source": e["source"], "file": e["file"], "line": e["line"],
                     "problems": problems, **record})
    output.write_text(csv_text(rows, columns), encoding="utf-8")
    return len(rows)


def quarantine_retry(home: str | Path | None, file: Path | None = None, source: str | None = None) -> list[BatchResult]:
    """Re-ingest quarantined rows: usage rows as stored (after a catalog fix) or from a repaired export file;
    indicator rows as stored (after the catalog or a framework learnt what they lacked)."""
    catalog = load_catalog()
    with open_store(home) as store:
        if file is not None:
            table = pacsv.read_csv(file, convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns_of(file)}, strings_can_be_null=False))
            groups = _by_source(table.to_pylist(), source)
        else:
            rows = store.con.execute(
                "SELECT id, source, record FROM quarantine WHERE status = 'open' AND kind = 'usage' "
                "AND record IS NOT NULL" + (" AND source = ?" if source else ""), [source] if source else []
            ).fetchall()
            groups = _by_source([{"quarantine_id": str(i), "source": s, **json.loads(r)} for i, s, r in rows], None)
        results = []
        flush_inbox(store)  # retried rows are checked against every stored record, those posted over HTTP too
        for src in groups:  # a source the lakehouse holds is sent again with --engine spark, never here
            check_not_in_lakehouse(store, src)
        for src, records in groups.items():
            ids = [int(r["quarantine_id"]) for r in records if r.get("quarantine_id")]
            cols = {f: pa.array([_text(r.get(f)) for r in records], pa.string()) for f in USAGE.fields}
            cols[LINE] = pa.array([int(r["quarantine_id"] or 0) for r in records], pa.int64())
            raw = RawInput(file.name if file else "quarantine", "csv", pa.table(cols))
            results.append(ingest_usage(store, raw, src, catalog, kind="usage", resolves=ids))
        if file is None:
            results += retry_quarantined_indicators(store, source, catalog)
        bring_up_to_date(store)
        return results


def columns_of(file: Path) -> list[str]:
    with open(file, encoding="utf-8-sig") as f:
        return [c.strip() for c in f.readline().rstrip("\r\n").split(",")]


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _by_source(rows: list[dict[str, str]], source: str | None) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        src = source or r.get("source") or ""
        if not src:
            raise InputError("Không rõ nguồn của dòng cần nạp lại: thêm cột `source` hoặc dùng --source.")
        groups.setdefault(src, []).append(r)
    return groups
