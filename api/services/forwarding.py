"""Forwarding one call: preview the members it fits (with why), edit the list, then decide.

The preview flags, for each member, whether it was forwarded this call already, whether it opted
out and whether it has an address. Deciding writes every message and its delivery row in one
transaction; sending is the outbox's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.mail.content import MailMember
from api.mail.render import render_forward
from api.services.errors import Conflict, NotFound
from api.services.mail_fit import Fit, fits_for_call, mail_item, member_filter, member_ids
from api.services.mail_preferences import ensure_preference, recipient_of, unsubscribe_url
from api.services.outbox import Logged, enqueue
from matcher.explain import Explanation
from matcher.search import PartnerSearch
from models.call import Call
from models.mailing import Channel, Delivery, MailPreference
from models.organisation import Organisation
from models.settings import Settings

CHOSEN = "chosen by the secretariat"


@dataclass(frozen=True)
class Candidate:
    organisation_id: int
    name: str
    rank: int | None  # None: not among the fitting members (added by hand)
    score: float | None
    reason: str
    explanation: Explanation | None
    recipient: str  # empty: none usable
    opted_out: bool
    already_forwarded: bool

    @property
    def blocked(self) -> str:
        """Why it would not be sent ("" when it would)."""
        if self.opted_out:
            return "opted out"
        if self.already_forwarded:
            return "already forwarded this call"
        if not self.recipient:
            return "no e-mail address"
        return ""


@dataclass(frozen=True)
class Preview:
    call_id: int
    title: str
    candidates: list[Candidate]


def _call(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("call", call_id)
    return call


def _candidates(session: Session, call_id: int, fits: Iterable[Fit]) -> list[Candidate]:
    fits = list(fits)
    ids = [f.organisation_id for f in fits]
    organisations = {
        o.id: o for o in session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))
    }
    preferences = {
        p.organisation_id: p
        for p in session.exec(
            select(MailPreference).where(col(MailPreference.organisation_id).in_(ids))
        )
    }
    forwarded = set(
        session.exec(
            select(Delivery.organisation_id)
            .where(Delivery.call_id == call_id)
            .where(Delivery.channel == Channel.FORWARD)
        ).all()
    )
    out = []
    for fit in fits:
        organisation = organisations.get(fit.organisation_id)
        if organisation is None:
            continue
        preference = preferences.get(fit.organisation_id)
        out.append(
            Candidate(
                organisation_id=fit.organisation_id,
                name=organisation.name,
                rank=fit.rank or None,
                score=fit.score if fit.rank else None,
                reason=fit.reason,
                explanation=fit.explanation if fit.rank else None,
                recipient=recipient_of(preference, organisation),
                opted_out=bool(preference and preference.opted_out),
                already_forwarded=fit.organisation_id in forwarded,
            )
        )
    return out


def preview_forward(
    session: Session,
    search: PartnerSearch,
    settings: Settings,
    call_id: int,
    *,
    top: int | None = None,
    min_score: float | None = None,
) -> Preview:
    """The members the call fits, best first, each with why and whether it would be sent."""
    call = _call(session, call_id)
    fits = fits_for_call(
        search,
        call,
        members=member_filter(session),
        top=top or settings.digest_fit_top,
        min_score=settings.digest_min_score if min_score is None else min_score,
    )
    return Preview(call_id, call.title, _candidates(session, call_id, fits))


@dataclass
class Forwarded:
    call_id: int
    messages: dict[int, int] = field(default_factory=dict)  # organisation id -> message id
    skipped: dict[int, str] = field(default_factory=dict)  # organisation id -> why
    run_id: str = ""

    def lines(self) -> list[str]:
        out = [f"call {self.call_id}: {len(self.messages)} messages decided"]
        out += [f"skipped organisation {org}: {why}" for org, why in self.skipped.items()]
        return out


def decide_forward(
    engine: Engine,
    search: PartnerSearch,
    settings: Settings,
    call_id: int,
    *,
    only: Iterable[int] | None = None,
    exclude: Iterable[int] = (),
    note: str = "",
    top: int | None = None,
    min_score: float | None = None,
    now: datetime,
) -> Forwarded:
    """One pending message per chosen member (default: the preview's fitting members; `only`
    replaces that list, `exclude` removes from it), all in one transaction. Members opted out,
    without an address or forwarded this call already are skipped and reported."""
    result = Forwarded(call_id, run_id=uuid.uuid4().hex)
    with Session(engine) as session:
        call = _call(session, call_id)
        preview = preview_forward(session, search, settings, call_id, top=top, min_score=min_score)
        by_id = {c.organisation_id: c for c in preview.candidates}
        chosen = list(dict.fromkeys(only)) if only is not None else list(by_id)
        excluded = set(exclude)
        extra = [org for org in chosen if org not in by_id]
        if extra:
            members = member_ids(session)
            for org in extra:
                if session.get(Organisation, org) is None:
                    raise NotFound("organisation", org)
            added = [org for org in extra if org in members]
            result.skipped |= {
                org: "not a member of any network" for org in extra if org not in members
            }
            unranked = [Fit(org, "", 0, 0.0, CHOSEN, _NO_EXPLANATION) for org in added]
            by_id |= {c.organisation_id: c for c in _candidates(session, call_id, unranked)}
        try:
            for org in chosen:
                candidate = by_id.get(org)
                if org in excluded or candidate is None:
                    continue
                if candidate.blocked:
                    result.skipped[org] = candidate.blocked
                    continue
                preference = ensure_preference(session, org)
                item = mail_item(call, score=candidate.score or 0.0, reason=candidate.reason)
                rendered = render_forward(
                    MailMember(org, candidate.name),
                    item,
                    unsubscribe_url=unsubscribe_url(settings, preference.unsubscribe_token),
                    note=note,
                )
                message = enqueue(
                    session,
                    organisation_id=org,
                    channel=Channel.FORWARD,
                    recipient=candidate.recipient,
                    rendered=rendered,
                    calls=[Logged(call_id, item.score, item.reason)],
                    run_id=result.run_id,
                    now=now,
                )
                assert message.id is not None
                result.messages[org] = message.id
            session.commit()
        except IntegrityError as exc:
            raise Conflict(
                "another forward of this call to the same members was decided at the same "
                "time; preview again"
            ) from exc
    return result


_NO_EXPLANATION = Explanation(projects=(), passage="", terms=(), countries=(), themes=())
