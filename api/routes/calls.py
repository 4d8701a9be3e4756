from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PageDep, SessionDep
from api.services import catalogue
from models.call import Call, CallPublic, CallsPublic, CallStatus

router = APIRouter(prefix="/calls", tags=["calls"])


@router.get("", summary="List funding calls, nearest deadline first")
def list_calls(
    session: SessionDep,
    page: PageDep,
    status: Annotated[CallStatus | None, Query()] = None,
) -> CallsPublic:
    rows, count = catalogue.list_calls(session, page, status=status)
    return CallsPublic(data=[CallPublic.model_validate(r) for r in rows], count=count)


@router.get("/{call_id}", summary="Read one call")
def read_call(session: SessionDep, call_id: int) -> CallPublic:
    return CallPublic.model_validate(catalogue.get(session, Call, call_id))
