"""Create, update and delete organisations, people, projects, calls, networks and memberships.

Every function takes the `Principal` and checks it first (see `api.services.auth`): staff change
everything; a member changes its own organisation, that organisation's people and the projects
the organisation takes part in; calls, networks and memberships are the staff's. Each function
commits its own transaction. Duplicates are refused with `Conflict` before the insert; foreign
ids in bodies that do not exist are `InvalidInput`; unknown ids in paths are `NotFound`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api.services.auth import (
    Principal,
    require_organisation,
    require_signed_in,
    require_staff,
)
from api.services.catalogue import country_code, get, get_membership, get_visible_person
from api.services.errors import Conflict, Forbidden, InvalidInput
from models.call import Call, CallCreate, CallUpdate
from models.common import utcnow
from models.network import (
    Membership,
    MembershipCreate,
    MembershipUpdate,
    Network,
    NetworkCreate,
    NetworkUpdate,
)
from models.organisation import Organisation, OrganisationCreate, OrganisationUpdate
from models.person import Person, PersonCreate, PersonUpdate
from models.project import (
    ParticipantIn,
    ParticipantRole,
    Project,
    ProjectCreate,
    ProjectParticipant,
    ProjectUpdate,
)
from models.provenance import Provenance
from models.reference import income_flags
from models.user import Role, User
from models.website import WebsiteSource
from scrapers.store import next_deadline

OWN_PROJECTS = "members may change only the projects their organisation takes part in"


def _save(session: Session, row: Any) -> None:
    session.add(row)
    session.commit()
    session.refresh(row)


def _countries(codes: Iterable[str], field: str) -> list[str]:
    seen: dict[str, None] = {}
    for code in codes:
        seen[country_code(code, field)] = None
    return list(seen)


def _apply(row: Any, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()


def _require_organisation_exists(session: Session, organisation_id: int, field: str) -> None:
    if session.get(Organisation, organisation_id) is None:
        raise InvalidInput(f"{field}: organisation {organisation_id} does not exist")


def _forget_provenance(session: Session, entity_type: str, entity_id: int) -> None:
    """A deleted row is no longer what its source records point to: a re-import adds it anew."""
    rows = session.exec(
        select(Provenance).where(
            col(Provenance.entity_type) == entity_type, col(Provenance.entity_id) == entity_id
        )
    ).all()
    for row in rows:
        session.delete(row)


# --- organisations ---------------------------------------------------------------------------


def _organisation_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Country codes checked and upper-cased."""
    if changes.get("hq_country") is not None:
        changes["hq_country"] = country_code(changes["hq_country"], "hq_country")
    if changes.get("countries") is not None:
        changes["countries"] = _countries(changes["countries"], "countries")
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
    _save(session, org)
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
    _apply(org, changes)
    _derive(org)
    _save(session, org)
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
    _forget_provenance(session, "organisation", organisation_id)
    session.delete(org)
    session.commit()


# --- people ----------------------------------------------------------------------------------


def _person_fields(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("organisation_id") is not None:
        _require_organisation_exists(session, changes["organisation_id"], "organisation_id")
    if changes.get("countries") is not None:
        changes["countries"] = _countries(changes["countries"], "countries")
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
    _save(session, person)
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
    _apply(person, _person_fields(session, changes))
    _save(session, person)
    return person


def delete_person(session: Session, principal: Principal, person_id: int) -> None:
    require_signed_in(principal)
    person = get_visible_person(session, principal, person_id)
    require_organisation(principal, person.organisation_id)
    session.delete(person)
    session.commit()


# --- projects --------------------------------------------------------------------------------


def _participants(
    session: Session, principal: Principal, given: list[ParticipantIn]
) -> list[ParticipantIn]:
    """Checked participants; a member's own organisation is added as lead when missing."""
    ids = [p.organisation_id for p in given]
    if len(set(ids)) != len(ids):
        raise InvalidInput("participants: an organisation is listed more than once")
    for org_id in ids:
        _require_organisation_exists(session, org_id, "participants")
    own = principal.organisation_id
    if not principal.is_staff and own is not None and own not in ids:
        given = [*given, ParticipantIn(organisation_id=own, role=ParticipantRole.LEAD)]
    return given


def _project_fields(changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("countries") is not None:
        changes["countries"] = _countries(changes["countries"], "countries")
    return changes


def _participating(session: Session, project_id: int, organisation_id: int | None) -> bool:
    if organisation_id is None:
        return False
    found = session.get(ProjectParticipant, (project_id, organisation_id))
    return found is not None


def _require_project_editor(session: Session, principal: Principal, project_id: int) -> None:
    require_signed_in(principal)
    if principal.is_staff:
        return
    if not principal.belongs_to(principal.organisation_id) or not _participating(
        session, project_id, principal.organisation_id
    ):
        raise Forbidden(OWN_PROJECTS)


def _set_participants(session: Session, project_id: int, participants: list[ParticipantIn]) -> None:
    old = session.exec(
        select(ProjectParticipant).where(col(ProjectParticipant.project_id) == project_id)
    ).all()
    for row in old:
        session.delete(row)
    session.flush()
    for p in participants:
        session.add(
            ProjectParticipant(
                project_id=project_id, organisation_id=p.organisation_id, role=p.role
            )
        )


def create_project(session: Session, principal: Principal, data: ProjectCreate) -> Project:
    require_signed_in(principal)
    if not principal.is_staff and principal.organisation_id is None:
        raise Forbidden(OWN_PROJECTS)
    participants = _participants(session, principal, data.participants)
    project = Project(**_project_fields(data.model_dump(exclude={"participants"})))
    session.add(project)
    session.flush()
    assert project.id is not None
    _set_participants(session, project.id, participants)
    _save(session, project)
    return project


def update_project(
    session: Session, principal: Principal, project_id: int, data: ProjectUpdate
) -> Project:
    require_signed_in(principal)
    project = get(session, Project, project_id)
    _require_project_editor(session, principal, project_id)
    changes = _project_fields(data.model_dump(exclude_unset=True, exclude={"participants"}))
    for required in ("title", "keywords", "themes", "countries"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required}: may not be null")
    for text in (
        "description",
        "currency",
        "funder",
        "programme",
        "source_url",
        "funding_call_id",
        "funding_call_title",
        "funding_call_text",
    ):
        if text in changes and changes[text] is None:
            changes[text] = ""
    if "participants" in data.model_fields_set:
        given = data.participants or []
        own = principal.organisation_id
        if not principal.is_staff and own not in [p.organisation_id for p in given]:
            raise Forbidden("a member's own organisation must stay among the participants")
        _set_participants(session, project_id, _participants(session, principal, given))
    _apply(project, changes)
    _save(session, project)
    return project


def delete_project(session: Session, principal: Principal, project_id: int) -> None:
    require_signed_in(principal)
    project = get(session, Project, project_id)
    _require_project_editor(session, principal, project_id)
    _forget_provenance(session, "project", project_id)
    session.delete(project)  # participants go with it (ON DELETE CASCADE)
    session.commit()


# --- calls -----------------------------------------------------------------------------------


def _call_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Deadlines checked and sorted; the next deadline derived from them unless given."""
    if changes.get("deadlines") is not None:
        try:
            deadlines = sorted({date.fromisoformat(d) for d in changes["deadlines"]})
        except ValueError as exc:
            raise InvalidInput(f"deadlines: not an ISO date ({exc})") from exc
        changes["deadlines"] = [d.isoformat() for d in deadlines]
        if changes.get("next_deadline") is None:
            changes["next_deadline"] = next_deadline(deadlines)
    return changes


def _require_new_call_key(session: Session, source: str, source_id: str, own: int | None) -> None:
    found = session.exec(
        select(Call.id).where(col(Call.source) == source, col(Call.source_id) == source_id)
    ).first()
    if found is not None and found != own:
        raise Conflict(f"a call with source {source!r} and source_id {source_id!r} exists: {found}")


def create_call(session: Session, principal: Principal, data: CallCreate) -> Call:
    require_staff(principal)
    _require_new_call_key(session, data.source, data.source_id, None)
    call = Call(**_call_fields(data.model_dump()))
    _save(session, call)
    return call


def update_call(session: Session, principal: Principal, call_id: int, data: CallUpdate) -> Call:
    require_staff(principal)
    call = get(session, Call, call_id)
    changes = _call_fields(data.model_dump(exclude_unset=True))
    for required in ("source", "source_id", "title", "deadlines", "eligibility", "status"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required}: may not be null")
    if "keywords" in changes and changes["keywords"] is None:
        changes["keywords"] = []
    for text in ("text", "funder", "programme", "call_identifier", "action_type", "currency"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    for text in ("conditions", "url"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    source = changes.get("source", call.source)
    source_id = changes.get("source_id", call.source_id)
    _require_new_call_key(session, source, source_id, call.id)
    _apply(call, changes)
    _save(session, call)
    return call


def delete_call(session: Session, principal: Principal, call_id: int) -> None:
    """Shortlists and feedback that named it keep their rows, without the call (SET NULL)."""
    require_staff(principal)
    call = get(session, Call, call_id)
    _forget_provenance(session, "call", call_id)
    session.delete(call)
    session.commit()


# --- networks and memberships ----------------------------------------------------------------


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
    _save(session, network)
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
    _apply(network, changes)
    _save(session, network)
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
    _require_organisation_exists(session, data.organisation_id, "organisation_id")
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
    _save(session, membership)
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
    _apply(membership, changes)
    _save(session, membership)
    return membership


def remove_member(
    session: Session, principal: Principal, network_id: int, organisation_id: int
) -> None:
    require_staff(principal)
    membership = get_membership(session, network_id, organisation_id)
    session.delete(membership)
    session.commit()
