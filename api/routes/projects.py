from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PageDep, SessionDep
from api.services import catalogue
from models.project import ProjectPublic, ProjectsPublic

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", summary="List projects, newest first")
def list_projects(
    session: SessionDep,
    page: PageDep,
    organisation_id: Annotated[
        int | None, Query(description="Only projects this organisation took part in.")
    ] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
) -> ProjectsPublic:
    rows, count = catalogue.list_projects(session, page, organisation_id=organisation_id, year=year)
    return ProjectsPublic(data=rows, count=count)


@router.get("/{project_id}", summary="Read one project with its participants")
def read_project(session: SessionDep, project_id: int) -> ProjectPublic:
    return catalogue.get_project(session, project_id)
