"""CORDIS open-data CSV tables: the fixture tables, rejected rows, encodings and broken files."""

from __future__ import annotations

from datetime import date

import pytest

from scrapers.cordis import CordisBatch, CordisParseError, parse_cordis, table_name
from tests.conftest import FIXTURES

CORDIS = FIXTURES / "cordis"


def _tables(*names: str) -> dict[str, bytes]:
    return {name: (CORDIS / f"{name}.csv").read_bytes() for name in names}


@pytest.fixture(scope="module")
def batch() -> CordisBatch:
    return parse_cordis(_tables("project", "organization", "topics"))


def test_table_names_are_recognised_from_file_names() -> None:
    assert table_name("project.csv") == "project"
    assert table_name("/tmp/dump/organization.csv") == "organization"
    assert table_name("C:\\dump\\topics.CSV") == "topics"
    assert table_name("euroSciVoc.csv") == "euroSciVoc"
    assert table_name("project.xlsx") is None  # CSV only
    assert table_name("legalBasis.csv") is None


def test_fixture_counts_and_no_rejections(batch: CordisBatch) -> None:
    assert len(batch.projects) == 7
    assert len(batch.organisations) == 24  # 26 rows, Oxford in three projects
    assert batch.rejected == []
    assert batch.notes == [
        "project.csv: read as utf-8, semicolon-separated",
        "organization.csv: read as utf-8, semicolon-separated",
        "topics.csv: read as utf-8, semicolon-separated",
    ]


def test_project_fields(batch: CordisBatch) -> None:
    project = next(p for p in batch.projects if p.external_id == "101046084")
    assert project.title.startswith("Equine Polyclonal antibodies")
    assert project.title.endswith("SARS-CoV2\u2013VOC")  # UTF-8 (BOM file) decoded
    # the quoted objective keeps its line break, its ';' and its doubled quotes
    assert project.description == (
        "Variants of concern of SARS-CoV-2 escape many monoclonal antibodies; equine polyclonal "
        "antibodies recognise many epitopes at once.\nThe project runs a phase 2 trial in "
        'hospitalised patients with COVID-19; it also prepares the platform for the "next" '
        "variant."
    )
    assert project.start_date == date(2021, 12, 1)
    assert project.end_date == date(2024, 5, 31)
    assert project.year == 2021
    assert project.budget == 4987631.25
    assert project.currency == "EUR"
    assert project.funder == "European Commission"
    assert project.programme == "Horizon Europe"
    assert project.source_url == "https://cordis.europa.eu/project/id/101046084"
    assert project.funding_call_id == "HORIZON-HLTH-2021-CORONA-01-01"
    assert project.funding_call_title == (
        "Vaccines & therapeutic clinical trials to boost COVID-19 prevention and treatment"
    )
    assert project.keywords == ()


def test_budget_falls_back_to_total_cost_and_call_to_topics_column(batch: CordisBatch) -> None:
    by_id = {p.external_id: p for p in batch.projects}
    assert by_id["101080928"].budget == 11998270.0  # no ecMaxContribution
    assert by_id["101095516"].budget == 4362761.9  # ecMaxContribution over totalCost
    ecraid = by_id["101046109"]  # not in topics.csv
    assert ecraid.funding_call_id == "HORIZON-HLTH-2021-CORONA-01-02"
    assert ecraid.funding_call_title == ""


def test_participants_and_roles(batch: CordisBatch) -> None:
    by_id = {p.external_id: p for p in batch.projects}
    roles = {(p.org_external_id, p.role, p.source_role) for p in by_id["101094195"].participants}
    assert roles == {
        ("999483830", "lead", "coordinator"),
        ("999565601", "partner", "participant"),
        ("997929890", "implementer", "thirdParty"),
        ("952704707", "partner", "participant"),
        ("999975620", "partner", "associatedPartner"),
    }
    unicef = next(p for p in by_id["101095659"].participants if p.org_external_id == "954401043")
    assert (unicef.role, unicef.source_role) == ("partner", "internationalPartner")
    oxford = {
        p.external_id: next(x.role for x in p.participants if x.org_external_id == "999984350")
        for p in batch.projects
        if any(x.org_external_id == "999984350" for x in p.participants)
    }
    assert oxford == {"101094188": "partner", "101080928": "partner", "101046109": "partner"}


def test_organisations(batch: CordisBatch) -> None:
    orgs = {o.external_id: o for o in batch.organisations}
    sepsis = orgs["948672126"]
    assert sepsis.country == "GR"  # EL
    assert sepsis.short_name == "HELLENIC INSTITUTE FOR THE STUDY OF SEPSIS"
    assert (sepsis.org_type, sepsis.sme, sepsis.city) == ("research", True, "ATHENS")
    oxford = orgs["999984350"]
    assert oxford.country == "GB"  # UK
    assert oxford.website == "https://www.ox.ac.uk"  # only the first row gives it
    assert (oxford.org_type, oxford.sme) == ("research", False)
    assert orgs["935451220"].org_type == "private"
    assert orgs["954443723"].org_type == "public"
    assert orgs["998528962"].org_type == "other"
    assert sum(1 for o in batch.organisations if o.sme) == 6
    assert all(o.source == "cordis" for o in batch.organisations)


def test_deterministic(batch: CordisBatch) -> None:
    again = parse_cordis(_tables("project", "organization", "topics"))
    assert [p.digest() for p in again.projects] == [p.digest() for p in batch.projects]
    assert [o.digest() for o in again.organisations] == [o.digest() for o in batch.organisations]


def test_topics_are_optional() -> None:
    result = parse_cordis(_tables("project", "organization"), source="cordis-he")
    assert len(result.projects) == 7
    first = result.projects[0]
    assert first.source == "cordis-he"
    assert first.funding_call_id == "HORIZON-HLTH-2021-CORONA-01-01"
    assert first.funding_call_title == ""


PROJECT_HEADER = (
    '"id";"acronym";"status";"title";"startDate";"endDate";"totalCost";"ecMaxContribution";'
    '"legalBasis";"topics";"ecSignatureDate";"frameworkProgramme";"masterCall";"subCall";'
    '"fundingScheme";"objective";"contentUpdateDate";"rcn";"grantDoi"\n'
)
ORG_HEADER = (
    "projectID;projectAcronym;organisationID;vatNumber;name;shortName;SME;activityType;street;"
    "postCode;city;country;nutsCode;geolocation;organizationURL;contactForm;contentUpdateDate;"
    "rcn;order;role;ecContribution;netEcContribution;totalCost;endOfParticipation;active\n"
)


def _project_row(pid: str, title: str, *, start: str = "2023-01-01", cost: str = "1000") -> str:
    cells = [pid, "ACR", "SIGNED", title, start, "2025-12-31", cost, cost, "HORIZON.2.1"]
    cells += ["HORIZON-HLTH-2023-X", "", "H2020", "", "", "RIA", "Objective", "", "", ""]
    return ";".join(f'"{cell}"' for cell in cells) + "\n"


def _org_row(pid: str, oid: str, name: str, role: str = "participant", country: str = "FR") -> str:
    cells = [pid, "ACR", oid, "", name, "", "false", "REC", "", "", "Paris", country,
             "", "", "", "", "", "", "1", role, "", "", "", "false", "true"]  # fmt: skip
    return ";".join(cells) + "\n"


def test_rejected_rows_name_file_and_physical_line() -> None:
    project = (
        PROJECT_HEADER
        + _project_row("1", "First project")  # line 2
        + _project_row("2", "")  # line 3: no title
        + _project_row("", "No id")  # line 4
        + _project_row("3", "Bad date", start="31.02.2023")  # line 5
        + _project_row("1", "Again")  # line 6: repeated id
        + _project_row("4", "Comma decimals", cost="1234,5")  # line 7
    )
    organization = (
        ORG_HEADER
        + _org_row("1", "10", "Org A", "coordinator")  # line 2
        + _org_row("99", "11", "Org B")  # line 3: unknown project
        + _org_row("1", "12", "Org C", "observer")  # line 4: unknown role
        + _org_row("1", "", "Org D")  # line 5: no id
        + _org_row("4", "10", "Org A", "partner", country="UK")  # line 6 (H2020 role)
        + "1;ACR;13\n"  # line 7: too few fields
    )
    result = parse_cordis({"project": project.encode(), "organization": organization.encode()})
    assert result.rejected == [
        "project.csv:3: project 2: missing title",
        "project.csv:4: missing id",
        "project.csv:5: startDate: unreadable date '31.02.2023' (expected YYYY-MM-DD or M/D/YYYY)",
        "project.csv:6: repeated project id '1' (first at line 2)",
        "organization.csv:3: unknown project '99'",
        "organization.csv:4: unknown role 'observer'",
        "organization.csv:5: missing organisationID",
        "organization.csv:7: 3 fields, the header has 25",
    ]
    assert [p.external_id for p in result.projects] == ["1", "4"]
    assert result.projects[1].budget == 1234.5
    assert result.projects[1].programme == "Horizon 2020"
    assert [o.external_id for o in result.organisations] == ["10"]
    assert result.organisations[0].country == "FR"  # the first row's value is kept


def test_line_numbers_count_physical_lines_of_multiline_fields() -> None:
    row = _project_row("1", "One").replace('"Objective"', '"line one\nline two\nline three"')
    project = PROJECT_HEADER + row + _project_row("2", "")
    organization = ORG_HEADER + _org_row("1", "10", "Org")
    result = parse_cordis({"project": project.encode(), "organization": organization.encode()})
    assert result.rejected == ["project.csv:5: project 2: missing title"]
    assert result.projects[0].description == "line one\nline two\nline three"


def test_latin1_tables_are_decoded_as_cp1252() -> None:
    project = PROJECT_HEADER + _project_row("7", "Santé publique \u2013 étude")
    organization = ORG_HEADER + _org_row("7", "70", "Université de Genève", country="CH")
    result = parse_cordis(
        {"project": project.encode("cp1252"), "organization": organization.encode("latin-1")}
    )
    assert result.projects[0].title == "Santé publique \u2013 étude"
    assert result.organisations[0].name == "Université de Genève"
    assert result.notes == [
        "project.csv: read as cp1252, semicolon-separated",
        "organization.csv: read as cp1252, semicolon-separated",
    ]


def test_missing_columns_raise_naming_them() -> None:
    organization = "projectID;organisationID;shortName;country\n1;10;A;FR\n"
    with pytest.raises(CordisParseError, match=r"organization\.csv: missing required columns: "
                       r"name, role"):  # fmt: skip
        parse_cordis(
            {
                "project": (CORDIS / "project.csv").read_bytes(),
                "organization": organization.encode(),
            }
        )


def test_missing_tables_and_empty_files_raise() -> None:
    with pytest.raises(CordisParseError, match=r"missing required tables: organization\.csv"):
        parse_cordis(_tables("project"))
    with pytest.raises(CordisParseError, match=r"unknown CORDIS tables: legalBasis"):
        parse_cordis({**_tables("project", "organization"), "legalBasis": b"x"})
    with pytest.raises(CordisParseError, match=r"project\.csv: empty file"):
        parse_cordis({"project": b"", "organization": (CORDIS / "organization.csv").read_bytes()})


def test_euroscivoc_fields_become_keywords() -> None:
    scivoc = (
        "projectID;euroSciVocCode;euroSciVocPath;euroSciVocTitle;euroSciVocDescription\n"
        "101080928;/29/105/1039;/medical and health sciences/health sciences/infectious diseases"
        "/malaria;malaria;\n"
        "101080928;/29/105/1040;/medical and health sciences/basic medicine/vaccines;vaccines;\n"
        "999;/1;/x;orphan;\n"
    )
    result = parse_cordis({**_tables("project", "organization"), "euroSciVoc": scivoc.encode()})
    by_id = {p.external_id: p for p in result.projects}
    assert by_id["101080928"].keywords == ("malaria", "vaccines")
    assert by_id["101094188"].keywords == ()
    assert result.rejected == ["euroSciVoc.csv:4: unknown project '999'"]


def test_the_older_h2020_layout_is_read_too() -> None:
    """Dumps published before 2022 name the organisation id column `id`, and ERC grants name
    their host institution."""
    project = (
        "rcn;id;acronym;status;programme;topics;frameworkProgramme;title;startDate;endDate;"
        "objective;totalCost;ecMaxContribution;call;fundingScheme\n"
        "200400;643589;EXAMPLE;CLOSED;H2020-EU.1.1.;ERC-2014-STG;H2020;Immune ageing;2015-03-01;"
        "2020-02-29;How the immune system ages.;1499000;1499000;ERC-2014-STG;ERC-STG\n"
    )
    organization = (
        "projectRcn;projectID;projectAcronym;role;id;name;shortName;activityType;"
        "endOfParticipation;ecContribution;country;street;city;postCode;organizationUrl\n"
        "200400;643589;EXAMPLE;hostInstitution;999974555;Example University;EXU;HES;false;"
        "1499000;UK;1 High St;Oxford;OX1;http://www.example.ac.uk\n"
    )
    batch = parse_cordis({"project": project.encode(), "organization": organization.encode()})
    assert batch.rejected == []
    (record,) = batch.projects
    assert [(p.org_external_id, p.role) for p in record.participants] == [("999974555", "lead")]
    (org,) = batch.organisations
    assert (org.name, org.country, org.org_type) == ("Example University", "GB", "research")
