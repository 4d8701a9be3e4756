"""Who the caller is: its role and organisation."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import PrincipalDep
from models.user import Role

router = APIRouter(tags=["auth"])


class WhoAmI(BaseModel):
    authenticated: bool
    role: Role | None
    user_id: int | None
    organisation_id: int | None


@router.get("/me", summary="The caller's role and organisation (anonymous without a key)")
def read_me(principal: PrincipalDep) -> WhoAmI:
    return WhoAmI(
        authenticated=principal.is_authenticated,
        role=principal.role,
        user_id=principal.user_id,
        organisation_id=principal.organisation_id,
    )
