"""Storing parsed records, idempotently: each row is found again through its provenance record
(source, entity type, external id) and rewritten only when its content hash changed.

The caller owns the transaction: a failed import is rolled back whole by `session_scope`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from models.call import Call
from models.common import utcnow
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.provenance import Provenance
from models.reference import income_flags
from scrapers.call_merge import CallKey, CallMatcher
from scrapers.records import CallRecord, OrganisationRecord, ProjectRecord

Progress = Callable[[int], None]  # called with the number of records just handled
CHUNK = 500


class _Record(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def external_id(self) -> str: ...
    def digest(self) -> str: ...


R = TypeVar("R", bound=_Record)


@dataclass
class StoreCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # new to this source, but the same entity as one already stored

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.merged


@dataclass
class Stored:
    counts: StoreCounts
    ids: dict[str, int]  # external id -> row id, for every record handed in
    changed: set[int]  # row ids inserted or updated


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def provenance_of(session: Session, source: str, entity_type: str) -> dict[str, Provenance]:
    rows = session.exec(
        select(Provenance).where(Provenance.source == source, Provenance.entity_type == entity_type)
    ).all()
    return {row.external_id: row for row in rows}


def _load(session: Session, model: type[Any], ids: list[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in _chunks(ids):
        for row in session.exec(select(model).where(col(model.id).in_(chunk))).all():
            found[row.id] = row
    return found


def upsert(
    session: Session,
    records: Sequence[R],
    *,
    entity_type: str,
    model: type[SQLModel],
    fields: Callable[[R], dict[str, Any]],
    progress: Progress | None = None,
    link: Callable[[R], int | None] | None = None,
    apply: Callable[[Any, R], None] | None = None,
) -> Stored:
    """Insert new records, update changed ones, leave unchanged ones alone; write provenance.

    `link` may name an existing row that a record new to its source duplicates (the record is
    then merged into it, with a provenance row of its own); `apply` writes a record onto an
    existing row (default: every field of `fields`).
    """
    apply = apply or _overwrite(fields)
    counts, ids, changed = StoreCounts(), {}, set()
    by_source: dict[str, dict[str, Provenance]] = {}
    for chunk in _chunks(records):
        fresh: list[tuple[R, str, Any]] = []
        stale: list[tuple[R, str, Provenance]] = []
        linked: list[tuple[R, str, int]] = []
        for record in chunk:
            if record.source not in by_source:
                by_source[record.source] = provenance_of(session, record.source, entity_type)
            prov = by_source[record.source].get(record.external_id)
            digest = record.digest()
            target = link(record) if prov is None and link is not None else None
            if target is not None:
                linked.append((record, digest, target))
            elif prov is None:
                fresh.append((record, digest, model(**fields(record))))
            elif prov.content_hash != digest:
                stale.append((record, digest, prov))
            else:
                ids[record.external_id] = prov.entity_id
                counts.unchanged += 1
        _update(session, model, stale, apply)
        _merge(session, model, linked, apply)
        session.add_all([row for _, _, row in fresh])
        session.flush()
        now = utcnow()
        new = [(record, digest, row.id) for record, digest, row in fresh] + linked
        for record, digest, entity_id in new:
            prov = Provenance(
                entity_type=entity_type,
                entity_id=entity_id,
                source=record.source,
                external_id=record.external_id,
                content_hash=digest,
                fetched_at=now,
            )
            session.add(prov)
            by_source[record.source][record.external_id] = prov
            ids[record.external_id] = entity_id
            changed.add(entity_id)
        for record, _, prov in stale:
            ids[record.external_id] = prov.entity_id
            changed.add(prov.entity_id)
        counts.inserted += len(fresh)
        counts.updated += len(stale)
        counts.merged += len(linked)
        if progress:
            progress(len(chunk))
    session.flush()
    return Stored(counts, ids, changed)


def _overwrite(fields: Callable[[R], dict[str, Any]]) -> Callable[[Any, R], None]:
    def apply(row: Any, record: R) -> None:
        for name, value in fields(record).items():
            setattr(row, name, value)

    return apply


def _update(
    session: Session,
    model: type[SQLModel],
    stale: list[tuple[R, str, Provenance]],
    apply: Callable[[Any, R], None],
) -> None:
    rows = _load(session, model, [prov.entity_id for _, _, prov in stale])
    now = utcnow()
    for record, digest, prov in stale:
        row = rows[prov.entity_id]
        apply(row, record)
        if hasattr(row, "updated_at"):
            row.updated_at = now
        prov.content_hash = digest
        prov.fetched_at = now


def _merge(
    session: Session,
    model: type[SQLModel],
    linked: list[tuple[R, str, int]],
    apply: Callable[[Any, R], None],
) -> None:
    rows = _load(session, model, [entity_id for _, _, entity_id in linked])
    now = utcnow()
    for record, _, entity_id in linked:
        row = rows[entity_id]
        apply(row, record)
        if hasattr(row, "updated_at"):
            row.updated_at = now


def organisation_fields(record: OrganisationRecord) -> dict[str, Any]:
    hq_group, lmic_hq, works_in_lmic = income_flags(record.country, record.countries)
    aliases = [record.short_name] if record.short_name and record.short_name != record.name else []
    # An e-mail address is written only when the source gives one: never erased by a source
    # that does not know it.
    email = {"contact_email": record.contact_email} if record.contact_email else {}
    return {
        **email,
        "name": record.name,
        "aliases": aliases,
        "hq_country": record.country,
        "city": record.city,
        "org_type": record.org_type,
        "sme": record.sme,
        "website": record.website,
        "description": record.description,
        "languages": list(record.languages),
        "countries": list(record.countries),
        "themes": list(record.themes),
        "hq_income_group": hq_group,
        "lmic_hq": lmic_hq,
        "works_in_lmic": works_in_lmic,
    }


def project_fields(record: ProjectRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "description": record.description,
        "keywords": list(record.keywords),
        "themes": list(record.themes),
        "countries": list(record.countries),
        "year": record.year,
        "start_date": record.start_date,
        "end_date": record.end_date,
        "budget": record.budget,
        "currency": record.currency,
        "funder": record.funder,
        "programme": record.programme,
        "source_url": record.source_url,
        "funding_call_id": record.funding_call_id,
        "funding_call_title": record.funding_call_title,
        "funding_call_text": record.funding_call_text,
    }


def next_deadline(deadlines: Sequence[date], today: date | None = None) -> date | None:
    """The earliest deadline not yet passed, else the last one (as of the import)."""
    today = today or date.today()
    upcoming = sorted(d for d in deadlines if d >= today)
    return upcoming[0] if upcoming else max(deadlines, default=None)


def call_fields(record: CallRecord) -> dict[str, Any]:
    return {
        "source": record.source,
        "source_id": record.external_id,
        "title": record.title,
        "text": record.text,
        "funder": record.funder,
        "programme": record.programme,
        "call_identifier": record.call_identifier,
        "action_type": record.action_type,
        "year": record.year,
        "opening_date": record.opening_date,
        "deadlines": [d.isoformat() for d in sorted(record.deadlines)],
        "next_deadline": next_deadline(record.deadlines),
        "budget_min": record.budget_min,
        "budget_max": record.budget_max,
        "currency": record.currency,
        "conditions": record.conditions,
        "status": record.status,
        "url": record.url,
        "keywords": list(record.keywords),
    }


def store_organisations(
    session: Session, records: Sequence[OrganisationRecord], progress: Progress | None = None
) -> Stored:
    return upsert(
        session,
        records,
        entity_type="organisation",
        model=Organisation,
        fields=organisation_fields,
        progress=progress,
    )


def store_projects(
    session: Session,
    records: Sequence[ProjectRecord],
    org_ids: dict[str, int],
    progress: Progress | None = None,
) -> Stored:
    """Projects and their participants; `org_ids` maps participants' external ids to rows."""
    stored = upsert(
        session,
        records,
        entity_type="project",
        model=Project,
        fields=project_fields,
        progress=progress,
    )
    _replace_participants(session, records, stored, org_ids)
    return stored


def _replace_participants(
    session: Session, records: Sequence[ProjectRecord], stored: Stored, org_ids: dict[str, int]
) -> None:
    changed = sorted(stored.changed)
    for chunk in _chunks(changed):
        session.execute(
            delete(ProjectParticipant).where(col(ProjectParticipant.project_id).in_(chunk))
        )
    rows = [
        {
            "project_id": stored.ids[record.external_id],
            "organisation_id": org_ids[p.org_external_id],
            "role": p.role,
            "source_role": p.source_role,
        }
        for record in records
        if stored.ids[record.external_id] in stored.changed
        for p in record.participants
    ]
    for chunk in _chunks(rows, 2000):
        session.execute(insert(ProjectParticipant), list(chunk))


def apply_call(row: Call, record: CallRecord) -> None:
    """A record of the call's own source rewrites it; a record of another source that is the
    same call (see `scrapers.call_merge`) only fills what is missing and adds its deadlines."""
    if (row.source, row.source_id) == (record.source, record.external_id):
        for name, value in call_fields(record).items():
            setattr(row, name, value)
        return
    for name, value in call_fields(record).items():
        if name not in ("source", "source_id", "status") and getattr(row, name) in (None, "", []):
            setattr(row, name, value)
    deadlines = sorted({*map(date.fromisoformat, row.deadlines), *record.deadlines})
    row.deadlines = [d.isoformat() for d in deadlines]
    row.next_deadline = next_deadline(deadlines)


def call_matcher(session: Session) -> CallMatcher:
    """Every stored call, as the matcher needs it (one query)."""
    query = sa_select(
        col(Call.id), col(Call.source), col(Call.source_id), col(Call.title), col(Call.deadlines)
    )
    rows = session.execute(query).all()
    return CallMatcher(
        CallKey.of(id_, source, source_id, title, map(date.fromisoformat, deadlines))
        for id_, source, source_id, title, deadlines in rows
        if id_ is not None
    )


def store_calls(
    session: Session, records: Sequence[CallRecord], progress: Progress | None = None
) -> Stored:
    """Calls, each new one first checked against the stored calls of other sources: the same
    call met again is merged into the stored one, not duplicated."""
    matcher = call_matcher(session)
    stored = upsert(
        session,
        records,
        entity_type="call",
        model=Call,
        fields=call_fields,
        progress=progress,
        link=matcher.find,
        apply=apply_call,
    )
    return stored


def known_external_ids(session: Session, source: str, entity_type: str) -> dict[str, int]:
    return {
        ext: prov.entity_id for ext, prov in provenance_of(session, source, entity_type).items()
    }
