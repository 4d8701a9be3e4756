"""Users, their roles, and API keys (stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from models.common import optional_timestamp, short_code, timestamp


class Role(StrEnum):
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    MEMBER = "member"  # bound to one organisation


class UserBase(SQLModel):
    email: str = Field(min_length=3, max_length=320, unique=True)
    name: str = ""
    role: Role = short_code(Role.MEMBER)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        CheckConstraint(
            "role <> 'member' OR organisation_id IS NOT NULL", name="ck_member_has_organisation"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp()
    # scrypt hash for the web sign-in (api.services.passwords); empty: cannot sign in
    password_hash: str = Field(default="", max_length=300)


class UserPublic(UserBase):
    id: int


KEY_PREFIX_CHARS = 8


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    name: str = ""
    prefix: str = Field(max_length=16, unique=True)  # shown to users to tell their keys apart
    key_hash: str = Field(max_length=64)  # sha256 hex of the whole key
    created_at: datetime = timestamp()
    last_used_at: datetime | None = optional_timestamp()
    revoked_at: datetime | None = optional_timestamp()


def hash_api_key(key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough (no password stretching)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """A fresh key as (clear key shown once, prefix, hash to store)."""
    prefix = secrets.token_hex(KEY_PREFIX_CHARS // 2)
    key = f"hm_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)
