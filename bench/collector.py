"""Load generator for the data-delivery API (issue 5): sustained records/s, latency, and nothing lost or doubled.

    .venv/bin/python bench/collector.py [--seconds 60] [--clients 8] [--batch 1000] [--retry 0.1] [--gzip]
                                        [--reader-processes N]

It starts `thuocdo serve` on a free loopback port over a new store, creates a source key, and runs several
concurrent clients (threads, one keep-alive connection each) for a fixed time. Each client sends batches of
distinct records (JSON arrays; a pool of users and platforms, times spread over a month) and, with the
probability `--retry`, re-sends a batch already sent (as a client retrying after a timeout would). It prints
records/s sustained (every record the server answered for, retries included, and the distinct new ones),
p50/p95/p99 latency per request, then stops the server (which merges its inbox into the lake) and checks that
the store holds exactly the distinct records sent: one record key per record, nothing lost, nothing twice.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "bench-telco"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants (the server's reader processes),
    from /proc (Linux)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, of in parents.items():
            if of == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(p, 0.0) for p in tree)


def machine_ticks() -> list[int]:
    """The machine's CPU ticks so far (user, nice, system, idle, iowait, irq, softirq, steal), from /proc/stat."""
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def make_batches(n_batches: int, size: int, seed: int = 5) -> list[bytes]:
    from thuocdo.catalog import load_catalog

    platforms = [p.id for p in load_catalog().platforms if p.kind != "web"][:60]
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_batches):
        users = rng.integers(0, 200_000, size)
        plats = rng.integers(0, len(platforms), size)
        days = rng.integers(1, 32, size)
        hours = rng.integers(0, 24, size)
        secs = rng.integers(0, 3600, size)
        batch = [{"record_id": f"b{b}-{i}", "user_id": f"84{u:09d}", "platform": platforms[p],
                  "time": f"2022-01-{d:02d}T{h:02d}:15:00+07:00", "active_seconds": int(s), "bytes": int(s) * 20_000,
                  "province": "Hà Nội" if u % 3 == 0 else "Đà Nẵng"}
                 for i, (u, p, d, h, s) in enumerate(zip(users, plats, days, hours, secs, strict=True))]
        out.append(orjson.dumps(batch))
    return out


def run(seconds: float, clients: int, batch: int, retry: float, compress: bool, flush_rows: int,
        reader_processes: int | None = None) -> dict[str, float]:
    from thuocdo.workflows.access import Access

    home = Path(tempfile.mkdtemp(prefix="thuocdo-collector-"))
    key, _ = Access(home).create_key("source", source=SOURCE)
    port = free_port()
    server = subprocess.Popen([str(ROOT / ".venv/bin/thuocdo"), "--home", str(home), "serve", "--port", str(port),
                               "--log-level", "warning", "--flush-rows", str(flush_rows),
                               *([] if reader_processes is None else ["--reader-processes", str(reader_processes)])],
                              cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        server.kill()
        raise SystemExit("the server did not start")

    n_batches = max(int(seconds * 120 * 1000 / batch), 50)  # more than the server can take in the time
    print(f"generating {n_batches} batches of {batch} records …", file=sys.stderr)
    bodies = make_batches(n_batches, batch)
    if compress:
        bodies = [gzip.compress(b, 5) for b in bodies]
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    if compress:
        headers["Content-Encoding"] = "gzip"

    lock = threading.Lock()
    next_batch = [0]
    sent: set[int] = set()
    latencies: list[float] = []
    answered: list[tuple[float, float, int]] = []  # per request: when answered (s from the start), latency, records
    totals = {"requests": 0, "received": 0, "stored": 0, "duplicates": 0, "rejected": 0, "retries": 0, "errors": 0}
    stop_at = time.monotonic() + seconds

    def client(k: int) -> None:
        rnd = random.Random(k)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            while time.monotonic() < stop_at:
                with lock:
                    if sent and rnd.random() < retry:
                        b = rnd.choice(tuple(sent))
                        totals["retries"] += 1
                    else:
                        b = next_batch[0]
                        next_batch[0] += 1
                t0 = time.perf_counter()
                r = http.post(f"/api/v1/sources/{SOURCE}/usage", content=bodies[b])
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code != 200:
                        totals["errors"] += 1
                        continue
                    answer = orjson.loads(r.content)
                    sent.add(b)
                    latencies.append(dt)
                    answered.append((time.monotonic() - t_start, dt, answer["received"]))
                    totals["requests"] += 1
                    for name in ("received", "stored", "duplicates", "rejected"):
                        totals[name] += answer[name]

    print(f"running {clients} clients for {seconds:.0f} s …", file=sys.stderr)
    server_cpu0, client_cpu0, ticks0 = cpu_seconds(server.pid), _own_cpu(), machine_ticks()
    t_start = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t_start
    server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu0, _own_cpu() - client_cpu0
    ticks = [b - a for a, b in zip(ticks0, machine_ticks(), strict=True)]
    server.send_signal(signal.SIGINT)  # a clean stop merges the inbox into the lake
    server.wait(timeout=600)

    from thuocdo.ingest.inbox import inbox_size
    from thuocdo.store import Store

    with Store(home, sweep=False) as store:
        from thuocdo.rollups.rebuild import rebuild_dirty

        t0 = time.perf_counter()
        rebuild_dirty(store)  # what the first metric query after the run waits for
        rollup_s = time.perf_counter() - t0
        day_files = store.con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM lake_files "
                                      "WHERE dataset = 'person_day' GROUP BY day)").fetchall()[0][0]
        keys = store.con.execute(
            "SELECT coalesce(sum(rows), 0) FROM lake_files WHERE dataset = 'record_keys'").fetchall()[0][0]
        inbox = inbox_size(store)
        distinct_keys = store.con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT day, k1, k2 FROM read_parquet($f))",
            {"f": store.files("record_keys", source=SOURCE)}).fetchall()[0][0] if keys else 0
    expected = len(sent) * batch
    lat = np.array(latencies) * 1000
    window = max(seconds / 5, 1.0)  # the run in five parts: does the rate hold as the store grows?
    parts = []
    for i in range(int(np.ceil(elapsed / window))):
        inside = [(d, n) for at, d, n in answered if i * window <= at < (i + 1) * window]
        span = min(window, elapsed - i * window)
        if inside and span > window / 2:
            parts.append((i * window, sum(n for _, n in inside) / span,
                          float(np.percentile([d * 1000 for d, _ in inside], 99))))
    result = {
        "seconds": elapsed, "clients": clients, "batch": batch, "requests": totals["requests"],
        "records_per_s": totals["received"] / elapsed, "new_records_per_s": totals["stored"] / elapsed,
        "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
        "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max()),
        "server_cores": server_cpu / elapsed, "client_cores": client_cpu / elapsed,
        "idle_share": (ticks[3] + ticks[4]) / max(sum(ticks), 1), "steal_share": ticks[7] / max(sum(ticks), 1),
        "retries": totals["retries"], "duplicates": totals["duplicates"], "errors": totals["errors"],
        "distinct_sent": expected, "stored_answered": totals["stored"], "keys_in_store": keys,
        "distinct_keys_in_store": distinct_keys, "left_in_inbox": inbox, "parts": parts,
        "rollup_s": rollup_s, "day_files": day_files,
    }
    ok = keys == distinct_keys == expected == totals["stored"] and inbox == 0 and totals["rejected"] == 0
    result["exact"] = ok
    import shutil

    shutil.rmtree(home, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--retry", type=float, default=0.1)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--flush-rows", type=int, default=1_000_000)
    parser.add_argument("--reader-processes", type=int, default=None,
                        help="passed to thuocdo serve (default: its own, one per core)")
    args = parser.parse_args()
    r = run(args.seconds, args.clients, args.batch, args.retry, args.gzip, args.flush_rows, args.reader_processes)
    load = os.getloadavg()
    print(f"\n{r['clients']} clients, batches of {r['batch']}, {r['seconds']:.0f} s, load average {load[0]:.1f}")
    print(f"requests answered        {r['requests']:>12,}   (errors {r['errors']})")
    print(f"records/s sustained      {r['records_per_s']:>12,.0f}   (retries included)")
    print(f"new records/s            {r['new_records_per_s']:>12,.0f}")
    print(f"latency p50 / p95 / p99  {r['p50_ms']:>7.0f} / {r['p95_ms']:.0f} / {r['p99_ms']:.0f} ms "
          f"(max {r['max_ms']:.0f})")
    print("by part of the run       " + "; ".join(f"from {start:.0f} s: {rate:,.0f}/s, p99 {p99:.0f} ms"
                                                   for start, rate, p99 in r["parts"]))
    print(f"CPU used                 {r['server_cores']:>12.2f}   cores by the server (with its reader processes), "
          f"{r['client_cores']:.2f} by the load generator; "
          f"machine {r['idle_share']:.0%} idle, {r['steal_share']:.0%} taken by the hypervisor (steal)")
    print(f"batches retried          {r['retries']:>12,}   ({r['duplicates']:,} records answered as duplicates)")
    print(f"distinct records sent    {r['distinct_sent']:>12,}")
    print(f"stored (answers)         {r['stored_answered']:>12,}")
    print(f"record keys in the store {r['keys_in_store']:>12,}   (distinct {r['distinct_keys_in_store']:,}; "
          f"left in inbox {r['left_in_inbox']})")
    print(f"rollup after the run     {r['rollup_s']:>12.1f} s   (person-month and monthly sums of the month; "
          f"at most {r['day_files']} person_day files per day)")
    print("nothing lost, nothing twice" if r["exact"] else "MISMATCH: see the counts above")
    sys.exit(0 if r["exact"] else 1)


if __name__ == "__main__":
    main()
