"""Column helpers shared by the entity modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_list() -> Any:
    """A list stored as JSON (same column type on SQLite and PostgreSQL)."""
    return Field(default_factory=list, sa_type=JSON)


def long_text() -> Any:
    return Field(default="", sa_type=Text)


def short_code(default: str | None = None, *, index: bool = False) -> Any:
    """A short code column (enum values, ISO codes) stored as VARCHAR(32), never a native enum."""
    return Field(default=default, sa_type=String(32), index=index)


def timestamp() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
