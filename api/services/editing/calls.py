"""Create, update and delete funding calls (staff only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api.services.auth import (
    Principal,
    require_staff,
)
from api.services.catalogue import get
from api.services.editing.common import (
    apply_changes,
    forget_provenance,
    save_row,
)
from api.services.errors import Conflict, InvalidInput
from models.call import Call, CallCreate, CallUpdate
from scrapers.store import next_deadline


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
    save_row(session, call)
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
    apply_changes(call, changes)
    save_row(session, call)
    return call


def delete_call(session: Session, principal: Principal, call_id: int) -> None:
    """Shortlists and feedback that named it keep their rows, without the call (SET NULL)."""
    require_staff(principal)
    call = get(session, Call, call_id)
    forget_provenance(session, "call", call_id)
    session.delete(call)
    session.commit()
