"""Mail to members: forwarding a call, digests, the outbox, preferences and unsubscribing.

Staff only, except a member's own preferences and the unsubscribe pages (the token in the link
is the credential). Deciding happens in the request; sending runs after the answer (202), in
the background, one send run at a time per process; what it could not send stays pending for
`healthmatch outbox send`.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from api.deps import EngineDep, PageDep, PrincipalDep, SearchDep, SessionDep, SettingsDep
from api.schemas import ExplanationOut
from api.services import mail_preferences, outbox
from api.services.auth import require_staff
from api.services.digests import Decided, DigestPlan, decide_digests, plan_digests
from api.services.forwarding import Forwarded, decide_forward, preview_forward
from api.services.matching import explanation_json
from models.common import utcnow
from models.mailing import Channel, MailPreferencePublic, MailPreferenceUpdate, MessageState
from models.settings import Settings

router = APIRouter(tags=["mailing"])
unsubscribe_router = APIRouter(tags=["mailing"])


SIGNED_IN: dict[int | str, dict[str, Any]] = {401: {"description": "No or invalid API key."}}
STAFF: dict[int | str, dict[str, Any]] = {
    **SIGNED_IN,
    403: {"description": "Only the secretariat or an admin may do this."},
}
OWNER: dict[int | str, dict[str, Any]] = {
    **SIGNED_IN,
    403: {"description": "Members may read and change only their own organisation's."},
    404: {"description": "No such organisation."},
}
INDEX: dict[int | str, dict[str, Any]] = {
    503: {"description": "The search index is missing or unreadable."}
}
CallId = Annotated[int, Path(description="Id of a funding call.")]
OrganisationId = Annotated[int, Path(description="Id of an organisation.")]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForwardCandidateOut(_Out):
    organisation_id: int
    name: str
    rank: int | None = Field(description="Rank among the members for the call (1 fits best).")
    score: float | None = Field(description="Standardised score: 0 is the average organisation.")
    reason: str = Field(description="Why the call fits, in one line.")
    explanation: ExplanationOut | None
    recipient: str = Field(description="Where it would go; empty: no usable address.")
    opted_out: bool
    already_forwarded: bool
    will_send: bool
    blocked: str = Field(description="Why it would not be sent; empty when it would.")


class ForwardPreviewOut(_Out):
    call_id: int
    title: str
    candidates: list[ForwardCandidateOut]


class ForwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_ids: list[int] | None = Field(
        default=None,
        max_length=1000,
        description="Send to these members (the edited list); default: the preview's members.",
    )
    exclude: list[int] = Field(default_factory=list, max_length=1000)
    note: str = Field(default="", max_length=5000, description="A note above the call.")
    top: int | None = Field(default=None, ge=1, le=1000)
    min_score: float | None = Field(default=None, ge=-100, le=100)


class QueuedOut(_Out):
    organisation_id: int
    message_id: int
    state: MessageState


class SkippedOut(_Out):
    organisation_id: int
    reason: str


class DecidedOut(_Out):
    run_id: str
    messages: list[QueuedOut] = Field(description="Messages decided; sent in the background.")
    skipped: list[SkippedOut]


class DigestItemOut(_Out):
    call_id: int
    title: str
    url: str
    deadline: date | None
    score: float
    reason: str


class DigestOut(_Out):
    organisation_id: int
    name: str
    recipient: str
    subject: str
    since: datetime
    items: list[DigestItemOut]


class DigestPlanOut(_Out):
    digests: list[DigestOut]
    members: int
    opted_out: list[int]
    not_due: list[int]
    no_recipient: list[int] = Field(description="Members with fitting calls but no address.")
    calls_considered: int


class DigestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(default=None, description="Calls changed since this day.")
    force: bool = Field(default=False, description="Ignore members' frequency.")


class OutboxMessageOut(_Out):
    id: int
    organisation_id: int
    channel: Channel
    recipient: str
    subject: str
    state: MessageState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    sent_at: datetime | None


class OutboxOut(_Out):
    data: list[OutboxMessageOut]
    count: int
    counts: dict[str, int] = Field(description="Messages per state, over the whole outbox.")


def _send_in_background(engine: Engine, settings: Settings) -> None:
    outbox.send_outbox(engine, settings)  # send runs are serialised inside the service


def _queued(
    result: Forwarded | Decided, after: BackgroundTasks, engine: Engine, settings: Settings
) -> DecidedOut:
    """The messages decided (sent after the answer, in the background) and the members skipped."""
    if result.messages:
        after.add_task(_send_in_background, engine, settings)
    return DecidedOut(
        run_id=result.run_id,
        messages=[
            QueuedOut(organisation_id=org, message_id=m, state=MessageState.PENDING)
            for org, m in result.messages.items()
        ],
        skipped=[SkippedOut(organisation_id=o, reason=r) for o, r in result.skipped.items()],
    )


def _since(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, datetime.min.time(), utcnow().tzinfo)


def _plan_out(plan: DigestPlan) -> DigestPlanOut:
    return DigestPlanOut(
        digests=[
            DigestOut(
                organisation_id=d.organisation_id,
                name=d.name,
                recipient=d.recipient,
                subject=d.subject,
                since=d.since,
                items=[
                    DigestItemOut(
                        call_id=i.call_id,
                        title=i.title,
                        url=i.url,
                        deadline=i.deadline,
                        score=i.score,
                        reason=i.reason,
                    )
                    for i in d.items
                ],
            )
            for d in plan.digests
        ],
        members=plan.members,
        opted_out=plan.opted_out,
        not_due=plan.not_due,
        no_recipient=plan.no_recipient,
        calls_considered=plan.calls_considered,
    )


@router.get(
    "/calls/{call_id}/forward",
    summary="Preview forwarding a call",
    description="The members the call fits (ranked among the first `top`, score at least "
    "`min_score`), best first, each with why, where it would go, and whether it would be "
    "skipped (opted out, forwarded already, no address). Staff only.",
    responses={**STAFF, 404: {"description": "No such call."}, **INDEX},
)
def forward_preview(
    session: SessionDep,
    principal: PrincipalDep,
    search: SearchDep,
    settings: SettingsDep,
    call_id: CallId,
    top: Annotated[int | None, Query(ge=1, le=1000, description="Members ranked.")] = None,
    min_score: Annotated[
        float | None, Query(ge=-100, le=100, description="Lowest standardised score.")
    ] = None,
) -> ForwardPreviewOut:
    require_staff(principal)
    preview = preview_forward(session, search, settings, call_id, top=top, min_score=min_score)
    return ForwardPreviewOut(
        call_id=preview.call_id,
        title=preview.title,
        candidates=[
            ForwardCandidateOut(
                organisation_id=c.organisation_id,
                name=c.name,
                rank=c.rank,
                score=c.score,
                reason=c.reason,
                explanation=(
                    ExplanationOut.model_validate(explanation_json(c.explanation))
                    if c.explanation
                    else None
                ),
                recipient=c.recipient,
                opted_out=c.opted_out,
                already_forwarded=c.already_forwarded,
                will_send=not c.blocked,
                blocked=c.blocked,
            )
            for c in preview.candidates
        ],
    )


@router.post(
    "/calls/{call_id}/forward",
    status_code=202,
    summary="Forward a call to members",
    description="Decides one message per chosen member (default: the preview's members; "
    "`organisation_ids` replaces the list, `exclude` removes from it) and logs each delivery, "
    "in one transaction; the messages are sent in the background. Members opted out, without "
    "an address, or forwarded this call already are skipped. Staff only.",
    responses={
        **STAFF,
        404: {"description": "No such call or organisation."},
        409: {"description": "The same members were being forwarded this call at once."},
        **INDEX,
    },
)
def forward_send(
    engine: EngineDep,
    principal: PrincipalDep,
    search: SearchDep,
    settings: SettingsDep,
    call_id: CallId,
    body: ForwardRequest,
    after: BackgroundTasks,
) -> DecidedOut:
    require_staff(principal)
    forwarded = decide_forward(
        engine,
        search,
        settings,
        call_id,
        only=body.organisation_ids,
        exclude=body.exclude,
        note=body.note,
        top=body.top,
        min_score=body.min_score,
        now=utcnow(),
    )
    return _queued(forwarded, after, engine, settings)


@router.get(
    "/digests/preview",
    summary="Preview the digests (dry run)",
    description="What a digest run would send now: for each member due, its address, subject "
    "and calls with why; members opted out, not due, or without an address. Writes nothing. "
    "Staff only.",
    responses={**STAFF, **INDEX},
)
def digest_preview(
    session: SessionDep,
    principal: PrincipalDep,
    search: SearchDep,
    settings: SettingsDep,
    since: Annotated[date | None, Query(description="Calls changed since this day.")] = None,
    force: Annotated[bool, Query(description="Ignore members' frequency.")] = False,
) -> DigestPlanOut:
    require_staff(principal)
    plan = plan_digests(session, search, settings, now=utcnow(), since=_since(since), force=force)
    return _plan_out(plan)


@router.post(
    "/digests",
    status_code=202,
    summary="Decide and send the digests",
    description="Decides each due member's digest (one transaction per member: the message, "
    "its delivery log rows and the member's last digest time) and sends them in the "
    "background. Staff only.",
    responses={**STAFF, **INDEX},
)
def digest_send(
    engine: EngineDep,
    session: SessionDep,
    principal: PrincipalDep,
    search: SearchDep,
    settings: SettingsDep,
    body: DigestRequest,
    after: BackgroundTasks,
) -> DecidedOut:
    require_staff(principal)
    now = utcnow()
    plan = plan_digests(
        session, search, settings, now=now, since=_since(body.since), force=body.force
    )
    session.close()
    decided = decide_digests(engine, settings, plan, now=now)
    return _queued(decided, after, engine, settings)


@router.get(
    "/outbox",
    summary="List the outbox",
    description="Messages decided, in id order, with their state, attempts and last error; "
    "`counts` gives the messages per state. Staff only.",
    responses=STAFF,
)
def list_outbox(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    state: Annotated[MessageState | None, Query(description="Only messages in this state.")] = None,
) -> OutboxOut:
    require_staff(principal)
    rows, total = outbox.messages(
        session, states=[state] if state else [], offset=page.offset, limit=page.limit
    )
    return OutboxOut(
        data=[OutboxMessageOut.model_validate(r, from_attributes=True) for r in rows],
        count=total,
        counts=outbox.counts(session),
    )


@router.get(
    "/organisations/{organisation_id}/mail-preferences",
    summary="Read an organisation's mail preferences",
    description="Themes, countries, frequency, maximum items, opt-out and recipient (empty: "
    "the contact e-mail). The organisation's own members and staff.",
    responses=OWNER,
)
def get_preferences(
    session: SessionDep, principal: PrincipalDep, organisation_id: OrganisationId
) -> MailPreferencePublic:
    return mail_preferences.read_preferences(session, principal, organisation_id)


@router.patch(
    "/organisations/{organisation_id}/mail-preferences",
    summary="Change an organisation's mail preferences",
    description="Only the fields given change. Countries are ISO alpha-2 codes; `max_items` "
    "1 to 50; `recipient` one plain address (`name@example.org`) or empty for the contact "
    "e-mail. The organisation's own members and staff.",
    responses={**OWNER, 422: {"description": "An unknown country, a bad address or value."}},
)
def patch_preferences(
    session: SessionDep,
    principal: PrincipalDep,
    organisation_id: OrganisationId,
    change: MailPreferenceUpdate,
) -> MailPreferencePublic:
    return mail_preferences.update_preferences(session, principal, organisation_id, change)


# --- unsubscribe pages, outside /api/v1: the link in every message --------------------------

Token = Annotated[str, Path(max_length=64, description="The token of the unsubscribe link.")]
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
}


def _page(title: str, body: str) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto">'
        f"{body}</body></html>"
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)


@unsubscribe_router.get(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe page",
    description="A page naming the organisation, with a button that confirms (a POST to the "
    "same address). Nothing changes until it is pressed.",
    responses={404: {"description": "Unknown unsubscribe link."}},
)
def unsubscribe_page(session: SessionDep, token: Token) -> HTMLResponse:
    _preference, organisation = mail_preferences.by_token(session, token)
    name = html.escape(organisation.name)
    action = html.escape(f"/unsubscribe/{token}")
    return _page(
        "Unsubscribe",
        f"<h1>Unsubscribe</h1><p>Stop every healthmatch message (digests and forwarded calls) "
        f"to <strong>{name}</strong>?</p>"
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


@unsubscribe_router.post(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe",
    description="Opts the organisation out of every message (idempotent). Mail clients' "
    "one-click unsubscribe (RFC 8058) posts `List-Unsubscribe=One-Click` here; any body is "
    "accepted.",
    responses={404: {"description": "Unknown unsubscribe link."}},
)
def unsubscribe(session: SessionDep, token: Token) -> HTMLResponse:
    organisation = mail_preferences.unsubscribe(session, token)
    return _page(
        "Unsubscribed",
        f"<h1>Unsubscribed</h1><p><strong>{html.escape(organisation.name)}</strong> will "
        "receive no more healthmatch messages. Its members can subscribe again in their "
        "mail preferences.</p>",
    )
