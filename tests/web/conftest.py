"""Fixtures of the web page tests: the indexed test network with users who have passwords, a
hostile organisation (markup in its name and description), a live server and a browser.

`site` is built once per module (a private copy of the `indexed` network, re-indexed so that
the hostile organisation is searchable); `live` serves it with uvicorn on a free port; `browser`
is Debian's Chromium driven by Playwright (skipped when it is missing, unless
HEALTHMATCH_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.services.passwords import hash_password
from api.services.search_index import build_index
from models.db import make_engine, session_scope
from models.organisation import Organisation, OrgType
from models.settings import Settings
from models.user import User
from tests.api.conftest import (  # noqa: F401
    Indexed,
    copy_network,
    indexed,
    people_and_users,
)
from tests.live_server import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
HOSTILE_NAME = "<script>alert('name')</script> Bed Net Alliance"
HOSTILE_DESCRIPTION = (
    '<img src=x onerror="alert(1)"> Malaria bed nets: we distribute insecticide-treated bed nets '
    "against malaria. </textarea><script>alert('description')</script>"
)
# roles whose user gets PASSWORD (the secretariat user has no password: it cannot sign in)
WITH_PASSWORD = ("admin", "member_a", "member_b")


@dataclass
class Site:
    app: FastAPI
    engine: Engine
    url: str
    settings: Settings
    ids: dict[str, int]  # test network keys, and "hostile"
    people: dict[str, int]
    user_ids: dict[str, int]

    @staticmethod
    def email(role: str) -> str:
        return f"{role}@users.example"


@pytest.fixture(scope="module")
def site(
    indexed: Indexed,  # noqa: F811  (the fixture imported above)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    url, index = copy_network(indexed, folder)
    settings = Settings(
        database_url=url, index_path=index, embedding_model="minilm", jobs_dir=folder / "jobs"
    )
    engine = make_engine(url)
    people, user_ids, _headers = people_and_users(engine, indexed.ids)
    ids = dict(indexed.ids)
    with session_scope(engine) as session:
        hostile = Organisation(
            name=HOSTILE_NAME,
            org_type=OrgType.NGO,
            hq_country="TZ",
            countries=["TZ", "KE"],
            languages=["sw", "en"],
            description=HOSTILE_DESCRIPTION,
            themes=["<b>malaria</b>"],
        )
        session.add(hostile)
        session.flush()
        assert hostile.id is not None
        ids["hostile"] = hostile.id
        for role in WITH_PASSWORD:
            user = session.get(User, user_ids[role])
            assert user is not None
            user.password_hash = hash_password(PASSWORD)
            session.add(user)
    build_index(engine, settings)
    try:
        yield Site(
            create_app(settings, engine=engine), engine, url, settings, ids, people, user_ids
        )
    finally:
        engine.dispose()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    """A fresh browser-like client (no cookies) over the module's site."""
    with TestClient(site.app, base_url="http://testserver") as test_client:
        yield test_client


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def sign_in(client: TestClient, role: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/signin")
    return client.post(
        "/signin",
        data={"email": Site.email(role), "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


# --- a live server and a real browser ----------------------------------------------------------


@pytest.fixture(scope="module")
def live(site: Site) -> Iterator[str]:
    with serve_in_thread(site.app) as base:
        yield base


def _no_browser(reason: str) -> None:
    if os.environ.get("HEALTHMATCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (HEALTHMATCH_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        _no_browser(f"no Chromium at {CHROMIUM}: apt-get install chromium to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()
