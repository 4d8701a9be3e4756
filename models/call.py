"""Calls: funding opportunities from funders' portals and feeds."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import json_list, long_text, short_code, timestamp


class CallStatus(StrEnum):
    FORTHCOMING = "forthcoming"
    OPEN = "open"
    CLOSED = "closed"


class CallBase(SQLModel):
    source: str = Field(max_length=64)  # e.g. "eu-portal", "bench"
    source_id: str = Field(max_length=255)  # the identifier in that source
    title: str = Field(min_length=1)
    text: str = long_text()
    funder: str = ""
    programme: str = ""
    call_identifier: str = ""
    action_type: str = ""
    year: int | None = None
    opening_date: date | None = None
    deadlines: list[str] = json_list()  # ISO dates (JSON has no date type)
    next_deadline: date | None = Field(default=None, index=True)
    budget_min: float | None = None
    budget_max: float | None = None
    currency: str = ""
    conditions: str = long_text()  # eligibility conditions as the funder wrote them
    eligibility: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # rules as data
    status: CallStatus = short_code(CallStatus.OPEN, index=True)
    url: str = ""
    keywords: list[str] = json_list()


class CallCreate(CallBase):
    pass


class CallUpdate(SQLModel):
    source: str | None = Field(default=None, max_length=64)
    source_id: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, min_length=1)
    text: str | None = None
    funder: str | None = None
    programme: str | None = None
    call_identifier: str | None = None
    action_type: str | None = None
    year: int | None = None
    opening_date: date | None = None
    deadlines: list[str] | None = None
    next_deadline: date | None = None
    budget_min: float | None = None
    budget_max: float | None = None
    currency: str | None = None
    conditions: str | None = None
    eligibility: dict[str, Any] | None = None
    status: CallStatus | None = None
    url: str | None = None
    keywords: list[str] | None = None


class Call(CallBase, table=True):
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_call_source"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class CallPublic(CallBase):
    id: int


class CallsPublic(SQLModel):
    data: list[CallPublic]
    count: int
