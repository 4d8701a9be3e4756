"""Funding calls: anyone reads them; the staff change them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import catalogue, editing
from api.services.catalogue import CallSort
from models.call import Call, CallCreate, CallPublic, CallsPublic, CallStatus, CallUpdate

router = APIRouter(prefix="/calls", tags=["calls"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such call."}}
STAFF: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid API key."},
    403: {"description": "Only the secretariat or an admin may do this."},
}
DUPLICATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "A call with this (source, source_id) exists."}
}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid body."}}


@router.get("", summary="List funding calls, nearest deadline first")
def list_calls(
    session: SessionDep,
    page: PageDep,
    status: Annotated[CallStatus | None, Query()] = None,
    source: Annotated[str | None, Query(max_length=64, description="e.g. eu-portal")] = None,
    programme: Annotated[str | None, Query(max_length=200)] = None,
    deadline_after: Annotated[
        date | None, Query(description="Next deadline on or after this date.")
    ] = None,
    sort: Annotated[CallSort, Query(description="Sort key.")] = CallSort.DEADLINE,
) -> CallsPublic:
    rows, count = catalogue.list_calls(
        session,
        page,
        status=status,
        source=source,
        programme=programme,
        deadline_after=deadline_after,
        sort=sort,
    )
    return CallsPublic(data=[CallPublic.model_validate(r) for r in rows], count=count)


@router.post(
    "",
    status_code=201,
    summary="Add a call (staff)",
    description="`next_deadline` is derived from `deadlines` unless given.",
    responses={**STAFF, **DUPLICATE, **INVALID},
)
def create_call(
    session: SessionDep,
    principal: PrincipalDep,
    body: CallCreate,
    request: Request,
    response: Response,
) -> CallPublic:
    call = editing.create_call(session, principal, body)
    assert call.id is not None
    response.headers["Location"] = str(request.url_for("read_call", call_id=call.id))
    return CallPublic.model_validate(call)


@router.get("/{call_id}", summary="Read one call", responses=NOT_FOUND)
def read_call(session: SessionDep, call_id: int) -> CallPublic:
    return CallPublic.model_validate(catalogue.get(session, Call, call_id))


@router.patch(
    "/{call_id}",
    summary="Change a call (staff)",
    description="Only the fields sent change.",
    responses={**STAFF, **NOT_FOUND, **DUPLICATE, **INVALID},
)
def update_call(
    session: SessionDep, principal: PrincipalDep, call_id: int, body: CallUpdate
) -> CallPublic:
    return CallPublic.model_validate(editing.update_call(session, principal, call_id, body))


@router.delete(
    "/{call_id}",
    status_code=204,
    summary="Delete a call (staff)",
    description="Shortlists and feedback that name it keep their rows, without the call.",
    responses={**STAFF, **NOT_FOUND},
)
def delete_call(session: SessionDep, principal: PrincipalDep, call_id: int) -> None:
    editing.delete_call(session, principal, call_id)
