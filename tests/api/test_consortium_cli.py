"""`healthmatch consortium` on the test network of test_matching, indexed once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from api.services.consortium import RuleOverrides, call_rules
from models.call import Call
from models.db import make_engine
from tests.api.conftest import Indexed
from tests.api.test_matching import ORGANISATIONS

runner = CliRunner()


def consortia(env: Indexed, *args: str) -> dict[str, Any]:
    call = str(env.ids["malaria_call"])
    lead = str(env.ids["malaria_ngo"])
    result = runner.invoke(app, ["consortium", call, "--lead", lead, "--json", *args])
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_consortia_have_the_lead_first_and_satisfy_every_rule(env: Indexed) -> None:
    data = consortia(env, "--size", "3", "--alternatives", "2")
    assert data["rules"]["size"] == [3, 3]
    assert data["rules"]["sources"]["min_size"] == "set by you"
    assert data["aspects"]  # the call's work areas
    assert 1 <= len(data["consortia"]) <= 2
    for consortium in data["consortia"]:
        members = consortium["members"]
        assert len(members) == 3
        assert members[0]["id"] == env.ids["malaria_ngo"] and members[0]["role"] == "lead"
        assert all(rule["ok"] for rule in consortium["rules"])
        assert len(consortium["coverage"]) == len(data["aspects"])
    first = data["consortia"][0]["members"]
    assert any(m["why"] and m["why"]["projects"] for m in first[1:])  # reasons per partner


def test_required_types_and_exclusions_are_honoured(env: Indexed) -> None:
    tropical = env.ids["tropical"]
    data = consortia(env, "--size", "3", "--require-type", "public", "--exclude", str(tropical))
    assert data["consortia"]
    for consortium in data["consortia"]:
        types = [m["type"] for m in consortium["members"]]
        assert "public" in types
        assert tropical not in [m["id"] for m in consortium["members"]]


def test_impossible_rules_are_explained(env: Indexed) -> None:
    call = str(env.ids["malaria_call"])
    lead = str(env.ids["malaria_ngo"])
    lmic = sum(
        1 for org in ORGANISATIONS.values() if org["hq_country"] in {"KE", "NG", "UG", "IN", "MW"}
    )
    result = runner.invoke(
        app, ["consortium", call, "--lead", lead, "--size", "3", "--lmic", str(lmic + 1)]
    )
    assert result.exit_code == 1
    assert "no consortium satisfies" in result.stdout
    assert "to relax:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "6-3"], "size must be"),
        (["--require-type", "wizards"], "unknown organisation type 'wizards'"),
    ],
)
def test_bad_options_are_one_error_line(env: Indexed, args: list[str], message: str) -> None:
    call, lead = str(env.ids["malaria_call"]), str(env.ids["malaria_ngo"])
    result = runner.invoke(app, ["consortium", call, "--lead", lead, *args])
    assert result.exit_code == 1
    assert message in result.stderr


def test_unknown_call_and_lead(env: Indexed) -> None:
    lead = str(env.ids["malaria_ngo"])
    result = runner.invoke(app, ["consortium", "9999", "--lead", lead])
    assert result.exit_code == 1 and "call 9999 not found" in result.stderr
    call = str(env.ids["malaria_call"])
    result = runner.invoke(app, ["consortium", call, "--lead", "9999"])
    assert result.exit_code == 1 and "organisation 9999 not found" in result.stderr


def test_rules_are_read_from_the_call_conditions_unless_set(env: Indexed) -> None:
    engine = make_engine(env.url)
    with Session(engine) as session:
        call = session.get(Call, env.ids["malaria_call"])
        assert call is not None
        call.conditions = (
            "Proposals must be submitted by a consortium of at least three legal entities, "
            "each established in a different Member State or Associated Country."
        )
        rules, sources = call_rules(call, env.ids["malaria_ngo"], RuleOverrides())
        assert (rules.min_size, rules.min_countries) == (3, 3)
        assert sources["min_size"].startswith("read from the call")
        mine, sources = call_rules(call, env.ids["malaria_ngo"], RuleOverrides(min_countries=2))
        assert mine.min_countries == 2 and sources["min_countries"] == "set by you"
    engine.dispose()
