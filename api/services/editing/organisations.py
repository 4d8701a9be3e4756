"""Create, update and delete organisations (staff; a member updates its own)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from api.services.auth import (
    Principal,
    require_organisation,
    require_signed_in,
    require_staff,
)
from api.services.catalogue import country_code, get
from api.services.editing.common import (
    apply_changes,
    country_list,
    forget_provenance,
    save_row,
)
from api.services.errors import Conflict, InvalidInput
from models.organisation import Organisation, OrganisationCreate, OrganisationUpdate
from models.person import Person
from models.reference import income_flags
from models.user import Role, User
from models.website import WebsiteSource


def _organisation_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Country codes checked and upper-cased."""
    if changes.get("hq_country") is not None:
        changes["hq_country"] = country_code(changes["hq_country"], "hq_country")
    if changes.get("countries") is not None:
        changes["countries"] = country_list(changes["countries"], "countries")
    return changes


def _derive(org: Organisation) -> None:
    """The income flags, as the importers compute them (`models.reference.income_flags`)."""
    org.hq_income_group, org.lmic_hq, org.works_in_lmic = income_flags(
        org.hq_country, org.countries
    )


def create_organisation(
    session: Session, principal: Principal, data: OrganisationCreate
) -> Organisation:
    require_staff(principal)
    org = Organisation(**_organisation_fields(data.model_dump()))
    _derive(org)
    save_row(session, org)
    return org


def update_organisation(
    session: Session, principal: Principal, organisation_id: int, data: OrganisationUpdate
) -> Organisation:
    require_signed_in(principal)
    org = get(session, Organisation, organisation_id)
    require_organisation(principal, org.id)
    changes = _organisation_fields(data.model_dump(exclude_unset=True))
    for required in ("name", "org_type", "aliases", "languages", "countries", "themes"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required}: may not be null")
    for text in ("city", "website", "description", "contact_email"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    apply_changes(org, changes)
    _derive(org)
    save_row(session, org)
    return org


def delete_organisation(session: Session, principal: Principal, organisation_id: int) -> None:
    """Memberships, project participations and shortlist entries go with it (ON DELETE CASCADE);
    its people stay, without an organisation; its website source is removed. Refused while
    member accounts belong to it (they need an organisation)."""
    require_staff(principal)
    org = get(session, Organisation, organisation_id)
    users = session.exec(select(User).where(col(User.organisation_id) == organisation_id)).all()
    members = [user for user in users if user.role == Role.MEMBER]
    if members:
        raise Conflict(
            f"organisation {organisation_id} still has {len(members)} member account(s); "
            "move or remove them first"
        )
    people = session.exec(select(Person).where(col(Person.organisation_id) == organisation_id))
    for row in [*people.all(), *users]:
        row.organisation_id = None
        session.add(row)
    sources = session.exec(
        select(WebsiteSource).where(col(WebsiteSource.organisation_id) == organisation_id)
    ).all()
    for source in sources:
        session.delete(source)
    forget_provenance(session, "organisation", organisation_id)
    session.delete(org)
    session.commit()
