"""Docs cannot drift: every command and option of the CLI appears in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main

from thuocdo.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: typer.Typer, prefix: str = "") -> list[tuple[str, list[str]]]:
    click_group = typer.main.get_group(group)
    found = []

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        subcommands = getattr(cmd, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            options = [o for p in cmd.params for o in p.opts if o.startswith("--")]
            found.append((path, options))

    walk(click_group, prefix)
    return found


def test_every_command_and_option_is_in_the_readme() -> None:
    commands = _commands(app)
    assert len(commands) >= 8
    for path, options in commands:
        assert path in README, f"command `{path}` is not documented in README.md"
        for option in options:
            assert option in README, f"{path}: {option} is not documented in README.md"
