"""Opening a store, and bringing it up to date before anything reads it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from thuocdo.ingest.inbox import flush_inbox
from thuocdo.rollups.rebuild import rebuild_dirty
from thuocdo.rollups.served import lakehouse_usage
from thuocdo.store import Store, StoreError, resolve_home
from thuocdo.workflows.cluster import lakehouse, load_config


@contextmanager
def open_store(home: str | Path | None, *, read_only: bool = False, sweep: bool = True) -> Iterator[Store]:
    """Open the store; `sweep` removes what a killed writer left (writers do it, readers need not)."""
    store = Store(resolve_home(home), read_only=read_only, sweep=sweep)
    try:
        yield store
    finally:
        store.close()


def bring_up_to_date(store: Store, on_month: Callable[[str, str], None] | None = None) -> int:
    """Merge the records waiting in the inbox into the lake, then rebuild the rollups of every month whose
    records or weights changed, then attach the rollup of the home's cluster lakehouse (:func:`attach_lakehouse`);
    return how many months were rebuilt. Run before any query reads rollups."""
    flush_inbox(store)
    rebuilt = rebuild_dirty(store, on_month)
    attach_lakehouse(store)
    return rebuilt


def attach_lakehouse(store: Store) -> bool:
    """When the home has a cluster (``thuocdo cluster up``), let this store's queries read the usage rollup of the
    sources its lakehouse holds beside the store's own (:meth:`thuocdo.store.Store.attach_usage`): the sources
    Spark ingested are then measured, listed and estimated by the default engine like any other. Whether rows
    were attached."""
    config = load_config(store.home)
    if config is None or config.catalog is None or config.object_store is None:
        store.detach_usage()  # a long-lived connection forgets a cluster that is gone
        return False
    try:
        rows = lakehouse_usage(store, lakehouse(store.home))
    except Exception as exc:  # the catalog database or the object store does not answer
        raise StoreError(f"Không đọc được lakehouse của cụm ({type(exc).__name__}: {str(exc)[:200]}): hãy xem "
                         "thuocdo cluster status và chạy lại thuocdo cluster up, hoặc thuocdo cluster down để chỉ "
                         "dùng kho nhúng.") from exc
    if rows is None or not rows.num_rows:
        store.detach_usage()
        return False
    store.attach_usage(rows)
    return True
