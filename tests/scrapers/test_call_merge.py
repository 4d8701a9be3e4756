"""One call met in several sources is one stored call: by identifier, or by title and deadline."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.call import Call
from models.db import session_scope
from models.provenance import Provenance
from scrapers.call_merge import (
    CallKey,
    CallMatcher,
    normalise_title,
    structured_identifier,
    titles_match,
)
from scrapers.records import CallRecord
from scrapers.store import store_calls

DEADLINE = date(2027, 3, 15)


def call(source: str, external_id: str, title: str, *deadlines: date, **extra: Any) -> CallRecord:
    return CallRecord(
        source=source, external_id=external_id, title=title, deadlines=deadlines, **extra
    )


def test_structured_identifiers_are_codes_not_urls_or_numbers() -> None:
    assert (
        structured_identifier(" horizon-hlth-2026-01-disease-03 ")
        == "HORIZON-HLTH-2026-01-DISEASE-03"
    )
    assert structured_identifier("HHS-2026-ACF-0042") == "HHS-2026-ACF-0042"
    assert structured_identifier("https://example.org/calls/42") is None
    assert structured_identifier("358612") is None
    assert structured_identifier("call-for-proposals") is None


def test_titles_match_ignores_case_accents_and_punctuation_but_not_other_words() -> None:
    assert normalise_title("  Sant\u00e9 \u2013 e-Health (2026)! ") == "sante e health 2026"
    assert titles_match(
        normalise_title("Strengthening primary health care in fragile settings"),
        normalise_title("Strengthening Primary Health-Care in Fragile Settings."),
    )
    assert not titles_match(
        normalise_title("Vaccine research for malaria"),
        normalise_title("Vaccine research for tuberculosis"),
    )


def test_matcher_needs_a_shared_deadline_and_another_source() -> None:
    matcher = CallMatcher(
        [
            CallKey.of(
                7,
                "eu-portal",
                "HORIZON-HLTH-2026-01-DISEASE-03",
                "Vaccines for poverty-related diseases",
                [DEADLINE],
            )
        ]
    )
    same_in_feed = call(
        "feed:gloria", "https://f.org/1", "Vaccines for poverty related diseases", DEADLINE
    )
    assert matcher.find(same_in_feed) == 7
    assert (
        matcher.find(
            call("feed:gloria", "x", "Vaccines for poverty related diseases", date(2027, 4, 1))
        )
        is None
    )
    assert matcher.find(call("feed:gloria", "x", "Vaccines for poverty related diseases")) is None
    # the portal itself says two topics differ, however alike their titles
    assert (
        matcher.find(
            call(
                "eu-portal",
                "HORIZON-HLTH-2026-01-DISEASE-04",
                "Vaccines for poverty-related diseases",
                DEADLINE,
            )
        )
        is None
    )


def test_matcher_merges_by_identifier_without_deadline_and_refuses_different_identifiers() -> None:
    matcher = CallMatcher(
        [CallKey.of(3, "bench", "HORIZON-HLTH-2026-01-DISEASE-03", "Vaccines", [DEADLINE])]
    )
    assert (
        matcher.find(call("eu-portal", "horizon-hlth-2026-01-disease-03", "Another wording")) == 3
    )
    assert (
        matcher.find(call("eu-portal", "HORIZON-HLTH-2026-01-DISEASE-09", "Vaccines", DEADLINE))
        is None
    )


def test_a_call_from_a_second_source_is_merged_filling_gaps_and_adding_deadlines(
    engine: Engine,
) -> None:
    portal = call(
        "eu-portal",
        "HORIZON-HLTH-2026-01-DISEASE-03",
        "Vaccines for poverty-related diseases",
        DEADLINE,
        funder="European Commission",
        text="",
    )
    feed = call(
        "feed:gloria",
        "https://funder.example/news/1",
        "Vaccines for poverty related diseases",
        DEADLINE,
        date(2027, 9, 1),
        funder="A foundation",
        text="Full text of the call from the feed.",
        url="https://funder.example/news/1",
    )
    with session_scope(engine) as session:
        first = store_calls(session, [portal])
    with session_scope(engine) as session:
        second = store_calls(session, [feed])
    assert (second.counts.merged, second.counts.inserted) == (1, 0)
    assert second.ids["https://funder.example/news/1"] == first.ids[portal.external_id]
    with Session(engine) as session:
        stored = session.exec(select(Call)).one()
        assert stored.source == "eu-portal"
        assert stored.funder == "European Commission"  # the call's own source keeps its fields
        assert stored.text == "Full text of the call from the feed."  # gaps are filled
        assert stored.deadlines == ["2027-03-15", "2027-09-01"]
        sources = session.exec(
            select(Provenance.source).where(Provenance.entity_type == "call")
        ).all()
        assert sorted(sources) == ["eu-portal", "feed:gloria"]
    with session_scope(engine) as session:
        again = store_calls(session, [feed])
    assert (again.counts.unchanged, again.counts.merged, again.counts.inserted) == (1, 0, 0)


def test_different_calls_of_two_sources_stay_apart(engine: Engine) -> None:
    with session_scope(engine) as session:
        store_calls(
            session, [call("eu-portal", "HORIZON-HLTH-2026-01-DISEASE-03", "Vaccines", DEADLINE)]
        )
        stored = store_calls(
            session, [call("grants-gov", "358612", "Maternal health in rural districts", DEADLINE)]
        )
    assert stored.counts.inserted == 1
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Call)).one() == 2
