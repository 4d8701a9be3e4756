"""Who is asking, and what they may do: API keys, roles and object-level permissions.

Every service function that reads private fields or changes data takes a `Principal` and asks
the functions below; routes only pass the principal on. Roles:

- admin and secretariat ("staff"): read and change everything;
- member: bound to one organisation; changes only that organisation, its people and the projects
  it takes part in; sees private fields of that organisation only;
- anonymous: public profile fields only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from api.services.errors import Forbidden, NotAuthenticated
from models.common import utcnow
from models.person import Person, Visibility
from models.user import ApiKey, Role, User, hash_api_key

logger = logging.getLogger(__name__)
# last_used_at is written at most this often per key, so reads do not each cost a write
LAST_USED_RESOLUTION = timedelta(minutes=5)
BAD_KEY = "invalid, revoked or expired API key"
SIGN_IN = "this needs an API key (Authorization: Bearer ...)"


@dataclass(frozen=True)
class Principal:
    role: Role | None = None  # None: anonymous
    user_id: int | None = None
    organisation_id: int | None = None  # members only

    @property
    def is_authenticated(self) -> bool:
        return self.role is not None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.SECRETARIAT)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def belongs_to(self, organisation_id: int | None) -> bool:
        return (
            self.role is Role.MEMBER
            and organisation_id is not None
            and self.organisation_id == organisation_id
        )


ANONYMOUS = Principal()


@dataclass(frozen=True)
class KeyCheck:
    principal: Principal
    key_id: int
    use_due: bool  # last_used_at is older than LAST_USED_RESOLUTION: record this use


def authenticate(session: Session, key: str) -> KeyCheck:
    """The principal of an API key; `NotAuthenticated` when it is unknown, revoked or inactive.

    Reads only: recording the use (`record_key_use`) is left to the caller, after the answer, so
    that a long import holding SQLite's write lock never delays a read."""
    if not key.startswith("hm_") or len(key) > 200:
        raise NotAuthenticated(BAD_KEY)
    row = session.exec(
        select(ApiKey, User)
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(ApiKey.key_hash) == hash_api_key(key))
    ).first()
    if row is None:
        raise NotAuthenticated(BAD_KEY)
    api_key, user = row
    if api_key.revoked_at is not None or not user.is_active or api_key.id is None:
        raise NotAuthenticated(BAD_KEY)
    last = api_key.last_used_at
    due = last is None or utcnow() - last > LAST_USED_RESOLUTION
    principal = Principal(
        role=Role(user.role), user_id=user.id, organisation_id=user.organisation_id
    )
    return KeyCheck(principal, api_key.id, due)


def record_key_use(engine: Engine, key_id: int) -> None:
    """Best effort: a busy or unavailable database skips this record, never the request."""
    try:
        with Session(engine) as session:
            api_key = session.get(ApiKey, key_id)
            if api_key is not None:
                api_key.last_used_at = utcnow()
                session.add(api_key)
                session.commit()
    except OperationalError as exc:
        logger.info("API key use not recorded (database busy): %s", exc)


# --- checks ---------------------------------------------------------------------------------


def require_signed_in(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated(SIGN_IN)


def require_staff(principal: Principal) -> None:
    require_signed_in(principal)
    if not principal.is_staff:
        raise Forbidden("only the secretariat or an admin may do this")


def require_admin(principal: Principal) -> None:
    require_signed_in(principal)
    if not principal.is_admin:
        raise Forbidden("only an admin may do this")


def can_manage_organisation(principal: Principal, organisation_id: int | None) -> bool:
    """Change its profile, people and projects, and read its private fields."""
    return principal.is_staff or principal.belongs_to(organisation_id)


def require_organisation(principal: Principal, organisation_id: int | None) -> None:
    require_signed_in(principal)
    if not can_manage_organisation(principal, organisation_id):
        raise Forbidden("members may change only their own organisation and its data")


def can_see_person(principal: Principal, person: Person) -> bool:
    if person.visibility == Visibility.PUBLIC:
        return True
    if person.visibility == Visibility.NETWORK:
        return principal.is_authenticated
    return can_manage_organisation(principal, person.organisation_id)


def visible_visibilities(principal: Principal) -> list[Visibility]:
    """The visibilities a principal sees for people of organisations it does not manage."""
    if principal.is_staff:
        return list(Visibility)
    if principal.is_authenticated:
        return [Visibility.PUBLIC, Visibility.NETWORK]
    return [Visibility.PUBLIC]
