"""Opening a store, and bringing it up to date before anything reads it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from thuocdo.ingest.inbox import flush_inbox
from thuocdo.rollups.rebuild import rebuild_dirty
from thuocdo.store import Store, resolve_home


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
    records or weights changed; return how many months were rebuilt. Run before any query reads rollups."""
    flush_inbox(store)
    return rebuild_dirty(store, on_month)
