"""The README documents every CLI command and gives exactly the two set-up commands."""

from __future__ import annotations

import re
from typing import Any

import typer

from api.cli import app
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def command_paths(group: Any, prefix: str = "healthmatch") -> list[str]:
    """Leaf command paths of a click-style group (Typer may ship its own click)."""
    paths: list[str] = []
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            paths += command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_every_cli_command_is_in_the_readme() -> None:
    paths = command_paths(typer.main.get_command(app))
    assert "healthmatch import bench" in paths
    missing = [path for path in paths if f"`{path}" not in README]
    assert missing == []


def test_the_two_commands_are_make_targets() -> None:
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", README, re.S)
    assert block is not None
    targets = [line.split()[1] for line in block.group(1).strip().splitlines()]
    assert targets == ["run", "test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert all(re.search(rf"^{t}:", makefile, re.M) for t in targets)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
