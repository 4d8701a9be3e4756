"""Organisations: list, read, create, update, delete; and the networks each belongs to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import catalogue, editing
from api.services.catalogue import OrganisationSort
from models.network import MembershipPublic, MembershipsPublic
from models.organisation import (
    OrganisationCreate,
    OrganisationPublic,
    OrganisationsPublic,
    OrganisationUpdate,
    OrgType,
)

router = APIRouter(prefix="/organisations", tags=["organisations"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such organisation."}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body or query (unknown country code, bad field)."}
}
SIGNED_IN: dict[int | str, dict[str, Any]] = {401: {"description": "No or invalid API key."}}
STAFF: dict[int | str, dict[str, Any]] = {
    **SIGNED_IN,
    403: {"description": "Only the secretariat or an admin may do this."},
}
OWNER: dict[int | str, dict[str, Any]] = {
    **SIGNED_IN,
    403: {"description": "Members may change only their own organisation."},
}


@router.get(
    "",
    summary="List organisations",
    description="Filters combine with AND. `contact_email` is filled only for the caller's own "
    "organisation (staff: every organisation).",
    responses=INVALID,
)
def list_organisations(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    country: Annotated[
        str | None, Query(min_length=2, max_length=2, description="HQ country, ISO alpha-2.")
    ] = None,
    org_type: Annotated[OrgType | None, Query(alias="type")] = None,
    name: Annotated[str | None, Query(max_length=200, description="Part of the name.")] = None,
    network: Annotated[
        str | None, Query(max_length=64, description="Members of the network with this slug.")
    ] = None,
    works_in: Annotated[
        str | None,
        Query(min_length=2, max_length=2, description="A country of work, ISO alpha-2."),
    ] = None,
    sort: Annotated[OrganisationSort, Query(description="Sort key.")] = OrganisationSort.NAME,
) -> OrganisationsPublic:
    rows, count = catalogue.list_organisations(
        session,
        principal,
        page,
        country=country,
        org_type=org_type,
        name=name,
        network=network,
        works_in=works_in,
        sort=sort,
    )
    return OrganisationsPublic(data=rows, count=count)


@router.post(
    "",
    status_code=201,
    summary="Create an organisation (staff)",
    responses={**STAFF, **INVALID},
)
def create_organisation(
    session: SessionDep,
    principal: PrincipalDep,
    body: OrganisationCreate,
    request: Request,
    response: Response,
) -> OrganisationPublic:
    org = editing.create_organisation(session, principal, body)
    assert org.id is not None
    response.headers["Location"] = str(request.url_for("read_organisation", organisation_id=org.id))
    return catalogue.organisation_public(principal, org)


@router.get("/{organisation_id}", summary="Read one organisation", responses=NOT_FOUND)
def read_organisation(
    session: SessionDep, principal: PrincipalDep, organisation_id: int
) -> OrganisationPublic:
    return catalogue.get_organisation(session, principal, organisation_id)


@router.patch(
    "/{organisation_id}",
    summary="Change an organisation (staff, or a member of it)",
    description="Only the fields sent change; derived income flags are recomputed.",
    responses={**OWNER, **NOT_FOUND, **INVALID},
)
def update_organisation(
    session: SessionDep, principal: PrincipalDep, organisation_id: int, body: OrganisationUpdate
) -> OrganisationPublic:
    org = editing.update_organisation(session, principal, organisation_id, body)
    return catalogue.organisation_public(principal, org)


@router.delete(
    "/{organisation_id}",
    status_code=204,
    summary="Delete an organisation (staff)",
    description="Its memberships and project participations go with it; its people stay, "
    "without an organisation. Refused (409) while member accounts belong to it.",
    responses={
        **STAFF,
        **NOT_FOUND,
        409: {"description": "Member accounts still belong to it."},
    },
)
def delete_organisation(session: SessionDep, principal: PrincipalDep, organisation_id: int) -> None:
    editing.delete_organisation(session, principal, organisation_id)


@router.get(
    "/{organisation_id}/networks",
    summary="The network memberships of an organisation",
    responses=NOT_FOUND,
)
def list_organisation_networks(
    session: SessionDep, page: PageDep, organisation_id: int
) -> MembershipsPublic:
    rows, count = catalogue.list_networks_of(session, organisation_id, page)
    return MembershipsPublic(data=[MembershipPublic.model_validate(r) for r in rows], count=count)
