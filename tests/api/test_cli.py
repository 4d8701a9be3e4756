"""The CLI edge: commands work on a real database and bad input gives one clear line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from models.migrate import head_revision
from tests.conftest import FIXTURES

runner = CliRunner()


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> str:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    return sqlite_url


def test_db_upgrade_then_import_twice(db_env: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f"is at revision {head_revision()}")
    first = runner.invoke(app, ["import", "bench", str(FIXTURES / "bench-mini")])
    assert first.exit_code == 0, first.output
    assert "organisations: 11 new" in first.stdout
    again = runner.invoke(app, ["import", "bench", str(FIXTURES / "bench-mini")])
    assert "organisations: 0 new, 0 updated, 11 unchanged" in again.stdout
    assert (
        runner.invoke(app, ["db", "current"]).stdout.strip()
        == f"current: {head_revision()}; newest: {head_revision()}"
    )


def test_import_before_upgrade_says_what_to_do(db_env: str) -> None:
    result = runner.invoke(app, ["import", "bench", str(FIXTURES / "bench-mini")])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("run `healthmatch db upgrade` first")


def test_malformed_line_is_one_error_line(db_env: str, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(FIXTURES / "bench-mini", folder)
    with (folder / "projects.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{not json}\n")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["import", "bench", str(folder)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: {folder / 'projects.jsonl'}:5: invalid JSON "
        "(Expecting property name enclosed in double quotes at column 2)"
    ]


def test_demo_refuses_to_replace_a_database_that_is_not_a_demo(tmp_path: Path) -> None:
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"not a database at all")
    result = runner.invoke(app, ["demo", "--db", str(precious), "--no-serve"])
    assert result.exit_code == 1
    assert "is not a healthmatch demo database" in result.stderr
    assert precious.read_bytes() == b"not a database at all"


def test_demo_builds_and_rebuilds_its_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    for _ in range(2):
        result = runner.invoke(app, ["demo", "--db", str(db), "--no-serve"])
        assert result.exit_code == 0, result.output
        assert "organisations: 400 new" in result.stdout
        assert "eu-portal: calls: 64 new" in result.stdout
        # the shipped demo vectors cover every passage: building the demo embeds nothing
        assert "0 passages embedded, 1,964 from the cache" in result.stdout
