"""Which members a call fits, and why in one line: shared by forwarding and the digests.

A member fits a call when the matcher ranks it among the first `top` members for the call (the
ranking is restricted to members of a network) and its standardised score is at least
`min_score` (0: above the average organisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from api.mail.content import MailItem
from api.services.corpus import call_query
from matcher.explain import Explanation
from matcher.filters import Filters
from matcher.search import PartnerSearch
from models.call import Call
from models.network import Membership, Network

REASON_MAX = 200
OWN_DESCRIPTION = "org:"  # evidence ids of organisations' own descriptions


@dataclass(frozen=True)
class Fit:
    organisation_id: int
    name: str
    rank: int  # 1 = fits best
    score: float
    reason: str
    explanation: Explanation


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def reason_for(explanation: Explanation) -> str:
    """One line: the best matching project, the shared terms and countries (≤ 200 chars)."""
    parts: list[str] = []
    projects = [p for p in explanation.projects if not p.id.startswith(OWN_DESCRIPTION)]
    if projects:
        parts.append(f"matches your project «{_short(projects[0].title, 80)}»")
    elif explanation.projects:
        parts.append("matches your organisation's description")
    if explanation.terms:
        parts.append("shared: " + ", ".join(explanation.terms[:4]))
    if explanation.countries:
        parts.append("countries: " + ", ".join(explanation.countries[:5]))
    if explanation.themes:
        parts.append("themes: " + ", ".join(explanation.themes[:3]))
    return _short("; ".join(parts) or "close to your organisation's work", REASON_MAX)


def member_ids(session: Session) -> set[int]:
    """Organisations with a membership in any network."""
    return set(session.exec(select(Membership.organisation_id).distinct()).all())


def member_filter(session: Session) -> Filters | None:
    """Members of any network; None when there is no network (nobody is a member)."""
    slugs = session.exec(select(Network.slug).order_by(col(Network.slug))).all()
    return Filters.of(networks=slugs) if slugs else None


def fits_for_call(
    search: PartnerSearch, call: Call, *, members: Filters | None, top: int, min_score: float
) -> list[Fit]:
    """The members the call fits, best first."""
    if members is None or not (call.title.strip() or (call.text or "").strip()):
        return []
    hits = search.search(call_query(call), filters=members, top=top)
    return [
        Fit(int(hit.id), hit.name, rank, hit.score, reason_for(hit.explanation), hit.explanation)
        for rank, hit in enumerate(hits, start=1)
        if hit.id.isdigit() and hit.score >= min_score
    ]


def deadlines_of(call: Call) -> tuple[date, ...]:
    days = set()
    for value in call.deadlines or ():
        try:
            days.add(date.fromisoformat(str(value)[:10]))
        except ValueError:
            continue
    if call.next_deadline is not None:
        days.add(call.next_deadline)
    return tuple(sorted(days))


def mail_item(call: Call, *, score: float = 0.0, reason: str = "") -> MailItem:
    assert call.id is not None
    return MailItem(
        call_id=call.id,
        title=call.title,
        url=call.url,
        deadline=call.next_deadline,
        deadlines=deadlines_of(call),
        reason=reason,
        funder=call.funder,
        programme=call.programme,
        score=score,
    )
