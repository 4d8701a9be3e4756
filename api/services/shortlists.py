"""Shortlists: the candidates a user keeps for a call, with notes, in order, and their export.

A shortlist belongs to the user who made it. Only its owner reads, changes, exports or deletes it;
an admin may read and export any (support), but not change it. To anyone else a shortlist that
is not theirs does not exist (`NotFound`), so ids reveal nothing.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from api.services.auth import Principal, can_manage_organisation, require_signed_in
from api.services.catalogue import PageParams, get_page
from api.services.errors import Conflict, Forbidden, NotFound
from models.call import Call
from models.common import utcnow
from models.organisation import Organisation
from models.shortlist import (
    ExportFormat,
    Shortlist,
    ShortlistCreate,
    ShortlistEntry,
    ShortlistEntryCreate,
    ShortlistEntryPublic,
    ShortlistEntryUpdate,
    ShortlistPublic,
    ShortlistUpdate,
)

# --- access ---------------------------------------------------------------------------------


def _owned(session: Session, principal: Principal, shortlist_id: int, *, read: bool) -> Shortlist:
    """The shortlist if `principal` may read it (`read`) or change it; `NotFound` otherwise."""
    require_signed_in(principal)
    shortlist = session.get(Shortlist, shortlist_id)
    if shortlist is None:
        raise NotFound("shortlist", shortlist_id)
    if shortlist.owner_id == principal.user_id:
        return shortlist
    if principal.is_admin:
        if read:
            return shortlist
        raise Forbidden("an admin may read other users' shortlists but not change them")
    raise NotFound("shortlist", shortlist_id)


def _require_call(session: Session, call_id: int | None) -> None:
    if call_id is not None and session.get(Call, call_id) is None:
        raise NotFound("call", call_id)


def _touch(session: Session, shortlist: Shortlist) -> None:
    shortlist.updated_at = utcnow()
    session.add(shortlist)


# --- reading --------------------------------------------------------------------------------


def _entries(
    session: Session, shortlist_ids: Sequence[int]
) -> dict[int, list[ShortlistEntryPublic]]:
    rows = session.exec(
        select(ShortlistEntry, Organisation.name)
        .join(Organisation, col(Organisation.id) == col(ShortlistEntry.organisation_id))
        .where(col(ShortlistEntry.shortlist_id).in_(shortlist_ids))
        .order_by(col(ShortlistEntry.position), col(ShortlistEntry.id))
    ).all()
    found: dict[int, list[ShortlistEntryPublic]] = {sid: [] for sid in shortlist_ids}
    for entry, name in rows:
        found[entry.shortlist_id].append(
            ShortlistEntryPublic.model_validate({**entry.model_dump(), "organisation_name": name})
        )
    return found


def _public(session: Session, shortlists: Sequence[Shortlist]) -> list[ShortlistPublic]:
    entries = _entries(session, [s.id for s in shortlists if s.id is not None])
    return [
        ShortlistPublic.model_validate({**s.model_dump(), "entries": entries.get(s.id or 0, [])})
        for s in shortlists
    ]


def list_shortlists(
    session: Session, principal: Principal, page: PageParams
) -> tuple[list[ShortlistPublic], int]:
    """The caller's own shortlists, newest first, each with its entries."""
    require_signed_in(principal)
    rows, count = get_page(
        session,
        Shortlist,
        page,
        where=[col(Shortlist.owner_id) == principal.user_id],
        order_by=[col(Shortlist.created_at).desc(), col(Shortlist.id).desc()],
    )
    return _public(session, rows), count


def get_shortlist(session: Session, principal: Principal, shortlist_id: int) -> ShortlistPublic:
    return _public(session, [_owned(session, principal, shortlist_id, read=True)])[0]


# --- changing -------------------------------------------------------------------------------


def create_shortlist(
    session: Session, principal: Principal, data: ShortlistCreate
) -> ShortlistPublic:
    require_signed_in(principal)
    assert principal.user_id is not None
    _require_call(session, data.call_id)
    shortlist = Shortlist.model_validate({**data.model_dump(), "owner_id": principal.user_id})
    session.add(shortlist)
    session.commit()
    session.refresh(shortlist)
    return _public(session, [shortlist])[0]


def update_shortlist(
    session: Session, principal: Principal, shortlist_id: int, data: ShortlistUpdate
) -> ShortlistPublic:
    shortlist = _owned(session, principal, shortlist_id, read=False)
    changes = data.model_dump(exclude_unset=True)
    if "call_id" in changes:
        _require_call(session, changes["call_id"])
    for field, value in changes.items():
        setattr(shortlist, field, value)
    _touch(session, shortlist)
    session.commit()
    session.refresh(shortlist)
    return _public(session, [shortlist])[0]


def delete_shortlist(session: Session, principal: Principal, shortlist_id: int) -> None:
    shortlist = _owned(session, principal, shortlist_id, read=False)
    # entries first, explicitly: not every database enforces ON DELETE CASCADE
    session.execute(delete(ShortlistEntry).where(col(ShortlistEntry.shortlist_id) == shortlist_id))
    session.delete(shortlist)
    session.commit()


def _entry(session: Session, shortlist_id: int, organisation_id: int) -> ShortlistEntry:
    entry = session.exec(
        select(ShortlistEntry).where(
            col(ShortlistEntry.shortlist_id) == shortlist_id,
            col(ShortlistEntry.organisation_id) == organisation_id,
        )
    ).first()
    if entry is None:
        raise NotFound("shortlist entry for organisation", organisation_id)
    return entry


def _entry_public(session: Session, entry: ShortlistEntry) -> ShortlistEntryPublic:
    organisation = session.get(Organisation, entry.organisation_id)
    name = organisation.name if organisation is not None else ""
    return ShortlistEntryPublic.model_validate({**entry.model_dump(), "organisation_name": name})


def add_entry(
    session: Session, principal: Principal, shortlist_id: int, data: ShortlistEntryCreate
) -> ShortlistEntryPublic:
    """Put an organisation on the list; without a position it goes to the end."""
    shortlist = _owned(session, principal, shortlist_id, read=False)
    if session.get(Organisation, data.organisation_id) is None:
        raise NotFound("organisation", data.organisation_id)
    existing = session.exec(
        select(ShortlistEntry.id).where(
            col(ShortlistEntry.shortlist_id) == shortlist_id,
            col(ShortlistEntry.organisation_id) == data.organisation_id,
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"organisation {data.organisation_id} is already on shortlist {shortlist_id}"
        )
    position = data.position
    if "position" not in data.model_fields_set:
        last = session.exec(
            select(func.max(ShortlistEntry.position)).where(
                col(ShortlistEntry.shortlist_id) == shortlist_id
            )
        ).one()
        position = 0 if last is None else last + 1
    entry = ShortlistEntry(
        shortlist_id=shortlist_id,
        organisation_id=data.organisation_id,
        note=data.note,
        position=position,
    )
    session.add(entry)
    _touch(session, shortlist)
    session.commit()
    session.refresh(entry)
    return _entry_public(session, entry)


def update_entry(
    session: Session,
    principal: Principal,
    shortlist_id: int,
    organisation_id: int,
    data: ShortlistEntryUpdate,
) -> ShortlistEntryPublic:
    shortlist = _owned(session, principal, shortlist_id, read=False)
    entry = _entry(session, shortlist_id, organisation_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(entry, field, value)
    session.add(entry)
    _touch(session, shortlist)
    session.commit()
    session.refresh(entry)
    return _entry_public(session, entry)


def remove_entry(
    session: Session, principal: Principal, shortlist_id: int, organisation_id: int
) -> None:
    shortlist = _owned(session, principal, shortlist_id, read=False)
    session.delete(_entry(session, shortlist_id, organisation_id))
    _touch(session, shortlist)
    session.commit()


# --- export ---------------------------------------------------------------------------------

EXPORT_HEADERS = (
    "position",
    "organisation_id",
    "name",
    "hq_country",
    "type",
    "website",
    "note",
    "contact_email",
)
MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# a cell starting with one of these is read as a formula by spreadsheet programs
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# control characters a workbook cannot hold (openpyxl refuses them)
ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Cell = int | str


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    content: bytes


def neutralise(value: Cell) -> Cell:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_filename(name: str, shortlist_id: int, extension: str) -> str:
    """An ASCII file name from the shortlist's name: letters, digits, '-', '_' and '.' only."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_name).strip("-._")[:80].strip("-._")
    return f"{stem or f'shortlist-{shortlist_id}'}.{extension}"


def export_rows(
    session: Session, principal: Principal, shortlist_id: int
) -> tuple[Shortlist, list[list[Cell]]]:
    """The header and one row per entry, in list order; contact e-mails only where allowed."""
    shortlist = _owned(session, principal, shortlist_id, read=True)
    found = session.exec(
        select(ShortlistEntry, Organisation)
        .join(Organisation, col(Organisation.id) == col(ShortlistEntry.organisation_id))
        .where(col(ShortlistEntry.shortlist_id) == shortlist_id)
        .order_by(col(ShortlistEntry.position), col(ShortlistEntry.id))
    ).all()
    rows: list[list[Cell]] = [list(EXPORT_HEADERS)]
    for entry, org in found:
        email = org.contact_email if can_manage_organisation(principal, org.id) else ""
        row: list[Cell] = [
            entry.position,
            entry.organisation_id,
            org.name,
            org.hq_country or "",
            str(org.org_type),
            org.website,
            entry.note,
            email,
        ]
        rows.append([neutralise(cell) for cell in row])
    return shortlist, rows


def to_csv(rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def to_xlsx(rows: Sequence[Sequence[Cell]], title: str = "Shortlist") -> bytes:
    import openpyxl  # imported here: only this export needs it

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append([ILLEGAL_XLSX.sub("", c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_shortlist(
    session: Session, principal: Principal, shortlist_id: int, fmt: ExportFormat
) -> Export:
    shortlist, rows = export_rows(session, principal, shortlist_id)
    content = to_csv(rows) if fmt is ExportFormat.CSV else to_xlsx(rows)
    filename = safe_filename(shortlist.name, shortlist_id, fmt.value)
    return Export(filename=filename, media_type=MEDIA_TYPES[fmt], content=content)
