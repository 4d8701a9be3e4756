"""The EU Funding & Tenders importer for every recorded format, on real portal payloads."""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from models.call import Call
from models.db import session_scope
from scrapers.call_imports import import_eu_portal
from scrapers.errors import SourceFileError
from scrapers.eu_portal import PortalParseError
from scrapers.eu_portal_formats import detect_format, parse_portal
from scrapers.records import CallRecord
from tests.conftest import FIXTURES

PORTAL = FIXTURES / "eu-portal"
OPEN_CSV = PORTAL / "portal-export-open-2024-08-sample.csv"
UPCOMING_CSV = PORTAL / "portal-export-upcoming-2024-06-sample.csv"
WIDERA = PORTAL / "topic-details-HORIZON-WIDERA-2025-ACCESS-01-01.json"
MIGRATION = PORTAL / "topic-details-MIGRATION-05-2018-2020.json"
HTML_TAG = "<p>", "</", "<span", "<div", "<br"


def parse(path: Path) -> list[CallRecord]:
    batch = parse_portal(path.read_bytes(), path.name)
    assert batch.rejected == []
    return batch.calls


def one(path: Path) -> CallRecord:
    (call,) = parse(path)
    return call


def stored_calls(engine: Engine) -> list[Call]:
    with Session(engine) as session:
        return list(session.exec(select(Call).order_by(Call.source_id)).all())


def call_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Call)).one()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("topic-details-HORIZON-MSCA-2025-COFUND-01-01.json", "topic-details"),
        ("topic-details-HORIZON-WIDERA-2025-ACCESS-01-01.json", "topic-details"),
        ("topic-details-MIGRATION-05-2018-2020.json", "topic-details"),
        ("search-response-page.json", "search-results"),
        ("search-result-ERASMUS-EDU-2025.json", "search-results"),
        ("portal-export-open-2024-08-sample.csv", "csv-export"),
        ("portal-export-upcoming-2024-06-sample.csv", "csv-export"),
        ("open-calls-sample.jsonl", "open-calls"),
    ],
)
def test_every_fixture_is_recognised_and_parses(name: str, kind: str) -> None:
    data = (PORTAL / name).read_bytes()
    assert detect_format(data, "payload.bin") == kind  # by content, not by name
    calls = parse(PORTAL / name)
    assert calls and {call.source for call in calls} == {"eu-portal"}
    for call in calls:
        assert call.external_id and call.title
        assert not any(tag in call.text or tag in call.conditions for tag in HTML_TAG)


def test_topic_details_with_two_stages_and_contribution_range() -> None:
    call = one(WIDERA)
    assert call.external_id == "HORIZON-WIDERA-2025-ACCESS-01-01-two-stage"
    assert call.title == "Teaming for Excellence"
    assert call.call_identifier == "HORIZON-WIDERA-2025-ACCESS-01"
    assert call.programme == "Horizon Europe"
    assert call.action_type == "HORIZON-CSA HORIZON Coordination and Support Actions"
    # epoch milliseconds, read as Brussels dates
    assert call.deadlines == (date(2025, 4, 10), date(2026, 1, 20))
    assert call.opening_date == date(2024, 12, 3)
    assert (call.budget_min, call.budget_max, call.currency) == (8_000_000, 15_000_000, "EUR")
    assert call.status == "forthcoming"
    assert call.year == 2025
    assert call.url.endswith("/topic-details/horizon-widera-2025-access-01-01-two-stage")
    assert call.text.startswith("Expected Outcome:\nDisparities in R&I performance")
    assert "\n\nScope:\n" in call.text
    assert call.conditions.startswith("General conditions\n")


def test_old_topic_details_keep_only_their_own_budget_lines() -> None:
    call = one(MIGRATION)
    assert call.external_id == "MIGRATION-05-2018-2020"
    assert call.title == "Mapping and overcoming integration challenges for migrant children"
    assert call.programme == "Horizon 2020 Framework Programme"
    assert call.action_type == "RIA Research and Innovation action; IA Innovation action"
    assert call.deadlines == (date(2018, 3, 13), date(2020, 3, 19))  # "13 March 2018"
    assert call.opening_date == date(2017, 11, 7)
    # the call-wide map lists seven other topics; this one has 6 M (2018) and 9 M (2020)
    assert (call.budget_min, call.budget_max) == (6_000_000, 9_000_000)
    assert call.status == "closed"
    assert call.text.startswith("Specific Challenge:\nAt a time where the integration")
    assert "\n\nScope:\n" in call.text
    assert "migrant children" in call.keywords
    assert "Family studies, Social work" in call.keywords  # a keyword with a comma stays whole


def test_topic_details_without_contributions_take_the_topic_budget() -> None:
    call = one(PORTAL / "topic-details-HORIZON-MSCA-2025-COFUND-01-01.json")
    assert call.external_id == "HORIZON-MSCA-2025-COFUND-01-01"
    assert call.deadlines == (date(2025, 6, 24),)
    assert (call.budget_min, call.budget_max) == (101_820_280, 101_820_280)


def test_search_page_and_single_result() -> None:
    (page,) = parse(PORTAL / "search-response-page.json")
    assert page.external_id == "EUAF-2023-TRAI-03"
    assert page.title == "Staff exchanges"
    assert page.call_identifier == "EUAF-2023-TRAI"
    assert page.deadlines == (date(2023, 5, 11),)
    assert (page.budget_min, page.budget_max) == (900_000, 900_000)
    assert page.status == "closed"
    assert page.text.startswith("Scope:\nOrganising staff exchanges")
    assert "\n\nExpected Impact:\nProfessionals" in page.text
    assert page.keywords == ("Staff exchanges", "Fraud prevention")  # own id dropped
    result = one(PORTAL / "search-result-ERASMUS-EDU-2025.json")
    assert result.external_id == "ERASMUS-EDU-2025-PI-ALL-INNO-EDU-ENTERP"
    assert result.title == "Alliances for Education and Enterprises"
    assert result.deadlines == (date(2025, 3, 6),)
    assert result.opening_date == date(2024, 12, 5)
    assert (result.budget_min, result.budget_max) == (62_000_000, 62_000_000)  # not BLUEPRINT's
    assert result.action_type == "ERASMUS-LS ERASMUS Lump Sum Grants"
    assert result.status == "forthcoming"
    assert result.text.startswith("Scope:\nALLIANCES FOR INNOVATION")


def test_search_results_that_are_not_topics_are_skipped_and_counted() -> None:
    data = (PORTAL / "search-response-page.json").read_bytes()
    page = data.replace(b'"results": [', b'"results": [{"metadata": {"title": ["A tender"]}},', 1)
    assert page != data
    batch = parse_portal(page, "page.json")
    assert [call.external_id for call in batch.calls] == ["EUAF-2023-TRAI-03"]
    assert batch.rejected == ["result 1: not a topic (no identifier)"]


def test_csv_export_rows() -> None:
    calls = {call.external_id: call for call in parse(OPEN_CSV)}
    assert list(calls) == [
        "HORIZON-CL3-2024-FCT-01-08",
        "HORIZON-HLTH-2024-DISEASE-09-01",
        "EDF-2024-DA-ENERENV-EEMC-STEP",
        "competitive-call-8122",
        "EDF-2024-RA-AIR-AAM",
    ]
    health = calls["HORIZON-HLTH-2024-DISEASE-09-01"]
    assert health.title == "European Partnership: One Health Anti-Microbial Resistance"
    assert health.deadlines == (date(2024, 9, 25),)
    assert health.opening_date == date(2024, 4, 25)
    assert (health.budget_min, health.budget_max) == (100_000_000, 100_000_000)
    assert health.action_type == "HORIZON-COFUND HORIZON Programme Cofund Actions"
    # the export glues "ExpectedOutcome"; the heading comes out as the portal writes it elsewhere
    assert health.text.startswith("Expected Outcome:\nThis topic aims at supporting")
    assert "\n\nScope:\n" in health.text
    # one topic listed twice (per action type and as a topic): one call, both deadlines
    edf = calls["EDF-2024-DA-ENERENV-EEMC-STEP"]
    assert edf.deadlines == (date(2024, 11, 4), date(2024, 11, 5))
    assert edf.action_type == "EDF-DA EDF Development Actions"
    # a cascade-funding call is a call of its own, under its parent topic
    cascade = calls["competitive-call-8122"]
    assert cascade.call_identifier == "DIGITAL-2021-SKILLS-01-SPECIALISED"
    assert cascade.deadlines == (date(2025, 10, 15),)
    assert cascade.budget_max == 66_500
    assert cascade.url.endswith("/competitive-calls-cs/8122")


def test_csv_headers_match_case_insensitively_and_latin1_is_read() -> None:
    data = "Identifier,Title,DEADLINE,Budget_Min,BUDGET MAX,Description\n"
    data += "EU4H-2025-PJ-01,Santé mentale des réfugiés,2025-09-30T17:00:00,1000000,2000000,"
    data += '"<span>Scope</span>:<p>Améliorer l\'accès aux soins.</p>"\n'
    (call,) = parse_portal(data.encode("latin-1"), "export.csv").calls
    assert call.title == "Santé mentale des réfugiés"
    assert call.deadlines == (date(2025, 9, 30),)
    assert (call.budget_min, call.budget_max) == (1_000_000, 2_000_000)
    assert call.text == "Scope:\nAméliorer l'accès aux soins."


def test_csv_bad_rows_are_rejected_with_their_line() -> None:
    lines = OPEN_CSV.read_bytes().splitlines(keepends=True)
    broken = lines[2].replace(b"2024-09-25T17:00:00", b"25 Septembre", 1)
    short = b"HORIZON-X-01,Only two fields\n"
    batch = parse_portal(b"".join([lines[0], lines[1], broken, short, *lines[3:]]), "x.csv")
    assert len(batch.calls) == 4
    assert "HORIZON-HLTH-2024-DISEASE-09-01" not in {call.external_id for call in batch.calls}
    assert batch.rejected == [
        "line 3 (HORIZON-HLTH-2024-DISEASE-09-01): invalid deadline '25 Septembre'",
        "line 4: 2 fields, the header has 19",
    ]


def test_unknown_and_truncated_payloads_give_clear_errors() -> None:
    with pytest.raises(PortalParseError, match=r"^unknown format: not topicDetails JSON"):
        detect_format(b"<html><body>Not here</body></html>", "page.html")
    with pytest.raises(PortalParseError, match=r"^JSON that is not a Funding & Tenders payload"):
        detect_format(b'{"hello": "world"}', "x.json")
    truncated = WIDERA.read_bytes()[:5000]
    with pytest.raises(PortalParseError) as caught:
        parse_portal(truncated, WIDERA.name)
    assert str(caught.value) == (
        "JSON: invalid JSON at line 65 column 21 (Unterminated string starting at)"
    )


# --- storing ------------------------------------------------------------------------------------


def test_import_twice_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = import_eu_portal(session, OPEN_CSV)
    assert first.summary() == "eu-portal: calls: 5 new, 0 updated, 0 unchanged"
    before = [(c.id, c.updated_at) for c in stored_calls(engine)]
    with session_scope(engine) as session:
        again = import_eu_portal(session, OPEN_CSV)
    assert again.summary() == "eu-portal: calls: 0 new, 0 updated, 5 unchanged"
    assert [(c.id, c.updated_at) for c in stored_calls(engine)] == before


def test_the_same_topic_from_two_formats_is_stored_once(engine: Engine, tmp_path: Path) -> None:
    header = OPEN_CSV.read_bytes().splitlines(keepends=True)[0]
    csv_path = tmp_path / "export.csv"
    row = b"HORIZON-WIDERA-2025-ACCESS-01-01-two-stage,Teaming for Excellence" + b"," * 17
    csv_path.write_bytes(header + row + b"\n")
    with session_scope(engine) as session:
        import_eu_portal(session, WIDERA)
    with session_scope(engine) as session:
        report = import_eu_portal(session, csv_path)
    assert report.summary() == "eu-portal: calls: 0 new, 1 updated, 0 unchanged"
    (call,) = stored_calls(engine)
    assert call.source_id == "HORIZON-WIDERA-2025-ACCESS-01-01-two-stage"
    # and in one import of a folder holding both, the two are merged before storing
    folder = tmp_path / "both"
    folder.mkdir()
    shutil.copy(WIDERA, folder)
    shutil.copy(csv_path, folder)
    shutil.copy(UPCOMING_CSV, folder)
    shutil.copy(OPEN_CSV, folder)
    with session_scope(engine) as session:
        report = import_eu_portal(session, folder)
    # 5 + 2 calls of the two exports share EDF-2024-RA-AIR-AAM; WIDERA is already there
    assert report.counts["calls"].total == 7
    assert call_count(engine) == 7
    widera = next(c for c in stored_calls(engine) if c.source_id.startswith("HORIZON-WIDERA"))
    assert widera.deadlines == ["2025-04-10", "2026-01-20"]
    assert widera.budget_max == 15_000_000


def test_open_calls_collection_imports_through_the_same_command(engine: Engine) -> None:
    with session_scope(engine) as session:
        report = import_eu_portal(session, PORTAL / "open-calls-sample.jsonl")
    assert report.summary() == "eu-portal: calls: 7 new, 0 updated, 0 unchanged"


def test_a_broken_file_in_a_folder_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    shutil.copy(OPEN_CSV, tmp_path)
    (tmp_path / "zz-truncated.json").write_bytes(WIDERA.read_bytes()[:5000])
    with session_scope(engine) as session, pytest.raises(SourceFileError) as caught:
        import_eu_portal(session, tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'zz-truncated.json'}: JSON: invalid JSON")
    assert call_count(engine) == 0


def test_rejected_rows_are_listed_in_the_summary(engine: Engine, tmp_path: Path) -> None:
    lines = OPEN_CSV.read_bytes().splitlines(keepends=True)
    path = tmp_path / "export.csv"
    path.write_bytes(lines[0] + lines[1] + b"X-1,short\n")
    with session_scope(engine) as session:
        report = import_eu_portal(session, path)
    assert report.summary().splitlines() == [
        "eu-portal: calls: 1 new, 0 updated, 0 unchanged; 1 rejected",
        f"{path}:3: 2 fields, the header has 19",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "open-calls-2026-08.jsonl.gz",
        "portal-export-open-2024-08.csv",
        "portal-export-upcoming-2024-06.csv",
    ],
)
def test_full_shared_files_parse_without_rejects(shared_dir: Path, name: str) -> None:
    path = shared_dir / "fixtures" / "eu-funding-tenders" / name
    expected = {
        "open-calls-2026-08.jsonl.gz": 629,  # topics
        "portal-export-open-2024-08.csv": 438,  # 452 rows, 14 topics listed twice
        "portal-export-upcoming-2024-06.csv": 101,  # 102 rows, one repeated
    }
    assert len(parse(path)) == expected[name]


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_import_eu_portal(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["import", "eu-portal", str(WIDERA)])
    assert result.exit_code == 0, result.output
    assert "eu-portal: calls: 1 new, 0 updated, 0 unchanged" in result.stdout
    again = runner.invoke(app, ["import", "eu-portal", str(WIDERA)])
    assert "eu-portal: calls: 0 new, 0 updated, 1 unchanged" in again.stdout


def test_cli_unknown_format_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    page = tmp_path / "page.gz"
    page.write_bytes(gzip.compress(b"<html>a portal page, not an export</html>"))
    result = runner.invoke(app, ["import", "eu-portal", str(page)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {page}: unknown format: not topicDetails JSON, a search API response, "
        "a CSV export (identifier and title columns) or the open-calls collection"
    ]
