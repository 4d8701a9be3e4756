"""Projects with their participants: list, read, create, update, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.deps import PageDep, PrincipalDep, SessionDep
from api.services import catalogue, editing
from api.services.catalogue import ProjectSort
from models.project import ProjectCreate, ProjectPublic, ProjectsPublic, ProjectUpdate

router = APIRouter(prefix="/projects", tags=["projects"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such project."}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body (unknown participant or country code, bad field)."}
}
OWNER: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid API key."},
    403: {"description": "Members may change only the projects their organisation is in."},
}


@router.get(
    "",
    summary="List projects, newest first",
    responses={404: {"description": "No such organisation."}, **INVALID},
)
def list_projects(
    session: SessionDep,
    page: PageDep,
    organisation_id: Annotated[
        int | None, Query(description="Only projects this organisation took part in.")
    ] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    country: Annotated[
        str | None,
        Query(min_length=2, max_length=2, description="A country of work, ISO alpha-2."),
    ] = None,
    sort: Annotated[ProjectSort, Query(description="Sort key.")] = ProjectSort.YEAR_DESC,
) -> ProjectsPublic:
    rows, count = catalogue.list_projects(
        session, page, organisation_id=organisation_id, year=year, country=country, sort=sort
    )
    return ProjectsPublic(data=rows, count=count)


@router.post(
    "",
    status_code=201,
    summary="Add a project (staff, or a member: its organisation takes part)",
    description="A member's own organisation is added as lead when it is not among the "
    "participants.",
    responses={**OWNER, **INVALID},
)
def create_project(
    session: SessionDep,
    principal: PrincipalDep,
    body: ProjectCreate,
    request: Request,
    response: Response,
) -> ProjectPublic:
    project = editing.create_project(session, principal, body)
    assert project.id is not None
    response.headers["Location"] = str(request.url_for("read_project", project_id=project.id))
    return catalogue.get_project(session, project.id)


@router.get("/{project_id}", summary="Read one project with its participants", responses=NOT_FOUND)
def read_project(session: SessionDep, project_id: int) -> ProjectPublic:
    return catalogue.get_project(session, project_id)


@router.patch(
    "/{project_id}",
    summary="Change a project (staff, or a member whose organisation takes part)",
    description="Only the fields sent change; `participants`, when sent, replaces the list.",
    responses={**OWNER, **NOT_FOUND, **INVALID},
)
def update_project(
    session: SessionDep, principal: PrincipalDep, project_id: int, body: ProjectUpdate
) -> ProjectPublic:
    editing.update_project(session, principal, project_id, body)
    return catalogue.get_project(session, project_id)


@router.delete(
    "/{project_id}",
    status_code=204,
    summary="Delete a project (staff, or a member whose organisation takes part)",
    responses={**OWNER, **NOT_FOUND},
)
def delete_project(session: SessionDep, principal: PrincipalDep, project_id: int) -> None:
    editing.delete_project(session, principal, project_id)
