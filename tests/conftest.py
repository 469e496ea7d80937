"""Shared fixtures: a fresh store home per test and a CLI runner that reads like the command line."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from thuocdo.catalog.frameworks import load_framework
from thuocdo.cli import app
from thuocdo.cli import common as cli_console
from thuocdo.workflows import ingest as ingest_workflow

# The command line's consoles measure their width at each command, from the COLUMNS each runner gives: a console
# made while COLUMNS is set keeps that width for good, and pytest-xdist's workers start with COLUMNS=80.
for _console in (cli_console.out, cli_console.err):
    _console._width = None


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str | os.PathLike[str]) -> CliResult:
        result = self.runner.invoke(app, ["--home", str(self.home), *[str(a) for a in args]],
                                    catch_exceptions=False, env={"COLUMNS": "200"})
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def metrics(self, period: str, *extra: str) -> list[dict[str, object]]:
        result = self("metrics", "--period", period, "--format", "json", *extra)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli(home)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def ingest_province_scores(home: Path, folder: Path, framework: str, period: str, scores: dict[str, float],
                           extra: Sequence[str] = ()) -> None:
    """Every provincial leaf indicator of `framework` at each entity's score in `period`, and the `extra` lines
    (``entity,indicator,period,value``), ingested as indicator values of the source ``tinh``."""
    leaves = [n.indicator for n in load_framework(framework).level("province").leaves if n.indicator]
    lines = ["entity,indicator,period,value"]
    for entity, value in scores.items():
        lines += [f"{entity},{indicator},{period},{value}" for indicator in leaves]
    lines += list(extra)
    values = write(folder / "v.csv", "\n".join(lines) + "\n")
    assert not ingest_workflow.ingest(home, "indicators", [values], "tinh").errors


def by_key(rows: list[dict[str, object]], *keys: str) -> dict[tuple[object, ...], dict[str, object]]:
    return {tuple(r[k] for k in keys): r for r in rows}


def table_rows(table: pa.Table) -> list[dict[str, object]]:
    return table.to_pylist()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite the golden files in tests/snapshots.")


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare text with tests/snapshots/NAME (rewritten with --update-golden)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = Path(__file__).parent / "snapshots" / name
        if update or not path.exists():
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{name} changed; review and rerun with --update-golden"

    return check


def _module_weight(item: pytest.Item) -> int:
    """How early a test's module runs: the lakehouse cluster's first, then Spark's, then the others."""
    if item.get_closest_marker("cluster"):
        return 0
    return 1 if item.get_closest_marker("spark") else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heaviest modules first, each module's tests kept in their order: on two workers (``pytest -n 2``, the
    README's ``make test``), the long cluster scenario then starts at once and the rest of the suite runs beside it."""
    weights: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        weights[module] = min(weights.get(module, 2), _module_weight(item))
    items.sort(key=lambda item: weights[item.nodeid.split("::")[0]])
