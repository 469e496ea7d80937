"""The demo's web step: publish the demo's years, then deliver a batch through the real HTTP API and read back.

It starts the server (Uvicorn, loopback, a free port) over the demo store, creates a key for an operator
source, posts a batch of records with one unknown platform and a repeated record, re-sends the batch as a
retrying client would, asks for the metric table anonymously, and stops the server. The records are for July
2022, after the panel's months, so that the quarterly report of the panel is not touched.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from thuocdo.workflows.access import Access

DEMO_SOURCE = "demo-telco"
PUBLISHED = ("2021", "2022", "2023", "2024")


@dataclass(frozen=True)
class ApiRoundTrip:
    first: dict[str, Any]
    again: dict[str, Any]
    rows: int
    url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=120) as response:  # a loopback URL only
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def demo_batch(n: int = 40) -> list[dict[str, object]]:
    records: list[dict[str, object]] = [
        {"record_id": f"t{i}", "user_id": f"0988{i:06d}", "platform": ("zalo", "mocha", "messenger")[i % 3],
         "time": f"2022-07-{1 + i % 28:02d}T{8 + i % 12:02d}:00:00+07:00", "active_seconds": 300 + 7 * i,
         "bytes": 2_000_000 + 1000 * i, "province": ("Hà Nội", "Huế", "TP. Hồ Chí Minh")[i % 3]}
        for i in range(n)]
    records.append(dict(records[0]))  # the same record twice in one batch: stored once
    records.append({"record_id": "t-x", "user_id": "0988999999", "platform": "khong-co-nen-tang-nay",
                    "time": "2022-07-05"})
    return records


def api_round_trip(home: Path) -> ApiRoundTrip:
    import uvicorn

    from thuocdo.web.app import create_app

    access = Access(home)
    for year in PUBLISHED:
        access.publish(year, actor="demo")
    key, _ = access.create_key("source", source=DEMO_SOURCE, label="demo", actor="demo")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(home), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.started:
                break
            time.sleep(0.05)
        body = json.dumps(demo_batch()).encode()
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        first = _request(f"{url}/api/v1/sources/{DEMO_SOURCE}/usage", body, headers)
        again = _request(f"{url}/api/v1/sources/{DEMO_SOURCE}/usage", body, headers)
        table = _request(f"{url}/api/v1/metrics?period=2022-07&source={DEMO_SOURCE}")
    finally:
        server.should_exit = True
        thread.join(timeout=120)
    access.revoke_key(key.split("_")[1], actor="demo")
    return ApiRoundTrip(first, again, len(table["rows"]), url)


def print_round_trip(trip: ApiRoundTrip, home: Path, console: Console) -> None:
    f, a = trip.first, trip.again
    rejected = next((r for r in f["records"] if r["status"] == "rejected"), None)
    reason = rejected["problems"][0]["message"] if rejected else ""
    console.print(
        f"API: lô {f['received']} bản ghi gửi tới /api/v1/sources/{DEMO_SOURCE}/usage: {f['stored']} đã lưu, "
        f"{f['duplicates']} trùng, {f['rejected']} bị loại ({reason}). Gửi lại cùng lô: {a['stored']} lưu thêm, "
        f"{a['duplicates']} trùng. Bảng chỉ số tháng 7/2022 của nguồn {DEMO_SOURCE} qua API: {trip.rows} nền tảng.",
        highlight=False)
    console.print(f"Bảng điều khiển và API: thuocdo --home {home} serve, rồi mở http://127.0.0.1:8000/ "
                  f"(các năm {', '.join(PUBLISHED)} đã công bố).", highlight=False)


__all__ = ["ApiRoundTrip", "api_round_trip", "demo_batch", "print_round_trip"]
