"""Tests for `matcher.call_rules`: consortium rules read from call conditions."""

from __future__ import annotations

import pathlib

from matcher.call_rules import ParsedRules, parse_call_rules
from scrapers.eu_portal_formats import parse_portal

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "eu-portal"


def test_empty_text_gives_empty_rules() -> None:
    rules = parse_call_rules("")
    assert rules == ParsedRules()
    assert rules.is_empty()


def test_three_entities_each_in_a_different_country() -> None:
    # Source: EU Funding & Tenders portal, HORIZON-WIDERA-2027-05-ERA conditions (CC BY 4.0).
    text = (
        "Applications must be submitted by a consortium including participation, as "
        "beneficiaries, of at least three independent legal entities: Each established in a "
        "different Member State or Associated Country."
    )
    rules = parse_call_rules(text)
    assert rules.min_size == 3
    assert rules.min_countries == 3
    assert rules.evidence["min_size"].startswith("Applications must be submitted")


def test_applicants_from_different_countries_number_words() -> None:
    # Source: EU Funding & Tenders portal, LIFE-2026-CET-ENERCOM conditions (CC BY 4.0).
    text = (
        "Proposals must be submitted by at least 3 applicants (beneficiaries; not affiliated "
        "entities) from 3 different eligible countries."
    )
    rules = parse_call_rules(text)
    assert (rules.min_size, rules.min_countries) == (3, 3)
    words = parse_call_rules("The consortium must include at least four (4) partners.")
    assert words.min_size == 4


def test_range_and_maximum() -> None:
    # Source: EU Funding & Tenders portal, HORIZON-CL3-2027-01-SSRI-01 conditions (CC BY 4.0).
    text = (
        "Consortia must include, as beneficiaries:- A minimum of three (3) to a maximum of seven "
        "(7) partners.- At least 2 SMEs from 2 different Member States."
    )
    rules = parse_call_rules(text)
    assert (rules.min_size, rules.max_size) == (3, 7)
    assert rules.required_types == {"private": 2}
    between = parse_call_rules("The consortium must consist of between 3 and 6 partners.")
    assert (between.min_size, between.max_size) == (3, 6)
    # Source: HORIZON-CL4-2027-01-MAT-PROD-61 conditions (CC BY 4.0).
    cap = parse_call_rules(
        "The following additional eligibility criteria apply: consortia may include a maximum "
        "of 6 independent eligible entities as participants."
    )
    assert (cap.min_size, cap.max_size) == (None, 6)


def test_mono_beneficiary_only_when_stated() -> None:
    # Source: LIFE-2026-NGO-OG-FPA conditions (CC BY 4.0).
    rules = parse_call_rules("Framework Partnerships are always mono-beneficiary.")
    assert (rules.min_size, rules.max_size) == (1, 1)
    conditional = parse_call_rules(
        "In the case of single beneficiary projects, mid-caps and larger companies will not be "
        "permitted."
    )
    assert conditional.is_empty()


def test_alternatives_are_not_rules() -> None:
    # Source: HORIZON-EIC-2026-TRANSITIONOPEN conditions (CC BY 4.0).
    text = (
        "You can apply for EIC Transition either as:- A single legal entity established in a "
        "Member State or an Associated Country ('mono-beneficiary')- A small consortium of two "
        "independent legal entities from two different Member States or Associated Countries or- "
        "A consortium of minimum three and maximum five independent legal entities."
    )
    assert parse_call_rules(text).is_empty()


def test_lmic_partner() -> None:
    rules = parse_call_rules(
        "The consortium must include at least one partner from a low- or middle-income country."
    )
    assert rules.min_lmic == 1
    assert "low- or middle-income" in rules.evidence["min_lmic"]


def test_required_types_with_counts() -> None:
    # Source: HORIZON-CL3-2026-01-FCT-04 conditions (CC BY 4.0).
    text = (
        "This topic requires the active involvement, as beneficiaries, of at least 2 Police "
        "Authorities and at least 2 Civil Society Organisations (or Non-Governmental "
        "Organisations) from at least 3 different EU Member States or Associated Countries."
    )
    rules = parse_call_rules(text)
    assert rules.required_types == {"public": 2, "ngo": 2}
    assert rules.min_countries == 3
    assert set(rules.evidence) >= {"required_types.public", "required_types.ngo"}
    uni = parse_call_rules("The consortium must include a university and at least one NGO.")
    assert uni.required_types == {"research": 1, "ngo": 1}


def test_mixed_type_alternatives_require_nothing() -> None:
    rules = parse_call_rules("The consortium must include at least one SME or a university.")
    assert rules.required_types == {}


def test_numbers_that_are_not_rules() -> None:
    for sentence in (
        "Applicants must have at least 3 years of experience in the field.",
        "The EU contribution must not exceed EUR 3 million per project.",
        "Activities must start at TRL 4 and reach at least TRL 6.",
        "Projects must demonstrate the solution in at least three pilot sites.",
        "Co-creation should be carried out with youth participants from at least eight Member "
        "States.",
        "The consortium should be composed of indicatively not more than ten participants.",
    ):
        assert parse_call_rules(sentence).is_empty(), sentence


def test_annex_references_give_nothing() -> None:
    path = FIXTURES / "topic-details-MIGRATION-05-2018-2020.json"
    call = parse_portal(path.read_bytes(), path.name).calls[0]
    assert parse_call_rules(call.conditions).is_empty()


def test_teaming_conditions() -> None:
    path = FIXTURES / "topic-details-HORIZON-WIDERA-2025-ACCESS-01-01.json"
    call = parse_portal(path.read_bytes(), path.name).calls[0]
    rules = parse_call_rules(call.conditions, call.text)
    assert rules.min_size == 2
    assert rules.min_lmic is None
    assert "at least two beneficiaries" in rules.evidence["min_size"]


def test_strictest_minimum_kept() -> None:
    rules = parse_call_rules(
        "Proposals must involve at least two partners. The consortium must include at least "
        "five legal entities."
    )
    assert rules.min_size == 5
    assert "five" in rules.evidence["min_size"]
