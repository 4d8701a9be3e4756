"""The matching workflows: partners for a text or a call, calls for an organisation, look-alikes,
and consortium proposals. Thin: the services rank, `api.schemas` types what they return.

Rankings answer from the search index as it was built (`healthmatch index`); a missing or damaged
index is a 503.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.deps import PrincipalDep, SearchDep, SessionDep
from api.schemas import ConsortiumProposalOut, ConsortiumRequest, RankingOut
from api.services.auth import Principal, require_signed_in
from api.services.consortium import propose_for_call
from api.services.matching import (
    calls_for_organisation,
    make_filters,
    members_for_call,
    search_partners,
    similar_organisations,
)
from matcher.filters import Filters

router = APIRouter(tags=["matching"])

MAX_TOP = 100
MAX_VALUES = 50  # values per filter
ERRORS = {
    401: "No API key, or one that is invalid, revoked or expired.",
    404: "No such call or organisation.",
    422: "Invalid parameters: a blank query, an unknown filter value, `top` out of range, or "
    "contradictory rules.",
    503: "The search index is missing or unreadable.",
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses; `api.openapi` gives each its problem-details schema."""
    return {status: {"description": ERRORS[status]} for status in statuses}


def _values(description: str, alias: str | None = None) -> Any:
    return Query(alias=alias, max_length=MAX_VALUES, description=description)


def filters_from_query(
    country: Annotated[
        list[str] | None,
        _values("Works in this country (ISO alpha-2); repeat for any of them."),
    ] = None,
    hq_country: Annotated[
        list[str] | None, _values("Headquartered in this country (ISO alpha-2).")
    ] = None,
    region: Annotated[
        list[str] | None, _values("World Bank region of the HQ or of a country of work.")
    ] = None,
    income_group: Annotated[
        list[str] | None, _values("World Bank income group of the HQ: L, LM, UM or H.")
    ] = None,
    org_type: Annotated[
        list[str] | None, _values("Organisation type (ngo, research, public, ...).", "type")
    ] = None,
    language: Annotated[list[str] | None, _values("Working language (ISO 639-1).")] = None,
    network: Annotated[list[str] | None, _values("Network slug.")] = None,
) -> Filters:
    """The filters of a ranking, refusing values that can match nothing (422)."""
    return make_filters(
        countries=country or (),
        hq_countries=hq_country or (),
        regions=region or (),
        income_groups=income_group or (),
        org_types=org_type or (),
        languages=language or (),
        networks=network or (),
    )


def signed_in(principal: PrincipalDep) -> Principal:
    require_signed_in(principal)
    return principal


FiltersDep = Annotated[Filters, Depends(filters_from_query)]
SignedInDep = Annotated[Principal, Depends(signed_in)]
Top = Annotated[int, Query(ge=1, le=MAX_TOP, description="Results to return.")]
CallId = Annotated[int, Path(description="Id of a funding call.")]
OrganisationId = Annotated[int, Path(description="Id of an organisation.")]


@router.get(
    "/search/partners",
    summary="Search partners for a description of the work",
    description="Organisations ranked for free text, best first, each with its reasons: the "
    "projects that match, the shared key terms, countries and themes, and the passage of the "
    "text they answer. Countries named in the text count. Filters narrow the candidates; "
    "several values of one filter mean any of them.",
    responses=_responses(422, 503),
)
def search(
    search: SearchDep,
    filters: FiltersDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=2000,
            description="What you look for partners for (not blank).",
        ),
    ],
    top: Top = 10,
) -> RankingOut:
    ranking = search_partners(search=search, text=q, filters=filters, top=top)
    return RankingOut.model_validate(ranking.to_json())


@router.get(
    "/calls/{call_id}/members",
    summary="Rank organisations for a funding call",
    description="Organisations ranked for the call's title, keywords and text, with the reasons "
    "for each; the same filters as partner search.",
    responses=_responses(404, 422, 503),
)
def members_for(
    session: SessionDep,
    search: SearchDep,
    filters: FiltersDep,
    call_id: CallId,
    top: Top = 10,
) -> RankingOut:
    ranking = members_for_call(
        session=session, search=search, call_id=call_id, filters=filters, top=top
    )
    return RankingOut.model_validate(ranking.to_json())


@router.get(
    "/organisations/{organisation_id}/calls",
    summary="Find the calls that fit an organisation",
    description="Funding calls ranked for the organisation's projects and description, with "
    "the projects that make each call fit. Open calls only unless `include_closed`.",
    responses=_responses(404, 422, 503),
)
def calls_for(
    session: SessionDep,
    search: SearchDep,
    organisation_id: OrganisationId,
    top: Top = 10,
    include_closed: Annotated[
        bool, Query(description="Rank closed and forthcoming calls as well.")
    ] = False,
) -> RankingOut:
    ranking = calls_for_organisation(
        session=session,
        search=search,
        org_id=organisation_id,
        top=top,
        open_only=not include_closed,
    )
    return RankingOut.model_validate(ranking.to_json())


@router.get(
    "/organisations/{organisation_id}/similar",
    summary="Find organisations similar to one",
    description="Organisations whose projects and description resemble this organisation's "
    "(itself left out), with the reasons; the same filters as partner search.",
    responses=_responses(404, 422, 503),
)
def similar(
    search: SearchDep,
    filters: FiltersDep,
    organisation_id: OrganisationId,
    top: Top = 10,
) -> RankingOut:
    ranking = similar_organisations(search=search, org_id=organisation_id, filters=filters, top=top)
    return RankingOut.model_validate(ranking.to_json())


@router.post(
    "/calls/{call_id}/consortia",
    summary="Propose consortia for a call",
    description="Up to `alternatives` consortia for the call with `lead` as lead, best first: "
    "each member with its role, relevance, marginal value, the call's aspects it covers and "
    "why it fits; the aspect x member coverage table; and the check of every rule. The rules "
    "are read from the call's conditions where the request leaves them out (or default), and "
    "`rules.sources` says which. When no consortium can satisfy the rules, `consortia` is "
    "empty and `infeasible` says why and what to relax (still a 200). Signed-in users only.",
    responses=_responses(401, 404, 422, 503),
)
def consortia(
    _principal: SignedInDep,
    session: SessionDep,
    search: SearchDep,
    call_id: CallId,
    body: ConsortiumRequest,
) -> ConsortiumProposalOut:
    report = propose_for_call(
        session=session,
        search=search,
        call_id=call_id,
        lead=body.lead,
        overrides=body.overrides(),
        alternatives=body.alternatives,
    )
    return ConsortiumProposalOut.model_validate(report.to_json())
