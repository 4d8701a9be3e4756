"""Create, update and delete networks and memberships (staff only)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from api.services.auth import (
    Principal,
    require_staff,
)
from api.services.catalogue import get, get_membership
from api.services.editing.common import (
    apply_changes,
    require_organisation_exists,
    save_row,
)
from api.services.errors import Conflict, InvalidInput
from models.network import (
    Membership,
    MembershipCreate,
    MembershipUpdate,
    Network,
    NetworkCreate,
    NetworkUpdate,
)


def _require_new_network(
    session: Session, name: str | None, slug: str | None, own: int | None
) -> None:
    for field, value in (("name", name), ("slug", slug)):
        if value is None:
            continue
        found = session.exec(select(Network.id).where(getattr(Network, field) == value)).first()
        if found is not None and found != own:
            raise Conflict(f"a network with {field} {value!r} exists: {found}")


def create_network(session: Session, principal: Principal, data: NetworkCreate) -> Network:
    require_staff(principal)
    _require_new_network(session, data.name, data.slug, None)
    network = Network(**data.model_dump())
    save_row(session, network)
    return network


def update_network(
    session: Session, principal: Principal, network_id: int, data: NetworkUpdate
) -> Network:
    require_staff(principal)
    network = get(session, Network, network_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "slug"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required}: may not be null")
    for text in ("description", "website"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    _require_new_network(session, changes.get("name"), changes.get("slug"), network.id)
    apply_changes(network, changes)
    save_row(session, network)
    return network


def delete_network(session: Session, principal: Principal, network_id: int) -> None:
    require_staff(principal)
    network = get(session, Network, network_id)
    session.delete(network)  # memberships go with it (ON DELETE CASCADE)
    session.commit()


def add_member(
    session: Session, principal: Principal, network_id: int, data: MembershipCreate
) -> Membership:
    require_staff(principal)
    get(session, Network, network_id)
    require_organisation_exists(session, data.organisation_id, "organisation_id")
    found = session.exec(
        select(Membership.id).where(
            col(Membership.network_id) == network_id,
            col(Membership.organisation_id) == data.organisation_id,
        )
    ).first()
    if found is not None:
        raise Conflict(
            f"organisation {data.organisation_id} is already a member of network {network_id}"
        )
    membership = Membership(network_id=network_id, **data.model_dump())
    save_row(session, membership)
    return membership


def update_member(
    session: Session,
    principal: Principal,
    network_id: int,
    organisation_id: int,
    data: MembershipUpdate,
) -> Membership:
    require_staff(principal)
    membership = get_membership(session, network_id, organisation_id)
    changes = data.model_dump(exclude_unset=True)
    if "level" in changes and changes["level"] is None:
        raise InvalidInput("level: may not be null")
    apply_changes(membership, changes)
    save_row(session, membership)
    return membership


def remove_member(
    session: Session, principal: Principal, network_id: int, organisation_id: int
) -> None:
    require_staff(principal)
    membership = get_membership(session, network_id, organisation_id)
    session.delete(membership)
    session.commit()
