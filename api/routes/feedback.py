"""Feedback on suggestions: useful or not, kept for the ranking to learn from later. Thin:
`api.services.feedback` validates and decides who sees what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import feedback
from api.services.auth import Principal, require_signed_in
from models.feedback import (
    FeedbackContext,
    FeedbackCreate,
    FeedbackPublic,
    FeedbacksPublic,
    FeedbackSummary,
)

router = APIRouter(prefix="/feedback", tags=["feedback"])

SIGN_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API key (problem details)."}
}


def signed_in(principal: PrincipalDep) -> Principal:
    """401 before anything else (even before the body is validated) for an anonymous caller."""
    require_signed_in(principal)
    return principal


SignedInDep = Annotated[Principal, Depends(signed_in)]


@router.post(
    "",
    status_code=201,
    summary="Say whether a suggestion was useful",
    description="`calls-for-member` feedback names the suggested call (`suggested_call_id`); "
    "every other context names the suggested organisation (`suggested_organisation_id`).",
    responses={
        **SIGN_IN,
        404: {"description": "An unknown call or organisation (problem details)."},
        422: {"description": "An invalid body, or a suggestion that does not fit the context."},
    },
)
def give_feedback(
    session: SessionDep,
    principal: SignedInDep,
    body: FeedbackCreate,
) -> FeedbackPublic:
    return FeedbackPublic.model_validate(feedback.give_feedback(session, principal, body))


@router.get(
    "",
    summary="List feedback, newest first (staff: everyone's; members: their own)",
    responses=SIGN_IN,
)
def list_feedback(
    session: SessionDep,
    principal: SignedInDep,
    page: PageDep,
    context: FeedbackContext | None = None,
    useful: bool | None = None,
    call_id: Annotated[
        int | None, Query(description="The call a ranking was for, or the call it suggested.")
    ] = None,
    organisation_id: Annotated[
        int | None,
        Query(description="The organisation a ranking was for, or the one it suggested."),
    ] = None,
) -> FeedbacksPublic:
    rows, count = feedback.list_feedback(
        session,
        principal,
        page,
        context=context,
        useful=useful,
        call_id=call_id,
        organisation_id=organisation_id,
    )
    return FeedbacksPublic(data=[FeedbackPublic.model_validate(r) for r in rows], count=count)


@router.get(
    "/summary",
    summary="Useful / not useful counts per context (staff only)",
    responses={
        **SIGN_IN,
        403: {"description": "Only the secretariat or an admin (problem details)."},
    },
)
def feedback_summary(session: SessionDep, principal: SignedInDep) -> FeedbackSummary:
    return feedback.summary(session, principal)
