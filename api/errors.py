"""Errors as RFC 9457 problem details (application/problem+json), translated here and only here."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from api.services.errors import NotFound

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body |= {"detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return problem(404, str(exc))


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail))


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return problem(422, "the request is not valid", errors=errors)


async def _database(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc)
    return problem(503, "the database is unavailable; try again shortly")


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem(500, "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(Exception, _unexpected)
