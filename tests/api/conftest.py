"""Fixtures of the API and CLI tests: the test network of test_matching, indexed once per module
through `healthmatch index`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.services import users
from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.organisation import Organisation
from models.person import Person, Visibility
from models.settings import Settings, get_settings
from models.user import Role
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


# --- the HTTP API over a copy of the indexed network, with a user and a key per role ----------

ROLES = ("admin", "secretariat", "member_a", "member_b")


@dataclass
class Api:
    """A TestClient over a private copy of the indexed network.

    `member_a` belongs to `malaria_ngo`, `member_b` to `maternal`; `headers[role]` holds each
    role's Authorization header (no header: anonymous). `people` maps a key to a person's id:
    `a_public`, `a_network`, `a_private` (of malaria_ngo) and `b_private` (of maternal). Both
    organisations have a contact e-mail.
    """

    client: TestClient
    engine: Engine
    url: str
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]
    people: dict[str, int]
    user_ids: dict[str, int]

    def as_(self, role: str | None) -> dict[str, str]:
        return {} if role is None else self.headers[role]


def copy_network(indexed: Indexed, folder: Path) -> tuple[str, Path]:
    path = folder / "api.db"
    with sqlite3.connect(indexed.url.removeprefix("sqlite:///")) as source:
        target = sqlite3.connect(path)
        source.backup(target)
        target.close()
    index = folder / "api.index"
    index.write_bytes(indexed.index.read_bytes())
    return f"sqlite:///{path}", index


def people_and_users(
    engine: Engine, ids: dict[str, int]
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, str]]]:
    a, b = ids["malaria_ngo"], ids["maternal"]
    people: dict[str, int] = {}
    user_ids: dict[str, int] = {}
    headers: dict[str, dict[str, str]] = {}
    with session_scope(engine) as session:
        for org_id, email in ((a, "office@malaria-ngo.example"), (b, "hello@maternal.example")):
            org = session.get(Organisation, org_id)
            assert org is not None
            org.contact_email = email
            session.add(org)
        for key, org_id, visibility in (
            ("a_public", a, Visibility.PUBLIC),
            ("a_network", a, Visibility.NETWORK),
            ("a_private", a, Visibility.PRIVATE),
            ("b_private", b, Visibility.PRIVATE),
        ):
            person = Person(
                name=f"Person {key}",
                organisation_id=org_id,
                expertise="malaria vector control",
                visibility=visibility,
                email=f"{key}@people.example",
            )
            session.add(person)
            session.flush()
            assert person.id is not None
            people[key] = person.id
        for role, user_role, org_id in (
            ("admin", Role.ADMIN, None),
            ("secretariat", Role.SECRETARIAT, None),
            ("member_a", Role.MEMBER, a),
            ("member_b", Role.MEMBER, b),
        ):
            user = users.add_user(
                session, email=f"{role}@users.example", role=user_role, organisation_id=org_id
            )
            assert user.id is not None
            user_ids[role] = user.id
            issued = users.create_key(session, email=user.email)
            headers[role] = {"Authorization": f"Bearer {issued.key}"}
    return people, user_ids, headers


@pytest.fixture
def api(indexed: Indexed, tmp_path: Path) -> Iterator[Api]:
    url, index = copy_network(indexed, tmp_path)
    settings = Settings(
        database_url=url, index_path=index, embedding_model="minilm", jobs_dir=tmp_path / "jobs"
    )
    engine = make_engine(url)
    people, user_ids, headers = people_and_users(engine, indexed.ids)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            yield Api(client, engine, url, indexed.ids, headers, people, user_ids)
    finally:
        engine.dispose()
