"""API keys and roles at the edge: who is who, and the stable 401 answers."""

from __future__ import annotations

from sqlmodel import Session, select

from api.services import users
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
