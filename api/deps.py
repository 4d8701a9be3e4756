"""FastAPI dependencies, as typed `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.services.catalogue import PageParams
from models.settings import Settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def get_page_params(
    settings: Annotated[Settings, Depends(get_app_settings)],
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows to return.")] = 50,
) -> PageParams:
    return PageParams(offset=offset, limit=min(limit, settings.api_page_size_max))


SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[Engine, Depends(get_engine)]
PageDep = Annotated[PageParams, Depends(get_page_params)]
