"""The error edge: problem+json for every failure, body limits, no tracebacks, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from models.settings import Settings

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=sqlite_url,
        api_max_body_kb=1,
        jobs_dir=tmp_path / "jobs",
        cors_origins="https://network.example",
    )


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_unexpected_errors_say_nothing_of_the_cause(client: TestClient) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error",
    }
    assert "passwd" not in response.text and "Traceback" not in response.text


def test_unknown_ids_and_paths_are_problems(client: TestClient) -> None:
    for path in ("/api/v1/organisations/999999", "/api/v1/nothing-here"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 404


def test_validation_errors_give_field_paths(client: TestClient) -> None:
    response = client.get("/api/v1/organisations", params={"limit": 0, "offset": -1})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "the request is not valid"
    assert {tuple(e["loc"]) for e in body["errors"]} == {("query", "limit"), ("query", "offset")}


def test_bodies_over_the_limit_are_refused_before_they_are_read(client: TestClient) -> None:
    big = b'{"name": "' + b"x" * 4096 + b'"}'
    response = client.post(
        "/api/v1/organisations", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "1024 bytes" in response.json()["detail"]


def test_streamed_bodies_are_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}'

    response = client.post(
        "/api/v1/organisations", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_cors_allows_only_the_configured_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = client.options(
        "/api/v1/calls", headers={"Origin": "https://network.example", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://network.example"
    other = client.get("/api/v1/calls", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_without_configured_origins(engine: Engine, sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url)
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/api/v1/calls", headers={"Origin": "https://network.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
