"""The ingestion pipeline of posted usage batches: read, stage, commit in groups, merge into the lake.

A reader (a worker process, or a thread; :class:`thuocdo.ingest.workers.Readers`) parses each posted body; the
usual batch, where every record is plainly good, is staged there too, with Arrow kernels
(:func:`thuocdo.ingest.arrow_staging.stage_clean`). Any other goes to a stager thread, which validates,
pseudonymises and keys the batches waiting together on a private in-memory database
(:func:`thuocdo.ingest.stream.stage_batches`) and writes the problems of the bad records. Neither holds the
store's lock. A writer thread commits whatever staged batches are waiting
(:func:`thuocdo.ingest.stream.commit_staged`): it checks them against the keys stored in the inbox and the
lake (held in memory, :class:`thuocdo.ingest.keys.StoredKeys`) and commits them in one transaction. A
flusher thread merges the inbox into the lake when the inbox grows large or the pipeline falls idle.

Locks: `lock` guards the store's main connection; `flush_lock` is held by whatever merges the inbox into the
lake or reads records (which merges it first). Always taken in the order flush_lock, then lock; accepting a
batch takes `lock` only, so batches keep being accepted while the inbox is merged.

Persons are keyed in their source's key domain (:func:`thuocdo.store.sources.key_domain`), remembered per source
and forgotten by :meth:`IngestPipeline.declared` when a declaration may have changed it. A batch staged in a
domain that is no longer its source's when it is committed is refused whole
(:class:`thuocdo.ingest.stream.KeyDomainChanged`): nothing of it is stored, and it may be sent again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.ingest.inbox import flush_inbox, held_segments, inbox_size, release_held
from thuocdo.ingest.keys import StoredKeys
from thuocdo.ingest.readers import RawInput
from thuocdo.ingest.stream import (
    KeyDomainChanged,
    Outcome,
    Staged,
    Submission,
    check_key_domain,
    commit_staged,
    stage_batches,
    staged_clean,
    staging_connection,
)
from thuocdo.ingest.workers import Readers
from thuocdo.store import Store
from thuocdo.store import sources as registry

#: the most records accepted together in one group, and how long the first batch waits for others to join it
GROUP_RECORDS = 50_000
GROUP_WAIT = 0.010
#: reader threads when no worker process reads (parsing is CPU work: more threads than cores only contend)
READER_THREADS = 2
#: the longest pause, in seconds, before the background merge is tried again after failures in a row
MAX_BACKOFF = 60.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineSettings:
    flush_rows: int = 1_000_000   # merge the inbox into the lake when it holds this many records
    flush_idle: float = 2.0       # ... or when no batch arrived for this many seconds
    reader_processes: int = 0     # parse and stage posted bodies in this many worker processes (0: threads)


class IngestPipeline:
    """Posted usage batches of one store, from their bodies to the lake (see the module's doc)."""

    def __init__(self, store: Store, flusher_store: Store, catalog: Catalog, settings: PipelineSettings) -> None:
        self.store = store
        self.settings = settings
        self.catalog = catalog
        self.lock = threading.RLock()
        self.flush_lock = threading.RLock()
        self._flusher_store = flusher_store  # a second connection, used by the flusher only
        self.stored_keys = StoredKeys()
        self._key_domains: dict[str, str] = {}
        self._changing = _ChangeLock(self.lock, self.stored_keys)
        released = release_held(self.store)  # what an earlier run set aside is tried again
        if released:
            log.warning("%d inbox segments set aside earlier will be merged again", released)
        self._inbox_rows = inbox_size(self.store)
        self.flush_failures = 0
        self.last_flush_error: str | None = None
        self._queue: queue.Queue[tuple[str, Submission, Future[Outcome]] | None] = queue.Queue()
        self._staged: queue.Queue[tuple[Staged, list[Future[Outcome]]] | None] = queue.Queue()
        self._flush_wanted = threading.Event()
        self._closing = threading.Event()
        self.readers = Readers(catalog, store.secret, processes=settings.reader_processes, threads=READER_THREADS)
        self._stager = threading.Thread(target=self._stage_loop, name="thuocdo-stager", daemon=True)
        self._writer = threading.Thread(target=self._commit_loop, name="thuocdo-writer", daemon=True)
        self._flusher = threading.Thread(target=self._flush_loop, name="thuocdo-flusher", daemon=True)
        self._stager.start()
        self._writer.start()
        self._flusher.start()

    def close(self) -> None:
        """Stop accepting; commit what was accepted and merge the inbox into the lake."""
        try:
            self.readers.shutdown()
        finally:  # whatever became of the readers, what was accepted is committed and merged
            self._queue.put(None)
            self._stager.join(timeout=60)
            self._writer.join(timeout=60)
            self._closing.set()
            self._flush_wanted.set()
            self._flusher.join(timeout=600)
            with self.exclusive():
                flush_inbox(self.store)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Both locks; what runs inside may change the lake or the inbox, so the writer's kept keys are
        forgotten before the locks are released."""
        with self.flush_lock, self._changing:
            yield

    def key_domain(self, source: str) -> str:
        """The key domain of the source's persons (read from the store once, then remembered)."""
        domain = self._key_domains.get(source)
        if domain is None:
            with self.lock:
                domain = self._key_domains[source] = registry.key_domain(self.store, source)
        return domain

    def declared(self, source: str) -> None:
        """The source's declaration was written (call holding `lock`): its key domain is read again when needed."""
        with self.lock:
            self._key_domains.pop(source, None)

    def clean_rows(self, source: str, raw: RawInput) -> pa.Table | None:
        """The good rows of a batch in which every record is plainly good, staged in the calling thread (a
        request's); None for any other batch, which the stager judges."""
        return self.readers.clean_rows(self.key_domain(source), raw)

    def submit_usage(self, source: str, submission: Submission) -> Future[Outcome]:
        """Queue a usage batch; the future gives its outcome once committed. A batch staged already
        (`submission.clean`, see :meth:`clean_rows`) goes straight to the writer."""
        future: Future[Outcome] = Future()
        if submission.clean is not None:
            self._staged.put((staged_clean(source, submission), [future]))
        else:
            self._queue.put((source, submission, future))
        return future

    def _take_group(self) -> list[tuple[str, Submission, Future[Outcome]]] | None:
        """The next batches to stage together: the first waiting one and those arriving within GROUP_WAIT
        (up to GROUP_RECORDS records); None when the service closes."""
        item = self._queue.get()
        if item is None:
            return None
        group = [item]
        records = item[1].raw.table.num_rows
        deadline = time.monotonic() + GROUP_WAIT
        while records < GROUP_RECORDS:
            try:
                wait = deadline - time.monotonic()
                nxt = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._queue.put(None)
                break
            group.append(nxt)
            records += nxt[1].raw.table.num_rows
        return group

    def _stage_loop(self) -> None:
        """Validate, pseudonymise and key waiting batches on a private database (no lock), then hand them on."""
        staging = staging_connection()
        try:
            while (group := self._take_group()) is not None:
                by_source: dict[str, list[tuple[Submission, Future[Outcome]]]] = {}
                for source, sub, fut in group:
                    by_source.setdefault(source, []).append((sub, fut))
                for source, items in by_source.items():
                    futures = [f for _, f in items]
                    try:
                        staged = stage_batches(staging, self.catalog, self.store.secret, source, [s for s, _ in items],
                                               self.key_domain(source))
                    except BaseException as exc:  # noqa: BLE001 - every waiting request gets the error
                        for fut in futures:
                            fut.set_exception(exc)
                        continue
                    self._staged.put((staged, futures))
        finally:
            staging.close()
            self._staged.put(None)

    def _commit_loop(self) -> None:
        """Commit staged groups (all that are waiting, one transaction per source) under the store's lock."""
        last_write = time.monotonic()
        while True:
            try:
                item = self._staged.get(timeout=0.25)
            except queue.Empty:
                if time.monotonic() - last_write > self.settings.flush_idle:
                    self._flush_wanted.set()
                    last_write = time.monotonic()
                continue
            items = [item]
            while items[-1] is not None:
                try:
                    items.append(self._staged.get_nowait())
                except queue.Empty:
                    break
            done = items[-1] is None
            by_source: dict[str, list[tuple[Staged, list[Future[Outcome]]]]] = {}
            for staged, futures in (i for i in items if i is not None):
                by_source.setdefault(staged.source, []).append((staged, futures))
            for group in by_source.values():
                try:
                    with self.lock:  # the key domain does not change before the group is committed
                        batch = self._in_key_domain(group)
                        outcomes = commit_staged(self.store, [st for st, _ in batch], self.stored_keys) if batch else []
                        self._inbox_rows += sum(o.stored for o in outcomes)
                except BaseException as exc:  # noqa: BLE001 - every waiting request gets the error
                    for fut in (f for _, fs in group for f in fs if not f.done()):
                        fut.set_exception(exc)
                    continue
                for fut, outcome in zip([f for _, fs in batch for f in fs], outcomes, strict=True):
                    fut.set_result(outcome)
            if self._inbox_rows >= self.settings.flush_rows:
                self._flush_wanted.set()
            last_write = time.monotonic()
            if done:
                return

    def _in_key_domain(self, group: list[tuple[Staged, list[Future[Outcome]]]]
                       ) -> list[tuple[Staged, list[Future[Outcome]]]]:
        """The staged batches of a group keyed in their source's domain now; the others' requests are answered
        with the refusal (call holding `lock`)."""
        kept = []
        for staged, futures in group:
            try:
                check_key_domain(staged, self.key_domain(staged.source))
            except KeyDomainChanged as exc:
                for fut in futures:
                    fut.set_exception(exc)
                continue
            kept.append((staged, futures))
        return kept

    def _flush_loop(self) -> None:
        """Merge the inbox into the lake when asked, through the flusher's own connection. The thread survives
        any error: it is logged and kept for :meth:`health`, and the merge is tried again after a pause that
        doubles with each failure in a row (up to MAX_BACKOFF seconds)."""
        retry_at = 0.0
        while not self._closing.is_set():
            wait = max(0.0, retry_at - time.monotonic()) if self.flush_failures else None
            self._flush_wanted.wait(wait)
            self._flush_wanted.clear()
            if self._closing.is_set():
                return
            if self.flush_failures and time.monotonic() < retry_at:
                continue  # asked again before the pause is over: the retry comes when it is
            try:
                with self.flush_lock:
                    if inbox_size(self._flusher_store):
                        flush_inbox(self._flusher_store, commit_lock=self._changing)
                    with self.lock:
                        self._inbox_rows = inbox_size(self.store)
            except Exception as exc:  # the flusher must outlive any error
                self.flush_failures += 1
                self.last_flush_error = f"{type(exc).__name__}: {exc}"
                retry_at = time.monotonic() + min(MAX_BACKOFF, 2.0 ** (self.flush_failures - 1))
                log.exception("merging the inbox into the lake failed (%d in a row)", self.flush_failures)
            else:
                self.flush_failures = 0
                self.last_flush_error = None

    def health(self) -> dict[str, object]:
        """What an operator needs to know: records waiting, records set aside with their reasons, and whether
        the background merge is failing."""
        with self.lock:
            held = held_segments(self.store)
            waiting = inbox_size(self.store)
        ok = not held and not self.flush_failures
        return {"status": "ok" if ok else "degraded", "inbox_records": waiting,
                "held": [{"source": h.source, "records": h.records, "reason": h.reason} for h in held],
                "merge_failures": self.flush_failures, "last_merge_error": self.last_flush_error}

class _ChangeLock:
    """The store's lock, taken to change the lake or the inbox outside the writer: on release, the keys the
    writer keeps in memory are forgotten first (they are read again when next needed). Reusable."""

    def __init__(self, lock: threading.RLock, keys: StoredKeys) -> None:
        self.lock = lock
        self.keys = keys

    def __enter__(self) -> None:
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        try:
            self.keys.forget()
        finally:
            self.lock.release()
