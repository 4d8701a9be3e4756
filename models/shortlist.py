"""Shortlists: the candidates a consortium lead keeps for a call, with notes, in order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import long_text, timestamp


class ShortlistBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    call_id: int | None = Field(
        default=None, foreign_key="call.id", index=True, ondelete="SET NULL"
    )
    notes: str = long_text()


class ShortlistCreate(ShortlistBase):
    pass


def _not_null(value: object) -> object:
    """Omit a field to leave it unchanged; an explicit null is refused for non-nullable fields."""
    if value is None:
        raise ValueError("may be omitted but not null")
    return value


class ShortlistUpdate(SQLModel):
    """Only the fields sent change; `call_id: null` detaches the list from its call."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    call_id: int | None = None
    notes: str | None = None

    reject_null = field_validator("name", "notes", mode="before")(_not_null)


class Shortlist(ShortlistBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class ShortlistEntryBase(SQLModel):
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    note: str = Field(default="", max_length=2000)
    position: int = Field(default=0, ge=0)  # order on the list; ties broken by id


class ShortlistEntryCreate(ShortlistEntryBase):
    """Without `position`, the entry goes to the end of the list."""


class ShortlistEntryUpdate(SQLModel):
    """Only the fields sent change."""

    note: str | None = Field(default=None, max_length=2000)
    position: int | None = Field(default=None, ge=0)

    reject_null = field_validator("note", "position", mode="before")(_not_null)


class ShortlistEntry(ShortlistEntryBase, table=True):
    __tablename__ = "shortlist_entry"
    __table_args__ = (
        UniqueConstraint("shortlist_id", "organisation_id", name="uq_shortlist_entry_org"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shortlist_id: int = Field(foreign_key="shortlist.id", index=True, ondelete="CASCADE")
    added_at: datetime = timestamp()


class ShortlistEntryPublic(ShortlistEntryBase):
    id: int
    organisation_name: str
    added_at: datetime


class ShortlistPublic(ShortlistBase):
    id: int
    owner_id: int
    created_at: datetime
    updated_at: datetime
    entries: list[ShortlistEntryPublic] = []


class ShortlistsPublic(SQLModel):
    data: list[ShortlistPublic]
    count: int


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
