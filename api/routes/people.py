"""People: expert profiles. Lists and reads leave out the people the caller may not see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import catalogue, editing
from api.services.catalogue import PersonSort
from models.person import PeoplePublic, PersonCreate, PersonPublic, PersonUpdate

router = APIRouter(prefix="/people", tags=["people"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such person, or one the caller may not see."}
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body (unknown organisation or country code, bad field)."}
}
OWNER: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid API key."},
    403: {"description": "Members may change only the people of their own organisation."},
}


@router.get(
    "",
    summary="List people the caller may see",
    description="Anonymous callers see public profiles; signed-in callers also network-wide "
    "ones; members also the private profiles of their own organisation; staff everyone. "
    "`email` is filled only for the caller's own organisation (staff: everyone).",
    responses={404: {"description": "No such organisation."}},
)
def list_people(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    organisation_id: Annotated[int | None, Query(description="People of this organisation.")] = (
        None
    ),
    name: Annotated[str | None, Query(max_length=200, description="Part of the name.")] = None,
    sort: Annotated[PersonSort, Query(description="Sort key.")] = PersonSort.NAME,
) -> PeoplePublic:
    rows, count = catalogue.list_people(
        session, principal, page, organisation_id=organisation_id, name=name, sort=sort
    )
    return PeoplePublic(data=rows, count=count)


@router.post(
    "",
    status_code=201,
    summary="Add a person (staff, or a member for its own organisation)",
    description="A member's person belongs to the member's organisation (the default).",
    responses={**OWNER, **INVALID},
)
def create_person(
    session: SessionDep,
    principal: PrincipalDep,
    body: PersonCreate,
    request: Request,
    response: Response,
) -> PersonPublic:
    person = editing.create_person(session, principal, body)
    assert person.id is not None
    response.headers["Location"] = str(request.url_for("read_person", person_id=person.id))
    return catalogue.person_public(principal, person)


@router.get("/{person_id}", summary="Read one person", responses=NOT_FOUND)
def read_person(session: SessionDep, principal: PrincipalDep, person_id: int) -> PersonPublic:
    return catalogue.get_person(session, principal, person_id)


@router.patch(
    "/{person_id}",
    summary="Change a person (staff, or a member of the person's organisation)",
    description="Only the fields sent change. Members may not move a person to another "
    "organisation.",
    responses={**OWNER, **NOT_FOUND, **INVALID},
)
def update_person(
    session: SessionDep, principal: PrincipalDep, person_id: int, body: PersonUpdate
) -> PersonPublic:
    return catalogue.person_public(
        principal, editing.update_person(session, principal, person_id, body)
    )


@router.delete(
    "/{person_id}",
    status_code=204,
    summary="Delete a person (staff, or a member of the person's organisation)",
    responses={**OWNER, **NOT_FOUND},
)
def delete_person(session: SessionDep, principal: PrincipalDep, person_id: int) -> None:
    editing.delete_person(session, principal, person_id)
