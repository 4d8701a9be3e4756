"""The CRUD resources of the API v1 over a real SQLite copy of the test network: lists with
paging, filters and sorting, reads, creates, updates and deletes, and their error answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from models.db import make_engine
from models.migrate import upgrade
from models.network import Membership
from models.organisation import Organisation
from models.person import Person
from models.project import ProjectParticipant
from models.provenance import Provenance
from models.settings import Settings
from models.user import User
from tests.api.conftest import Api
from tests.api.test_matching import build_network

V1 = "/api/v1"


def get(api: Api, path: str, role: str | None = "admin", **params: Any) -> Any:
    response = api.client.get(f"{V1}{path}", params=params, headers=api.as_(role))
    assert response.status_code == 200, response.text
    return response.json()


def names(page: dict[str, Any], key: str = "name") -> list[str]:
    return [row[key] for row in page["data"]]


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- organisations ---------------------------------------------------------------------------


def test_organisations_are_paged_and_counted(api: Api) -> None:
    first = get(api, "/organisations", limit=3)
    second = get(api, "/organisations", limit=3, offset=3)
    everything = get(api, "/organisations")
    assert first["count"] == second["count"] == everything["count"] == 7
    assert names(first) + names(second) == names(everything)[:6]
    assert names(everything) == sorted(names(everything))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "ke"}, ["Malaria Action Kenya"]),
        ({"type": "research"}, ["Institute of Tropical Medicine"]),
        ({"name": "nigeria"}, ["Safe Births Nigeria"]),
        (
            {"network": "afro-health"},
            ["Institute of Tropical Medicine", "Malaria Action Kenya", "Ministry of Health Uganda"],
        ),
        ({"network": "nobody"}, []),
        ({"works_in": "UG"}, ["Malaria Action Kenya"]),
        ({"works_in": "cd"}, ["Institute of Tropical Medicine"]),
        ({"works_in": "GH", "type": "ngo"}, ["Safe Births Nigeria"]),
        ({"works_in": "FR"}, []),
    ],
)
def test_organisation_filters(api: Api, params: dict[str, str], expected: list[str]) -> None:
    page = get(api, "/organisations", **params)
    assert names(page) == expected and page["count"] == len(expected)


def test_works_in_filter_pages_in_sql(api: Api) -> None:
    """Two organisations work in UG: the count stays right when a page holds only one."""
    api.client.patch(
        f"{V1}/organisations/{api.ids['maternal']}",
        json={"countries": ["GH", "UG"]},
        headers=api.as_("admin"),
    )
    first = get(api, "/organisations", works_in="UG", limit=1)
    second = get(api, "/organisations", works_in="UG", limit=1, offset=1)
    assert first["count"] == second["count"] == 2
    assert names(first) + names(second) == ["Malaria Action Kenya", "Safe Births Nigeria"]


def test_works_in_refuses_unknown_codes(api: Api) -> None:
    body = problem(api.client.get(f"{V1}/organisations", params={"works_in": "XX"}), 422)
    assert "works_in" in body["detail"]
    body = problem(api.client.get(f"{V1}/organisations", params={"works_in": "KEN"}), 422)
    assert body["errors"][0]["loc"] == ["query", "works_in"]


@pytest.mark.parametrize(
    ("sort", "first", "last"),
    [
        ("name", "Institute of Tropical Medicine", "mHealth Labs India"),
        ("-name", "mHealth Labs India", "Institute of Tropical Medicine"),
        ("country", "Institute of Tropical Medicine", "Ministry of Health Uganda"),  # BE .. UG
    ],
)
def test_organisation_sorts(api: Api, sort: str, first: str, last: str) -> None:
    listed = names(get(api, "/organisations", sort=sort))
    assert (listed[0], listed[-1]) == (first, last)


def test_organisation_sort_by_last_change_and_unknown_sort(api: Api) -> None:
    api.client.patch(
        f"{V1}/organisations/{api.ids['solar']}", json={"city": "Berlin"}, headers=api.as_("admin")
    )
    assert names(get(api, "/organisations", sort="-updated_at"))[0] == "SunGrid Solar GmbH"
    body = problem(api.client.get(f"{V1}/organisations", params={"sort": "size"}), 422)
    assert body["errors"][0]["loc"] == ["query", "sort"]


def test_organisation_create_read_update_delete(api: Api) -> None:
    created = api.client.post(
        f"{V1}/organisations",
        json={
            "name": "Health Poverty Action",
            "hq_country": "gb",
            "countries": ["et", "KE"],
            "org_type": "ngo",
            "contact_email": "info@hpa.example",
        },
        headers=api.as_("secretariat"),
    )
    assert created.status_code == 201, created.text
    org = created.json()
    assert created.headers["location"].endswith(f"/api/v1/organisations/{org['id']}")
    assert (org["hq_country"], org["countries"]) == ("GB", ["ET", "KE"])
    assert (org["hq_income_group"], org["lmic_hq"], org["works_in_lmic"]) == ("H", False, True)
    assert org["contact_email"] == "info@hpa.example"
    read = api.client.get(created.headers["location"]).json()
    assert read["name"] == "Health Poverty Action" and read["contact_email"] is None

    changed = api.client.patch(
        f"{V1}/organisations/{org['id']}",
        json={"hq_country": "KE", "countries": []},
        headers=api.as_("admin"),
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["hq_income_group"], after["lmic_hq"], after["works_in_lmic"]) == (
        "LM",
        True,
        True,
    )
    assert after["name"] == "Health Poverty Action"  # not sent: not changed
    assert after["org_type"] == "ngo"

    assert (
        api.client.delete(f"{V1}/organisations/{org['id']}", headers=api.as_("admin")).status_code
        == 204
    )
    problem(api.client.get(f"{V1}/organisations/{org['id']}"), 404)


def test_organisation_update_sets_updated_at(api: Api) -> None:
    org_id = api.ids["tropical"]
    with Session(api.engine) as session:
        before = session.get(Organisation, org_id)
        assert before is not None
        stamp = before.updated_at
    api.client.patch(
        f"{V1}/organisations/{org_id}", json={"city": "Antwerp"}, headers=api.as_("admin")
    )
    with Session(api.engine) as session:
        after = session.get(Organisation, org_id)
        assert after is not None
    assert after.city == "Antwerp" and after.updated_at > stamp


def test_deleting_a_referenced_organisation(api: Api) -> None:
    """Memberships and participations cascade; people stay without an organisation; member
    accounts block the delete (409) until they are gone."""
    org_id = api.ids["malaria_ngo"]
    with Session(api.engine) as session:
        session.add(Provenance(entity_type="organisation", entity_id=org_id, source="t",
                               external_id="x", content_hash="h"))  # fmt: skip
        session.commit()
    body = problem(api.client.delete(f"{V1}/organisations/{org_id}", headers=api.as_("admin")), 409)
    assert "member account" in body["detail"]
    with Session(api.engine) as session:
        user = session.get(User, api.user_ids["member_a"])
        assert user is not None
        session.delete(user)
        session.commit()
    response = api.client.delete(f"{V1}/organisations/{org_id}", headers=api.as_("admin"))
    assert response.status_code == 204, response.text
    with Session(api.engine) as session:
        assert session.get(Organisation, org_id) is None
        person = session.get(Person, api.people["a_public"])
        assert person is not None and person.organisation_id is None
        assert not session.exec(
            select(Membership).where(Membership.organisation_id == org_id)
        ).all()
        assert not session.exec(
            select(ProjectParticipant).where(ProjectParticipant.organisation_id == org_id)
        ).all()
        assert not session.exec(select(Provenance).where(Provenance.entity_id == org_id)).all()
    bed_nets = get(api, f"/projects/{api.ids['bed_nets']}")
    assert [p["organisation_id"] for p in bed_nets["participants"]] == [api.ids["ministry"]]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": ""}, ["body", "name"]),
        ({"name": "X", "org_type": "club"}, ["body", "org_type"]),
        ({"name": "X", "countries": "KE"}, ["body", "countries"]),
        ({}, ["body", "name"]),
    ],
)
def test_organisation_body_validation(api: Api, body: dict[str, Any], loc: list[str]) -> None:
    response = api.client.post(f"{V1}/organisations", json=body, headers=api.as_("admin"))
    assert problem(response, 422)["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "hq_country": "XX"}, "hq_country"),
        ({"name": "X", "hq_country": "K"}, "hq_country"),
        ({"name": "X", "countries": ["KE", "Kenya"]}, "countries"),
    ],
)
def test_country_codes_are_checked(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.client.post(f"{V1}/organisations", json=body, headers=api.as_("admin"))
    assert problem(response, 422)["detail"].startswith(f"{field}:")
    patch = api.client.patch(
        f"{V1}/organisations/{api.ids['solar']}",
        json={k: v for k, v in body.items() if k != "name"},
        headers=api.as_("admin"),
    )
    problem(patch, 422)


def test_organisation_fields_may_not_be_nulled(api: Api) -> None:
    response = api.client.patch(
        f"{V1}/organisations/{api.ids['solar']}", json={"name": None}, headers=api.as_("admin")
    )
    assert problem(response, 422)["detail"] == "name: may not be null"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_organisation_is_404(api: Api, method: str) -> None:
    kwargs: dict[str, Any] = {"json": {"city": "X"}} if method == "patch" else {}
    response = getattr(api.client, method)(
        f"{V1}/organisations/99999", headers=api.as_("admin"), **kwargs
    )
    assert problem(response, 404)["detail"] == "organisation 99999 not found"


def test_networks_of_an_organisation(api: Api) -> None:
    page = get(api, f"/organisations/{api.ids['malaria_ngo']}/networks", role=None)
    assert page["count"] == 1 and page["data"][0]["organisation_id"] == api.ids["malaria_ngo"]
    assert get(api, f"/organisations/{api.ids['solar']}/networks")["count"] == 0
    problem(api.client.get(f"{V1}/organisations/99999/networks"), 404)


# --- people ----------------------------------------------------------------------------------


def test_people_list_paging_filters_and_sort(api: Api) -> None:
    everyone = get(api, "/people")
    assert everyone["count"] == 4
    assert names(everyone) == sorted(names(everyone))
    first = get(api, "/people", limit=2)
    second = get(api, "/people", limit=2, offset=2)
    assert names(first) + names(second) == names(everyone)
    assert names(get(api, "/people", sort="-name")) == sorted(names(everyone), reverse=True)
    of_b = get(api, "/people", organisation_id=api.ids["maternal"])
    assert names(of_b) == ["Person b_private"]
    assert names(get(api, "/people", name="A_PRIV")) == ["Person a_private"]
    problem(api.client.get(f"{V1}/people", params={"organisation_id": 99999}), 404)
    problem(api.client.get(f"{V1}/people", params={"sort": "email"}), 422)


def test_people_sort_by_last_change(api: Api) -> None:
    api.client.patch(
        f"{V1}/people/{api.people['a_network']}",
        json={"expertise": "entomology"},
        headers=api.as_("admin"),
    )
    assert names(get(api, "/people", sort="-updated_at"))[0] == "Person a_network"


def test_person_create_read_update_delete(api: Api) -> None:
    created = api.client.post(
        f"{V1}/people",
        json={
            "name": "Dr Amina Otieno",
            "organisation_id": api.ids["tropical"],
            "countries": ["ke"],
            "visibility": "public",
            "email": "amina@itm.example",
        },
        headers=api.as_("admin"),
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert created.headers["location"].endswith(f"/api/v1/people/{person['id']}")
    assert person["countries"] == ["KE"] and person["email"] == "amina@itm.example"
    anonymous = api.client.get(created.headers["location"]).json()
    assert anonymous["name"] == "Dr Amina Otieno" and anonymous["email"] is None

    changed = api.client.patch(
        f"{V1}/people/{person['id']}",
        json={"organisation_id": api.ids["maternal"], "visibility": "private"},
        headers=api.as_("secretariat"),
    ).json()
    assert changed["organisation_id"] == api.ids["maternal"]
    assert changed["visibility"] == "private" and changed["countries"] == ["KE"]

    deleted = api.client.delete(f"{V1}/people/{person['id']}", headers=api.as_("admin"))
    assert deleted.status_code == 204
    problem(api.client.get(f"{V1}/people/{person['id']}", headers=api.as_("admin")), 404)


def test_person_body_errors(api: Api) -> None:
    unknown = api.client.post(
        f"{V1}/people", json={"name": "X", "organisation_id": 99999}, headers=api.as_("admin")
    )
    assert problem(unknown, 422)["detail"] == "organisation_id: organisation 99999 does not exist"
    bad = api.client.post(
        f"{V1}/people", json={"name": "X", "visibility": "secret"}, headers=api.as_("admin")
    )
    assert problem(bad, 422)["errors"][0]["loc"] == ["body", "visibility"]
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"json": {"name": "Y"}} if method == "patch" else {}
        response = getattr(api.client, method)(
            f"{V1}/people/99999", headers=api.as_("admin"), **kwargs
        )
        assert problem(response, 404)["detail"] == "person 99999 not found"


# --- projects --------------------------------------------------------------------------------


def test_projects_paging_filters_and_sorts(api: Api) -> None:
    newest = get(api, "/projects")
    assert newest["count"] == 8
    years = [p["year"] for p in newest["data"]]
    assert years == sorted(years, reverse=True)
    assert [p["year"] for p in get(api, "/projects", sort="year")["data"]] == sorted(years)
    titles = names(get(api, "/projects", sort="title"), "title")
    assert titles == sorted(titles)
    paged = get(api, "/projects", limit=5)["data"] + get(api, "/projects", offset=5)["data"]
    assert [p["id"] for p in paged] == [p["id"] for p in newest["data"]]
    in_malawi = get(api, "/projects", country="mw")
    assert in_malawi["count"] == 2 and all("MW" in p["countries"] for p in in_malawi["data"])
    assert get(api, "/projects", country="UG", year=2022)["count"] == 1
    of_ngo = get(api, "/projects", organisation_id=api.ids["malaria_ngo"])
    assert {p["id"] for p in of_ngo["data"]} == {api.ids["bed_nets"], api.ids["resistance"]}
    problem(api.client.get(f"{V1}/projects", params={"country": "ZZ"}), 422)


def test_project_create_read_update_delete(api: Api) -> None:
    created = api.client.post(
        f"{V1}/projects",
        json={
            "title": "Seasonal malaria chemoprevention",
            "countries": ["ug"],
            "year": 2025,
            "participants": [
                {"organisation_id": api.ids["ministry"], "role": "lead"},
                {"organisation_id": api.ids["tropical"]},
            ],
        },
        headers=api.as_("admin"),
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert created.headers["location"].endswith(f"/api/v1/projects/{project['id']}")
    assert project["countries"] == ["UG"]
    roles = {p["organisation_id"]: p["role"] for p in project["participants"]}
    assert roles == {api.ids["ministry"]: "lead", api.ids["tropical"]: "partner"}

    changed = api.client.patch(
        f"{V1}/projects/{project['id']}",
        json={"year": 2026, "participants": [{"organisation_id": api.ids["tropical"]}]},
        headers=api.as_("admin"),
    ).json()
    assert changed["year"] == 2026 and changed["title"] == "Seasonal malaria chemoprevention"
    assert [p["organisation_id"] for p in changed["participants"]] == [api.ids["tropical"]]
    kept = api.client.patch(
        f"{V1}/projects/{project['id']}", json={"budget": 1000.0}, headers=api.as_("admin")
    ).json()
    assert kept["participants"] == changed["participants"] and kept["budget"] == 1000.0

    assert (
        api.client.delete(f"{V1}/projects/{project['id']}", headers=api.as_("admin")).status_code
        == 204
    )
    problem(api.client.get(f"{V1}/projects/{project['id']}"), 404)
    with Session(api.engine) as session:
        rows = select(ProjectParticipant).where(ProjectParticipant.project_id == project["id"])
        assert not session.exec(rows).all()


@pytest.mark.parametrize(
    ("participants", "detail"),
    [
        ([{"organisation_id": 99999}], "participants: organisation 99999 does not exist"),
        (
            [{"organisation_id": 1}, {"organisation_id": 1, "role": "lead"}],
            "participants: an organisation is listed more than once",
        ),
    ],
)
def test_project_participants_are_checked(
    api: Api, participants: list[dict[str, Any]], detail: str
) -> None:
    response = api.client.post(
        f"{V1}/projects",
        json={"title": "T", "participants": participants},
        headers=api.as_("admin"),
    )
    assert problem(response, 422)["detail"] == detail


def test_project_validation_and_unknown_ids(api: Api) -> None:
    bad_role = api.client.post(
        f"{V1}/projects",
        json={"title": "T", "participants": [{"organisation_id": 1, "role": "boss"}]},
        headers=api.as_("admin"),
    )
    assert problem(bad_role, 422)["errors"][0]["loc"] == ["body", "participants", "0", "role"]
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"json": {"title": "Y"}} if method == "patch" else {}
        response = getattr(api.client, method)(
            f"{V1}/projects/99999", headers=api.as_("admin"), **kwargs
        )
        assert problem(response, 404)["detail"] == "project 99999 not found"


# --- calls -----------------------------------------------------------------------------------


def new_call(api: Api, source_id: str, **fields: Any) -> dict[str, Any]:
    body = {"source": "manual", "source_id": source_id, "title": f"Call {source_id}", **fields}
    response = api.client.post(f"{V1}/calls", json=body, headers=api.as_("admin"))
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"/api/v1/calls/{response.json()['id']}")
    created: dict[str, Any] = response.json()
    return created


def test_calls_filters_and_sorts(api: Api) -> None:
    early = new_call(api, "early", deadlines=["2030-01-31", "2029-05-01"], programme="Horizon")
    late = new_call(api, "late", deadlines=["2031-06-30"], programme="EDCTP3", status="closed")
    assert early["deadlines"] == ["2029-05-01", "2030-01-31"]
    assert early["next_deadline"] == "2029-05-01"
    everything = get(api, "/calls")
    assert everything["count"] == 5
    assert [c["id"] for c in everything["data"][:2]] == [early["id"], late["id"]]  # nulls last
    assert get(api, "/calls", sort="-deadline")["data"][0]["id"] == late["id"]
    assert get(api, "/calls", sort="-updated_at")["data"][0]["id"] == late["id"]
    titles = names(get(api, "/calls", sort="title"), "title")
    assert titles == sorted(titles)
    assert names(get(api, "/calls", source="manual"), "source_id") == ["early", "late"]
    assert names(get(api, "/calls", programme="EDCTP3"), "source_id") == ["late"]
    assert names(get(api, "/calls", deadline_after="2030-01-01"), "source_id") == ["late"]
    assert get(api, "/calls", status="closed")["count"] == 2
    page = get(api, "/calls", limit=2, offset=2)
    assert page["count"] == 5 and len(page["data"]) == 2
    problem(api.client.get(f"{V1}/calls", params={"deadline_after": "soon"}), 422)


def test_call_update_delete_and_duplicates(api: Api) -> None:
    call = new_call(api, "one")
    duplicate = api.client.post(
        f"{V1}/calls",
        json={"source": "manual", "source_id": "one", "title": "Again"},
        headers=api.as_("admin"),
    )
    assert "source_id 'one' exists" in problem(duplicate, 409)["detail"]
    other = new_call(api, "two")
    clash = api.client.patch(
        f"{V1}/calls/{other['id']}", json={"source_id": "one"}, headers=api.as_("admin")
    )
    problem(clash, 409)
    changed = api.client.patch(
        f"{V1}/calls/{call['id']}",
        json={"status": "closed", "deadlines": ["2028-02-02"]},
        headers=api.as_("admin"),
    ).json()
    assert (changed["status"], changed["next_deadline"], changed["title"]) == (
        "closed",
        "2028-02-02",
        "Call one",
    )
    bad_date = api.client.patch(
        f"{V1}/calls/{call['id']}", json={"deadlines": ["tomorrow"]}, headers=api.as_("admin")
    )
    assert problem(bad_date, 422)["detail"].startswith("deadlines:")
    assert api.client.delete(f"{V1}/calls/{call['id']}", headers=api.as_("admin")).status_code == (
        204
    )
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"json": {"title": "Y"}} if method == "patch" else {}
        response = getattr(api.client, method)(
            f"{V1}/calls/{call['id']}", headers=api.as_("admin"), **kwargs
        )
        assert problem(response, 404)["detail"] == f"call {call['id']} not found"


def test_call_body_validation(api: Api) -> None:
    response = api.client.post(
        f"{V1}/calls", json={"source": "manual", "title": "No id"}, headers=api.as_("admin")
    )
    assert problem(response, 422)["errors"][0]["loc"] == ["body", "source_id"]


# --- networks and memberships ----------------------------------------------------------------


def test_network_crud_and_duplicates(api: Api) -> None:
    listed = get(api, "/networks", role=None)
    assert listed["count"] == 2 and names(listed) == ["AFRO-HEALTH", "MAMI"]
    assert get(api, "/networks", limit=1, offset=1)["data"][0]["slug"] == "mami"
    created = api.client.post(
        f"{V1}/networks", json={"name": "JLN", "slug": "jln"}, headers=api.as_("admin")
    )
    assert created.status_code == 201, created.text
    network = created.json()
    assert created.headers["location"].endswith(f"/api/v1/networks/{network['id']}")
    again = api.client.post(
        f"{V1}/networks", json={"name": "Other", "slug": "jln"}, headers=api.as_("admin")
    )
    assert problem(again, 409)["detail"].startswith("a network with slug 'jln' exists")
    taken = api.client.patch(
        f"{V1}/networks/{network['id']}", json={"name": "MAMI"}, headers=api.as_("admin")
    )
    problem(taken, 409)
    renamed = api.client.patch(
        f"{V1}/networks/{network['id']}",
        json={"name": "Joint Learning Network"},
        headers=api.as_("admin"),
    ).json()
    assert (renamed["name"], renamed["slug"]) == ("Joint Learning Network", "jln")
    assert api.client.get(f"{V1}/networks/{network['id']}").json() == renamed
    problem(
        api.client.post(
            f"{V1}/networks", json={"name": "X", "slug": ""}, headers=api.as_("secretariat")
        ),
        422,
    )
    deleted = api.client.delete(f"{V1}/networks/{network['id']}", headers=api.as_("admin"))
    assert deleted.status_code == 204
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"json": {"name": "Y"}} if method == "patch" else {}
        response = getattr(api.client, method)(
            f"{V1}/networks/{network['id']}", headers=api.as_("admin"), **kwargs
        )
        assert problem(response, 404)["detail"] == f"network {network['id']} not found"


def test_memberships(api: Api) -> None:
    mami = get(api, "/networks")["data"][1]["id"]
    members = get(api, f"/networks/{mami}/members", role=None)
    assert [m["organisation_id"] for m in members["data"]] == [api.ids["nutrition"]]
    added = api.client.post(
        f"{V1}/networks/{mami}/members",
        json={"organisation_id": api.ids["maternal"], "level": "associate"},
        headers=api.as_("admin"),
    )
    assert added.status_code == 201, added.text
    assert added.headers["location"].endswith(
        f"/api/v1/networks/{mami}/members/{api.ids['maternal']}"
    )
    assert api.client.get(added.headers["location"]).json()["level"] == "associate"
    twice = api.client.post(
        f"{V1}/networks/{mami}/members",
        json={"organisation_id": api.ids["maternal"]},
        headers=api.as_("admin"),
    )
    assert "already a member" in problem(twice, 409)["detail"]
    unknown_org = api.client.post(
        f"{V1}/networks/{mami}/members",
        json={"organisation_id": 99999},
        headers=api.as_("secretariat"),
    )
    assert problem(unknown_org, 422)["detail"].startswith("organisation_id:")
    problem(
        api.client.post(
            f"{V1}/networks/99999/members",
            json={"organisation_id": 1},
            headers=api.as_("secretariat"),
        ),
        404,
    )
    assert get(api, f"/networks/{mami}/members", limit=1, offset=1)["count"] == 2
    changed = api.client.patch(
        f"{V1}/networks/{mami}/members/{api.ids['maternal']}",
        json={"joined_on": "2024-03-01"},
        headers=api.as_("admin"),
    ).json()
    assert (changed["level"], changed["joined_on"]) == ("associate", "2024-03-01")
    assert get(api, f"/organisations/{api.ids['maternal']}/networks")["count"] == 1
    removed = api.client.delete(
        f"{V1}/networks/{mami}/members/{api.ids['maternal']}", headers=api.as_("admin")
    )
    assert removed.status_code == 204
    problem(api.client.get(f"{V1}/networks/{mami}/members/{api.ids['maternal']}"), 404)
    problem(api.client.get(f"{V1}/networks/99999/members"), 404)


# --- the JSON-list filters on PostgreSQL -------------------------------------------------------


def test_json_list_filters_on_postgresql(postgres_url: str) -> None:
    """`works_in` and the projects' `country` search the JSON text: the same answers there."""
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        ids = build_network(engine)
        with TestClient(create_app(Settings(database_url=postgres_url), engine=engine)) as client:
            orgs = client.get(f"{V1}/organisations", params={"works_in": "ug", "limit": 1}).json()
            assert orgs["count"] == 1 and orgs["data"][0]["id"] == ids["malaria_ngo"]
            assert client.get(f"{V1}/organisations", params={"works_in": "FR"}).json()["count"] == 0
            projects = client.get(f"{V1}/projects", params={"country": "MW"}).json()
            assert {p["id"] for p in projects["data"]} == {
                ids["infant_malnutrition"],
                ids["infant_pathway"],
            }
            newest = client.get(f"{V1}/projects", params={"sort": "-year"}).json()["data"]
            assert newest[0]["year"] == 2024 and newest[-1]["year"] == 2020
    finally:
        engine.dispose()
