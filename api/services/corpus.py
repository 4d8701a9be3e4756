"""The database as the matcher's plain documents: organisations, projects and calls.

A handful of queries whatever the size (no query per organisation or per project): the reference
countries, the memberships, the participants, then the organisations and the projects, each read
as plain columns rather than ORM objects.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from matcher.documents import Corpus, OrgDoc, ProjectDoc, Query
from models.call import Call, CallStatus
from models.network import Membership, Network
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.reference import Country, load_countries


def _countries(session: Session) -> dict[str, tuple[str, str]]:
    """iso2 -> (World Bank region, income group), empty strings where there is none."""
    rows = session.exec(select(Country.iso2, Country.region, Country.income_group)).all()
    return {iso2.upper(): (region, income) for iso2, region, income in rows}


def _networks(session: Session) -> dict[int, list[str]]:
    """organisation id -> slugs of the networks it belongs to."""
    query = (
        select(Membership.organisation_id, Network.slug)
        .join(Network, col(Network.id) == col(Membership.network_id))
        .order_by(col(Network.slug))
    )
    found: dict[int, list[str]] = defaultdict(list)
    for org_id, slug in session.exec(query).all():
        found[org_id].append(slug)
    return found


def _participants(session: Session) -> dict[int, list[tuple[str, str]]]:
    """project id -> (organisation id, role) of its participants, in organisation order."""
    query = select(
        ProjectParticipant.project_id, ProjectParticipant.organisation_id, ProjectParticipant.role
    ).order_by(col(ProjectParticipant.project_id), col(ProjectParticipant.organisation_id))
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for project_id, org_id, role in session.exec(query).all():
        found[project_id].append((str(org_id), str(role)))
    return found


def _codes(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(value.strip().upper() for value in values or () if value.strip())


def _texts(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(value for value in values or () if value.strip())


def _regions(codes: Sequence[str], countries: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    return tuple(sorted({countries[c][0] for c in codes if c in countries and countries[c][0]}))


_ORG_COLUMNS = (
    col(Organisation.id),
    col(Organisation.name),
    col(Organisation.description),
    col(Organisation.hq_country),
    col(Organisation.countries),
    col(Organisation.org_type),
    col(Organisation.languages),
    col(Organisation.themes),
)
_PROJECT_COLUMNS = (
    col(Project.id),
    col(Project.title),
    col(Project.description),
    col(Project.keywords),
    col(Project.themes),
    col(Project.countries),
    col(Project.year),
    col(Project.funding_call_title),
)


def _rows(session: Session, columns: tuple[Any, ...]) -> Sequence[Any]:
    """Plain column values in order of the first column (the id): no ORM objects built."""
    query = select_columns(*columns).order_by(columns[0])
    return session.connection().execute(query).all()


def organisation_docs(session: Session) -> list[OrgDoc]:
    countries = _countries(session)
    networks = _networks(session)
    docs = []
    for org_id, name, description, hq, works_in, org_type, languages, themes in _rows(
        session, _ORG_COLUMNS
    ):
        hq_code = (hq or "").strip().upper() or None
        region, income = countries.get(hq_code or "", ("", ""))
        codes = _codes(works_in)
        docs.append(
            OrgDoc(
                id=str(org_id),
                name=name,
                description=description or "",
                hq_country=hq_code,
                countries=codes,
                org_type=str(org_type) if org_type else None,
                languages=_texts(languages),
                themes=_texts(themes),
                networks=tuple(networks.get(org_id, ())),
                hq_region=region or None,
                regions=_regions((*([hq_code] if hq_code else []), *codes), countries),
                income_group=income or None,
            )
        )
    return docs


def project_docs(session: Session) -> list[ProjectDoc]:
    """Projects with at least one participant (the others are evidence about nobody)."""
    participants = _participants(session)
    docs = []
    for project_id, title, text, keywords, themes, countries, year, call_title in _rows(
        session, _PROJECT_COLUMNS
    ):
        members = participants.get(project_id)
        if not members:
            continue
        docs.append(
            ProjectDoc(
                id=str(project_id),
                title=title,
                text=text or "",
                keywords=_texts(keywords),
                themes=_texts(themes),
                countries=_codes(countries),
                year=year,
                call_title=call_title or "",
                participants=tuple(members),
            )
        )
    return docs


def corpus_from_db(session: Session) -> Corpus:
    """Every organisation, and every project that has participants."""
    return Corpus(organisations=organisation_docs(session), projects=project_docs(session))


# Names people write that are not the reference table's short names.
COUNTRY_ALIASES = {
    "Democratic Republic of the Congo": "CD",
    "DR Congo": "CD",
    "DRC": "CD",
    "Ivory Coast": "CI",
    "UK": "GB",
    "USA": "US",
    "Burma": "MM",
}


@lru_cache
def _country_names() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every country name (longest first, so that "Papua New Guinea" is not read
    as "Guinea"); names with a comma ("Congo, The Democratic Republic of the") are left out."""
    codes = {info.name: code for code, info in load_countries().items() if "," not in info.name}
    codes |= COUNTRY_ALIASES
    names = sorted(codes, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b"), codes


def countries_named_in(text: str) -> tuple[str, ...]:
    """ISO codes of the countries a text names (capitalised, whole words), in order of mention:
    the facts that let explanations show the countries a query and an organisation share."""
    pattern, codes = _country_names()
    found = (codes[match.group(1)] for match in pattern.finditer(text))
    return tuple(dict.fromkeys(found))


def call_query(call: Call) -> Query:
    """A call as the matcher ranks for it: its title, keywords and text (and the countries it
    names, for the explanations)."""
    text = call.text or ""
    return Query(
        id=str(call.id),
        title=call.title,
        text=text,
        keywords=_texts(call.keywords),
        countries=countries_named_in(f"{call.title}\n{text}"),
    )


def calls_from_db(session: Session, *, open_only: bool, today: date | None = None) -> list[Query]:
    """The calls, in id order; with `open_only`, those with status `open` whose next deadline
    (when `today` is given) has not passed."""
    query = select(Call).order_by(col(Call.id))
    if open_only:
        query = query.where(col(Call.status) == CallStatus.OPEN)
        if today is not None:
            query = query.where(
                or_(col(Call.next_deadline).is_(None), col(Call.next_deadline) >= today)
            )
    return [call_query(call) for call in session.exec(query).all()]
