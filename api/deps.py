"""FastAPI dependencies, as typed `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.services.auth import ANONYMOUS, BAD_KEY, Principal, authenticate, record_key_use
from api.services.catalogue import PageParams
from api.services.errors import NotAuthenticated
from api.services.search_index import load_index
from matcher.search import PartnerSearch
from models.settings import Settings

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `healthmatch keys create`; without one, public data only.",
)


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def get_principal(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    after: BackgroundTasks,
) -> Principal:
    """Anonymous without an Authorization header; 401 for one that is not a valid Bearer key.
    The key's use is recorded after the answer is sent."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise NotAuthenticated(BAD_KEY)
        return ANONYMOUS
    check = authenticate(session, credentials.credentials)
    if check.use_due:
        after.add_task(record_key_use, request.app.state.engine, check.key_id)
    return check.principal


def get_search(
    settings: Annotated[Settings, Depends(get_app_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> PartnerSearch:
    """The search index, loaded once per process (again when its file changes)."""
    return load_index(settings, engine=engine)


def get_page_params(
    settings: Annotated[Settings, Depends(get_app_settings)],
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows to return.")] = 50,
) -> PageParams:
    return PageParams(offset=offset, limit=min(limit, settings.api_page_size_max))


SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
PageDep = Annotated[PageParams, Depends(get_page_params)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SearchDep = Annotated[PartnerSearch, Depends(get_search)]
