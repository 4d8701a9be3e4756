"""Organisations: the members and candidates that healthmatch ranks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.common import json_list, long_text, short_code, timestamp


class OrgType(StrEnum):
    NGO = "ngo"
    RESEARCH = "research"  # universities and research institutes
    PUBLIC = "public"
    PRIVATE = "private"
    NETWORK = "network"  # networks and platforms
    MULTILATERAL = "multilateral"
    FUNDER = "funder"
    OTHER = "other"


class OrganisationBase(SQLModel):
    name: str = Field(index=True, min_length=1, max_length=500)
    aliases: list[str] = json_list()
    hq_country: str | None = Field(default=None, max_length=2, index=True)
    city: str = ""
    org_type: OrgType = short_code(OrgType.OTHER, index=True)
    sme: bool | None = None
    website: str = ""
    description: str = long_text()
    languages: list[str] = json_list()
    countries: list[str] = json_list()  # ISO alpha-2 codes of the countries it works in
    themes: list[str] = json_list()


class OrganisationCreate(OrganisationBase):
    contact_email: str = ""


class OrganisationUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    aliases: list[str] | None = None
    hq_country: str | None = Field(default=None, max_length=2)
    city: str | None = None
    org_type: OrgType | None = None
    sme: bool | None = None
    website: str | None = None
    description: str | None = None
    languages: list[str] | None = None
    countries: list[str] | None = None
    themes: list[str] | None = None
    contact_email: str | None = None


class Organisation(OrganisationBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contact_email: str = ""  # private: the organisation itself and the secretariat only
    # Derived from the reference data (models.reference.income_flags); never set by hand.
    hq_income_group: str | None = short_code(None)
    lmic_hq: bool = False
    works_in_lmic: bool = False
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class OrganisationPublic(OrganisationBase):
    id: int
    hq_income_group: str | None
    lmic_hq: bool
    works_in_lmic: bool
    # private: filled only for the organisation's own members and the staff, else null
    contact_email: str | None = None


class OrganisationsPublic(SQLModel):
    data: list[OrganisationPublic]
    count: int
