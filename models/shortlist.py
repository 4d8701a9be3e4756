"""Shortlists: the candidates a consortium lead keeps for a call, with notes, in order."""

from __future__ import annotations

from datetime import datetime

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


class ShortlistUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    call_id: int | None = None
    notes: str | None = None


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
    pass


class ShortlistEntryUpdate(SQLModel):
    note: str | None = Field(default=None, max_length=2000)
    position: int | None = Field(default=None, ge=0)


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
