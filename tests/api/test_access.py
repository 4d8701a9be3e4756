"""Object-level permissions of the CRUD resources: who may write what, and who sees private data.

Every write endpoint is tried by every role: anonymous (401), a member of another organisation
(403), the owning member (2xx where members may write, else 403) and the staff (2xx). A refused
write leaves the database exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import Api

V1 = "/api/v1"
# the tables the resources write (app_user and api_key change on use: last_used_at)
TABLES = ("organisation", "person", "project", "project_participant", "call", "network",
          "membership", "provenance", "website_source")  # fmt: skip


def snapshot(api: Api) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(api.url.removeprefix("sqlite:///")) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


@dataclass(frozen=True)
class Write:
    """A write request; `owner` is the member role allowed to make it (None: staff only)."""

    name: str
    method: str
    path: Callable[[Api], str]
    body: Callable[[Api], dict[str, Any]] | None
    owner: str | None
    other: str
    ok: int


def network_id(api: Api, slug: str) -> int:
    rows = api.client.get(f"{V1}/networks").json()["data"]
    found: int = next(row["id"] for row in rows if row["slug"] == slug)
    return found


WRITES = [
    Write("create organisation", "post", lambda a: "/organisations",
          lambda a: {"name": "New NGO", "hq_country": "KE"}, None, "member_a", 201),
    Write("update organisation", "patch", lambda a: f"/organisations/{a.ids['malaria_ngo']}",
          lambda a: {"city": "Kisumu"}, "member_a", "member_b", 200),
    Write("delete organisation", "delete", lambda a: f"/organisations/{a.ids['solar']}",
          None, None, "member_a", 204),
    Write("create person", "post", lambda a: "/people",
          lambda a: {"name": "New Person", "organisation_id": a.ids["malaria_ngo"]},
          "member_a", "member_b", 201),
    Write("update person", "patch", lambda a: f"/people/{a.people['a_public']}",
          lambda a: {"expertise": "dengue"}, "member_a", "member_b", 200),
    Write("delete person", "delete", lambda a: f"/people/{a.people['a_network']}",
          None, "member_a", "member_b", 204),
    Write("update project", "patch", lambda a: f"/projects/{a.ids['bed_nets']}",
          lambda a: {"year": 2019}, "member_a", "member_b", 200),
    Write("delete project", "delete", lambda a: f"/projects/{a.ids['resistance']}",
          None, "member_a", "member_b", 204),
    Write("create call", "post", lambda a: "/calls",
          lambda a: {"source": "manual", "source_id": "x", "title": "X"}, None, "member_a", 201),
    Write("update call", "patch", lambda a: f"/calls/{a.ids['malaria_call']}",
          lambda a: {"status": "closed"}, None, "member_a", 200),
    Write("delete call", "delete", lambda a: f"/calls/{a.ids['solar_call']}",
          None, None, "member_a", 204),
    Write("create network", "post", lambda a: "/networks",
          lambda a: {"name": "JLN", "slug": "jln"}, None, "member_a", 201),
    Write("update network", "patch", lambda a: f"/networks/{network_id(a, 'mami')}",
          lambda a: {"website": "https://mami.example"}, None, "member_a", 200),
    Write("delete network", "delete", lambda a: f"/networks/{network_id(a, 'mami')}",
          None, None, "member_a", 204),
    Write("add member", "post", lambda a: f"/networks/{network_id(a, 'mami')}/members",
          lambda a: {"organisation_id": a.ids["malaria_ngo"]}, None, "member_a", 201),
    Write("update member",
          "patch", lambda a: f"/networks/{network_id(a, 'afro-health')}/members/"
          f"{a.ids['malaria_ngo']}", lambda a: {"level": "observer"}, None, "member_a", 200),
    Write("remove member",
          "delete", lambda a: f"/networks/{network_id(a, 'afro-health')}/members/"
          f"{a.ids['malaria_ngo']}", None, None, "member_a", 204),
]  # fmt: skip


def expected(write: Write, role: str | None) -> int:
    if role is None:
        return 401
    if role in ("admin", "secretariat") or role == write.owner:
        return write.ok
    return 403


CASES = [
    pytest.param(write, role, id=f"{write.name}-{role or 'anonymous'}")
    for write in WRITES
    for role in sorted(
        {None, "admin", "secretariat", write.other, *([write.owner] if write.owner else [])},
        key=str,
    )
]


def send(api: Api, method: str, path: str, role: str | None, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    return getattr(api.client, method)(f"{V1}{path}", headers=api.as_(role), **kwargs)


@pytest.mark.parametrize(("write", "role"), CASES)
def test_write_matrix(api: Api, write: Write, role: str | None) -> None:
    path, body = write.path(api), write.body(api) if write.body else None
    before = snapshot(api)
    response = send(api, write.method, path, role, body)
    status = expected(write, role)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert snapshot(api) == before
    else:
        assert snapshot(api) != before


# --- members within their own organisation ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        # a person in another organisation, or moved to one
        ("post", "/people", lambda a: {"name": "X", "organisation_id": a.ids["maternal"]}, 403),
        ("post", "/people", lambda a: {"name": "X", "organisation_id": None}, 201),  # own org
        ("patch", "/people/{a_public}", lambda a: {"organisation_id": a.ids["maternal"]}, 403),
        ("patch", "/people/{a_public}", lambda a: {"organisation_id": None}, 403),
        # people the member may not see are not found (their existence is private)
        ("patch", "/people/{b_private}", lambda a: {"name": "Mine now"}, 404),
        ("delete", "/people/{b_private}", lambda a: None, 404),
        # its organisation must stay among a project's participants
        (
            "patch",
            "/projects/{bed_nets}",
            lambda a: {"participants": [{"organisation_id": a.ids["ministry"]}]},
            403,
        ),
        # a project its organisation is not in
        ("patch", "/projects/{midwives}", lambda a: {"title": "Taken"}, 403),
        ("delete", "/projects/{orphan}", lambda a: None, 403),
    ],
)
def test_member_stays_within_its_organisation(
    api: Api,
    method: str,
    path: str,
    body: Callable[[Api], dict[str, Any] | None],
    status: int,
) -> None:
    path = path.format(**api.people, **api.ids)
    before = snapshot(api)
    response = send(api, method, path, "member_a", body(api))
    assert response.status_code == status, response.text
    if status >= 400:
        assert snapshot(api) == before
    else:
        assert response.json()["organisation_id"] == api.ids["malaria_ngo"]


def test_member_project_gets_its_organisation(api: Api) -> None:
    """Anonymous may not create; a member's organisation is added as lead unless listed."""
    assert send(api, "post", "/projects", None, {"title": "X"}).status_code == 401
    for role, own in (("member_a", "malaria_ngo"), ("member_b", "maternal")):
        response = send(api, "post", "/projects", role, {"title": f"By {role}"})
        assert response.status_code == 201, response.text
        assert response.json()["participants"] == [
            {"organisation_id": api.ids[own], "role": "lead", "source_role": ""}
        ]
    listed = send(
        api,
        "post",
        "/projects",
        "member_a",
        {
            "title": "Partner",
            "participants": [
                {"organisation_id": api.ids["malaria_ngo"], "role": "partner"},
                {"organisation_id": api.ids["tropical"], "role": "lead"},
            ],
        },
    ).json()
    roles = {p["organisation_id"]: p["role"] for p in listed["participants"]}
    assert roles == {api.ids["malaria_ngo"]: "partner", api.ids["tropical"]: "lead"}
    # and then the member may change it, the other member may not
    assert send(api, "patch", f"/projects/{listed['id']}", "member_a", {"year": 2020}).is_success
    assert send(api, "patch", f"/projects/{listed['id']}", "member_b", {"year": 1}).status_code == (
        403
    )


def test_member_may_change_its_organisation_but_not_delete_it(api: Api) -> None:
    path = f"/organisations/{api.ids['malaria_ngo']}"
    changed = send(api, "patch", path, "member_a", {"org_type": "research", "countries": ["ET"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["org_type"] == "research" and changed.json()["countries"] == ["ET"]
    assert changed.json()["contact_email"] == "office@malaria-ngo.example"
    assert send(api, "delete", path, "member_a").status_code == 403


# --- privacy ---------------------------------------------------------------------------------

A_CONTACT, B_CONTACT = "office@malaria-ngo.example", "hello@maternal.example"


def reads(api: Api) -> list[str]:
    """Every read endpoint of the resources that may carry organisations or people."""
    a, b = api.ids["malaria_ngo"], api.ids["maternal"]
    return [
        "/organisations",
        "/organisations?limit=1000&sort=-updated_at",
        "/organisations?network=afro-health",
        "/organisations?works_in=UG",
        "/organisations?country=KE",
        f"/organisations/{a}",
        f"/organisations/{b}",
        "/people?limit=1000",
        f"/people?organisation_id={a}",
        f"/people?organisation_id={b}",
        "/people?name=Person",
        *(f"/people/{pid}" for pid in api.people.values()),
    ]


def seen(api: Api, role: str | None) -> str:
    """All the text that the role's reads return."""
    return "\n".join(
        api.client.get(f"{V1}{path}", headers=api.as_(role)).text for path in reads(api)
    )


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (
            None,
            ["Person a_public"],
            ["Person a_network", "Person a_private", "Person b_private", "@people.example",
             A_CONTACT, B_CONTACT],
        ),
        (
            "member_b",
            ["Person a_public", "Person a_network", "Person b_private", "b_private@people",
             B_CONTACT],
            ["Person a_private", "a_public@", "a_network@", "a_private@", A_CONTACT],
        ),
        (
            "member_a",
            ["Person a_private", "a_public@", "a_network@", "a_private@people", A_CONTACT],
            ["Person b_private", "b_private@", B_CONTACT],
        ),
        (
            "secretariat",
            ["Person a_private", "Person b_private", "a_private@", "b_private@", A_CONTACT,
             B_CONTACT],
            [],
        ),
    ],
)  # fmt: skip
def test_private_data_reaches_only_its_owners(
    api: Api, role: str | None, visible: list[str], hidden: list[str]
) -> None:
    text = seen(api, role)
    for fragment in visible:
        assert fragment in text, fragment
    for fragment in hidden:
        assert fragment not in text, fragment


@pytest.mark.parametrize(
    ("role", "people"),
    [
        (None, ["a_public"]),
        ("member_b", ["a_network", "a_public", "b_private"]),
        ("member_a", ["a_network", "a_private", "a_public"]),
        ("admin", ["a_network", "a_private", "a_public", "b_private"]),
    ],
)
def test_people_lists_and_reads_by_role(api: Api, role: str | None, people: list[str]) -> None:
    page = api.client.get(f"{V1}/people", headers=api.as_(role)).json()
    assert [p["name"] for p in page["data"]] == [f"Person {key}" for key in people]
    assert page["count"] == len(people)  # counted in SQL, with the same visibility filter
    for key, person_id in api.people.items():
        response = api.client.get(f"{V1}/people/{person_id}", headers=api.as_(role))
        assert response.status_code == (200 if key in people else 404), key
        if key in people:
            email = response.json()["email"]
            manages = role == "admin" or (role or "x")[-1] == key[0]
            assert email == (f"{key}@people.example" if manages else None), (role, key)
        else:  # the same answer as for an id that never existed
            assert response.json()["detail"] == f"person {person_id} not found"


def test_organisation_contact_email_by_role(api: Api) -> None:
    a = api.ids["malaria_ngo"]
    for role, expected_email in (
        (None, None),
        ("member_b", None),
        ("member_a", A_CONTACT),
        ("secretariat", A_CONTACT),
    ):
        one = api.client.get(f"{V1}/organisations/{a}", headers=api.as_(role)).json()
        assert one["contact_email"] == expected_email, role
        listed = api.client.get(f"{V1}/organisations", headers=api.as_(role)).json()["data"]
        assert next(o for o in listed if o["id"] == a)["contact_email"] == expected_email
