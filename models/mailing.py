"""Mail to members: their preferences, the outbox of messages decided, and the delivery log.

A message is decided and logged in one transaction: an `OutboxMessage` (state `pending`) and one
`Delivery` row per (organisation, call, channel), unique, so a call is never decided twice for
the same member and channel. Sending moves a message `pending -> sending -> sent`, committing
each step; a run killed while a message is `sending` leaves it there, and the next run reports
it instead of sending it again (the SMTP server may or may not have accepted it).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import json_list, long_text, optional_timestamp, short_code, timestamp


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Channel(StrEnum):
    DIGEST = "digest"  # the periodic digest
    FORWARD = "forward"  # one call forwarded by the secretariat


class MessageState(StrEnum):
    PENDING = "pending"  # decided, not sent yet (or to be retried: see next_attempt_at)
    SENDING = "sending"  # handed to SMTP; a crash here leaves the outcome unknown
    SENT = "sent"
    FAILED = "failed"  # gave up after the retries; reported, can be retried by hand
    UNKNOWN = "unknown"  # was `sending` when a run died: not resent unless asked


def new_token() -> str:
    return secrets.token_urlsafe(24)


class MailPreferenceBase(SQLModel):
    themes: list[str] = json_list()  # only calls about one of these (empty: any)
    countries: list[str] = json_list()  # only calls naming one of these countries (empty: any)
    frequency: Frequency = short_code(Frequency.WEEKLY)
    max_items: int = Field(default=10, ge=1, le=50)
    opted_out: bool = False
    recipient: str = Field(default="", max_length=320)  # empty: the organisation's contact e-mail


class MailPreferenceUpdate(SQLModel):
    themes: list[str] | None = None
    countries: list[str] | None = None
    frequency: Frequency | None = None
    max_items: int | None = Field(default=None, ge=1, le=50)
    opted_out: bool | None = None
    recipient: str | None = Field(default=None, max_length=320)


class MailPreference(MailPreferenceBase, table=True):
    __tablename__ = "mail_preference"

    organisation_id: int = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    unsubscribe_token: str = Field(default_factory=new_token, max_length=64, unique=True)
    last_digest_at: datetime | None = optional_timestamp()
    updated_at: datetime = timestamp()


class MailPreferencePublic(MailPreferenceBase):
    organisation_id: int
    last_digest_at: datetime | None


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    channel: Channel = short_code(Channel.DIGEST)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=998)
    message_id: str = Field(max_length=255, unique=True)  # the Message-ID header
    body_text: str = long_text()
    body_html: str = long_text()
    ics: str = long_text()  # the calendar attachment with the deadlines (may be empty)
    state: MessageState = short_code(MessageState.PENDING, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = optional_timestamp()
    last_error: str = long_text()
    run_id: str = Field(default="", max_length=64)  # the run that decided it
    created_at: datetime = timestamp()
    sent_at: datetime | None = optional_timestamp()


class Delivery(SQLModel, table=True):
    """One call sent (or decided to be sent) to one member on one channel: never twice."""

    __table_args__ = (
        UniqueConstraint("organisation_id", "call_id", "channel", name="uq_delivery_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    call_id: int = Field(foreign_key="call.id", index=True, ondelete="CASCADE")
    channel: Channel = short_code(Channel.DIGEST)
    message_id: int = Field(foreign_key="outbox_message.id", index=True, ondelete="CASCADE")
    score: float = 0.0
    reason: str = Field(default="", max_length=1000)
    created_at: datetime = timestamp()
