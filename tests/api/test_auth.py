"""API keys and roles at the edge: who is who, and the stable 401 answers."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.services import users
from models.db import make_engine
from models.settings import Settings
from models.user import ApiKey, hash_api_key
from tests.api.conftest import Api


def test_each_key_acts_as_its_user(api: Api) -> None:
    anonymous = api.client.get("/api/v1/me").json()
    assert anonymous == {
        "authenticated": False,
        "role": None,
        "user_id": None,
        "organisation_id": None,
    }
    member = api.client.get("/api/v1/me", headers=api.as_("member_a")).json()
    assert member["role"] == "member"
    assert member["organisation_id"] == api.ids["malaria_ngo"]
    assert api.client.get("/api/v1/me", headers=api.as_("secretariat")).json()["role"] == (
        "secretariat"
    )


def test_unknown_malformed_and_revoked_keys_get_a_stable_401(api: Api) -> None:
    for header in ("Bearer hm_nothing_like_a_key", "Basic dXNlcjpwYXNz", "Bearer"):
        response = api.client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"] == "invalid, revoked or expired API key"
    with Session(api.engine) as session:
        for key, _user in users.list_keys(session, "member_b@users.example"):
            users.revoke_key(session, key.prefix)
        session.commit()
    response = api.client.get("/api/v1/me", headers=api.as_("member_b"))
    assert response.status_code == 401


def test_keys_are_stored_hashed_and_use_is_recorded(api: Api) -> None:
    clear = api.as_("member_a")["Authorization"].removeprefix("Bearer ")
    api.client.get("/api/v1/me", headers=api.as_("member_a"))
    with Session(api.engine) as session:
        stored = [row.key_hash for row in session.exec(select(ApiKey)).all()]
        used = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(clear))).one()
    assert clear not in stored and hash_api_key(clear) in stored
    assert used.last_used_at is not None


def test_a_locked_database_never_fails_a_signed_in_read(api: Api, tmp_path: Path) -> None:
    """A long import holds SQLite's write lock: recording a key's use is skipped, not awaited."""
    settings = Settings(
        database_url=api.url, sqlite_busy_timeout_ms=100, jobs_dir=tmp_path / "jobs"
    )
    engine = make_engine(settings=settings)
    headers = api.as_("member_b")
    locker = sqlite3.connect(api.url.removeprefix("sqlite:///"))
    try:
        locker.execute("BEGIN IMMEDIATE")  # what an import's transaction holds
        with TestClient(create_app(settings, engine=engine)) as client:
            response = client.get("/api/v1/me", headers=headers)
            assert response.status_code == 200 and response.json()["role"] == "member"
            locker.rollback()
            assert _last_used(api, headers) is None  # skipped while locked
            assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert _last_used(api, headers) is not None  # recorded once the lock was gone
    finally:
        locker.close()
        engine.dispose()


def _last_used(api: Api, headers: dict[str, str]) -> datetime | None:
    clear = headers["Authorization"].removeprefix("Bearer ")
    with Session(api.engine) as session:
        key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(clear))).one()
        return key.last_used_at
