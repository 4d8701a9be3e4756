"""Fixtures of the API and CLI tests: the test network of test_matching, indexed once per module
through `healthmatch index`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from models.db import make_engine
from models.migrate import upgrade
from models.settings import get_settings
from tests.api.test_matching import build_network

runner = CliRunner()


@dataclass
class Indexed:
    url: str
    index: Path
    ids: dict[str, int]
    first_run: str  # what the first `healthmatch index` printed


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    """The test network, indexed once through the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{folder / 'network.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        ids = build_network(engine)
    finally:
        engine.dispose()
    index = folder / "network.index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEALTHMATCH_DATABASE_URL", url)
        patch.setenv("HEALTHMATCH_INDEX_PATH", str(index))
        get_settings.cache_clear()
        result = runner.invoke(app, ["index"])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    yield Indexed(url, index, ids, result.stdout)


@pytest.fixture
def env(indexed: Indexed, monkeypatch: pytest.MonkeyPatch) -> Indexed:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", indexed.url)
    monkeypatch.setenv("HEALTHMATCH_INDEX_PATH", str(indexed.index))
    monkeypatch.delenv("HEALTHMATCH_EMBEDDING_MODEL", raising=False)
    get_settings.cache_clear()
    return indexed
