"""Grants.gov XML extract: the fixture as XML and as the zip it is published in, hostile input."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from scrapers.grants_gov import GrantsBatch, GrantsGovParseError, parse_grants_gov
from tests.conftest import FIXTURES

SAMPLE = FIXTURES / "grants-gov" / "GrantsDBExtract-sample.xml"
TODAY = date(2026, 6, 1)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<Grants><OpportunitySynopsisDetail_1_0><OpportunityID>1</OpportunityID>
<OpportunityTitle>&lol2;</OpportunityTitle></OpportunitySynopsisDetail_1_0></Grants>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Grants [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<Grants><OpportunitySynopsisDetail_1_0><OpportunityID>1</OpportunityID>
<OpportunityTitle>&secret;</OpportunityTitle></OpportunitySynopsisDetail_1_0></Grants>
"""


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.fixture(scope="module")
def batch() -> GrantsBatch:
    return parse_grants_gov(SAMPLE.read_bytes(), today=TODAY)


def test_counts_rejections_and_notes(batch: GrantsBatch) -> None:
    assert [c.external_id for c in batch.calls] == [
        "350101",
        "350102",
        "350103",
        "350104",
        "350106",
    ]
    assert batch.rejected == [
        "record 5: missing OpportunityID",
        "record 8 (350108): unreadable CloseDate '13452026' (expected MMDDYYYY)",
    ]
    assert batch.notes == [
        "record 7: forecast of opportunity 350102 skipped, its synopsis (record 2) is kept"
    ]


def test_synopsis_fields(batch: GrantsBatch) -> None:
    call = batch.calls[0]
    assert call.source == "grants-gov"
    assert call.title == "Strengthening Public Health Laboratory Systems for Global Health Security"
    assert call.call_identifier == "CDC-RFA-GH-24-0101"
    assert call.funder == "Centers for Disease Control - CGH"
    assert call.programme == "Grants.gov"
    assert call.action_type == "Cooperative Agreement"
    assert call.opening_date == date(2024, 1, 10)
    assert call.deadlines == (date(2024, 3, 15),)
    assert call.year == 2024
    assert (call.budget_min, call.budget_max, call.currency) == (250000.0, 750000.0, "USD")
    assert call.url == "https://www.grants.gov/search-results-detail/350101"
    assert call.keywords == ("Health",)
    assert call.status == "closed"  # closed in March 2024
    # HTML escaped once in the XML: tags removed, list items on lines of their own
    assert call.text.startswith(
        "This notice of funding opportunity supports national public health laboratories to "
        "detect & report priority pathogens.\n\nQuality management systems\n\n"
        "Specimen referral networks\n\nEligible applicants: "
    )
    assert "<" not in call.text
    assert call.conditions == (
        "Eligible applicants: Nonprofits having a 501(c)(3) status with the IRS, other than "
        "institutions of higher education; Others (see the additional information on "
        "eligibility).\n\nMinistries of health and their public health institutes are also "
        "eligible."
    )
    assert call.conditions in call.text


def test_amounts_statuses_and_categories(batch: GrantsBatch) -> None:
    by_id = {c.external_id: c for c in batch.calls}
    nih = by_id["350102"]
    assert (nih.budget_min, nih.budget_max) == (None, 125000.0)  # AwardFloor 0: not stated
    assert nih.keywords == ("Health", "Science and Technology and other Research and Development")
    assert nih.status == "open"
    assert nih.text.endswith("Eligible applicants: Unrestricted (any type of entity, subject to "
                             "the additional information on eligibility).")  # fmt: skip
    usaid = by_id["350103"]
    assert (usaid.budget_min, usaid.budget_max) == (1000000.0, 5000000.0)  # "5,000,000"
    assert usaid.conditions.endswith("Cost sharing or matching is required.")
    assert usaid.status == "open"
    assert usaid.deadlines == (date(2026, 7, 30),)
    assert parse_grants_gov(SAMPLE.read_bytes(), today=date(2026, 8, 1)).calls[2].status == (
        "closed"
    )


def test_forecast_is_forthcoming_with_estimated_dates(batch: GrantsBatch) -> None:
    forecast = next(c for c in batch.calls if c.external_id == "350104")
    assert forecast.status == "forthcoming"
    assert forecast.opening_date == date(2026, 11, 2)
    assert forecast.deadlines == (date(2027, 1, 15),)
    assert forecast.funder == "Health Resources and Services Administration"
    assert forecast.conditions.startswith("Eligible applicants: State governments; Nonprofits")


def test_twice_escaped_html_is_cleaned(batch: GrantsBatch) -> None:
    call = next(c for c in batch.calls if c.external_id == "350106")
    assert call.text.startswith(
        "Purpose\n\nCommunity-led monitoring of HIV services\nin clinics and pharmacies."
    )
    assert "Civil society organisations led by people living with HIV." in call.conditions
    assert "&lt;" not in call.text and "<p>" not in call.text


def test_synopsis_after_its_forecast_replaces_it() -> None:
    forecast = (
        "<OpportunityForecastDetail_1_0><OpportunityID>9</OpportunityID>"
        "<OpportunityTitle>Forecast title</OpportunityTitle></OpportunityForecastDetail_1_0>"
    )
    synopsis = (
        "<OpportunitySynopsisDetail_1_0><OpportunityID>9</OpportunityID>"
        "<OpportunityTitle>Posted title</OpportunityTitle><CloseDate>12312026</CloseDate>"
        "</OpportunitySynopsisDetail_1_0>"
    )
    result = parse_grants_gov(f"<Grants>{forecast}{synopsis}</Grants>".encode(), today=TODAY)
    assert [(c.title, c.status) for c in result.calls] == [("Posted title", "open")]
    assert result.notes == ["record 2: synopsis of opportunity 9 replaces its forecast (record 1)"]


def test_without_namespace_and_missing_title() -> None:
    xml = (
        b"<Grants><OpportunitySynopsisDetail_1_0><OpportunityID>5</OpportunityID>"
        b"</OpportunitySynopsisDetail_1_0></Grants>"
    )
    result = parse_grants_gov(xml, today=TODAY)
    assert result.calls == []
    assert result.rejected == ["record 1 (5): missing OpportunityTitle"]


def test_zip_as_published_gives_the_same_calls(batch: GrantsBatch) -> None:
    data = _zip({"GrantsDBExtract20260601v2.xml": SAMPLE.read_bytes()})
    zipped = parse_grants_gov(data, today=TODAY)
    assert [c.digest() for c in zipped.calls] == [c.digest() for c in batch.calls]
    assert zipped.notes[0] == "read GrantsDBExtract20260601v2.xml from the zip archive"
    assert zipped.rejected == batch.rejected


def test_deterministic(batch: GrantsBatch) -> None:
    again = parse_grants_gov(SAMPLE.read_bytes(), today=TODAY)
    assert [c.digest() for c in again.calls] == [c.digest() for c in batch.calls]


def test_zip_bomb_guard_refuses_before_reading() -> None:
    data = _zip({"GrantsDBExtract20260601v2.xml": b"<Grants>" + b" " * 10_000 + b"</Grants>"})
    with pytest.raises(GrantsGovParseError, match=r"refused: .* would uncompress to 10,017 bytes"):
        parse_grants_gov(data, max_uncompressed=5_000)


def test_zip_must_hold_one_xml() -> None:
    data = _zip({"a.xml": b"<Grants/>", "b.xml": b"<Grants/>"})
    with pytest.raises(GrantsGovParseError, match=r"exactly one \.xml file, it holds 2"):
        parse_grants_gov(data)
    with pytest.raises(GrantsGovParseError, match="damaged zip archive"):
        parse_grants_gov(b"PK\x03\x04 not really a zip")


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_dtd_and_entities_are_refused(payload: bytes) -> None:
    with pytest.raises(GrantsGovParseError, match=r"refused: the document declares a DTD"):
        parse_grants_gov(payload)
    with pytest.raises(GrantsGovParseError, match=r"refused: the document declares a DTD"):
        parse_grants_gov(_zip({"x.xml": payload}))


def test_truncated_and_foreign_xml_raise() -> None:
    truncated = SAMPLE.read_bytes()[:1500]
    with pytest.raises(GrantsGovParseError, match=r"malformed or truncated XML at line \d+"):
        parse_grants_gov(truncated)
    with pytest.raises(GrantsGovParseError, match=r"not a Grants\.gov extract \(root element "):
        parse_grants_gov(b"<iati-activities/>")
    with pytest.raises(GrantsGovParseError, match="malformed or truncated XML"):
        parse_grants_gov(b"")


def test_empty_extract_is_a_note() -> None:
    result = parse_grants_gov(
        b'<Grants xmlns="http://apply.grants.gov/system/OpportunityDetail-V1.0"/>'
    )
    assert result.calls == []
    assert result.notes == ["no opportunity records in the extract"]
