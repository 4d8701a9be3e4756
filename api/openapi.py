"""The OpenAPI document, completed once for every operation: the error answers every route can
give (401 bad key, 413 body too large, 422 invalid input, 503 database or index unavailable),
all as RFC 9457 problem details under `application/problem+json`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem detail.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Validation errors, each with the path of the field at fault.",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
COMMON = {
    "401": "No valid API key where one is needed, or an invalid key sent.",
    "422": "The request is not valid; `errors` lists each field at fault.",
    "503": "The database or the search index is unavailable; try again shortly.",
}
WITH_BODY = {
    "400": "The request body cannot be parsed (not JSON, or not in its declared encoding).",
    "413": "The request body is over the size limit.",
}
WITH_PATH_ID = {"404": "No such resource (or one the caller may not see)."}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _problem_content() -> dict[str, Any]:
    return {"application/problem+json": {"schema": PROBLEM_REF}}


def _complete(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    extra = dict(COMMON)
    if "requestBody" in operation:
        extra |= WITH_BODY
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        extra |= WITH_PATH_ID
    for status, description in extra.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[:1] in ("4", "5"):
            response["content"] = _problem_content()


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if method in HTTP_METHODS:
                _complete(operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
