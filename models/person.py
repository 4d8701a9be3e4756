"""People: expert profiles, usually affiliated with an organisation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.common import json_list, long_text, short_code, timestamp


class Visibility(StrEnum):
    PUBLIC = "public"  # anyone
    NETWORK = "network"  # signed-in users of the network
    PRIVATE = "private"  # the organisation itself and the secretariat


class PersonBase(SQLModel):
    name: str = Field(min_length=1, max_length=300)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    affiliation: str = ""  # free text when the organisation is not in the database
    expertise: str = long_text()
    countries: list[str] = json_list()
    languages: list[str] = json_list()
    visibility: Visibility = short_code(Visibility.NETWORK)


class PersonCreate(PersonBase):
    email: str = ""


class PersonUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    organisation_id: int | None = None
    affiliation: str | None = None
    expertise: str | None = None
    countries: list[str] | None = None
    languages: list[str] | None = None
    visibility: Visibility | None = None
    email: str | None = None


class Person(PersonBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = ""  # private
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class PersonPublic(PersonBase):
    id: int
    # private: filled only for the person's organisation's members and the staff, else null
    email: str | None = None


class PeoplePublic(SQLModel):
    data: list[PersonPublic]
    count: int
