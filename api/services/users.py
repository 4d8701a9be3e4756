"""Users and their API keys (created from the CLI: `healthmatch users add`, `keys create`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from api.services.errors import Conflict, InvalidInput, NotFound
from models.common import utcnow
from models.organisation import Organisation
from models.user import ApiKey, Role, User, new_api_key


def _normalise(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise InvalidInput(f"not an e-mail address: '{email}'")
    return email


def add_user(
    session: Session,
    *,
    email: str,
    role: Role,
    organisation_id: int | None = None,
    name: str = "",
) -> User:
    email = _normalise(email)
    if role is Role.MEMBER and organisation_id is None:
        raise InvalidInput("a member is bound to one organisation: give its id (--org)")
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise NotFound("organisation", organisation_id)
    if session.exec(select(User).where(col(User.email) == email)).first() is not None:
        raise Conflict(f"a user with e-mail {email} exists already")
    user = User(email=email, role=role, organisation_id=organisation_id, name=name)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, email: str) -> User:
    user = session.exec(select(User).where(col(User.email) == _normalise(email))).first()
    if user is None:
        raise NotFound("user", email)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))).all())


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    prefix: str
    user_email: str


def create_key(session: Session, *, email: str, name: str = "") -> IssuedKey:
    user = get_user(session, email)
    if not user.is_active:
        raise InvalidInput(f"user {user.email} is deactivated")
    assert user.id is not None
    key, prefix, key_hash = new_api_key()
    session.add(ApiKey(user_id=user.id, name=name, prefix=prefix, key_hash=key_hash))
    session.flush()
    return IssuedKey(key, prefix, user.email)


def list_keys(session: Session, email: str | None = None) -> list[tuple[ApiKey, User]]:
    query = select(ApiKey, User).join(User, col(User.id) == col(ApiKey.user_id))
    if email is not None:
        query = query.where(col(User.email) == _normalise(email))
    return [(k, u) for k, u in session.exec(query.order_by(col(ApiKey.id))).all()]


def revoke_key(session: Session, prefix: str) -> ApiKey:
    key = session.exec(select(ApiKey).where(col(ApiKey.prefix) == prefix.strip())).first()
    if key is None:
        raise NotFound("API key", prefix)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
    return key
