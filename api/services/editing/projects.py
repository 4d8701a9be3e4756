"""Create, update and delete projects (staff, or a member whose organisation takes part)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from api.services.auth import (
    Principal,
    require_signed_in,
)
from api.services.catalogue import get
from api.services.editing.common import (
    OWN_PROJECTS,
    apply_changes,
    country_list,
    forget_provenance,
    require_organisation_exists,
    save_row,
)
from api.services.errors import Forbidden, InvalidInput
from models.project import (
    ParticipantIn,
    ParticipantRole,
    Project,
    ProjectCreate,
    ProjectParticipant,
    ProjectUpdate,
)


def _participants(
    session: Session, principal: Principal, given: list[ParticipantIn]
) -> list[ParticipantIn]:
    """Checked participants; a member's own organisation is added as lead when missing."""
    ids = [p.organisation_id for p in given]
    if len(set(ids)) != len(ids):
        raise InvalidInput("participants: an organisation is listed more than once")
    for org_id in ids:
        require_organisation_exists(session, org_id, "participants")
    own = principal.organisation_id
    if not principal.is_staff and own is not None and own not in ids:
        given = [*given, ParticipantIn(organisation_id=own, role=ParticipantRole.LEAD)]
    return given


def _project_fields(changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("countries") is not None:
        changes["countries"] = country_list(changes["countries"], "countries")
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
    save_row(session, project)
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
    apply_changes(project, changes)
    save_row(session, project)
    return project


def delete_project(session: Session, principal: Principal, project_id: int) -> None:
    require_signed_in(principal)
    project = get(session, Project, project_id)
    _require_project_editor(session, principal, project_id)
    forget_provenance(session, "project", project_id)
    session.delete(project)  # participants go with it (ON DELETE CASCADE)
    session.commit()
