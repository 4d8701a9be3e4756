"""IATI activity XML (1.0x and 2.0x) on the recorded real files, and hostile or broken input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from models.db import session_scope
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.provenance import Provenance
from scrapers.errors import SourceFileError
from scrapers.iati import IatiData, dac_sectors, parse_iati, read_iati
from scrapers.pipeline import import_iati
from tests.conftest import FIXTURES

IATI = FIXTURES / "iati"
DFID = IATI / "dfid-v1.01.xml"
CAFOD = IATI / "cafod-v1.00.xml"
GLOBAL_FUND = IATI / "global-fund-single-activity.xml"
EXAMPLE = IATI / "iati-2.01-example-annotated.xml"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<iati-activities version="2.03"><iati-activity>
 <iati-identifier>XX-1</iati-identifier><title><narrative>&lol3;</narrative></title>
</iati-activity></iati-activities>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE iati-activities [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<iati-activities version="2.03"><iati-activity>
 <iati-identifier>XX-1</iati-identifier><title><narrative>&secret;</narrative></title>
</iati-activity></iati-activities>
"""

REFUSED_DTD = (
    "refused: the document declares a DTD (<!DOCTYPE {}>); IATI files have none, "
    "and a DTD can carry entity-expansion or external-entity attacks"
)

FRENCH_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<iati-activities version="2.03">
 <iati-activity xml:lang="fr" default-currency="XOF">
  <iati-identifier>SN-NIN-1-SANTE</iati-identifier>
  <reporting-org ref="SN-NIN-1" type="10">
   <narrative>Ministère de la Santé</narrative></reporting-org>
  <title><narrative>Santé maternelle à Kolda</narrative>
   <narrative xml:lang="wo">Wér-gu-yaramu yaay yi</narrative></title>
  <description><narrative>Soins obstétricaux d'urgence.</narrative></description>
  <participating-org role="4" type="22"><narrative>Association  des Sages-Femmes</narrative>
  </participating-org>
  <participating-org role="1"><narrative>ASSOCIATION DES SAGES-FEMMES</narrative>
  </participating-org>
  <recipient-country code="sn"/>
  <sector vocabulary="1" code="13020"/>
  <sector vocabulary="99" code="X"><narrative>Santé de la mère</narrative></sector>
 </iati-activity>
</iati-activities>
"""


@pytest.fixture(scope="module")
def dfid() -> IatiData:
    return read_iati(DFID)


@pytest.fixture(scope="module")
def cafod() -> IatiData:
    return read_iati(CAFOD)


@pytest.fixture(scope="module")
def example() -> IatiData:
    return read_iati(EXAMPLE)


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Organisation, Project, ProjectParticipant, Provenance)
        }


def run_import(engine: Engine, path: Path) -> str:
    with session_scope(engine) as session:
        return import_iati(session, path).summary()


NOTHING = {"Organisation": 0, "Project": 0, "ProjectParticipant": 0, "Provenance": 0}


@pytest.mark.parametrize(
    ("path", "activities", "health"),
    [(DFID, 205, 18), (CAFOD, 57, 12), (GLOBAL_FUND, 1, 0), (EXAMPLE, 1, 0)],
)
def test_every_activity_becomes_a_project(path: Path, activities: int, health: int) -> None:
    data = read_iati(path)
    assert len(data.projects) == activities
    assert len({p.external_id for p in data.projects}) == activities
    assert sum("health" in p.themes for p in data.projects) == health
    assert data.skipped == []


def test_dac_sectors_become_readable_themes(cafod: IatiData, dfid: IatiData) -> None:
    first = cafod.projects[0]
    assert first.external_id == "GB-CHC-285776-DRC173"
    assert first.themes == ("Sectors not specified", "Human rights", "Radio/television/print media")
    assert first.keywords == ("Peace building",)  # the publisher's own vocabulary "RO"
    themes = {theme for p in dfid.projects for theme in p.themes}
    assert {"Basic health care", "Malaria control", "STD control including HIV/AIDS"} <= themes
    assert not any(theme.startswith("DAC sector") for theme in themes)


def test_every_health_code_and_category_is_in_the_codelist() -> None:
    names = dac_sectors()
    assert {"121", "122", "123", "130", "998"} <= set(names)
    assert names["12262"] == "Malaria control"
    assert all(code[:3] in names for code in names)


def test_version_1_dates_countries_and_budget(dfid: IatiData, cafod: IatiData) -> None:
    first = dfid.projects[0]
    assert (first.start_date.isoformat() if first.start_date else None) == "2004-01-01"
    assert (first.end_date.isoformat() if first.end_date else None) == "2010-12-31"
    assert first.year == 2004
    assert all(p.year for p in dfid.projects + cafod.projects)
    assert cafod.projects[0].countries == ("CD",)
    fund = read_iati(GLOBAL_FUND).projects[0]
    assert (fund.countries, fund.budget, fund.currency) == (("AM",), 4_842_705.0, "USD")
    assert fund.funder == "The Global Fund to Fight AIDS, Tuberculosis and Malaria"


def test_version_1_roles_and_organisations(dfid: IatiData, cafod: IatiData) -> None:
    roles = {(p.org_external_id, p.role, p.source_role) for p in dfid.projects[0].participants}
    assert roles == {("GB", "funder", "Funding"), ("GB-1", "partner", "Extending, Reporting")}
    implementer = cafod.projects[0].participants[1]
    assert (implementer.org_external_id, implementer.role) == (
        "name:caritas-dr-congo-bukavu-diocese",
        "implementer",
    )
    orgs = {org.external_id: org for org in cafod.organisations}
    assert (orgs["GB-CHC-285776"].name, orgs["GB-CHC-285776"].org_type) == ("CAFOD", "ngo")
    assert orgs["GB-CHC-285776"].country == "GB"
    assert len(dfid.organisations) == len({o.external_id for o in dfid.organisations})


def test_version_2_narratives_roles_regions_and_sectors(example: IatiData) -> None:
    (project,) = example.projects
    assert project.external_id == "AA-AAA-123456789-ABC123"
    assert project.title == "Activity title"
    assert project.description.startswith("General activity description text.")
    assert "Objectives for the activity" in project.description
    assert "Titre" not in project.description  # English is there, so French is left out
    assert project.countries == ("AF", "AG")
    assert project.themes == (
        "Education, level unspecified",
        "Basic education",
        "region:489",
        "region:289",
    )
    assert str(project.start_date) == "2012-04-28" and str(project.end_date) == "2015-12-31"
    assert (project.budget, project.currency, project.funder) == (3000.0, "EUR", "Name of Agency B")
    roles = [(p.org_external_id, p.role, p.source_role) for p in project.participants]
    assert roles == [
        ("BB-BBB-123456789", "funder", "Funding"),
        ("CC-CCC-123456789", "partner", "Accountable"),
        ("AA-AAA-123456789", "partner", "Extending, Reporting"),
    ]
    types = {o.external_id: o.org_type for o in example.organisations}
    assert types == {
        "BB-BBB-123456789": "multilateral",
        "CC-CCC-123456789": "public",
        "AA-AAA-123456789": "ngo",  # type 21 as participating-org, seen before reporting-org's 40
    }


def test_without_english_the_other_languages_go_to_the_description() -> None:
    data = parse_iati(FRENCH_ONLY.encode("utf-8"))
    (project,) = data.projects
    assert project.title == "Santé maternelle à Kolda"
    assert project.description == ("Soins obstétricaux d'urgence.\n\n[wo] Wér-gu-yaramu yaay yi")
    assert project.countries == ("SN",)
    assert project.themes == ("Reproductive health care", "health")
    assert project.keywords == ("Santé de la mère",)
    # Names without a ref de-duplicate whatever their case and spacing.
    roles = [(p.org_external_id, p.role, p.source_role) for p in project.participants]
    assert roles == [
        ("name:association-des-sages-femmes", "implementer", "Implementing, Funding"),
        ("SN-NIN-1", "partner", "Reporting"),
    ]
    assert [o.org_type for o in data.organisations] == ["ngo", "public"]


def test_import_into_the_database_twice_changes_nothing(engine: Engine) -> None:
    summary = run_import(engine, CAFOD)
    assert summary == (
        "iati: organisations: 22 new, 0 updated, 0 unchanged; "
        "projects: 57 new, 0 updated, 0 unchanged"
    )
    first = counts(engine)
    assert first == {"Organisation": 22, "Project": 57, "ProjectParticipant": 114, "Provenance": 79}
    again = run_import(engine, CAFOD)
    assert again == (
        "iati: organisations: 0 new, 0 updated, 22 unchanged; "
        "projects: 0 new, 0 updated, 57 unchanged"
    )
    assert counts(engine) == first
    with Session(engine) as session:
        roles = set(session.exec(select(ProjectParticipant.role)).all())
    assert roles == {"funder", "implementer"}


def test_every_fixture_imports_and_reimports(engine: Engine) -> None:
    for path in (DFID, CAFOD, GLOBAL_FUND, EXAMPLE):
        run_import(engine, path)
    first = counts(engine)
    assert first["Project"] == 205 + 57 + 1 + 1
    for path in (DFID, CAFOD, GLOBAL_FUND, EXAMPLE):
        assert " 0 new, 0 updated" in run_import(engine, path)
    assert counts(engine) == first


@pytest.mark.parametrize(
    ("document", "doctype"), [(BILLION_LAUGHS, "lolz"), (XXE, "iati-activities")]
)
def test_entities_and_dtds_are_refused(
    engine: Engine, tmp_path: Path, document: bytes, doctype: str
) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(document)
    with pytest.raises(SourceFileError) as caught:
        run_import(engine, path)
    assert str(caught.value) == f"{path}:2: {REFUSED_DTD.format(doctype)}"
    assert counts(engine) == NOTHING


def test_a_truncated_file_is_refused_whole(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "truncated.xml"
    data = CAFOD.read_bytes()
    path.write_bytes(data[: data.index(b"</iati-activity>", len(data) // 2) + 16])
    with pytest.raises(SourceFileError) as caught:
        run_import(engine, path)
    assert caught.value.line is not None and caught.value.line > 100
    assert caught.value.reason == "malformed or truncated XML: no element found (column 18)"
    assert counts(engine) == NOTHING


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body/></html>", ":1: not IATI activity XML (root element <html>, expected "),
        (b"", ":1: malformed or truncated XML: no element found (column 0)"),
        (b"\x1f\x8b\x08garbage", ": damaged gzip data"),
    ],
)
def test_files_that_are_not_iati_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(SourceFileError) as caught:
        read_iati(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_missing_file_and_gzipped_file(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"nowhere\.xml: no such file$"):
        read_iati(tmp_path / "nowhere.xml")
    gz = tmp_path / "cafod.xml.gz"
    gz.write_bytes(gzip.compress(CAFOD.read_bytes()))
    assert len(read_iati(gz).projects) == 57


def test_the_stream_is_read_activity_by_activity() -> None:
    """Many activities in one document (the parser clears each once it is a record)."""
    activity = (
        b"<iati-activity><iati-identifier>XX-%d</iati-identifier><title>T</title></iati-activity>"
    )
    body = b"".join(activity % n for n in range(20_000))
    data = parse_iati(b"<iati-activities>" + body + b"</iati-activities>")
    assert len(data.projects) == 20_000
    assert data.organisations == []


runner = CliRunner()


def test_cli_import_iati(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(app, ["import", "iati", str(EXAMPLE)])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == (
        "iati: organisations: 3 new, 0 updated, 0 unchanged; "
        "projects: 1 new, 0 updated, 0 unchanged"
    )
    again = runner.invoke(app, ["import", "iati", str(EXAMPLE)])
    assert "projects: 0 new, 0 updated, 1 unchanged" in again.stdout
    hostile = tmp_path / "lol.xml"
    hostile.write_bytes(BILLION_LAUGHS)
    refused = runner.invoke(app, ["import", "iati", str(hostile)])
    assert refused.exit_code == 1
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: {hostile}:2: {REFUSED_DTD.format('lolz')}"]


def test_skipped_activities_are_reported_with_their_reasons(engine: Engine, tmp_path: Path) -> None:
    activity = (
        "<iati-activity>{identifier}<reporting-org ref='XM-DAC-1'>Donor</reporting-org>"
        "<title>{title}</title></iati-activity>"
    )
    path = tmp_path / "skips.xml"
    path.write_text(
        "<iati-activities version='1.03'>"
        + activity.format(identifier="<iati-identifier>A-1</iati-identifier>", title="First")
        + activity.format(identifier="", title="No identifier")
        + activity.format(identifier="<iati-identifier>A-1</iati-identifier>", title="Again")
        + "</iati-activities>",
        encoding="utf-8",
    )
    lines = run_import(engine, path).splitlines()
    assert lines[0].endswith("projects: 1 new, 0 updated, 0 unchanged; 2 rejected")
    assert lines[1:] == [
        f"{path}: skipped activity titled 'No identifier' has no iati-identifier",
        f"{path}: skipped repeated iati-identifier 'A-1'",
    ]
