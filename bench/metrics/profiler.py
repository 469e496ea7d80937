"""Profiling thuocdo's ingestion from the outside: its steps and the store's SQL statements, timed."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from rich.console import Console


class Profiler:
    """Wraps thuocdo's ingestion steps and every SQL statement of the store's connection with timers."""

    STEPS: ClassVar[dict[str, list[str]]] = {
        "thuocdo.ingest.usage": ["read_input", "file_sha256", "stage_usage", "_quarantine_bad_rows", "_store_good_rows",
                                 "stage_person_days", "commit_batch"],
        "thuocdo.ingest.person_days": ["stage_partitions"],
        "thuocdo.workflows.ingest": ["bring_up_to_date", "ingest_weights"],
        "thuocdo.rollups.rebuild": ["stage_partitions"],
    }

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = defaultdict(list)
        self.sql: dict[str, list[float]] = defaultdict(list)
        self._replaced: list[tuple[Any, str, Any]] = []  # (owner, name, original)

    def install(self) -> None:
        """Replace the steps in their modules and the store's connection with timed ones."""
        import importlib

        from thuocdo.store import home as home_mod

        for module_name, names in self.STEPS.items():
            module = importlib.import_module(module_name)
            for name in names:
                if hasattr(module, name):  # thuocdo's internals move; time what is there
                    label = f"{module_name.rsplit('.', 1)[-1]}.{name}"
                    self._replaced.append((module, name, getattr(module, name)))
                    setattr(module, name, self._timed(label, getattr(module, name)))
        original_init = home_mod.Store.__init__
        self._replaced.append((home_mod.Store, "__init__", original_init))
        profiler = self

        def init(store: Any, *args: Any, **kwargs: Any) -> None:
            original_init(store, *args, **kwargs)
            store.con = _TimedConnection(store.con, profiler.sql)

        home_mod.Store.__init__ = init

    def uninstall(self) -> None:
        """Put back what :meth:`install` replaced."""
        for owner, name, original in reversed(self._replaced):
            setattr(owner, name, original)
        self._replaced.clear()

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.steps[label].append(time.perf_counter() - t0)

        return wrapper

    def report(self) -> dict:
        """Steps and (the 25 slowest) statements as [label, calls, seconds], slowest first."""

        def summary(d: dict[str, list[float]]) -> list[list]:
            return sorted(([k, len(v), sum(v)] for k, v in d.items()), key=lambda r: -r[2])

        return {"steps": summary(self.steps), "sql": summary(self.sql)[:25]}


def _statement_label(sql: object) -> str:
    """A statement's first words with literals (paths, dates, ids) blanked, so repeated statements group."""
    text = re.sub(r"'[^']*'", "'…'", " ".join(str(sql).split()))
    return text[:110]


class _TimedConnection:
    """A DuckDB connection whose ``execute`` adds its duration to ``sink`` under the statement's label."""

    def __init__(self, con: Any, sink: dict[str, list[float]]) -> None:
        self._con = con
        self._sink = sink

    def execute(self, sql: object, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self._sink[_statement_label(sql)].append(time.perf_counter() - t0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def print_profile(console: Console, profile: dict, total: float) -> None:
    """Two tables: the steps, then the slowest statements, each as a share of ``total`` seconds."""
    from rich.table import Table

    t = Table(title="thuocdo ingestion, by step (inclusive; nested steps overlap)")
    for c in ("step", "calls", "time", "share of ingest"):
        t.add_column(c, justify="left" if c == "step" else "right")
    for name, calls, secs in profile["steps"]:
        t.add_row(name, str(calls), f"{secs:.2f} s", f"{secs / total:.0%}")
    console.print(t)
    t = Table(title="thuocdo ingestion, slowest SQL statements (summed over files)")
    for c in ("statement", "calls", "time", "share of ingest"):
        t.add_column(c, justify="left" if c == "statement" else "right")
    for name, calls, secs in profile["sql"]:
        t.add_row(name, str(calls), f"{secs:.2f} s", f"{secs / total:.0%}")
    console.print(t)
