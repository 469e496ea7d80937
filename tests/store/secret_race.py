"""The worker of test_secret's race: a module of its own, so that each spawned process imports the store's home
and nothing else (importing the test module would load the whole command line and the test fixtures first)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from thuocdo.store.home import _load_or_create_secret


def open_secret(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Open (or create) the key at `path` and put its hex digits, or the exception, on `queue`."""
    try:
        queue.put(_load_or_create_secret(Path(path), create=True).hex())
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        queue.put(repr(exc))
