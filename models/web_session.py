"""Sessions of the web pages: the cookie holds a random token, the table only its SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.common import timestamp


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the cookie's token
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)  # carried by every form of this session
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp()
    last_seen_at: datetime = timestamp()
