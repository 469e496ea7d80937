"""Posted bodies read in worker processes (`thuocdo serve --reader-processes N`): the same answers as read in
threads, errors carried back, and what was accepted merged at a clean stop."""

from __future__ import annotations

import gzip
import os
import signal
import threading
import time
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from tests.web.test_api import BATCH, USAGE
from thuocdo.ingest.inbox import inbox_size
from thuocdo.store import Store
from thuocdo.web.app import create_app
from thuocdo.workflows.service import Service, Settings


def _records(prefix: str, n: int) -> list[dict]:
    return [{"record_id": f"{prefix}{i}", "user_id": f"u{i % 9}", "platform": "zalo",
             "time": f"2022-02-{1 + i % 28:02d}T09:00:00+07:00", "active_seconds": 30} for i in range(n)]


def _answers(processes: int, home: Path) -> tuple[list[dict], int]:
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600, reader_processes=processes))
    key, _ = service.access.create_key("source", source="telco-a")
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    answers: list[dict] = []
    try:
        with TestClient(create_app(service=service)) as client:
            for body, extra in ((orjson.dumps(BATCH), {}), (orjson.dumps(BATCH), {}),     # a retry
                                (gzip.compress(orjson.dumps(_records("g", 40))), {"Content-Encoding": "gzip"}),
                                (b"[{", {}), (b'{"user_id": "1"}\n7\n', {})):           # unreadable, NDJSON
                r = client.post(USAGE, content=body, headers={**headers, **extra})
                answers.append({"status": r.status_code, **{k: v for k, v in r.json().items()
                                                            if k not in ("batch_id", "detail")}})
            lock = threading.Lock()

            def send(k: int) -> None:  # concurrent clients, each batch sent by two of them
                for b in range(6):
                    r = client.post(USAGE, content=orjson.dumps(_records(f"c{(k + b) % 6}-", 100)), headers=headers)
                    with lock:
                        answers.append({"status": r.status_code, "stored": r.json()["stored"]})

            threads = [threading.Thread(target=send, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        service.close()  # a clean stop merges the inbox
    with Store(home, sweep=False) as store:
        files = store.files("record_keys", source="telco-a")
        stored = store.con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchall()[0][0]
        assert inbox_size(store) == 0
    return answers, stored


def test_worker_processes_answer_as_threads_do(tmp_path: Path) -> None:
    in_processes, stored_p = _answers(2, tmp_path / "processes")
    in_threads, stored_t = _answers(0, tmp_path / "threads")
    assert in_processes[:5] == in_threads[:5]
    assert [a["status"] for a in in_processes[:5]] == [200, 200, 200, 400, 200]
    assert (in_processes[0]["stored"], in_processes[1]["duplicates"], in_processes[2]["stored"]) == (4, 5, 40)
    assert sum(a["stored"] for a in in_processes[5:]) == 600  # six batches of 100, each sent twice
    assert stored_p == stored_t == 4 + 40 + 600


def test_a_dead_worker_is_replaced(tmp_path: Path) -> None:
    service = Service(tmp_path / "home", Settings(flush_rows=1_000_000, flush_idle=3600, reader_processes=1))
    key, _ = service.access.create_key("source", source="telco-a")
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    try:
        with TestClient(create_app(service=service)) as client:
            assert client.post(USAGE, content=orjson.dumps(_records("a", 10)), headers=headers).status_code == 200
            pool = service.readers._pool
            for pid in list(pool._processes):  # type: ignore[attr-defined]  # as an out-of-memory kill would
                os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if pool._broken:  # type: ignore[attr-defined]
                    break
                time.sleep(0.05)
            answer = client.post(USAGE, content=orjson.dumps(_records("b", 10)), headers=headers)
            assert answer.status_code == 200 and answer.json()["stored"] == 10
            assert service.readers._pool is not pool
    finally:
        service.close()
