"""Feedback on a suggestion (useful or not), kept for the ranking to learn from later."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.common import short_code, timestamp


class FeedbackContext(StrEnum):
    """Which ranking made the suggestion."""

    PARTNER_SEARCH = "partner-search"  # free text -> organisations
    MEMBERS_FOR_CALL = "members-for-call"  # a call -> organisations
    CALLS_FOR_MEMBER = "calls-for-member"  # an organisation -> calls
    SIMILAR = "similar"  # an organisation -> organisations
    CONSORTIUM = "consortium"  # a call and a lead -> a consortium member


class FeedbackBase(SQLModel):
    context: FeedbackContext = short_code(FeedbackContext.PARTNER_SEARCH)
    query_text: str = Field(default="", max_length=2000)  # the free text, for partner search
    call_id: int | None = Field(default=None, foreign_key="call.id", ondelete="SET NULL")
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="SET NULL"
    )  # the organisation the ranking was for (calls-for-member, similar, consortium lead)
    suggested_organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="SET NULL"
    )
    suggested_call_id: int | None = Field(default=None, foreign_key="call.id", ondelete="SET NULL")
    rank: int | None = Field(default=None, ge=1)  # where the suggestion was shown
    useful: bool
    comment: str = Field(default="", max_length=2000)


class FeedbackCreate(FeedbackBase):
    pass


class Feedback(FeedbackBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="SET NULL"
    )
    created_at: datetime = timestamp()


class FeedbackPublic(FeedbackBase):
    id: int
    user_id: int | None
    created_at: datetime


class FeedbacksPublic(SQLModel):
    data: list[FeedbackPublic]
    count: int


class FeedbackContextCount(SQLModel):
    context: FeedbackContext
    useful: int
    not_useful: int
    total: int


class FeedbackSummary(SQLModel):
    """Useful / not-useful counts per context (every context listed, zeros included)."""

    data: list[FeedbackContextCount]
    useful: int
    not_useful: int
    total: int
