"""The command line speaks Vietnamese down to its `--help` option."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from thuocdo.cli import app

VIETNAMESE = "Hiện hướng dẫn này rồi thoát."
ENGLISH = "Show this message and exit."


def _paths() -> list[list[str]]:
    """Every group and command of the command line, as the words that name it."""
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_group(app), [])
    return found


PATHS = _paths()


def test_every_command_is_reached() -> None:
    assert ["ingest", "usage"] in PATHS and ["keys"] in PATHS and [] in PATHS
    assert len(PATHS) >= 20


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "thuocdo" for p in PATHS])
def test_help_option_is_in_vietnamese(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert VIETNAMESE in result.output
    assert ENGLISH not in result.output


def test_the_command_line_says_it_too() -> None:
    import subprocess
    import sys

    for args in (["--help"], ["ingest", "usage", "--help"]):
        run = subprocess.run([sys.executable, "-c", "from thuocdo.cli import main; main()", *args],
                             capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "",
                                                                  "PYTHONPATH": ":".join(sys.path)}, check=False)
        assert run.returncode == 0, run.stderr
        assert VIETNAMESE in run.stdout and ENGLISH not in run.stdout
