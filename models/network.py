"""Networks (MMI, MAMI, JLN, ...) and their members."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import long_text, timestamp


class NetworkBase(SQLModel):
    name: str = Field(min_length=1, max_length=300, unique=True)
    slug: str = Field(min_length=1, max_length=64, unique=True)
    description: str = long_text()
    website: str = ""


class Network(NetworkBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp()


class NetworkCreate(NetworkBase):
    pass


class NetworkUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    slug: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = None
    website: str | None = None


class NetworkPublic(NetworkBase):
    id: int


class NetworksPublic(SQLModel):
    data: list[NetworkPublic]
    count: int


class MembershipBase(SQLModel):
    network_id: int = Field(foreign_key="network.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    level: str = Field(default="member", max_length=64)  # e.g. full member, associate, observer
    joined_on: date | None = None


class Membership(MembershipBase, table=True):
    __table_args__ = (
        UniqueConstraint("network_id", "organisation_id", name="uq_membership_network_org"),
    )

    id: int | None = Field(default=None, primary_key=True)


class MembershipCreate(SQLModel):
    organisation_id: int
    level: str = Field(default="member", min_length=1, max_length=64)
    joined_on: date | None = None


class MembershipUpdate(SQLModel):
    level: str | None = Field(default=None, min_length=1, max_length=64)
    joined_on: date | None = None


class MembershipPublic(MembershipBase):
    id: int


class MembershipsPublic(SQLModel):
    data: list[MembershipPublic]
    count: int
