"""Projects: the evidence of what organisations do, with who took part and in which role."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.common import json_list, long_text, short_code, timestamp


class ParticipantRole(StrEnum):
    LEAD = "lead"
    PARTNER = "partner"
    FUNDER = "funder"
    IMPLEMENTER = "implementer"


class ProjectBase(SQLModel):
    title: str = Field(min_length=1)
    description: str = long_text()
    keywords: list[str] = json_list()
    themes: list[str] = json_list()  # themes or sectors, readable
    countries: list[str] = json_list()  # ISO alpha-2 codes of the countries of work
    year: int | None = Field(default=None, index=True)
    start_date: date | None = None
    end_date: date | None = None
    budget: float | None = None
    currency: str = ""
    funder: str = ""
    programme: str = ""
    source_url: str = ""
    funding_call_id: str = Field(default="", index=True)  # the call it was funded under
    funding_call_title: str = ""
    funding_call_text: str = long_text()


class ParticipantIn(SQLModel):
    organisation_id: int
    role: ParticipantRole = ParticipantRole.PARTNER


class ProjectCreate(ProjectBase):
    # A member's own organisation is added as "lead" when it is not among them.
    participants: list[ParticipantIn] = []


class ProjectUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1)
    description: str | None = None
    keywords: list[str] | None = None
    themes: list[str] | None = None
    countries: list[str] | None = None
    year: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: float | None = None
    currency: str | None = None
    funder: str | None = None
    programme: str | None = None
    source_url: str | None = None
    funding_call_id: str | None = None
    funding_call_title: str | None = None
    funding_call_text: str | None = None
    # replaces the whole list when sent; a member's own organisation must stay among them
    participants: list[ParticipantIn] | None = None


class Project(ProjectBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class ProjectParticipant(SQLModel, table=True):
    __tablename__ = "project_participant"

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    role: ParticipantRole = short_code(ParticipantRole.PARTNER)
    source_role: str = ""  # the role as the source spells it (e.g. CORDIS "associatedPartner")


class ParticipantPublic(SQLModel):
    organisation_id: int
    role: ParticipantRole
    source_role: str


class ProjectPublic(ProjectBase):
    id: int
    participants: list[ParticipantPublic] = []


class ProjectsPublic(SQLModel):
    data: list[ProjectPublic]
    count: int
