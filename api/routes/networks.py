"""Networks and their members: anyone reads them; the staff change them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import catalogue, editing
from models.network import (
    MembershipCreate,
    MembershipPublic,
    MembershipsPublic,
    MembershipUpdate,
    Network,
    NetworkCreate,
    NetworkPublic,
    NetworksPublic,
    NetworkUpdate,
)

router = APIRouter(prefix="/networks", tags=["networks"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such network."}}
MEMBER_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such network, or the organisation is not a member of it."}
}
STAFF: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid API key."},
    403: {"description": "Only the secretariat or an admin may do this."},
}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid body."}}


@router.get("", summary="List networks")
def list_networks(session: SessionDep, page: PageDep) -> NetworksPublic:
    rows, count = catalogue.list_networks(session, page)
    return NetworksPublic(data=[NetworkPublic.model_validate(r) for r in rows], count=count)


@router.post(
    "",
    status_code=201,
    summary="Add a network (staff)",
    responses={**STAFF, 409: {"description": "The name or slug is taken."}, **INVALID},
)
def create_network(
    session: SessionDep,
    principal: PrincipalDep,
    body: NetworkCreate,
    request: Request,
    response: Response,
) -> NetworkPublic:
    network = editing.create_network(session, principal, body)
    assert network.id is not None
    response.headers["Location"] = str(request.url_for("read_network", network_id=network.id))
    return NetworkPublic.model_validate(network)


@router.get("/{network_id}", summary="Read one network", responses=NOT_FOUND)
def read_network(session: SessionDep, network_id: int) -> NetworkPublic:
    return NetworkPublic.model_validate(catalogue.get(session, Network, network_id))


@router.patch(
    "/{network_id}",
    summary="Change a network (staff)",
    responses={
        **STAFF,
        **NOT_FOUND,
        409: {"description": "The name or slug is taken."},
        **INVALID,
    },
)
def update_network(
    session: SessionDep, principal: PrincipalDep, network_id: int, body: NetworkUpdate
) -> NetworkPublic:
    network = editing.update_network(session, principal, network_id, body)
    return NetworkPublic.model_validate(network)


@router.delete(
    "/{network_id}",
    status_code=204,
    summary="Delete a network and its memberships (staff)",
    responses={**STAFF, **NOT_FOUND},
)
def delete_network(session: SessionDep, principal: PrincipalDep, network_id: int) -> None:
    editing.delete_network(session, principal, network_id)


@router.get("/{network_id}/members", summary="The members of a network", responses=NOT_FOUND)
def list_members(session: SessionDep, page: PageDep, network_id: int) -> MembershipsPublic:
    rows, count = catalogue.list_members(session, network_id, page)
    return MembershipsPublic(data=[MembershipPublic.model_validate(r) for r in rows], count=count)


@router.post(
    "/{network_id}/members",
    status_code=201,
    summary="Add an organisation to a network (staff)",
    responses={
        **STAFF,
        **NOT_FOUND,
        409: {"description": "The organisation is already a member."},
        422: {"description": "Invalid body (unknown organisation)."},
    },
)
def add_member(
    session: SessionDep,
    principal: PrincipalDep,
    network_id: int,
    body: MembershipCreate,
    request: Request,
    response: Response,
) -> MembershipPublic:
    membership = editing.add_member(session, principal, network_id, body)
    response.headers["Location"] = str(
        request.url_for(
            "read_member", network_id=network_id, organisation_id=membership.organisation_id
        )
    )
    return MembershipPublic.model_validate(membership)


@router.get(
    "/{network_id}/members/{organisation_id}",
    summary="One organisation's membership of a network",
    responses=MEMBER_NOT_FOUND,
)
def read_member(session: SessionDep, network_id: int, organisation_id: int) -> MembershipPublic:
    return MembershipPublic.model_validate(
        catalogue.get_membership(session, network_id, organisation_id)
    )


@router.patch(
    "/{network_id}/members/{organisation_id}",
    summary="Change a membership's level or date (staff)",
    responses={**STAFF, **MEMBER_NOT_FOUND, **INVALID},
)
def update_member(
    session: SessionDep,
    principal: PrincipalDep,
    network_id: int,
    organisation_id: int,
    body: MembershipUpdate,
) -> MembershipPublic:
    membership = editing.update_member(session, principal, network_id, organisation_id, body)
    return MembershipPublic.model_validate(membership)


@router.delete(
    "/{network_id}/members/{organisation_id}",
    status_code=204,
    summary="Remove an organisation from a network (staff)",
    responses={**STAFF, **MEMBER_NOT_FOUND},
)
def remove_member(
    session: SessionDep, principal: PrincipalDep, network_id: int, organisation_id: int
) -> None:
    editing.remove_member(session, principal, network_id, organisation_id)
