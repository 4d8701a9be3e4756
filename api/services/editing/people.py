"""Create, update and delete people (staff, or a member for its own organisation's people)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.services.auth import (
    Principal,
    require_organisation,
    require_signed_in,
)
from api.services.catalogue import get_visible_person
from api.services.editing.common import (
    apply_changes,
    country_list,
    require_organisation_exists,
    save_row,
)
from api.services.errors import Forbidden, InvalidInput
from models.person import Person, PersonCreate, PersonUpdate


def _person_fields(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("organisation_id") is not None:
        require_organisation_exists(session, changes["organisation_id"], "organisation_id")
    if changes.get("countries") is not None:
        changes["countries"] = country_list(changes["countries"], "countries")
    return changes


def create_person(session: Session, principal: Principal, data: PersonCreate) -> Person:
    """A member adds people to its own organisation only (the default when none is given)."""
    require_signed_in(principal)
    fields = data.model_dump()
    if fields["organisation_id"] is None and not principal.is_staff:
        fields["organisation_id"] = principal.organisation_id
    if fields["organisation_id"] is not None or not principal.is_staff:
        require_organisation(principal, fields["organisation_id"])
    person = Person(**_person_fields(session, fields))
    save_row(session, person)
    return person


def update_person(
    session: Session, principal: Principal, person_id: int, data: PersonUpdate
) -> Person:
    require_signed_in(principal)
    person = get_visible_person(session, principal, person_id)
    require_organisation(principal, person.organisation_id)
    changes = data.model_dump(exclude_unset=True)
    moved = "organisation_id" in changes and changes["organisation_id"] != person.organisation_id
    if moved and not principal.is_staff:
        raise Forbidden("members may not move a person to another organisation")
    for required in ("name", "countries", "languages", "visibility"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required}: may not be null")
    for text in ("affiliation", "expertise", "email"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    apply_changes(person, _person_fields(session, changes))
    save_row(session, person)
    return person


def delete_person(session: Session, principal: Principal, person_id: int) -> None:
    require_signed_in(principal)
    person = get_visible_person(session, principal, person_id)
    require_organisation(principal, person.organisation_id)
    session.delete(person)
    session.commit()
