"""Tests for `matcher.aspects`: a call's text split into its work areas."""

from __future__ import annotations

import pathlib

from matcher.aspects import split_aspects, split_sentences
from scrapers.eu_portal_formats import parse_portal

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "eu-portal"


def _teaming_text() -> str:
    path = FIXTURES / "topic-details-HORIZON-WIDERA-2025-ACCESS-01-01.json"
    return parse_portal(path.read_bytes(), path.name).calls[0].text


def test_empty_input() -> None:
    assert split_aspects("") == []
    assert split_aspects("   \n ") == []
    assert split_aspects("", "A title") == ["A title"]


def test_expected_outcomes_are_separate_aspects() -> None:
    aspects = split_aspects(_teaming_text(), "Teaming for Excellence", max_aspects=40)
    assert "Development and promotion of new research strands in relevant domains" in aspects
    assert "Enhanced co-operation and synergies with other European projects." in aspects
    assert aspects[0].startswith("Increased scientific capabilities of the coordinating")
    # the lead-in and the background prose of the section are not aspects
    assert not any(a.startswith("Project results are expected to contribute") for a in aspects)
    assert not any(a.startswith("Disparities in R&I performance") for a in aspects)
    # scope list items follow the outcomes
    assert any(a.startswith("Elaborate on the structure of the consortium") for a in aspects)


def test_max_aspects_spreads_over_sections() -> None:
    aspects = split_aspects(_teaming_text(), max_aspects=10)
    assert len(aspects) == 10
    outcomes = [a for a in aspects if not a.startswith(("Present", "Demonstrate", "Propose"))]
    assert 0 < len(outcomes) < 10
    three = split_aspects(_teaming_text(), max_aspects=3)
    assert len(three) == 3
    assert three[0] in split_aspects(_teaming_text(), max_aspects=40)[:9]  # an outcome first
    assert len(split_aspects(_teaming_text(), max_aspects=1)) == 1


def test_plain_paragraph_gives_sentences() -> None:
    text = (
        "The project will map maternal health services in rural districts. It will train "
        "community health workers in danger-sign recognition, e.g. bleeding and fever. "
        "Results will inform the national referral policy."
    )
    assert split_aspects(text) == [
        "The project will map maternal health services in rural districts.",
        "It will train community health workers in danger-sign recognition, e.g. bleeding and "
        "fever.",
        "Results will inform the national referral policy.",
    ]


def test_bullets_without_headings() -> None:
    text = (
        "Proposals should address the following:\n"
        "- surveillance of antimicrobial resistance in hospitals\n"
        "• stewardship programmes for primary care prescribers\n"
        "1) laboratory capacity for culture and sensitivity testing\n"
        "(b) data sharing with the regional reference centre"
    )
    assert split_aspects(text) == [
        "surveillance of antimicrobial resistance in hospitals",
        "stewardship programmes for primary care prescribers",
        "laboratory capacity for culture and sensitivity testing",
        "data sharing with the regional reference centre",
    ]


def test_inline_sections_and_bullets_of_short_texts() -> None:
    # Source: CORDIS benchmark call HORIZON-CL2-2023-DEMOCRACY-01-01 (EU content, CC BY 4.0),
    # shortened; "?" stands for bullets lost in encoding.
    text = (
        "Expected Outcome: Projects should contribute to all of the following expected outcomes: "
        "? Protect democratic processes in the EU from Information Manipulation and Interference. "
        "? Increase our ability to pro-actively detect, analyse and counter foreign attempts. "
        "Scope: Foreign Information Manipulation and Interference is a key global challenge."
    )
    assert split_aspects(text) == [
        "Protect democratic processes in the EU from Information Manipulation and Interference.",
        "Increase our ability to pro-actively detect, analyse and counter foreign attempts.",
        "Foreign Information Manipulation and Interference is a key global challenge.",
    ]


def test_boilerplate_dropped_and_headings_any_case() -> None:
    text = (
        "expected outcome\n"
        "Health systems adopt validated digital triage tools in district hospitals.\n\n"
        "SCOPE:\n"
        "Proposals should pilot triage tools with frontline nurses in three regions. "
        "This topic requires the effective contribution of SSH disciplines and the involvement "
        "of SSH experts. The Commission estimates that an EU contribution of EUR 3 million "
        "would allow these outcomes to be addressed appropriately."
    )
    assert split_aspects(text) == [
        "Health systems adopt validated digital triage tools in district hospitals.",
        "Proposals should pilot triage tools with frontline nurses in three regions.",
    ]


def test_short_fragments_merged_and_duplicates_dropped() -> None:
    text = (
        "Scope:\n- Improve vaccine cold chains in remote areas\n- Solar fridges.\n"
        "- Improve vaccine cold chains in remote areas\n- Train logisticians in stock management"
    )
    assert split_aspects(text) == [
        "Improve vaccine cold chains in remote areas Solar fridges.",
        "Train logisticians in stock management",
    ]


def test_fallbacks() -> None:
    assert split_aspects("Too short.", "Malaria vaccine trials") == ["Malaria vaccine trials"]
    assert split_aspects("Too short.") == ["Too short."]


def test_split_sentences_keeps_abbreviations() -> None:
    assert split_sentences("See Art. 12 of the rules. Then apply, i.e. submit. Done.") == [
        "See Art. 12 of the rules.",
        "Then apply, i.e. submit.",
        "Done.",
    ]
