"""Feedback on suggestions (useful or not), kept for the ranking to learn from later.

Any signed-in user gives feedback; members read back only their own, the secretariat and admins
read all of it and its summary.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from api.services.auth import Principal, require_signed_in, require_staff
from api.services.catalogue import PageParams, get_page
from api.services.errors import InvalidInput, NotFound
from models.call import Call
from models.feedback import (
    Feedback,
    FeedbackContext,
    FeedbackContextCount,
    FeedbackCreate,
    FeedbackSummary,
)
from models.organisation import Organisation


def _check_suggestion(data: FeedbackCreate) -> None:
    """Calls-for-member suggests a call; every other context suggests an organisation."""
    if data.context is FeedbackContext.CALLS_FOR_MEMBER:
        if data.suggested_call_id is None:
            raise InvalidInput("calls-for-member feedback needs suggested_call_id")
        if data.suggested_organisation_id is not None:
            raise InvalidInput("calls-for-member suggests calls: give suggested_call_id only")
    else:
        if data.suggested_organisation_id is None:
            raise InvalidInput(f"{data.context} feedback needs suggested_organisation_id")
        if data.suggested_call_id is not None:
            raise InvalidInput(
                f"{data.context} suggests organisations: give suggested_organisation_id only"
            )


def _check_exists(session: Session, data: FeedbackCreate) -> None:
    for call_id in (data.call_id, data.suggested_call_id):
        if call_id is not None and session.get(Call, call_id) is None:
            raise NotFound("call", call_id)
    for org_id in (data.organisation_id, data.suggested_organisation_id):
        if org_id is not None and session.get(Organisation, org_id) is None:
            raise NotFound("organisation", org_id)


def give_feedback(session: Session, principal: Principal, data: FeedbackCreate) -> Feedback:
    require_signed_in(principal)
    _check_suggestion(data)
    _check_exists(session, data)
    feedback = Feedback.model_validate({**data.model_dump(), "user_id": principal.user_id})
    session.add(feedback)
    session.commit()
    session.refresh(feedback)
    return feedback


def list_feedback(
    session: Session,
    principal: Principal,
    page: PageParams,
    *,
    context: FeedbackContext | None = None,
    useful: bool | None = None,
    call_id: int | None = None,
    organisation_id: int | None = None,
) -> tuple[list[Feedback], int]:
    """Newest first. Staff see everyone's feedback, anyone else only their own.

    `call_id` matches the call a ranking was for or the call it suggested; `organisation_id`
    likewise the organisation it was for or the one it suggested.
    """
    require_signed_in(principal)
    where: list[ColumnElement[bool]] = []
    if not principal.is_staff:
        where.append(col(Feedback.user_id) == principal.user_id)
    if context is not None:
        where.append(col(Feedback.context) == context)
    if useful is not None:
        where.append(col(Feedback.useful) == useful)
    if call_id is not None:
        where.append(
            or_(col(Feedback.call_id) == call_id, col(Feedback.suggested_call_id) == call_id)
        )
    if organisation_id is not None:
        where.append(
            or_(
                col(Feedback.organisation_id) == organisation_id,
                col(Feedback.suggested_organisation_id) == organisation_id,
            )
        )
    order = [col(Feedback.created_at).desc(), col(Feedback.id).desc()]
    return get_page(session, Feedback, page, where=where, order_by=order)


def summary(session: Session, principal: Principal) -> FeedbackSummary:
    """Useful and not-useful counts per context, every context listed (staff only)."""
    require_staff(principal)
    counts = {(context, useful): 0 for context in FeedbackContext for useful in (True, False)}
    rows = session.exec(
        select(Feedback.context, Feedback.useful, func.count()).group_by(
            col(Feedback.context), col(Feedback.useful)
        )
    ).all()
    for context, useful, count in rows:
        key = (FeedbackContext(context), bool(useful))
        if key in counts:
            counts[key] = count
    data = [
        FeedbackContextCount(
            context=context,
            useful=counts[context, True],
            not_useful=counts[context, False],
            total=counts[context, True] + counts[context, False],
        )
        for context in FeedbackContext
    ]
    useful_total = sum(c.useful for c in data)
    not_useful_total = sum(c.not_useful for c in data)
    return FeedbackSummary(
        data=data,
        useful=useful_total,
        not_useful=not_useful_total,
        total=useful_total + not_useful_total,
    )
