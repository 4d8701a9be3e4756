"""Matching services: partners for a text or a call, calls for an organisation, look-alikes.

Each takes a `PartnerSearch` (see `api.services.search_index.load_index`) and, where it reads
the database, a session; each returns a `Ranking`. Organisation and call ids are the database's
integers here and strings inside the matcher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Literal

from sqlmodel import Session

from api.services.corpus import call_query, calls_from_db, countries_named_in
from api.services.errors import NotFound
from matcher.documents import Query
from matcher.explain import Explanation, MatchedProject
from matcher.filters import Filters
from matcher.search import Hit, PartnerSearch, UnknownOrganisation
from models.call import Call
from models.organisation import OrgType
from models.reference import IncomeGroup, load_countries

DESCRIPTION_PREFIX = "org:"  # evidence ids of organisations' own descriptions


class InvalidFilter(ValueError):
    """A filter value that can match nothing (an unknown code or name)."""


@dataclass(frozen=True)
class RankedFor:
    """What a ranking answers: free text, a call, or an organisation."""

    kind: Literal["text", "call", "organisation"]
    text: str  # the query text, the call's title or the organisation's name
    id: int | None = None


@dataclass(frozen=True)
class Ranking:
    query: RankedFor
    hits: list[Hit]
    filters: Filters | None = None

    def to_json(self) -> dict[str, Any]:
        query: dict[str, Any] = {"kind": self.query.kind, "id": self.query.id}
        query["text"] = self.query.text
        if self.filters is not None and not self.filters.is_empty():
            query["filters"] = filters_json(self.filters)
        return {"query": query, "results": [hit_json(hit) for hit in self.hits]}


# --- JSON --------------------------------------------------------------------------------------


def db_id(value: str) -> int | str:
    """The database's integer id of a matcher id (anything else is returned as it is)."""
    return int(value) if value.isdigit() else value


def project_json(project: MatchedProject) -> dict[str, Any]:
    own = project.id.startswith(DESCRIPTION_PREFIX)
    return {
        "id": None if own else db_id(project.id),
        "kind": "description" if own else "project",
        "title": project.title,
        "score": project.score,
        "dense": project.dense,
        "lexical": project.lexical,
    }


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    return {
        "projects": [project_json(project) for project in explanation.projects],
        "passage": explanation.passage,
        "terms": list(explanation.terms),
        "countries": list(explanation.countries),
        "themes": list(explanation.themes),
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "id": db_id(hit.id),
        "name": hit.name,
        "score": hit.score,
        "explanation": explanation_json(hit.explanation),
    }


def filters_json(filters: Filters) -> dict[str, list[str]]:
    chosen = {f.name: sorted(getattr(filters, f.name)) for f in fields(filters)}
    return {name: values for name, values in chosen.items() if values}


# --- filters -----------------------------------------------------------------------------------


def _check(kind: str, values: Iterable[str], known: Iterable[str]) -> None:
    allowed = {value.casefold() for value in known}
    for value in values:
        if value.strip().casefold() not in allowed:
            names = sorted(set(known))
            shown = (
                ", ".join(names)
                if len(names) <= 12
                else f"{len(names)} codes, e.g. " + (", ".join(names[:5]) + ", ...")
            )
            raise InvalidFilter(f"unknown {kind} '{value}' (known: {shown})")


def make_filters(
    *,
    countries: Iterable[str] = (),
    hq_countries: Iterable[str] = (),
    regions: Iterable[str] = (),
    income_groups: Iterable[str] = (),
    org_types: Iterable[str] = (),
    languages: Iterable[str] = (),
    networks: Iterable[str] = (),
) -> Filters:
    """Filters from user input, refusing codes and names that can match nothing."""
    reference = load_countries()
    codes = list(reference)
    _check("country", [*countries, *hq_countries], codes)
    _check("region", regions, {info.region for info in reference.values() if info.region})
    _check("income group", income_groups, [group.value for group in IncomeGroup])
    _check("organisation type", org_types, [kind.value for kind in OrgType])
    return Filters.of(
        countries=countries,
        hq_countries=hq_countries,
        regions=regions,
        income_groups=income_groups,
        org_types=org_types,
        languages=languages,
        networks=networks,
    )


# --- services ----------------------------------------------------------------------------------


def _organisation_name(search: PartnerSearch, org_id: int) -> str:
    index = search.evidence.org_index.get(str(org_id))
    if index is None:
        raise NotFound("organisation", org_id)
    return search.evidence.orgs[index].name


def search_partners(
    *, search: PartnerSearch, text: str, filters: Filters | None = None, top: int = 10
) -> Ranking:
    """Organisations ranked for free text (raises `matcher.search.EmptyQuery` on blank text)."""
    query = Query(text=text, countries=countries_named_in(text))
    hits = search.search(query, filters=filters, top=top)
    return Ranking(RankedFor("text", text), hits, filters)


def members_for_call(
    *,
    session: Session,
    search: PartnerSearch,
    call_id: int,
    filters: Filters | None = None,
    top: int = 10,
) -> Ranking:
    """Organisations ranked for one call of the database (its title, keywords and text)."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("call", call_id)
    hits = search.search(call_query(call), filters=filters, top=top)
    return Ranking(RankedFor("call", call.title, call_id), hits, filters)


def calls_for_organisation(
    *,
    session: Session,
    search: PartnerSearch,
    org_id: int,
    top: int = 10,
    open_only: bool = True,
    today: date | None = None,
) -> Ranking:
    """The calls of the database that fit one organisation best; by default only open calls
    whose deadline has not passed (`today`: the date to judge that by, default the real one)."""
    name = _organisation_name(search, org_id)
    calls = calls_from_db(session, open_only=open_only, today=today or date.today())
    try:
        hits = search.calls_for(str(org_id), calls, top=top)
    except UnknownOrganisation as exc:
        raise NotFound("organisation", org_id) from exc
    return Ranking(RankedFor("organisation", name, org_id), hits)


def similar_organisations(
    *, search: PartnerSearch, org_id: int, filters: Filters | None = None, top: int = 10
) -> Ranking:
    """Organisations whose evidence resembles this one's (itself left out)."""
    name = _organisation_name(search, org_id)
    try:
        hits = search.similar(str(org_id), filters=filters, top=top)
    except UnknownOrganisation as exc:
        raise NotFound("organisation", org_id) from exc
    return Ranking(RankedFor("organisation", name, org_id), hits, filters)
