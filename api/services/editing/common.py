"""What the editing services share: saving, applying changes, checking references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from api.services.catalogue import country_code
from api.services.errors import InvalidInput
from models.common import utcnow
from models.organisation import Organisation
from models.provenance import Provenance

OWN_PROJECTS = "members may change only the projects their organisation takes part in"


def save_row(session: Session, row: Any) -> None:
    session.add(row)
    session.commit()
    session.refresh(row)


def country_list(codes: Iterable[str], field: str) -> list[str]:
    seen: dict[str, None] = {}
    for code in codes:
        seen[country_code(code, field)] = None
    return list(seen)


def apply_changes(row: Any, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()


def require_organisation_exists(session: Session, organisation_id: int, field: str) -> None:
    if session.get(Organisation, organisation_id) is None:
        raise InvalidInput(f"{field}: organisation {organisation_id} does not exist")


def forget_provenance(session: Session, entity_type: str, entity_id: int) -> None:
    """A deleted row is no longer what its source records point to: a re-import adds it anew."""
    rows = session.exec(
        select(Provenance).where(
            col(Provenance.entity_type) == entity_type, col(Provenance.entity_id) == entity_id
        )
    ).all()
    for row in rows:
        session.delete(row)
