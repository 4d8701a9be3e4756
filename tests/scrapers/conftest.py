"""Fixtures for networked importers: a real local HTTP server and fetchers allowed to reach it.

- `local_server`: a started `LocalServer` (see `local_server.py`): set `routes[path] = Route(...)`,
  build URLs with `.url(path)`, its origin is `.origin`, read `.requests` / `.paths()` afterwards.
- `make_fetcher(**overrides)`: a `Fetcher` whose policy (`policy_for`) allows the server's origin
  through the SSRF guard, does not rate-limit, retries with tiny waits, times out after 2 s and
  caches under `tmp_path`; keyword arguments override policy fields, `sleep=`/`clock=` are passed
  to the Fetcher. Fetchers are closed at teardown.
- `fetcher`: `make_fetcher()` with no overrides.
- `cli_env`: the `healthmatch` CLI on a migrated SQLite database, allowed to reach the local
  server (and nothing else private), with polite-crawling pauses off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from models.settings import get_settings
from scrapers.fetch import Fetcher, FetchPolicy
from tests.scrapers.local_server import LocalServer


def policy_for(server: LocalServer, **overrides: Any) -> FetchPolicy:
    """A quick policy for tests against `server` (see the module docstring), no cache unless
    `cache_dir` is given."""
    base = FetchPolicy(
        timeout=2.0,
        total_timeout=10.0,
        retries=2,
        backoff=0.001,
        min_interval=0.0,
        allowed_origins=frozenset({server.origin}),
    )
    return replace(base, **overrides)


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def make_fetcher(local_server: LocalServer, tmp_path: Path) -> Iterator[Callable[..., Fetcher]]:
    fetchers: list[Fetcher] = []

    def make(*, sleep: Any = None, clock: Any = None, **overrides: Any) -> Fetcher:
        overrides.setdefault("cache_dir", tmp_path / "http-cache")
        policy = policy_for(local_server, **overrides)
        extra = {key: value for key, value in {"sleep": sleep, "clock": clock}.items() if value}
        fetcher = Fetcher(policy, **extra)
        fetchers.append(fetcher)
        return fetcher

    yield make
    for fetcher in fetchers:
        fetcher.close()


@pytest.fixture
def fetcher(make_fetcher: Callable[..., Fetcher]) -> Fetcher:
    return make_fetcher()


@pytest.fixture
def cli_env(
    engine: Engine,
    sqlite_url: str,
    local_server: LocalServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> LocalServer:
    """The CLI on a migrated database, allowed to reach the local server and nothing else
    private; polite-crawling pauses off so that the tests run fast."""
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HEALTHMATCH_FETCH_ALLOWED_ORIGINS", local_server.origin)
    monkeypatch.setenv("HEALTHMATCH_FETCH_MIN_INTERVAL_S", "0")
    monkeypatch.setenv("HEALTHMATCH_FETCH_TIMEOUT_S", "1")
    monkeypatch.setenv("HEALTHMATCH_FETCH_CACHE_DIR", str(tmp_path / "http-cache"))
    get_settings.cache_clear()
    return local_server
