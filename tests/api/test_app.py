"""The minimal API over a real, migrated SQLite database loaded with real CORDIS rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from models.db import session_scope
from models.migrate import head_revision
from models.settings import Settings
from scrapers.pipeline import import_bench
from tests.conftest import FIXTURES


@pytest.fixture
def client(engine: Engine, sqlite_url: str) -> Iterator[TestClient]:
    with session_scope(engine) as session:
        import_bench(session, FIXTURES / "bench-mini", source="mini")
    app = create_app(Settings(database_url=sqlite_url, api_page_size_max=5), engine=engine)
    with TestClient(app) as test_client:
        yield test_client


def test_health_reports_the_schema(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "schema_revision": head_revision(),
        "schema_up_to_date": True,
    }


def test_organisations_are_paged_and_counted(client: TestClient) -> None:
    first = client.get("/api/v1/organisations", params={"limit": 4}).json()
    second = client.get("/api/v1/organisations", params={"limit": 4, "offset": 4}).json()
    assert first["count"] == second["count"] == 11
    assert len(first["data"]) == len(second["data"]) == 4
    names = [o["name"] for o in first["data"] + second["data"]]
    assert names == sorted(names) and len(set(names)) == 8


def test_page_size_is_capped_by_settings(client: TestClient) -> None:
    assert len(client.get("/api/v1/organisations", params={"limit": 500}).json()["data"]) == 5


def test_organisation_filters(client: TestClient) -> None:
    british = client.get("/api/v1/organisations", params={"country": "gb"}).json()
    assert british["count"] == 1 and british["data"][0]["hq_country"] == "GB"
    assert british["data"][0]["hq_income_group"] == "H"
    assert british["data"][0]["contact_email"] is None  # private: anonymous sees null


def test_projects_carry_their_participants(client: TestClient) -> None:
    org = client.get("/api/v1/organisations", params={"country": "TR"}).json()["data"][0]
    projects = client.get("/api/v1/projects", params={"organisation_id": org["id"]}).json()
    assert projects["count"] == 1
    participants = projects["data"][0]["participants"]
    assert org["id"] in [p["organisation_id"] for p in participants]
    one = client.get(f"/api/v1/projects/{projects['data'][0]['id']}").json()
    assert one["participants"] == participants


def test_calls_list_and_read(client: TestClient) -> None:
    calls = client.get("/api/v1/calls").json()
    assert calls["count"] == 2
    one = client.get(f"/api/v1/calls/{calls['data'][0]['id']}").json()
    assert one["deadlines"] == ["2023-03-14"]


@pytest.mark.parametrize(
    "path", ["/api/v1/organisations/999", "/api/v1/projects/999", "/api/v1/calls/999"]
)
def test_unknown_ids_are_404_problems(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    entity = path.split("/")[3].rstrip("s")
    assert response.json()["detail"] == f"{entity} 999 not found"


def test_bad_query_is_a_422_problem_with_the_field_path(client: TestClient) -> None:
    response = client.get("/api/v1/projects", params={"limit": "many"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]
    assert client.get("/api/v1/projects", params={"organisation_id": 999}).status_code == 404
