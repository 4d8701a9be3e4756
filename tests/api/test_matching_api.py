"""The matching endpoints of the HTTP API over the indexed test network of test_matching: the
same rankings as the services give, typed as the OpenAPI document says, with their errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api.schemas import (
    AspectCoverageOut,
    ConsortiumMemberOut,
    ConsortiumOut,
    ConsortiumProposalOut,
    ConsortiumRulesOut,
    ExplanationOut,
    InfeasibleOut,
    MatchedProjectOut,
    RankingHitOut,
    RankingOut,
    RankingQueryOut,
    RuleCheckOut,
)
from tests.api.conftest import Api
from tests.api.test_matching import AFRO, NGOS, ORGANISATIONS

V1 = "/api/v1"
PATHS = {
    ("get", "/api/v1/search/partners"),
    ("get", "/api/v1/calls/{call_id}/members"),
    ("get", "/api/v1/organisations/{organisation_id}/calls"),
    ("get", "/api/v1/organisations/{organisation_id}/similar"),
    ("post", "/api/v1/calls/{call_id}/consortia"),
}
PRIVATE = ("office@malaria-ngo.example", "hello@maternal.example", "@people.example")


# --- helpers -----------------------------------------------------------------------------------


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [hit["name"] for hit in body["results"]]


def search(api: Api, q: str, **params: Any) -> Any:
    return api.client.get(f"{V1}/search/partners", params={"q": q, **params})


def propose(
    api: Api, role: str | None = "member_a", call: str = "malaria_call", **body: Any
) -> Any:
    body.setdefault("lead", api.ids["malaria_ngo"])
    return api.client.post(
        f"{V1}/calls/{api.ids[call]}/consortia", json=body, headers=api.as_(role)
    )


def has_every_key(data: Any, model: type[BaseModel]) -> None:
    """Every field of the model (and of the models nested in it) is in the JSON."""
    assert isinstance(data, dict), data
    assert set(data) == set(model.model_fields), (model.__name__, sorted(data))
    nested: dict[type[BaseModel], dict[str, type[BaseModel]]] = {
        RankingOut: {"query": RankingQueryOut, "results": RankingHitOut},
        RankingHitOut: {"explanation": ExplanationOut},
        ExplanationOut: {"projects": MatchedProjectOut},
        ConsortiumProposalOut: {
            "rules": ConsortiumRulesOut,
            "consortia": ConsortiumOut,
            "infeasible": InfeasibleOut,
        },
        ConsortiumOut: {
            "members": ConsortiumMemberOut,
            "coverage": AspectCoverageOut,
            "rules": RuleCheckOut,
        },
        ConsortiumMemberOut: {"why": ExplanationOut},
    }
    for key, inner in nested.get(model, {}).items():
        values = data[key] if isinstance(data[key], list) else [data[key]]
        for value in values:
            if value is not None:
                has_every_key(value, inner)


def conforms(api: Api, data: dict[str, Any], schema_name: str) -> None:
    """The JSON validates against the schema the OpenAPI document publishes."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    document = api.client.get("/openapi.json").json()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(data)


def no_private_fields(body: dict[str, Any]) -> None:
    text = str(body)
    assert not any(secret in text for secret in PRIVATE)
    assert "contact_email" not in text and "email" not in text


# --- partner search ----------------------------------------------------------------------------


def test_search_ranks_as_the_service_does_with_reasons(api: Api) -> None:
    body = ok(search(api, "malaria bed nets", top=10))
    order = names(body)
    assert order[0] == "Malaria Action Kenya"
    assert order.index("Malaria Action Kenya") < order.index("SunGrid Solar GmbH")
    assert body["query"] == {
        "kind": "text",
        "id": None,
        "text": "malaria bed nets",
        "filters": None,
    }
    first = body["results"][0]
    assert first["id"] == api.ids["malaria_ngo"]
    why = first["explanation"]
    assert why["projects"][0] == {
        **why["projects"][0],
        "id": api.ids["bed_nets"],
        "kind": "project",
        "title": "Bed nets against malaria in northern Uganda",
    }
    assert {"malaria", "nets"} <= set(why["terms"])
    assert why["passage"]
    has_every_key(body, RankingOut)
    conforms(api, body, "RankingOut")


def test_search_shows_the_countries_both_name(api: Api) -> None:
    body = ok(search(api, "malaria in Uganda or Ghana", top=3))
    countries = {hit["name"]: hit["explanation"]["countries"] for hit in body["results"]}
    assert countries["Malaria Action Kenya"] == ["UG"]


def test_search_is_open_to_everyone_and_shows_no_private_fields(api: Api) -> None:
    for role in (None, "member_b", "admin"):
        response = api.client.get(
            f"{V1}/search/partners", params={"q": "malaria", "top": 100}, headers=api.as_(role)
        )
        body = ok(response)
        assert len(body["results"]) == len(ORGANISATIONS)
        for hit in body["results"]:
            assert set(hit) == {"id", "name", "score", "explanation"}
        no_private_fields(body)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "ngo"}, NGOS),
        ({"country": "UG"}, {"Malaria Action Kenya", "Ministry of Health Uganda"}),
        ({"hq_country": ["de", "in"]}, {"SunGrid Solar GmbH", "mHealth Labs India"}),
        ({"network": "afro-health"}, AFRO),
        ({"income_group": "L"}, {"Ministry of Health Uganda", "Nutrition First Malawi"}),
        ({"region": "south asia"}, {"mHealth Labs India"}),
        ({"language": "fr"}, {"Institute of Tropical Medicine"}),
        ({"type": ["private", "public"], "country": "UG"}, {"Ministry of Health Uganda"}),
    ],
)
def test_search_filters_narrow_the_results(
    api: Api, params: dict[str, Any], expected: set[str]
) -> None:
    body = ok(search(api, "malaria bed nets", top=3, **params))
    assert set(names(body)) == expected
    assert body["query"]["filters"]


def test_search_reports_the_filters_it_applied(api: Api) -> None:
    body = ok(search(api, "malaria", type="ngo", top=2))
    assert body["query"]["filters"] == {"org_types": ["ngo"]}
    assert body["results"][0]["id"] == api.ids["malaria_ngo"]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"q": "   "}, "the query is empty"),
        ({"q": "malaria", "type": "charity"}, "unknown organisation type 'charity'"),
        ({"q": "malaria", "income_group": "poor"}, "unknown income group 'poor'"),
        ({"q": "malaria", "country": "XX"}, "unknown country 'XX'"),
        ({"q": "malaria", "region": "Mars"}, "unknown region 'Mars'"),
    ],
)
def test_search_refuses_blank_text_and_unknown_filter_values(
    api: Api, params: dict[str, Any], detail: str
) -> None:
    response = api.client.get(f"{V1}/search/partners", params=params)
    assert detail in problem(response, 422)["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 2001},
        {"q": "malaria", "top": 0},
        {"q": "malaria", "top": 101},
        {"q": "malaria", "top": "many"},
        {"q": "malaria", "country": ["UG"] * 51},
    ],
)
def test_search_refuses_invalid_parameters(api: Api, params: dict[str, Any]) -> None:
    body = problem(api.client.get(f"{V1}/search/partners", params=params), 422)
    assert body["errors"]


# --- members for a call ------------------------------------------------------------------------


def test_members_for_the_malaria_call(api: Api) -> None:
    call = api.ids["malaria_call"]
    body = ok(api.client.get(f"{V1}/calls/{call}/members", params={"top": 3}))
    assert body["query"] == {
        "kind": "call",
        "id": call,
        "text": "Malaria elimination in East Africa",
        "filters": None,
    }
    assert body["results"][0]["id"] == api.ids["malaria_ngo"]
    assert len(body["results"]) == 3
    titles = {p["title"] for p in body["results"][0]["explanation"]["projects"]}
    assert "Bed nets against malaria in northern Uganda" in titles
    has_every_key(body, RankingOut)
    conforms(api, body, "RankingOut")
    no_private_fields(body)


def test_members_for_the_nutrition_call(api: Api) -> None:
    call = api.ids["nutrition_call"]
    body = ok(api.client.get(f"{V1}/calls/{call}/members", params={"top": 3}))
    assert body["query"]["text"] == "Nutrition of small and at-risk infants"
    assert body["results"][0]["name"] == "Nutrition First Malawi"
    assert body["results"][0]["id"] == api.ids["nutrition"]


def test_members_for_a_call_filtered(api: Api) -> None:
    call = api.ids["malaria_call"]
    body = ok(api.client.get(f"{V1}/calls/{call}/members", params={"type": "ngo", "top": 3}))
    assert set(names(body)) == NGOS
    assert names(body)[0] == "Malaria Action Kenya"
    uganda = ok(api.client.get(f"{V1}/calls/{call}/members", params={"country": "UG"}))
    assert set(names(uganda)) == {"Malaria Action Kenya", "Ministry of Health Uganda"}


def test_members_for_a_call_errors(api: Api) -> None:
    assert problem(api.client.get(f"{V1}/calls/9999/members"), 404)["detail"] == (
        "call 9999 not found"
    )
    call = api.ids["malaria_call"]
    problem(api.client.get(f"{V1}/calls/{call}/members", params={"type": "charity"}), 422)
    problem(api.client.get(f"{V1}/calls/{call}/members", params={"top": 0}), 422)
    problem(api.client.get(f"{V1}/calls/abc/members"), 422)


# --- calls for an organisation -----------------------------------------------------------------


def test_calls_for_an_organisation_are_the_open_ones_that_fit(api: Api) -> None:
    org = api.ids["malaria_ngo"]
    body = ok(api.client.get(f"{V1}/organisations/{org}/calls", params={"top": 5}))
    assert names(body) == [
        "Malaria elimination in East Africa",
        "Nutrition of small and at-risk infants",
    ]
    assert body["query"] == {
        "kind": "organisation",
        "id": org,
        "text": "Malaria Action Kenya",
        "filters": None,
    }
    best = body["results"][0]
    assert best["id"] == api.ids["malaria_call"]
    titles = [project["title"] for project in best["explanation"]["projects"]]
    assert "Bed nets against malaria in northern Uganda" in titles
    has_every_key(body, RankingOut)
    conforms(api, body, "RankingOut")


def test_calls_for_an_organisation_with_the_closed_ones(api: Api) -> None:
    org = api.ids["malaria_ngo"]
    url = f"{V1}/organisations/{org}/calls"
    every = ok(api.client.get(url, params={"include_closed": True}))
    assert every["results"][0]["id"] == api.ids["malaria_call"]
    assert api.ids["solar_call"] in {hit["id"] for hit in every["results"]}
    assert len(every["results"]) == 3
    one = ok(api.client.get(url, params={"include_closed": True, "top": 1}))
    assert names(one) == ["Malaria elimination in East Africa"]


def test_calls_for_an_organisation_errors(api: Api) -> None:
    assert problem(api.client.get(f"{V1}/organisations/9999/calls"), 404)["detail"] == (
        "organisation 9999 not found"
    )
    org = api.ids["malaria_ngo"]
    problem(api.client.get(f"{V1}/organisations/{org}/calls", params={"top": 101}), 422)
    problem(api.client.get(f"{V1}/organisations/{org}/calls", params={"include_closed": "x"}), 422)


# --- similar organisations ---------------------------------------------------------------------


def test_similar_organisations(api: Api) -> None:
    org = api.ids["nutrition"]
    body = ok(api.client.get(f"{V1}/organisations/{org}/similar", params={"top": 6}))
    order = names(body)
    assert "Nutrition First Malawi" not in order
    assert order[0] == "Safe Births Nigeria"  # they ran the infant malnutrition project together
    assert order.index("Safe Births Nigeria") < order.index("SunGrid Solar GmbH")
    assert body["query"]["kind"] == "organisation" and body["query"]["id"] == org
    assert body["results"][0]["explanation"]["projects"]
    has_every_key(body, RankingOut)
    conforms(api, body, "RankingOut")
    no_private_fields(body)


def test_similar_organisations_filtered(api: Api) -> None:
    org = api.ids["nutrition"]
    body = ok(api.client.get(f"{V1}/organisations/{org}/similar", params={"type": "private"}))
    assert set(names(body)) == {"SunGrid Solar GmbH", "mHealth Labs India"}
    assert body["query"]["filters"] == {"org_types": ["private"]}


def test_similar_organisations_errors(api: Api) -> None:
    assert problem(api.client.get(f"{V1}/organisations/9999/similar"), 404)["detail"] == (
        "organisation 9999 not found"
    )
    org = api.ids["nutrition"]
    url = f"{V1}/organisations/{org}/similar"
    problem(api.client.get(url, params={"country": "XX"}), 422)
    problem(api.client.get(url, params={"top": -1}), 422)


# --- consortia ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member_a", "secretariat"])
def test_consortia_have_the_lead_first_and_satisfy_every_rule(api: Api, role: str) -> None:
    body = ok(propose(api, role, min_size=3, max_size=3, alternatives=2))
    assert body["call"] == {
        "id": api.ids["malaria_call"],
        "title": "Malaria elimination in East Africa",
    }
    assert body["rules"]["size"] == [3, 3]
    assert body["rules"]["lead"] == api.ids["malaria_ngo"]
    assert body["rules"]["sources"]["min_size"] == "set by you"
    assert body["aspects"]
    assert body["infeasible"] == []
    assert 1 <= len(body["consortia"]) <= 2
    for consortium in body["consortia"]:
        members = consortium["members"]
        assert len(members) == 3
        assert members[0]["id"] == api.ids["malaria_ngo"] and members[0]["role"] == "lead"
        assert all(m["role"] == "partner" for m in members[1:])
        assert all(rule["ok"] for rule in consortium["rules"])
        assert [row["aspect"] for row in consortium["coverage"]] == body["aspects"]
        ids = {str(m["id"]) for m in members}
        assert all(set(row["by_member"]) == ids for row in consortium["coverage"])
    first = body["consortia"][0]["members"]
    assert any(m["why"] and m["why"]["projects"] for m in first[1:])  # reasons per partner
    has_every_key(body, ConsortiumProposalOut)
    conforms(api, body, "ConsortiumProposalOut")
    no_private_fields(body)


def test_consortia_honour_types_inclusions_and_exclusions(api: Api) -> None:
    tropical, ministry = api.ids["tropical"], api.ids["ministry"]
    body = ok(
        propose(
            api,
            min_size=3,
            max_size=3,
            required_types={"Public": 1},
            exclude=[tropical],
        )
    )
    assert body["rules"]["required_types"] == {"public": 1}
    assert body["rules"]["sources"]["required_types"] == "set by you"
    assert body["rules"]["exclude"] == [tropical]
    assert body["consortia"]
    for consortium in body["consortia"]:
        assert "public" in [m["type"] for m in consortium["members"]]
        assert tropical not in [m["id"] for m in consortium["members"]]
    included = ok(propose(api, min_size=3, max_size=4, include=[ministry], alternatives=1))
    roles = {m["id"]: m["role"] for m in included["consortia"][0]["members"]}
    assert roles[ministry] == "included"


def test_impossible_rules_are_explained_not_refused(api: Api) -> None:
    lmic = sum(
        1 for org in ORGANISATIONS.values() if org["hq_country"] in {"KE", "NG", "UG", "IN", "MW"}
    )
    body = ok(propose(api, min_size=3, max_size=3, min_lmic=lmic + 1))
    assert body["consortia"] == []
    assert body["infeasible"]
    assert all(reason["reason"] and reason["relax"] for reason in body["infeasible"])
    has_every_key(body, ConsortiumProposalOut)
    conforms(api, body, "ConsortiumProposalOut")


def test_anonymous_may_not_propose_consortia(api: Api) -> None:
    response = propose(api, None)
    problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    bad = api.client.post(
        f"{V1}/calls/{api.ids['malaria_call']}/consortia",
        json={"lead": api.ids["malaria_ngo"]},
        headers={"Authorization": "Bearer hm_not-a-key"},
    )
    problem(bad, 401)


def test_unknown_call_or_lead_is_not_found(api: Api) -> None:
    call = api.client.post(
        f"{V1}/calls/9999/consortia",
        json={"lead": api.ids["malaria_ngo"]},
        headers=api.as_("member_a"),
    )
    assert problem(call, 404)["detail"] == "call 9999 not found"
    assert problem(propose(api, lead=9999), 404)["detail"] == "organisation 9999 not found"


@pytest.mark.parametrize(
    "body",
    [
        {"min_size": 6, "max_size": 3},
        {"min_size": 0},
        {"max_size": 13},
        {"min_countries": -1},
        {"required_types": {"wizards": 1}},
        {"required_types": {"ngo": 0}},
        {"include": [7], "exclude": [7]},
        {"alternatives": 0},
        {"alternatives": 6},
        {"colour": "blue"},
        {"lead": None},
    ],
)
def test_invalid_or_contradictory_requests_are_refused(api: Api, body: dict[str, Any]) -> None:
    assert problem(propose(api, **body), 422)["errors"]


def test_lead_excluded_is_refused(api: Api) -> None:
    body = problem(propose(api, exclude=[api.ids["malaria_ngo"]]), 422)
    assert "the lead" in str(body["errors"])


def test_a_bound_set_alone_moves_the_default_other_bound(api: Api) -> None:
    rules = ok(propose(api, max_size=2))["rules"]  # the default minimum is 3
    assert rules["size"] == [2, 2]
    assert rules["sources"]["max_size"] == "set by you"
    assert ok(propose(api, min_size=7))["rules"]["size"] == [7, 7]  # the default maximum is 6


def test_unknown_included_or_excluded_organisations_are_404(api: Api) -> None:
    for field in ("include", "exclude"):
        body = problem(propose(api, **{field: [9999]}), 404)
        assert body["detail"] == "organisation 9999 not found"


def test_a_missing_lead_in_the_body_is_refused(api: Api) -> None:
    response = api.client.post(
        f"{V1}/calls/{api.ids['malaria_call']}/consortia", json={}, headers=api.as_("member_b")
    )
    assert problem(response, 422)["errors"][0]["loc"] == ["body", "lead"]


# --- no index ----------------------------------------------------------------------------------


def test_a_missing_index_is_a_503_for_every_ranking(api: Api) -> None:
    settings = api.client.app.state.settings  # type: ignore[attr-defined]
    settings.search_index_path().unlink()
    call, org = api.ids["malaria_call"], api.ids["malaria_ngo"]
    for url in (
        f"{V1}/search/partners?q=malaria",
        f"{V1}/calls/{call}/members",
        f"{V1}/organisations/{org}/calls",
        f"{V1}/organisations/{org}/similar",
    ):
        body = problem(api.client.get(url), 503)
        assert "index" in body["detail"] and str(settings.search_index_path()) not in body["detail"]
    problem(propose(api), 503)
    problem(propose(api, None), 401)  # who asks is checked first


# --- the OpenAPI document ----------------------------------------------------------------------


def test_openapi_documents_every_matching_path(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    for method, path in PATHS:
        operation = document["paths"][path][method]
        assert operation["summary"] and operation["description"]
        assert operation["tags"] == ["matching"]
        responses = operation["responses"]
        assert {"200", "422", "503"} <= set(responses)
        for status in set(responses) - {"200"}:
            assert "application/problem+json" in responses[status]["content"]
        if "{" in path:
            assert "404" in responses
    assert "401" in document["paths"]["/api/v1/calls/{call_id}/consortia"]["post"]["responses"]
    ok_schema = document["paths"]["/api/v1/search/partners"]["get"]["responses"]["200"]
    assert ok_schema["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RankingOut"
    }
    search_params = {
        p["name"] for p in document["paths"]["/api/v1/search/partners"]["get"]["parameters"]
    }
    assert search_params == {
        "q",
        "top",
        "country",
        "hq_country",
        "region",
        "income_group",
        "type",
        "language",
        "network",
    }
    request = document["components"]["schemas"]["ConsortiumRequest"]
    assert request["required"] == ["lead"]
