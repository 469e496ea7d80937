"""What the web face asks of the store, safe to call from many request threads at once.

One process holds the store (DuckDB allows one writer process). Every use of the database goes through one
lock; reads call the same workflows as the command line, so the web never computes a metric itself.

Posted usage batches are staged, then committed. A reader thread (one per core) parses the body; the usual
batch, where every record is plainly good, is staged there too, with Arrow kernels
(:func:`thuocdo.ingest.clean.stage_clean`). Any other goes to a stager thread, which validates, pseudonymises
and keys the batches waiting together on a private in-memory database
(:func:`thuocdo.ingest.stream.stage_batches`) and writes the problems of the bad records. Neither holds the
store's lock. A writer thread commits whatever staged batches are waiting
(:func:`thuocdo.ingest.stream.commit_staged`): it checks them against the keys stored in the inbox and the
lake (held in memory, :class:`thuocdo.ingest.keys.StoredKeys`) and commits them in one transaction. A
flusher thread merges the inbox into the lake when the inbox grows large or the server falls idle.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from thuocdo import workflows
from thuocdo.catalog import Catalog, load_catalog
from thuocdo.ingest.keys import StoredKeys
from thuocdo.ingest.readers import RawInput
from thuocdo.ingest.results import BatchResult
from thuocdo.ingest.inbox import flush_inbox, inbox_months, inbox_size
from thuocdo.ingest.stream import (Outcome, Staged, Submission, Writer, commit_staged, record_write, stage_batches,
                                    staged_clean, staging_connection)
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.store import Store, resolve_home
from thuocdo.web.access import Access, Principal
from thuocdo.web.readers import Readers

#: metric columns withheld from the public when a figure rests on fewer than MIN_CELL panelists
SUPPRESSED_COLUMNS = ("mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs", "stickiness",
                      "w2_persons", "mau_previous", "mau_change_previous", "mau_year_ago", "mau_change_year",
                      "penetration")
#: the most records accepted together in one group, and how long the first batch waits for others to join it
GROUP_RECORDS = 50_000
GROUP_WAIT = 0.010
#: reader threads when no worker process reads (parsing is CPU work: more threads than cores only contend)
READER_THREADS = 2


@dataclass(frozen=True)
class Settings:
    flush_rows: int = 1_000_000   # merge the inbox into the lake when it holds this many records
    flush_idle: float = 2.0       # ... or when no batch arrived for this many seconds
    reader_processes: int = 0     # parse and stage posted bodies in this many worker processes (0: threads)
    database_threads: int = 0     # threads of the database's queries and merges (0: DuckDB's default, one per core)


class Service:
    """Locks: `lock` guards the main connection; `flush_lock` is held by whatever merges the inbox into the lake
    or reads through the workflows (which merge it first). Always taken in the order flush_lock, then lock;
    accepting a batch takes `lock` only, so batches keep being accepted while the inbox is merged."""

    def __init__(self, home: str | Path | None, settings: Settings | None = None) -> None:
        self.home = resolve_home(home)
        self.settings = settings or Settings()
        self.lock = threading.RLock()
        self.flush_lock = threading.RLock()
        self.store = Store(self.home)
        if self.settings.database_threads:
            self.store.con.execute(f"SET threads = {int(self.settings.database_threads)}")
        self._flusher_store = Store(self.home, sweep=False)  # a second connection, used by the flusher only
        self.catalog: Catalog = load_catalog()
        self.access = Access(self.home)
        self.stored_keys = StoredKeys()
        self._changing = _ChangeLock(self.lock, self.stored_keys)
        self._inbox_rows = inbox_size(self.store)
        self._queue: queue.Queue[tuple[str, Submission, Future[Outcome]] | None] = queue.Queue()
        self._staged: queue.Queue[tuple[Staged, list[Future[Outcome]]] | None] = queue.Queue()
        self._report_lock = threading.Lock()
        self._flush_wanted = threading.Event()
        self._closing = threading.Event()
        self.readers = Readers(self.catalog, self.store.secret, processes=self.settings.reader_processes,
                               threads=READER_THREADS)
        self._stager = threading.Thread(target=self._stage_loop, name="thuocdo-stager", daemon=True)
        self._writer = threading.Thread(target=self._commit_loop, name="thuocdo-writer", daemon=True)
        self._flusher = threading.Thread(target=self._flush_loop, name="thuocdo-flusher", daemon=True)
        self._stager.start()
        self._writer.start()
        self._flusher.start()

    def close(self) -> None:
        try:
            self.readers.shutdown()
        finally:  # whatever became of the readers, what was accepted is committed and merged
            self._close_store()

    def _close_store(self) -> None:
        self._queue.put(None)
        self._stager.join(timeout=60)
        self._writer.join(timeout=60)
        self._closing.set()
        self._flush_wanted.set()
        self._flusher.join(timeout=600)
        with self.exclusive():
            flush_inbox(self.store)
            self._flusher_store.close()
            self.store.close()

    @contextmanager
    def db(self) -> Iterator[Store]:
        """The store, for reading or writing anything (no flush runs meanwhile)."""
        with self.exclusive():
            yield self.store

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Both locks; what runs inside may change the lake or the inbox, so the writer's kept keys are
        forgotten before the locks are released."""
        with self.flush_lock, self._changing:
            yield

    # -- writes ------------------------------------------------------------------------------------------------
    def clean_rows(self, source: str, raw: RawInput) -> pa.Table | None:
        """The good rows of a batch in which every record is plainly good, staged in the calling thread (a
        request's); None for any other batch, which the stager judges."""
        return self.readers.clean_rows(source, raw)

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
                        staged = stage_batches(staging, self.catalog, self.store.secret, source, [s for s, _ in items])
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
            for batch in by_source.values():
                futures = [f for _, fs in batch for f in fs]
                try:
                    with self.lock:
                        outcomes = commit_staged(self.store, [st for st, _ in batch], self.stored_keys)
                        self._inbox_rows += sum(o.stored for o in outcomes)
                except BaseException as exc:  # noqa: BLE001 - every waiting request gets the error
                    for fut in futures:
                        fut.set_exception(exc)
                    continue
                for fut, outcome in zip(futures, outcomes, strict=True):
                    fut.set_result(outcome)
            if self._inbox_rows >= self.settings.flush_rows:
                self._flush_wanted.set()
            last_write = time.monotonic()
            if done:
                return

    def _flush_loop(self) -> None:
        """Merge the inbox into the lake when asked, through the flusher's own connection."""
        while not self._closing.is_set():
            self._flush_wanted.wait()
            self._flush_wanted.clear()
            if self._closing.is_set():
                return
            with self.flush_lock:
                if inbox_size(self._flusher_store):
                    flush_inbox(self._flusher_store, commit_lock=self._changing)
                with self.lock:
                    self._inbox_rows = inbox_size(self.store)

    def ingest_table(self, kind: str, source: str, rows: list[dict[str, object]], writer: Writer,
                     name: str) -> BatchResult:
        """Weights, aggregates or indicator values posted as JSON records: ingested like a file of them."""
        with tempfile.TemporaryDirectory(prefix="thuocdo-api-") as tmp:
            path = Path(tmp) / f"{name}.ndjson"
            path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
            with self.exclusive():
                report = workflows.ingest(self.home, kind, [path], source)
                if report.errors:
                    raise workflows.InputError(report.errors[0])
                result = report.results[0]
                with self.store.transaction() as con:
                    record_write(con, writer, kind, source, result.batch_id, result.rows_read, result.stored,
                                 result.duplicates, result.rejected)
        return result

    # -- reads -------------------------------------------------------------------------------------------------
    def metrics(self, period: str, by: str = "platform", source: str | None = None,
                distinct: str = "exact") -> pa.Table:
        request = workflows.metric_request(period, by, source)
        with self.exclusive():
            return workflows.metrics(self.home, request, distinct=distinct)

    def public_metrics(self, period: str, by: str, principal: Principal, source: str | None = None,
                       distinct: str = "exact") -> pa.Table:
        """The metric table as `principal` may see it: for anyone but an analyst or an admin, panel figures from
        fewer than MIN_CELL panelists withheld (a `suppressed` column says which). Whether the period is
        published is the caller's check (the API answers 403, the dashboard does not offer it)."""
        table = self.metrics(period, by, source, distinct)
        if principal.sees_unpublished:
            return table
        return suppress(table)

    def months_with_data(self) -> list[str]:
        with self.lock:
            rows = self.store.con.execute(
                "SELECT DISTINCT month FROM usage_month UNION SELECT DISTINCT month FROM dirty_months").fetchall()
            return sorted({r[0] for r in rows} | set(inbox_months(self.store)))

    def index(self, framework: str, period: str, level: str = "province", units: str | None = None,
              runs: int = 500) -> object:
        from thuocdo.indices.workflow import run_index

        with self.exclusive():
            return run_index(self.home, framework, period, level, units, runs=runs)

    def targets(self, year: int) -> pa.Table:
        from thuocdo.indices.workflow import run_targets, targets_table

        with self.exclusive():
            return targets_table(run_targets(self.home, year))

    def audit(self, limit: int = 200) -> pa.Table:
        with self.lock:
            return self.store.con.sql(f'SELECT id, "at", key_id, role, action, target, batch_id, received, stored, '
                                      f"duplicates, rejected, client FROM audit_log ORDER BY id DESC LIMIT {int(limit)}"
                                      ).to_arrow_table()

    def report(self, period: str, fmt: str) -> Path:
        """The report of a quarter in a format, written under the home on first request and kept until the
        data change. Only reading the metric tables holds the store; the rendering (PDF: seconds) does not."""
        from thuocdo.reports.build import ReportSettings, build_report
        from thuocdo.reports.cli import report_inputs
        from thuocdo.reports.render import write

        with self._report_lock:
            with self.exclusive():
                stamp = self.store.con.execute("SELECT coalesce(max(committed_at)::VARCHAR, '') FROM batches"
                                               ).fetchall()[0][0]
                folder = self.home / "reports" / period / _slug(stamp)
                existing = sorted(folder.glob(f"*.{fmt}")) if folder.exists() else []
                if existing:
                    return existing[0]
                inputs = report_inputs(self.home, period)
            report = build_report(inputs, self.catalog, ReportSettings())
            with tempfile.TemporaryDirectory(prefix="thuocdo-report-", dir=self.home) as tmp:
                files = write(report, Path(tmp), [fmt])
                folder.mkdir(parents=True, exist_ok=True)
                for path in Path(tmp).rglob("*"):
                    if path.is_file():
                        target = folder / path.relative_to(tmp)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(path, target)
            return folder / files[fmt].relative_to(tmp)


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


def suppress(table: pa.Table) -> pa.Table:
    """Withhold the metric values of rows resting on fewer than MIN_CELL active panelists."""
    if "sample_persons" not in table.column_names:
        return table
    sample = table["sample_persons"]
    hide = pc.fill_null(pc.less(sample, MIN_CELL), False)
    for name in SUPPRESSED_COLUMNS:
        if name in table.column_names:
            i = table.column_names.index(name)
            col = table[name]
            table = table.set_column(i, name, pc.if_else(hide, pa.scalar(None, col.type), col))
    return table.append_column("suppressed", hide)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text) or "empty"

