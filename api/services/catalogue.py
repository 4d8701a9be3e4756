"""Read-only listing and lookup of organisations, projects and calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, SQLModel, col, select

from api.services.errors import NotFound
from models.call import Call
from models.organisation import Organisation
from models.project import ParticipantPublic, Project, ProjectParticipant, ProjectPublic

T = TypeVar("T", bound=SQLModel)


@dataclass(frozen=True)
class PageParams:
    offset: int = 0
    limit: int = 50


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


def organisation_filters(
    country: str | None, org_type: str | None, name: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if country:
        where.append(col(Organisation.hq_country) == country.upper())
    if org_type:
        where.append(col(Organisation.org_type) == org_type)
    if name:
        where.append(col(Organisation.name).icontains(name))
    return where


def list_organisations(
    session: Session,
    page: PageParams,
    *,
    country: str | None = None,
    org_type: str | None = None,
    name: str | None = None,
) -> tuple[list[Organisation], int]:
    where = organisation_filters(country, org_type, name)
    return get_page(session, Organisation, page, where=where, order_by=[col(Organisation.name)])


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


def list_projects(
    session: Session,
    page: PageParams,
    *,
    organisation_id: int | None = None,
    year: int | None = None,
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
    rows, count = get_page(session, Project, page, where=where, order_by=[col(Project.year).desc()])
    return with_participants(session, rows), count


def get_project(session: Session, project_id: int) -> ProjectPublic:
    return with_participants(session, [get(session, Project, project_id)])[0]


def list_calls(
    session: Session, page: PageParams, *, status: str | None = None
) -> tuple[list[Call], int]:
    where = [col(Call.status) == status] if status else []
    order = [col(Call.next_deadline).is_(None), col(Call.next_deadline)]
    return get_page(session, Call, page, where=where, order_by=order)
