"""Column helpers shared by the entity modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
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


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend: SQLite keeps no offset, so values read back
    from it are marked UTC (everything healthmatch writes is UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def timestamp() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


def optional_timestamp() -> Any:
    return Field(default=None, sa_type=UTCDateTime)
