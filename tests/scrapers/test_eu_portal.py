"""Tests for the EU Funding & Tenders open-calls parser, on a recorded slice of the real stream."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from scrapers.eu_portal import (
    PortalParseError,
    is_health_related,
    iter_json_objects,
    parse_open_calls,
    repair_mojibake,
)
from scrapers.records import CallRecord

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "eu-portal" / "open-calls-sample.jsonl"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FULL_FIXTURE = SHARED / "fixtures" / "eu-funding-tenders" / "open-calls-2026-08.jsonl.gz"

SAMPLE_IDS = [
    "PERI-2026-ANTI-COUNTERFEIT",
    "EuropeAid/186246/DD/ACT/NG",
    "EMFAF-2026-PIA-ARCTIC",
    "EuropeAid/186358/DD/ACT/Multi",
    "HORIZON-MISS-2026-02-CANCER-06",
    "EDF-EDIP-P-2026-2027-FNLC-SA-SEAP",
    "HORIZON-HLTH-2027-01-DISEASE-05",
]


@pytest.fixture(scope="module")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="module")
def calls(sample_bytes: bytes) -> dict[str, CallRecord]:
    return {call.external_id: call for call in parse_open_calls(sample_bytes)}


def _topic(topic_id: str, **fields: object) -> str:
    return json.dumps({"topicId": topic_id, "title": f"Title of {topic_id}", **fields})


def test_sample_is_the_raw_stream(sample_bytes: bytes) -> None:
    assert sample_bytes.startswith(b"\xef\xbb\xbf{")
    assert b"}{" in sample_bytes  # objects follow each other without separators


def test_parses_every_topic_in_order(sample_bytes: bytes) -> None:
    parsed = parse_open_calls(sample_bytes)
    assert [call.external_id for call in parsed] == SAMPLE_IDS
    assert {call.source for call in parsed} == {"eu-portal"}


def test_known_topic_fields(calls: dict[str, CallRecord]) -> None:
    call = calls["HORIZON-HLTH-2027-01-DISEASE-05"]
    assert call.title == (
        "Development of novel small molecule antiviral therapeutics for pathogens with "
        "epidemic potential"
    )
    assert call.deadlines == (date(2027, 4, 13),)
    assert call.year == 2027
    assert (call.budget_min, call.budget_max, call.currency) == (9_000_000.0, 11_000_000.0, "EUR")
    assert call.status == "forthcoming"
    assert call.call_identifier == "HORIZON-HLTH-2027-01"
    assert call.url == (
        "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
        "topic-details/horizon-hlth-2027-01-disease-05"
    )
    assert call.funder == "European Commission"
    assert call.programme == "Horizon Europe"
    assert call.action_type == "RIA"
    assert call.opening_date is None


def test_keywords_split_deduplicated_without_identifiers(calls: dict[str, CallRecord]) -> None:
    call = calls["HORIZON-HLTH-2027-01-DISEASE-05"]
    assert call.keywords[:3] == ("Clinical development", "Phase I", "Clinical trials")
    assert "HORIZON-HLTH-2027-01-DISEASE-05" not in call.keywords
    assert "HORIZON-HLTH-2027-01" not in call.keywords
    assert len({keyword.casefold() for keyword in call.keywords}) == len(call.keywords)


def test_statuses_are_mapped(calls: dict[str, CallRecord]) -> None:
    assert calls["PERI-2026-ANTI-COUNTERFEIT"].status == "closed"
    assert calls["EMFAF-2026-PIA-ARCTIC"].status == "open"
    assert calls["EDF-EDIP-P-2026-2027-FNLC-SA-SEAP"].status == "forthcoming"


def test_topic_without_budget_has_no_currency(calls: dict[str, CallRecord]) -> None:
    call = calls["EuropeAid/186246/DD/ACT/NG"]
    assert (call.budget_min, call.budget_max, call.currency) == (None, None, "")
    assert call.text == ""


def test_section_headings_are_kept_on_their_own_lines(calls: dict[str, CallRecord]) -> None:
    text = calls["HORIZON-HLTH-2027-01-DISEASE-05"].text
    assert text.startswith("Expected Outcome:\nThis topic aims at supporting activities")
    assert "\n\nScope:\nInfectious diseases remain a major threat" in text
    assert "Expected Outcome:This" not in text


def test_objectives_follow_the_description(calls: dict[str, CallRecord]) -> None:
    text = calls["HORIZON-HLTH-2027-01-DISEASE-05"].text
    assert "\n\nTackling diseases and reducing disease burden (2026-27)" in text


def test_conditions_are_cleaned(calls: dict[str, CallRecord]) -> None:
    conditions = calls["HORIZON-HLTH-2027-01-DISEASE-05"].conditions
    assert conditions.startswith("General conditions\n1. Admissibility Conditions")
    assert '">' not in conditions
    assert "\n2. Eligible Countries" in conditions


def test_mojibake_is_repaired(calls: dict[str, CallRecord], sample_bytes: bytes) -> None:
    assert "â€".encode() in sample_bytes
    for call in calls.values():
        for text in (call.title, call.text, call.conditions, *call.keywords):
            assert "â€" not in text
            assert "Ã" not in text
    assert calls["EuropeAid/186358/DD/ACT/Multi"].title.startswith("CONVOCATORIA TEMÁTICA PARA")
    assert "destination “Tackling diseases" in calls["HORIZON-HLTH-2027-01-DISEASE-05"].text


def test_repair_leaves_correct_text_alone() -> None:
    assert repair_mojibake("Café costs 5 €, naïve") == "Café costs 5 €, naïve"
    assert repair_mojibake("it\u2019s and itâ€\u2122s") == "it\u2019s and it\u2019s"


def test_gzip_input_gives_the_same_records(sample_bytes: bytes) -> None:
    assert parse_open_calls(gzip.compress(sample_bytes, mtime=0)) == parse_open_calls(sample_bytes)


def test_objects_may_be_separated_by_whitespace() -> None:
    text = "\ufeff" + _topic("A-1") + "\n" + _topic("B-2") + "  \r\n\n" + _topic("C-3") + "\n"
    assert [obj["topicId"] for _, obj in iter_json_objects(text)] == ["A-1", "B-2", "C-3"]


def test_offsets_point_at_each_object() -> None:
    text = _topic("A-1") + "\n" + _topic("B-2")
    offsets = [offset for offset, _ in iter_json_objects(text)]
    assert offsets == [0, len(_topic("A-1")) + 1]


def test_invalid_json_in_the_middle_names_the_object() -> None:
    first = _topic("A-1")
    data = (first + '{"topicId": "B-2", "title": }' + _topic("C-3")).encode()
    with pytest.raises(PortalParseError) as caught:
        parse_open_calls(data)
    assert str(caught.value) == (
        f"open-calls: object 2 at offset {len(first)}: invalid JSON (Expecting value)"
    )


def test_truncated_stream_names_the_last_object(sample_bytes: bytes) -> None:
    with pytest.raises(
        PortalParseError, match=r"^open-calls: object 7 at offset \d+: invalid JSON"
    ):
        parse_open_calls(sample_bytes[:-100])


@pytest.mark.parametrize(
    ("payload", "kind"),
    [("[" + _topic("A-1") + "]", "list"), ("42", "int"), ('"text"', "str")],
)
def test_top_level_non_object_raises(payload: str, kind: str) -> None:
    with pytest.raises(PortalParseError) as caught:
        parse_open_calls(payload.encode())
    assert (
        str(caught.value) == f"open-calls: object 1 at offset 0: expected a JSON object, got {kind}"
    )


def test_number_after_objects_raises() -> None:
    first = _topic("A-1")
    with pytest.raises(PortalParseError) as caught:
        parse_open_calls((first + " 7").encode())
    expected = f"open-calls: object 2 at offset {len(first) + 1}: expected a JSON object, got int"
    assert str(caught.value) == expected


def test_missing_topic_id_raises() -> None:
    data = (_topic("A-1") + _topic("B-2") + json.dumps({"title": "No id"})).encode()
    with pytest.raises(PortalParseError) as caught:
        parse_open_calls(data)
    assert str(caught.value) == "open-calls: object 3: missing topicId"


def test_bad_field_names_the_topic() -> None:
    data = _topic("A-1", deadline="15 September").encode()
    with pytest.raises(PortalParseError) as caught:
        parse_open_calls(data)
    assert str(caught.value) == "open-calls: object 1 (A-1): invalid deadline '15'"


def test_unknown_status_raises() -> None:
    with pytest.raises(PortalParseError) as caught:
        parse_open_calls(_topic("A-1", callStatus="maybe").encode())
    assert str(caught.value) == "open-calls: object 1 (A-1): unknown callStatus 'maybe'"


def test_several_deadlines_are_parsed_and_sorted() -> None:
    data = _topic("A-2026-1", deadline="2026-11-05; 2026-03-04T17:00:00").encode()
    (call,) = parse_open_calls(data)
    assert call.deadlines == (date(2026, 3, 4), date(2026, 11, 5))
    assert call.year == 2026


def test_empty_input_gives_no_records() -> None:
    assert parse_open_calls(b"") == []
    assert parse_open_calls(b"\xef\xbb\xbf \n") == []


def test_health_rule(calls: dict[str, CallRecord]) -> None:
    assert is_health_related(calls["HORIZON-HLTH-2027-01-DISEASE-05"])
    assert is_health_related(calls["HORIZON-MISS-2026-02-CANCER-06"])
    assert not is_health_related(calls["PERI-2026-ANTI-COUNTERFEIT"])
    assert not is_health_related(calls["EMFAF-2026-PIA-ARCTIC"])


def test_health_rule_on_titles_and_keywords() -> None:
    def call(title: str, keywords: tuple[str, ...] = ()) -> CallRecord:
        return CallRecord(source="eu-portal", external_id="X-1", title=title, keywords=keywords)

    assert is_health_related(call("Improving maternal care in rural districts"))
    assert is_health_related(call("Tackling AMR in hospitals"))
    assert not is_health_related(call("Monitoring soil health in practice"))
    assert not is_health_related(call("Healthy soils"))  # whole words only
    assert not is_health_related(call("Arts and culture", ("Mental health",)))
    assert is_health_related(call("Informal carers", ("Public health policies", "Patient care")))


@pytest.mark.skipif(not FULL_FIXTURE.exists(), reason=f"shared fixture not found: {FULL_FIXTURE}")
def test_whole_shared_fixture_parses() -> None:
    parsed = parse_open_calls(FULL_FIXTURE.read_bytes())
    assert len(parsed) == 629
    assert len({call.external_id for call in parsed}) == 629
    assert all(call.title for call in parsed)
    assert {call.status for call in parsed} == {"open", "forthcoming", "closed"}
