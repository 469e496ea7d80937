"""Opening a store, and bringing it up to date before anything reads it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.ingest.inbox import flush_inbox
from thuocdo.rollups.rebuild import rebuild_dirty
from thuocdo.rollups.served import lakehouse_usage
from thuocdo.store import Store, StoreError, resolve_home
from thuocdo.store.sources import person_days_here
from thuocdo.workflows.cluster import home_lakehouse


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
    """When the home has a lakehouse (its cluster's, ``thuocdo cluster up``, or its local one, ``thuocdo migrate``),
    let this store's queries read the usage rollup of the sources it holds beside the store's own
    (:meth:`thuocdo.store.Store.attach_usage`): those sources are then measured, listed and estimated by the default
    engine like any other. A source whose person-days the store holds is read from the store only: the store is
    where a source is until a migration removes it from there, in one transaction. Whether rows were attached."""
    lake = home_lakehouse(store.home)
    if lake is None:
        store.detach_usage()  # a long-lived connection forgets a cluster that is gone
        return False
    try:
        rows = lakehouse_usage(store, lake)
    except Exception as exc:  # the catalog database or the object store does not answer
        if lake.local_folder:
            raise StoreError(f"Không đọc được lakehouse cục bộ {lake.local_folder} ({type(exc).__name__}: "
                             f"{str(exc)[:200]}).") from exc
        raise StoreError(f"Không đọc được lakehouse của cụm ({type(exc).__name__}: {str(exc)[:200]}): hãy xem "
                         "thuocdo cluster status và chạy lại thuocdo cluster up, hoặc thuocdo cluster down để chỉ "
                         "dùng kho nhúng.") from exc
    if rows is not None and rows.num_rows:
        here = [s for s in set(rows["source"].to_pylist()) if person_days_here(store, s)]
        if here:
            rows = rows.filter(pc.invert(pc.is_in(rows["source"], pa.array(here, pa.string()))))
    if rows is None or not rows.num_rows:
        store.detach_usage()
        return False
    store.attach_usage(rows)
    return True
