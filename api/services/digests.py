"""Periodic digests: for each member, the new or changed calls that fit it, ranked, with why.

`plan_digests` reads only (the dry run); `decide_digests` writes, one transaction per member:
the pending message, its delivery rows and the member's `last_digest_at`. Sending is the
outbox's (`api.services.outbox.send_outbox`).

Candidates of a member: calls changed since its last digest (or `since`, or 30 days before
now), not closed, whose next deadline is not past, never sent to it in a digest, that fit it
(`api.services.mail_fit`) and its preferences (themes, countries); best first, cut at its
`max_items`. A member is due once a week or once every 28 days (its frequency); opted-out
members get nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.mail.content import MailItem, MailMember
from api.mail.render import render_digest
from api.services.corpus import countries_named_in
from api.services.mail_fit import Fit, fits_for_call, mail_item, member_filter, member_ids
from api.services.mail_preferences import (
    defaults,
    ensure_preference,
    recipient_of,
    unsubscribe_url,
)
from api.services.outbox import Logged, enqueue
from matcher.search import PartnerSearch
from models.call import Call, CallStatus
from models.mailing import Channel, Delivery, Frequency, MailPreference
from models.organisation import Organisation
from models.settings import Settings

LOOKBACK = timedelta(days=30)
DUE_AFTER = {Frequency.WEEKLY: timedelta(days=7), Frequency.MONTHLY: timedelta(days=28)}
PREVIEW_TOKEN = "preview"


@dataclass(frozen=True)
class PlannedDigest:
    organisation_id: int
    name: str
    recipient: str
    since: datetime
    subject: str
    items: tuple[MailItem, ...]


@dataclass
class DigestPlan:
    digests: list[PlannedDigest] = field(default_factory=list)
    members: int = 0
    opted_out: list[int] = field(default_factory=list)
    not_due: list[int] = field(default_factory=list)
    no_recipient: list[int] = field(default_factory=list)  # had calls, but no usable address
    calls_considered: int = 0

    def lines(self) -> list[str]:
        items = sum(len(d.items) for d in self.digests)
        out = [
            f"{len(self.digests)} digests ({items} calls) for {self.members} members; "
            f"{self.calls_considered} calls considered"
        ]
        if self.opted_out:
            out.append(f"{len(self.opted_out)} members opted out")
        if self.not_due:
            out.append(f"{len(self.not_due)} members are not due yet (their frequency)")
        if self.no_recipient:
            ids = ", ".join(map(str, self.no_recipient[:20]))
            out.append(f"{len(self.no_recipient)} members have no e-mail address (ids {ids})")
        return out


def _matches_preferences(call: Call, preference: MailPreference) -> bool:
    if preference.themes:
        haystack = " ".join([call.title, call.text or "", *(call.keywords or [])]).casefold()
        if not any(theme.casefold() in haystack for theme in preference.themes):
            return False
    if preference.countries:
        named = countries_named_in(f"{call.title}\n{call.text or ''}")
        wanted = {c.upper() for c in preference.countries}
        if named and not wanted.intersection(named):
            return False
    return True


def _is_due(preference: MailPreference, now: datetime) -> bool:
    last = preference.last_digest_at
    return last is None or now - last >= DUE_AFTER[Frequency(preference.frequency)]


def candidate_calls(session: Session, *, after: datetime, today: date) -> list[Call]:
    """Calls changed after `after`, not closed, whose next deadline is not past; id order."""
    query = (
        select(Call)
        .where(col(Call.updated_at) > after)
        .where(col(Call.status) != CallStatus.CLOSED.value)
        .where(col(Call.next_deadline).is_(None) | (col(Call.next_deadline) >= today))
        .order_by(col(Call.id))
    )
    return list(session.exec(query).all())


def plan_digests(
    session: Session,
    search: PartnerSearch,
    settings: Settings,
    *,
    now: datetime,
    today: date | None = None,
    since: datetime | None = None,
    force: bool = False,
    top: int | None = None,
    min_score: float | None = None,
) -> DigestPlan:
    """What a digest run would send, to whom and why; reads only."""
    today = today or now.date()
    plan = DigestPlan()
    members = sorted(member_ids(session))
    plan.members = len(members)
    stored = {
        p.organisation_id: p
        for p in session.exec(
            select(MailPreference).where(col(MailPreference.organisation_id).in_(members))
        ).all()
    }
    due: dict[int, tuple[MailPreference, datetime]] = {}
    for org_id in members:
        preference = stored.get(org_id) or defaults(org_id)
        if preference.opted_out:
            plan.opted_out.append(org_id)
        elif not force and not _is_due(preference, now):
            plan.not_due.append(org_id)
        else:
            due[org_id] = (preference, since or preference.last_digest_at or now - LOOKBACK)
    if not due:
        return plan

    calls = candidate_calls(session, after=min(s for _, s in due.values()), today=today)
    plan.calls_considered = len(calls)
    filters = member_filter(session)
    fits: dict[int, list[tuple[Call, Fit]]] = {org_id: [] for org_id in due}
    for call in calls:
        for fit in fits_for_call(
            search,
            call,
            members=filters,
            top=top or settings.digest_fit_top,
            min_score=settings.digest_min_score if min_score is None else min_score,
        ):
            if fit.organisation_id in fits:
                fits[fit.organisation_id].append((call, fit))
    delivered = set(
        session.exec(
            select(Delivery.organisation_id, Delivery.call_id).where(
                Delivery.channel == Channel.DIGEST
            )
        ).all()
    )
    organisations = {
        o.id: o
        for o in session.exec(select(Organisation).where(col(Organisation.id).in_(list(due))))
    }
    for org_id, (preference, member_since) in due.items():
        chosen = [
            (call, fit)
            for call, fit in fits[org_id]
            if call.updated_at > member_since
            and (org_id, call.id) not in delivered
            and _matches_preferences(call, preference)
        ]
        if not chosen:
            continue
        chosen.sort(key=lambda pair: (-pair[1].score, pair[0].id or 0))
        items = tuple(
            mail_item(call, score=fit.score, reason=fit.reason)
            for call, fit in chosen[: preference.max_items]
        )
        organisation = organisations[org_id]
        recipient = recipient_of(stored.get(org_id), organisation)
        if not recipient:
            plan.no_recipient.append(org_id)
            continue
        rendered = render_digest(
            MailMember(org_id, organisation.name),
            items,
            unsubscribe_url=unsubscribe_url(settings, PREVIEW_TOKEN),
        )
        plan.digests.append(
            PlannedDigest(
                org_id, organisation.name, recipient, member_since, rendered.subject, items
            )
        )
    return plan


@dataclass
class Decided:
    messages: dict[int, int] = field(default_factory=dict)  # organisation id -> message id
    skipped: dict[int, str] = field(default_factory=dict)  # organisation id -> why
    run_id: str = ""

    def lines(self) -> list[str]:
        out = [f"{len(self.messages)} messages decided (run {self.run_id})"]
        out += [f"skipped organisation {org}: {why}" for org, why in self.skipped.items()]
        return out


def decide_digests(
    engine: Engine, settings: Settings, plan: DigestPlan, *, now: datetime
) -> Decided:
    """Write the plan: per member, in one transaction, its pending message, the delivery rows
    and its `last_digest_at`. A call decided for it meanwhile (another run) skips the member."""
    decided = Decided(run_id=uuid.uuid4().hex)
    for digest in plan.digests:
        with Session(engine) as session:
            try:
                preference = ensure_preference(session, digest.organisation_id)
                if preference.opted_out:
                    decided.skipped[digest.organisation_id] = "opted out meanwhile"
                    continue
                rendered = render_digest(
                    MailMember(digest.organisation_id, digest.name),
                    digest.items,
                    unsubscribe_url=unsubscribe_url(settings, preference.unsubscribe_token),
                )
                message = enqueue(
                    session,
                    organisation_id=digest.organisation_id,
                    channel=Channel.DIGEST,
                    recipient=digest.recipient,
                    rendered=rendered,
                    calls=[Logged(i.call_id, i.score, i.reason) for i in digest.items],
                    run_id=decided.run_id,
                    now=now,
                )
                preference.last_digest_at = now
                session.add(preference)
                session.commit()
            except IntegrityError:
                session.rollback()
                decided.skipped[digest.organisation_id] = (
                    "one of its calls was decided by another run meanwhile"
                )
                continue
            assert message.id is not None
            decided.messages[digest.organisation_id] = message.id
    return decided


def plan_lines(plan: DigestPlan) -> list[str]:
    """The dry run, for people: each message, to whom, and each call with why."""
    out: list[str] = []
    for digest in plan.digests:
        out.append(
            f"to {digest.recipient} ({digest.name}, organisation {digest.organisation_id}): "
            f"{digest.subject}"
        )
        for item in digest.items:
            deadline = item.deadline.isoformat() if item.deadline else "none"
            out.append(
                f"  - {' '.join(item.title.split())}  [call {item.call_id}]  deadline {deadline}"
                f"  score {item.score:.3f}"
            )
            out.append(f"    why: {item.reason}")
    return out + plan.lines()
