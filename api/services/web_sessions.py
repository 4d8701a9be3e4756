"""Sessions of the web pages, stored server-side in the `web_session` table.

The browser holds a random token (cookie `hm_session`); the table holds its SHA-256, the user,
the session's CSRF token and its expiry. The principal of a session is built exactly as the
principal of an API key (`api.services.auth.Principal`, same roles): an inactive user or an
expired session is no session at all (and its row is deleted).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from api.services.auth import ANONYMOUS, Principal
from api.services.passwords import DUMMY_HASH, verify_password
from models.common import utcnow
from models.user import Role, User
from models.web_session import WebSession

LIFETIME = timedelta(days=14)
SEEN_RESOLUTION = timedelta(minutes=5)  # last_seen_at is written at most this often


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WebUser:
    """Who a request's session belongs to."""

    principal: Principal
    email: str
    csrf_token: str
    session_id: int | None

    @property
    def signed_in(self) -> bool:
        return self.principal.is_authenticated


ANONYMOUS_USER = WebUser(ANONYMOUS, "", "", None)


def authenticate_password(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way)."""
    user = session.exec(select(User).where(col(User.email) == email.strip().lower())).first()
    if user is None or not user.password_hash:
        verify_password(password, DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or not user.is_active:
        return None
    return user


def open_session(session: Session, user: User) -> tuple[str, WebSession]:
    """A new session for `user`: (clear token for the cookie, stored row)."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        token_hash=hash_token(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + LIFETIME,
        last_seen_at=now,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return token, row


def resolve(session: Session, token: str | None) -> WebUser:
    """The user of a session cookie; anonymous for none, an unknown, expired or inactive one."""
    if not token or len(token) > 200:
        return ANONYMOUS_USER
    found = session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(col(WebSession.token_hash) == hash_token(token))
    ).first()
    if found is None:
        return ANONYMOUS_USER
    row, user = found
    now = utcnow()
    if row.expires_at <= now or not user.is_active:
        session.delete(row)
        session.commit()
        return ANONYMOUS_USER
    if now - row.last_seen_at > SEEN_RESOLUTION:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    principal = Principal(
        role=Role(user.role), user_id=user.id, organisation_id=user.organisation_id
    )
    return WebUser(principal, user.email, row.csrf_token, row.id)


def close_session(session: Session, token: str | None) -> None:
    """Sign out: the session's row is deleted (the token is worthless from now on)."""
    if not token:
        return
    session.execute(delete(WebSession).where(col(WebSession.token_hash) == hash_token(token)))
    session.commit()


def close_user_sessions(session: Session, user_id: int) -> int:
    """Every session of a user (after a password change)."""
    result = session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired(session: Session) -> None:
    session.execute(delete(WebSession).where(col(WebSession.expires_at) <= utcnow()))
    session.commit()
