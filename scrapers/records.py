"""Plain records that every parser returns and the storing layer consumes.

Parsers never touch the database: they turn bytes into these records. Each record carries the
identity it has in its source (`source`, `external_id`) so that storing it twice is a no-op.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date


def content_hash(payload: object) -> str:
    """A stable SHA-256 of any JSON-serialisable payload (keys sorted, dates as ISO strings)."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OrganisationRecord:
    source: str
    external_id: str
    name: str
    short_name: str = ""
    country: str | None = None  # ISO 3166-1 alpha-2 of the headquarters
    city: str = ""
    org_type: str = "other"  # one of models.OrgType's values
    sme: bool | None = None
    website: str = ""
    description: str = ""
    languages: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # countries of work
    themes: tuple[str, ...] = ()
    contact_email: str = ""  # private: never shown to other members

    def digest(self) -> str:
        payload = asdict(self)
        if not self.contact_email:  # hashes of records without one stay as they were
            del payload["contact_email"]
        return content_hash(payload)


@dataclass(frozen=True)
class ParticipantRecord:
    org_external_id: str
    role: str  # one of models.ParticipantRole's values
    source_role: str = ""  # the role as the source spells it, e.g. "associatedPartner"


@dataclass(frozen=True)
class ProjectRecord:
    source: str
    external_id: str
    title: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    year: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: float | None = None
    currency: str = ""
    funder: str = ""
    programme: str = ""
    source_url: str = ""
    funding_call_id: str = ""
    funding_call_title: str = ""
    funding_call_text: str = ""
    participants: tuple[ParticipantRecord, ...] = field(default=())

    def digest(self) -> str:
        return content_hash(asdict(self))


@dataclass(frozen=True)
class CallRecord:
    source: str
    external_id: str
    title: str
    text: str = ""
    funder: str = ""
    programme: str = ""
    call_identifier: str = ""
    action_type: str = ""
    year: int | None = None
    opening_date: date | None = None
    deadlines: tuple[date, ...] = ()
    budget_min: float | None = None
    budget_max: float | None = None
    currency: str = ""
    conditions: str = ""
    status: str = "open"  # one of models.CallStatus's values
    url: str = ""
    keywords: tuple[str, ...] = ()

    def digest(self) -> str:
        return content_hash(asdict(self))
