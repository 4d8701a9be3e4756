"""Feedback on suggestions over HTTP: validation, who sees what, and the summary."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

BASE = "/api/v1/feedback"


def give(api: Api, role: str = "member_a", **body: Any) -> dict[str, Any]:
    response = api.client.post(BASE, json=body, headers=api.as_(role))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def seed(api: Api) -> dict[str, dict[str, Any]]:
    """Feedback of both members in several contexts."""
    ids = api.ids
    return {
        "a_search": give(
            api,
            context="partner-search",
            query_text="malaria bed nets",
            suggested_organisation_id=ids["tropical"],
            rank=1,
            useful=True,
        ),
        "a_calls": give(
            api,
            context="calls-for-member",
            organisation_id=ids["malaria_ngo"],
            suggested_call_id=ids["malaria_call"],
            rank=1,
            useful=True,
        ),
        "a_members": give(
            api,
            context="members-for-call",
            call_id=ids["malaria_call"],
            suggested_organisation_id=ids["solar"],
            rank=4,
            useful=False,
            comment="solar panels, not malaria",
        ),
        "b_similar": give(
            api,
            "member_b",
            context="similar",
            organisation_id=ids["maternal"],
            suggested_organisation_id=ids["nutrition"],
            useful=True,
        ),
        "b_consortium": give(
            api,
            "member_b",
            context="consortium",
            call_id=ids["nutrition_call"],
            organisation_id=ids["maternal"],
            suggested_organisation_id=ids["tropical"],
            useful=False,
        ),
    }


def ids_of(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


def test_give_feedback_records_the_caller(api: Api) -> None:
    created = give(
        api,
        context="calls-for-member",
        organisation_id=api.ids["malaria_ngo"],
        suggested_call_id=api.ids["malaria_call"],
        rank=2,
        useful=True,
        comment="exactly our field",
        user_id=api.user_ids["admin"],  # ignored: feedback is always the caller's
    )
    assert created["user_id"] == api.user_ids["member_a"]
    assert created["context"] == "calls-for-member"
    assert created["suggested_call_id"] == api.ids["malaria_call"]
    assert created["suggested_organisation_id"] is None
    assert created["rank"] == 2 and created["useful"] is True
    assert created["comment"] == "exactly our field"
    assert created["id"] > 0 and created["created_at"]
    staff = give(api, "secretariat", suggested_organisation_id=api.ids["nutrition"], useful=False)
    assert staff["context"] == "partner-search"  # the default context
    assert staff["user_id"] == api.user_ids["secretariat"]


def test_anonymous_callers_get_401(api: Api) -> None:
    for method, url, body in (
        ("POST", BASE, {"suggested_organisation_id": api.ids["tropical"], "useful": True}),
        ("POST", BASE, {}),  # 401 comes before body validation
        ("GET", BASE, None),
        ("GET", f"{BASE}/summary", None),
    ):
        response = api.client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"context": "calls-for-member", "useful": True}, "needs suggested_call_id"),
        (
            {
                "context": "calls-for-member",
                "suggested_organisation_id": "tropical",
                "useful": True,
            },
            "needs suggested_call_id",
        ),
        (
            {
                "context": "calls-for-member",
                "suggested_call_id": "malaria_call",
                "suggested_organisation_id": "tropical",
                "useful": True,
            },
            "give suggested_call_id only",
        ),
        ({"context": "partner-search", "useful": False}, "needs suggested_organisation_id"),
        (
            {"context": "members-for-call", "suggested_call_id": "malaria_call", "useful": True},
            "needs suggested_organisation_id",
        ),
        (
            {
                "context": "similar",
                "suggested_organisation_id": "tropical",
                "suggested_call_id": "malaria_call",
                "useful": True,
            },
            "give suggested_organisation_id only",
        ),
    ],
)
def test_a_suggestion_that_does_not_fit_the_context_is_422(
    api: Api, body: dict[str, Any], detail: str
) -> None:
    body = {k: api.ids[v] if k.endswith("_id") else v for k, v in body.items()}
    response = api.client.post(BASE, json=body, headers=api.as_("member_a"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "entity"),
    [
        ("call_id", "call"),
        ("suggested_call_id", "call"),
        ("organisation_id", "organisation"),
        ("suggested_organisation_id", "organisation"),
    ],
)
def test_unknown_ids_are_404(api: Api, field: str, entity: str) -> None:
    if field == "suggested_call_id":
        body: dict[str, Any] = {"context": "calls-for-member"}
    else:
        body = {"context": "members-for-call", "suggested_organisation_id": api.ids["tropical"]}
    body |= {field: 999999, "useful": True}
    response = api.client.post(BASE, json=body, headers=api.as_("member_a"))
    assert response.status_code == 404
    assert response.json()["detail"] == f"{entity} 999999 not found"


def test_invalid_bodies_are_422_with_field_paths(api: Api) -> None:
    org = api.ids["tropical"]
    for body, loc in (
        ({"suggested_organisation_id": org}, ["body", "useful"]),
        ({"suggested_organisation_id": org, "useful": "maybe"}, ["body", "useful"]),
        ({"suggested_organisation_id": org, "useful": True, "context": "x"}, ["body", "context"]),
        ({"suggested_organisation_id": org, "useful": True, "rank": 0}, ["body", "rank"]),
        (
            {"suggested_organisation_id": org, "useful": True, "comment": "c" * 2001},
            ["body", "comment"],
        ),
        (
            {"suggested_organisation_id": "abc", "useful": True},
            ["body", "suggested_organisation_id"],
        ),
    ):
        response = api.client.post(BASE, json=body, headers=api.as_("member_b"))
        assert response.status_code == 422, body
        assert loc in [e["loc"] for e in response.json()["errors"]], response.json()
    bad_filter = api.client.get(f"{BASE}?context=nope", headers=api.as_("admin"))
    assert bad_filter.status_code == 422
    assert ["query", "context"] in [e["loc"] for e in bad_filter.json()["errors"]]


def test_staff_see_all_feedback_newest_first_members_their_own(api: Api) -> None:
    seeded = seed(api)
    everything = [seeded[k]["id"] for k in reversed(list(seeded))]
    for role in ("admin", "secretariat"):
        response = api.client.get(BASE, headers=api.as_(role))
        assert ids_of(response) == everything
        assert response.json()["count"] == 5
    own_a = api.client.get(BASE, headers=api.as_("member_a"))
    assert ids_of(own_a) == [seeded[k]["id"] for k in ("a_members", "a_calls", "a_search")]
    assert own_a.json()["count"] == 3
    assert {row["user_id"] for row in own_a.json()["data"]} == {api.user_ids["member_a"]}
    own_b = api.client.get(BASE, headers=api.as_("member_b"))
    assert ids_of(own_b) == [seeded[k]["id"] for k in ("b_consortium", "b_similar")]
    paged = api.client.get(f"{BASE}?limit=2&offset=1", headers=api.as_("admin"))
    assert ids_of(paged) == everything[1:3]
    assert paged.json()["count"] == 5


def test_filters(api: Api) -> None:
    seeded = seed(api)
    ids = api.ids

    def listed(role: str, query: str) -> set[str]:
        got = set(ids_of(api.client.get(f"{BASE}?{query}", headers=api.as_(role))))
        return {k for k, v in seeded.items() if v["id"] in got}

    assert listed("admin", "context=similar") == {"b_similar"}
    assert listed("admin", "useful=false") == {"a_members", "b_consortium"}
    assert listed("admin", "useful=true&context=partner-search") == {"a_search"}
    # a call matches as the ranking's call or as the suggested call
    assert listed("admin", f"call_id={ids['malaria_call']}") == {"a_calls", "a_members"}
    assert listed("admin", f"call_id={ids['nutrition_call']}") == {"b_consortium"}
    # an organisation likewise
    assert listed("admin", f"organisation_id={ids['tropical']}") == {"a_search", "b_consortium"}
    assert listed("admin", f"organisation_id={ids['maternal']}") == {"b_similar", "b_consortium"}
    # members' filters apply within their own feedback only
    assert listed("member_a", f"organisation_id={ids['tropical']}") == {"a_search"}
    assert listed("member_b", "useful=false") == {"b_consortium"}
    assert listed("member_b", "context=partner-search") == set()


def test_summary_counts_per_context_for_staff_only(api: Api) -> None:
    seed(api)
    give(api, "member_b", suggested_organisation_id=api.ids["digital"], useful=False)
    for role in ("member_a", "member_b"):
        response = api.client.get(f"{BASE}/summary", headers=api.as_(role))
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    for role in ("admin", "secretariat"):
        response = api.client.get(f"{BASE}/summary", headers=api.as_(role))
        assert response.status_code == 200
        summary = response.json()
        assert summary["data"] == [
            {"context": "partner-search", "useful": 1, "not_useful": 1, "total": 2},
            {"context": "members-for-call", "useful": 0, "not_useful": 1, "total": 1},
            {"context": "calls-for-member", "useful": 1, "not_useful": 0, "total": 1},
            {"context": "similar", "useful": 1, "not_useful": 0, "total": 1},
            {"context": "consortium", "useful": 0, "not_useful": 1, "total": 1},
        ]
        assert (summary["useful"], summary["not_useful"], summary["total"]) == (3, 3, 6)


def test_summary_of_no_feedback_lists_every_context_with_zeros(api: Api) -> None:
    summary = api.client.get(f"{BASE}/summary", headers=api.as_("admin")).json()
    assert {row["context"] for row in summary["data"]} == {
        "partner-search",
        "members-for-call",
        "calls-for-member",
        "similar",
        "consortium",
    }
    assert all(row["total"] == 0 for row in summary["data"])
    assert summary["total"] == 0
