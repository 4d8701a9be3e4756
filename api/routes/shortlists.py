"""Shortlists: the candidates a user keeps for a call, with notes and an order, and their export
as CSV or XLSX. Thin: `api.services.shortlists` checks who owns what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import shortlists
from api.services.auth import Principal, require_signed_in
from models.shortlist import (
    ExportFormat,
    ShortlistCreate,
    ShortlistEntryCreate,
    ShortlistEntryPublic,
    ShortlistEntryUpdate,
    ShortlistPublic,
    ShortlistsPublic,
    ShortlistUpdate,
)

router = APIRouter(prefix="/shortlists", tags=["shortlists"])

SIGN_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API key (problem details)."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such shortlist, or not yours; or an unknown organisation, call or "
        "entry (problem details)."
    }
}
ADMIN_READ_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"description": "An admin may read other users' shortlists but not change them."}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The organisation is already on this shortlist (problem details)."}
}
CHANGE = {**SIGN_IN, **ADMIN_READ_ONLY, **NOT_FOUND}


def signed_in(principal: PrincipalDep) -> Principal:
    """401 before anything else (even before the body is validated) for an anonymous caller."""
    require_signed_in(principal)
    return principal


SignedInDep = Annotated[Principal, Depends(signed_in)]
ShortlistId = Annotated[int, Path(description="Id of a shortlist.")]
OrganisationId = Annotated[int, Path(description="Id of an organisation on the shortlist.")]


@router.post(
    "",
    status_code=201,
    summary="Create a shortlist (owned by the caller)",
    responses={**SIGN_IN, 404: {"description": "Unknown call (problem details)."}},
)
def create_shortlist(
    session: SessionDep,
    principal: SignedInDep,
    body: ShortlistCreate,
    request: Request,
    response: Response,
) -> ShortlistPublic:
    created = shortlists.create_shortlist(session, principal, body)
    response.headers["Location"] = request.url_for("read_shortlist", shortlist_id=created.id).path
    return created


@router.get("", summary="List the caller's own shortlists, newest first", responses=SIGN_IN)
def list_shortlists(session: SessionDep, principal: SignedInDep, page: PageDep) -> ShortlistsPublic:
    rows, count = shortlists.list_shortlists(session, principal, page)
    return ShortlistsPublic(data=rows, count=count)


@router.get(
    "/{shortlist_id}",
    summary="Read a shortlist with its entries (owner; admins for support)",
    responses={**SIGN_IN, **NOT_FOUND},
)
def read_shortlist(
    session: SessionDep, principal: SignedInDep, shortlist_id: ShortlistId
) -> ShortlistPublic:
    return shortlists.get_shortlist(session, principal, shortlist_id)


@router.patch(
    "/{shortlist_id}", summary="Rename a shortlist, change its call or notes", responses=CHANGE
)
def update_shortlist(
    session: SessionDep, principal: SignedInDep, shortlist_id: ShortlistId, body: ShortlistUpdate
) -> ShortlistPublic:
    return shortlists.update_shortlist(session, principal, shortlist_id, body)


@router.delete(
    "/{shortlist_id}",
    status_code=204,
    summary="Delete a shortlist and its entries",
    responses=CHANGE,
)
def delete_shortlist(
    session: SessionDep, principal: SignedInDep, shortlist_id: ShortlistId
) -> None:
    shortlists.delete_shortlist(session, principal, shortlist_id)


@router.post(
    "/{shortlist_id}/entries",
    status_code=201,
    summary="Put an organisation on a shortlist (at the end unless a position is given)",
    responses={**CHANGE, **CONFLICT},
)
def add_entry(
    session: SessionDep,
    principal: SignedInDep,
    shortlist_id: ShortlistId,
    body: ShortlistEntryCreate,
) -> ShortlistEntryPublic:
    return shortlists.add_entry(session, principal, shortlist_id, body)


@router.patch(
    "/{shortlist_id}/entries/{organisation_id}",
    summary="Change the note or position of an organisation on a shortlist",
    responses=CHANGE,
)
def update_entry(
    session: SessionDep,
    principal: SignedInDep,
    shortlist_id: ShortlistId,
    organisation_id: OrganisationId,
    body: ShortlistEntryUpdate,
) -> ShortlistEntryPublic:
    return shortlists.update_entry(session, principal, shortlist_id, organisation_id, body)


@router.delete(
    "/{shortlist_id}/entries/{organisation_id}",
    status_code=204,
    summary="Take an organisation off a shortlist",
    responses=CHANGE,
)
def remove_entry(
    session: SessionDep,
    principal: SignedInDep,
    shortlist_id: ShortlistId,
    organisation_id: OrganisationId,
) -> None:
    shortlists.remove_entry(session, principal, shortlist_id, organisation_id)


@router.get(
    "/{shortlist_id}/export",
    summary="Download a shortlist as CSV or XLSX (owner; admins for support)",
    description="One row per entry in list order: position, organisation id, name, HQ country, "
    "type, website, note and contact e-mail (empty unless the caller may see the "
    "organisation's private fields). Cells that a spreadsheet would run as a formula start "
    "with an apostrophe. The CSV is UTF-8 with a byte-order mark.",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as an attachment.",
            "content": {
                shortlists.MEDIA_TYPES[ExportFormat.CSV]: {
                    "schema": {"type": "string", "format": "binary"}
                },
                shortlists.MEDIA_TYPES[ExportFormat.XLSX]: {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        **SIGN_IN,
        **NOT_FOUND,
    },
)
def export_shortlist(
    session: SessionDep,
    principal: SignedInDep,
    shortlist_id: ShortlistId,
    fmt: Annotated[ExportFormat, Query(alias="format", description="csv or xlsx.")] = (
        ExportFormat.CSV
    ),
) -> Response:
    export = shortlists.export_shortlist(session, principal, shortlist_id, fmt)
    return Response(
        content=export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
