from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PageDep, SessionDep
from api.services import catalogue
from models.organisation import (
    Organisation,
    OrganisationPublic,
    OrganisationsPublic,
    OrgType,
)

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", summary="List organisations")
def list_organisations(
    session: SessionDep,
    page: PageDep,
    country: Annotated[
        str | None, Query(min_length=2, max_length=2, description="HQ country, ISO alpha-2.")
    ] = None,
    org_type: Annotated[OrgType | None, Query(alias="type")] = None,
    name: Annotated[str | None, Query(max_length=200, description="Part of the name.")] = None,
) -> OrganisationsPublic:
    rows, count = catalogue.list_organisations(
        session, page, country=country, org_type=org_type, name=name
    )
    return OrganisationsPublic(
        data=[OrganisationPublic.model_validate(r) for r in rows], count=count
    )


@router.get("/{organisation_id}", summary="Read one organisation")
def read_organisation(session: SessionDep, organisation_id: int) -> OrganisationPublic:
    return OrganisationPublic.model_validate(catalogue.get(session, Organisation, organisation_id))
