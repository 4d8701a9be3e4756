"""What a message says, as plain data: filled by the services, rendered by `api.mail.render`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class MailItem:
    """One call in a digest or a forward, with why it fits the member."""

    call_id: int
    title: str  # untrusted
    url: str  # the call's page at the funder (untrusted; only http(s) is linked)
    deadline: date | None
    deadlines: tuple[date, ...] = ()  # every deadline, for the calendar attachment
    reason: str = ""  # one line: why it fits (untrusted: built from project titles and terms)
    funder: str = ""
    programme: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class MailMember:
    organisation_id: int
    name: str  # untrusted


@dataclass(frozen=True)
class RenderedMail:
    subject: str  # one line, no control characters
    text: str
    html: str
    ics: str  # text/calendar; empty when no item has a deadline
    items: tuple[MailItem, ...] = field(default=())
