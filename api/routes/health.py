from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import EngineDep
from models.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    schema_revision: str | None
    schema_up_to_date: bool


@router.get("/health", summary="Liveness and database check")
def health(engine: EngineDep) -> Health:
    """200 when the database answers; the schema revision tells whether migrations are due."""
    revision = current_revision(engine)
    return Health(
        status="ok", schema_revision=revision, schema_up_to_date=revision == head_revision()
    )
