"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.engine import Engine

from api import errors, openapi, web
from api.limits import BodyLimit
from api.routes import (
    calls,
    feedback,
    health,
    imports,
    mailing,
    matching,
    me,
    networks,
    organisations,
    people,
    projects,
    shortlists,
)
from models.db import make_engine
from models.settings import Settings, get_settings

API_PREFIX = "/api/v1"
ROUTERS = (
    me,
    organisations,
    people,
    projects,
    calls,
    networks,
    matching,
    shortlists,
    feedback,
    imports,
    mailing,
)
DESCRIPTION = """
Partners, funding calls and consortia for the members of international health-cooperation
networks.

**Authentication**: send `Authorization: Bearer <key>` with a key from
`healthmatch keys create`. Without a key, public profile fields only.
**Roles**: admin and secretariat read and change everything; a member changes only its own
organisation, its people and its projects, and sees private fields (contact e-mails, private
people) of its own organisation only.
**Errors** are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    owned = engine is None
    engine = engine or make_engine(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        imports.start_jobs(app)
        yield
        imports.stop_jobs(app)
        if owned:
            engine.dispose()

    app = FastAPI(
        title="healthmatch",
        summary="Partners, calls and consortia for international health-cooperation networks.",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    errors.install(app)
    app.add_middleware(
        BodyLimit,
        default=settings.api_max_body_kb * 1024,
        uploads=settings.api_max_upload_mb * 1024 * 1024,
        upload_prefixes=(f"{API_PREFIX}/imports", "/secretariat/imports"),
    )
    if settings.cors_origin_list():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(health.router)
    app.include_router(mailing.unsubscribe_router)  # the link in every message, not /api/v1
    v1 = APIRouter(prefix=API_PREFIX)
    for module in ROUTERS:
        v1.include_router(module.router)
    app.include_router(v1)
    web.install(app)
    openapi.install(app)
    return app
