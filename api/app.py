"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.engine import Engine

from api import errors
from api.routes import calls, health, organisations, projects
from models.db import make_engine
from models.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    owned = engine is None
    engine = engine or make_engine(settings=settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            engine.dispose()

    app = FastAPI(
        title="healthmatch",
        summary="Partners, calls and consortia for international health-cooperation networks.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    errors.install(app)
    app.include_router(health.router)
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (organisations, projects, calls):
        v1.include_router(module.router)
    app.include_router(v1)
    return app
