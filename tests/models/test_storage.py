"""Storage details that the rest of the product relies on, checked on a real SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.db import make_engine
from models.organisation import Organisation
from models.reference import income_flags
from models.settings import Settings
from models.user import ApiKey, Role, User, hash_api_key, new_api_key


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, Settings(database_url=sqlite_url, sqlite_busy_timeout_ms=1234))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 1234
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()


def test_database_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    assert Settings().database_url == sqlite_url


@pytest.mark.parametrize(
    ("hq", "countries", "expected"),
    [
        ("KE", [], ("LM", True, True)),
        ("DE", ["MW", "DE"], ("H", False, True)),
        ("de", ["FR"], ("H", False, False)),
        (None, [], (None, False, False)),
        ("ZZ", ["ZZ"], (None, False, False)),
    ],
)
def test_income_flags(hq: str | None, countries: list[str], expected: tuple[object, ...]) -> None:
    assert income_flags(hq, countries) == expected


def test_api_keys_are_stored_hashed(engine: Engine) -> None:
    key, prefix, digest = new_api_key()
    with Session(engine) as session:
        org = Organisation(name="Org")
        session.add(org)
        session.flush()
        user = User(email="m@example.org", role=Role.MEMBER, organisation_id=org.id)
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(ApiKey(user_id=user.id, prefix=prefix, key_hash=digest))
        session.commit()
        stored = session.exec(select(ApiKey)).one()
    assert key.startswith(f"hm_{prefix}_") and stored.key_hash == hash_api_key(key)
    assert key not in stored.key_hash


def test_a_member_must_belong_to_an_organisation(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(User(email="x@example.org", role=Role.MEMBER))
        with pytest.raises(IntegrityError, match="ck_member_has_organisation"):
            session.commit()
