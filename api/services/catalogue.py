"""Listing and lookup of organisations, people, projects, calls and networks.

Reads that may touch private data take the `Principal`: contact e-mails of organisations and
e-mails of people are filled only for those who manage the organisation (its members, the staff);
people the principal may not see are left out of lists (in SQL, so paging stays right) and are
"not found" when read by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, cast, func, or_
from sqlmodel import Session, SQLModel, col, select

from api.services.auth import (
    Principal,
    can_manage_organisation,
    can_see_person,
    visible_visibilities,
)
from api.services.errors import InvalidInput, NotFound
from models.call import Call
from models.network import Membership, Network
from models.organisation import Organisation, OrganisationPublic
from models.person import Person, PersonPublic
from models.project import ParticipantPublic, Project, ProjectParticipant, ProjectPublic
from models.reference import load_countries

T = TypeVar("T", bound=SQLModel)


@dataclass(frozen=True)
class PageParams:
    offset: int = 0
    limit: int = 50


class OrganisationSort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    COUNTRY = "country"
    UPDATED_DESC = "-updated_at"


class PersonSort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    UPDATED_DESC = "-updated_at"


class ProjectSort(StrEnum):
    YEAR_DESC = "-year"
    YEAR = "year"
    TITLE = "title"


class CallSort(StrEnum):
    DEADLINE = "deadline"
    DEADLINE_DESC = "-deadline"
    UPDATED_DESC = "-updated_at"
    TITLE = "title"


def get(session: Session, model: type[T], entity_id: int) -> T:
    row = session.get(model, entity_id)
    if row is None:
        raise NotFound(model.__name__.lower(), entity_id)
    return row


def get_page(
    session: Session,
    model: type[T],
    page: PageParams,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[Any] = (),
) -> tuple[list[T], int]:
    """One page of rows and the total count of rows matching `where`."""
    count = session.exec(select(func.count()).select_from(model).where(*where)).one()
    query = select(model).where(*where).order_by(*order_by, col(model.id))  # type: ignore[attr-defined]
    rows = session.exec(query.offset(page.offset).limit(page.limit)).all()
    return list(rows), count


def country_code(code: str, field: str = "country") -> str:
    """An ISO alpha-2 code, upper-cased; `InvalidInput` for anything that is not a known one."""
    upper = code.strip().upper()
    if len(upper) != 2 or not upper.isalpha():
        raise InvalidInput(f"{field}: {code!r} is not a two-letter ISO country code")
    if upper not in load_countries():
        raise InvalidInput(f"{field}: {code!r} is not a known ISO country code")
    return upper


def _json_list_has(column: Any, code: str) -> ColumnElement[bool]:
    """A JSON list column holds `code` (a validated ISO code, so no LIKE wildcard in it); the
    JSON text is searched for the quoted value, which works on SQLite and PostgreSQL alike."""
    return cast(column, String).like(f'%"{code}"%')


# --- organisations ---------------------------------------------------------------------------


def organisation_filters(
    country: str | None,
    org_type: str | None,
    name: str | None,
    *,
    network: str | None = None,
    works_in: str | None = None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if country:
        where.append(col(Organisation.hq_country) == country.upper())
    if org_type:
        where.append(col(Organisation.org_type) == org_type)
    if name:
        where.append(col(Organisation.name).icontains(name))
    if network:
        members = (
            select(Membership.organisation_id)
            .join(Network, col(Network.id) == col(Membership.network_id))
            .where(col(Network.slug) == network)
        )
        where.append(col(Organisation.id).in_(members))
    if works_in:
        where.append(_json_list_has(Organisation.countries, country_code(works_in, "works_in")))
    return where


ORGANISATION_ORDER: dict[OrganisationSort, list[Any]] = {
    OrganisationSort.NAME: [col(Organisation.name)],
    OrganisationSort.NAME_DESC: [col(Organisation.name).desc()],
    OrganisationSort.COUNTRY: [
        col(Organisation.hq_country).is_(None),
        col(Organisation.hq_country),
        col(Organisation.name),
    ],
    OrganisationSort.UPDATED_DESC: [col(Organisation.updated_at).desc()],
}


def organisation_public(principal: Principal, org: Organisation) -> OrganisationPublic:
    """The public view; the contact e-mail only for those who manage the organisation."""
    public = OrganisationPublic.model_validate(org, from_attributes=True)
    public.contact_email = org.contact_email if can_manage_organisation(principal, org.id) else None
    return public


def list_organisations(
    session: Session,
    principal: Principal,
    page: PageParams,
    *,
    country: str | None = None,
    org_type: str | None = None,
    name: str | None = None,
    network: str | None = None,
    works_in: str | None = None,
    sort: OrganisationSort = OrganisationSort.NAME,
) -> tuple[list[OrganisationPublic], int]:
    where = organisation_filters(country, org_type, name, network=network, works_in=works_in)
    rows, count = get_page(
        session, Organisation, page, where=where, order_by=ORGANISATION_ORDER[sort]
    )
    return [organisation_public(principal, row) for row in rows], count


def get_organisation(
    session: Session, principal: Principal, organisation_id: int
) -> OrganisationPublic:
    return organisation_public(principal, get(session, Organisation, organisation_id))


# --- people ----------------------------------------------------------------------------------


PERSON_ORDER: dict[PersonSort, list[Any]] = {
    PersonSort.NAME: [col(Person.name)],
    PersonSort.NAME_DESC: [col(Person.name).desc()],
    PersonSort.UPDATED_DESC: [col(Person.updated_at).desc()],
}


def person_public(principal: Principal, person: Person) -> PersonPublic:
    public = PersonPublic.model_validate(person, from_attributes=True)
    manages = can_manage_organisation(principal, person.organisation_id)
    public.email = person.email if manages else None
    return public


def visible_people(principal: Principal) -> ColumnElement[bool]:
    """The people a principal may see, as a WHERE clause (see `auth.can_see_person`)."""
    visible = col(Person.visibility).in_([v.value for v in visible_visibilities(principal)])
    if principal.organisation_id is not None and not principal.is_staff:
        return or_(visible, col(Person.organisation_id) == principal.organisation_id)
    return visible


def list_people(
    session: Session,
    principal: Principal,
    page: PageParams,
    *,
    organisation_id: int | None = None,
    name: str | None = None,
    sort: PersonSort = PersonSort.NAME,
) -> tuple[list[PersonPublic], int]:
    where = [visible_people(principal)]
    if organisation_id is not None:
        get(session, Organisation, organisation_id)
        where.append(col(Person.organisation_id) == organisation_id)
    if name:
        where.append(col(Person.name).icontains(name))
    rows, count = get_page(session, Person, page, where=where, order_by=PERSON_ORDER[sort])
    return [person_public(principal, row) for row in rows], count


def get_visible_person(session: Session, principal: Principal, person_id: int) -> Person:
    """The person row; `NotFound` also when the principal may not see it (existence is private)."""
    person = session.get(Person, person_id)
    if person is None or not can_see_person(principal, person):
        raise NotFound("person", person_id)
    return person


def get_person(session: Session, principal: Principal, person_id: int) -> PersonPublic:
    return person_public(principal, get_visible_person(session, principal, person_id))


# --- projects --------------------------------------------------------------------------------


def _participants(session: Session, project_ids: list[int]) -> dict[int, list[ParticipantPublic]]:
    rows = session.exec(
        select(ProjectParticipant).where(col(ProjectParticipant.project_id).in_(project_ids))
    ).all()
    found: dict[int, list[ParticipantPublic]] = {pid: [] for pid in project_ids}
    for row in rows:
        found[row.project_id].append(ParticipantPublic.model_validate(row, from_attributes=True))
    return found


def with_participants(session: Session, projects: list[Project]) -> list[ProjectPublic]:
    participants = _participants(session, [p.id for p in projects if p.id is not None])
    return [
        ProjectPublic.model_validate(
            {**p.model_dump(), "participants": participants.get(p.id or 0, [])}
        )
        for p in projects
    ]


PROJECT_ORDER: dict[ProjectSort, list[Any]] = {
    ProjectSort.YEAR_DESC: [col(Project.year).is_(None), col(Project.year).desc()],
    ProjectSort.YEAR: [col(Project.year).is_(None), col(Project.year)],
    ProjectSort.TITLE: [col(Project.title)],
}


def list_projects(
    session: Session,
    page: PageParams,
    *,
    organisation_id: int | None = None,
    year: int | None = None,
    country: str | None = None,
    sort: ProjectSort = ProjectSort.YEAR_DESC,
) -> tuple[list[ProjectPublic], int]:
    where: list[ColumnElement[bool]] = []
    if organisation_id is not None:
        get(session, Organisation, organisation_id)
        members = select(ProjectParticipant.project_id).where(
            ProjectParticipant.organisation_id == organisation_id
        )
        where.append(col(Project.id).in_(members))
    if year is not None:
        where.append(col(Project.year) == year)
    if country:
        where.append(_json_list_has(Project.countries, country_code(country)))
    rows, count = get_page(session, Project, page, where=where, order_by=PROJECT_ORDER[sort])
    return with_participants(session, rows), count


def get_project(session: Session, project_id: int) -> ProjectPublic:
    return with_participants(session, [get(session, Project, project_id)])[0]


# --- calls -----------------------------------------------------------------------------------


CALL_ORDER: dict[CallSort, list[Any]] = {
    CallSort.DEADLINE: [col(Call.next_deadline).is_(None), col(Call.next_deadline)],
    CallSort.DEADLINE_DESC: [col(Call.next_deadline).is_(None), col(Call.next_deadline).desc()],
    CallSort.UPDATED_DESC: [col(Call.updated_at).desc()],
    CallSort.TITLE: [col(Call.title)],
}


def list_calls(
    session: Session,
    page: PageParams,
    *,
    status: str | None = None,
    source: str | None = None,
    programme: str | None = None,
    deadline_after: date | None = None,
    sort: CallSort = CallSort.DEADLINE,
) -> tuple[list[Call], int]:
    where: list[ColumnElement[bool]] = []
    if status:
        where.append(col(Call.status) == status)
    if source:
        where.append(col(Call.source) == source)
    if programme:
        where.append(col(Call.programme) == programme)
    if deadline_after is not None:
        where.append(col(Call.next_deadline) >= deadline_after)
    return get_page(session, Call, page, where=where, order_by=CALL_ORDER[sort])


# --- networks and memberships ----------------------------------------------------------------


def list_networks(session: Session, page: PageParams) -> tuple[list[Network], int]:
    return get_page(session, Network, page, order_by=[col(Network.name)])


def list_members(
    session: Session, network_id: int, page: PageParams
) -> tuple[list[Membership], int]:
    get(session, Network, network_id)
    where = [col(Membership.network_id) == network_id]
    return get_page(session, Membership, page, where=where)


def list_networks_of(
    session: Session, organisation_id: int, page: PageParams
) -> tuple[list[Membership], int]:
    get(session, Organisation, organisation_id)
    where = [col(Membership.organisation_id) == organisation_id]
    return get_page(session, Membership, page, where=where)


def get_membership(session: Session, network_id: int, organisation_id: int) -> Membership:
    get(session, Network, network_id)
    row = session.exec(
        select(Membership).where(
            col(Membership.network_id) == network_id,
            col(Membership.organisation_id) == organisation_id,
        )
    ).first()
    if row is None:
        raise NotFound(f"membership of organisation {organisation_id} in network", network_id)
    return row
