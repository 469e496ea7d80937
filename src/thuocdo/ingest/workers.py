"""Reading posted bodies of usage records: parsing them, and staging the usual clean batch, off the writer's way.

Parsing JSON and staging a clean batch (:func:`thuocdo.ingest.arrow_staging.stage_clean`) are CPU work in Python, a
few milliseconds per thousand records. Done in threads of the server process, they hold the interpreter's
lock while the event loop and the writer wait for it, so a server cannot use more than about one core. With
`processes` > 0 they run in that many worker processes instead (started once, through a fork server, and
warmed before the first request); a batch crosses over as its body and comes back as Arrow tables. With 0
they run in `threads` threads of the server process (the right choice on one core, and in tests).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pyarrow as pa

from thuocdo.catalog import Catalog, load_catalog
from thuocdo.ingest.arrow_staging import ValueMaps, stage_clean
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.readers import LINE, RawInput

#: how often, in seconds, a worker checks that the server still runs
WATCH_INTERVAL = 0.5
#: what a worker process keeps between batches: the catalog's value maps and the store's secret
_WORKER: tuple[ValueMaps, bytes] | None = None


class Readers:
    """Where posted bodies are read: worker processes, or threads of this one."""

    def __init__(self, catalog: Catalog, secret: bytes, *, processes: int = 0, threads: int = 2) -> None:
        self.processes = processes
        self._maps = ValueMaps(catalog)
        self._secret = secret
        self._lock = threading.Lock()
        self._pool: Executor = (self._start_processes() if processes > 0
                                else ThreadPoolExecutor(threads, thread_name_prefix="thuocdo-reader"))

    def _start_processes(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_start_worker, initargs=(self._secret, os.getpid()))
        for ready in [pool.submit(_ready) for _ in range(self.processes)]:
            ready.result(timeout=120)  # the first requests do not wait for the workers to start
        return pool

    def read(self, key_domain: str, body: bytes, name: str, *,
             gzipped: bool) -> Future[tuple[RawInput, pa.Table | None]]:
        """The body's records as a RawInput, and their good rows when the batch is clean (else None), persons
        keyed in `key_domain` (its source's: :func:`thuocdo.store.sources.key_domain`). InputError (and
        BodyTooLarge) come back through the future."""
        if self.processes == 0:
            return self._pool.submit(read_body, self._maps, self._secret, key_domain, body, name, gzipped)
        pool = self._pool
        try:
            return pool.submit(_read_in_worker, key_domain, body, name, gzipped)
        except BrokenProcessPool:  # a worker died (killed, out of memory): new workers, once per breakage
            with self._lock:
                if self._pool is pool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._start_processes()
            return self._pool.submit(_read_in_worker, key_domain, body, name, gzipped)

    def clean_rows(self, key_domain: str, raw: RawInput) -> pa.Table | None:
        """Stage an already parsed batch in the calling thread (None unless it is clean)."""
        return stage_clean(self._maps, self._secret, key_domain, raw)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def read_body(maps: ValueMaps, secret: bytes, key_domain: str, body: bytes, name: str,
              gzipped: bool) -> tuple[RawInput, pa.Table | None]:
    raw = parse_records(body, name, gzipped=gzipped)
    clean = stage_clean(maps, secret, key_domain, raw)
    if clean is not None:  # the text columns are not needed any more: only the record count travels back
        raw = RawInput(raw.name, raw.format, raw.table.select([LINE]), raw.rejections)
    return raw, clean


def _start_worker(secret: bytes, server: int) -> None:
    global _WORKER  # noqa: PLW0603 - the process pool's initializer sets each worker's state
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops its workers in turn
    threading.Thread(target=_watch, args=(server,), name="thuocdo-server-watch", daemon=True).start()
    _WORKER = (ValueMaps(load_catalog()), secret)


def _watch(server: int) -> None:
    """End this worker when the server is gone, however it ended (kill -9 included): a worker holds the
    store's secret and a few hundred megabytes, and its parent is the fork server, not the server."""
    while _alive(server):
        time.sleep(WATCH_INTERVAL)
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready() -> bool:
    return _WORKER is not None


def _read_in_worker(key_domain: str, body: bytes, name: str, gzipped: bool) -> tuple[RawInput, pa.Table | None]:
    assert _WORKER is not None
    return read_body(*_WORKER, key_domain, body, name, gzipped)
