"""`healthmatch users` and `healthmatch keys` against a real, migrated SQLite file."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from models.db import session_scope
from models.organisation import Organisation
from models.settings import Settings, get_settings
from models.user import ApiKey, User

runner = CliRunner()


@pytest.fixture
def org_id(engine: Engine, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()  # the engine fixture read the settings before this test set them
    with session_scope(engine) as session:
        org = Organisation(name="Malaria NGO", hq_country="KE")
        session.add(org)
        session.flush()
        assert org.id is not None
        return org.id


def test_a_member_gets_a_key_that_works_once_and_until_revoked(
    org_id: int, engine: Engine, sqlite_url: str
) -> None:
    added = runner.invoke(app, ["users", "add", "Lead@NGO.example", "--org", str(org_id)])
    assert added.exit_code == 0, added.output
    assert f"lead@ngo.example (member, organisation {org_id})" in added.stdout
    created = runner.invoke(app, ["keys", "create", "lead@ngo.example", "--name", "laptop"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("hm_") and len(key) > 40
    with Session(engine) as session:
        stored = session.exec(select(ApiKey)).one()
    assert key not in stored.key_hash and stored.name == "laptop"

    client = TestClient(create_app(Settings(database_url=sqlite_url), engine=engine))
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["role"] == "member" and me["organisation_id"] == org_id

    listed = runner.invoke(app, ["keys", "list"])
    assert stored.prefix in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    revoked = runner.invoke(app, ["keys", "revoke", stored.prefix])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "m@x.example"], "a member is bound to one organisation"),
        (["users", "add", "m@x.example", "--org", "999"], "organisation 999 not found"),
        (["users", "add", "not-an-email", "--role", "admin"], "not an e-mail address"),
        (["keys", "create", "nobody@x.example"], "user nobody@x.example not found"),
        (["keys", "revoke", "deadbeef"], "API key deadbeef not found"),
    ],
)
def test_bad_input_is_one_clear_line(org_id: int, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert f"error: {message}" in result.stderr


def test_a_second_user_with_the_same_email_is_refused(org_id: int, engine: Engine) -> None:
    assert (
        runner.invoke(app, ["users", "add", "s@x.example", "--role", "secretariat"]).exit_code == 0
    )
    again = runner.invoke(app, ["users", "add", "S@X.example", "--role", "admin"])
    assert again.exit_code == 1 and "exists already" in again.stderr
    with Session(engine) as session:
        assert len(session.exec(select(User)).all()) == 1
