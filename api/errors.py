"""Errors as RFC 9457 problem details (application/problem+json), translated here and only here.

Domain errors of the services map to statuses in `STATUS`; anything unexpected becomes a 500 whose
body says only "internal error" (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from api.services.consortium import InvalidRules
from api.services.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from api.services.matching import InvalidFilter
from api.services.search_index import SearchIndexError
from matcher.search import MatchError

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

# domain error -> HTTP status; the exception's message is the problem's detail
STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    InvalidFilter: 422,
    InvalidRules: 422,
    MatchError: 422,
    NotAuthenticated: 401,
    Forbidden: 403,
    SearchIndexError: 503,
}


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body |= {"detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _status_of(exc: Exception) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    status = _status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        logger.error("search index unavailable: %s", exc)
        return problem(503, "the search index is not ready; the operators have been told")
    return problem(status, str(exc), headers)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    return problem(422, "the request is not valid", errors=errors)


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    logger.warning("integrity error: %s", exc)
    return problem(
        409, "the change conflicts with stored data (a duplicate or a missing reference)"
    )


async def _out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    logger.info("value out of the database's range: %s", exc)
    return problem(422, "a number or value in the request is out of range")


async def _database(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc)
    return problem(503, "the database is unavailable; try again shortly", {"Retry-After": "5"})


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem(500, "internal error")


def install(app: FastAPI) -> None:
    for kind in STATUS:
        app.add_exception_handler(kind, _domain)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _out_of_range)  # e.g. PostgreSQL numeric overflow
    app.add_exception_handler(OverflowError, _out_of_range)  # SQLite: int beyond 64 bits
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(Exception, _unexpected)
