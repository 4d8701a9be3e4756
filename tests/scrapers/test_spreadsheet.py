"""Members lists as a secretariat keeps them: CSV and XLSX, flexible headers, rejected rows."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from models.db import session_scope
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from scrapers.errors import SourceFileError
from scrapers.pipeline import import_spreadsheet
from scrapers.spreadsheet import (
    SpreadsheetError,
    canonical_header,
    parse_files,
    read_xlsx,
    template_csv,
    template_xlsx,
)

MEMBERS = (
    "Org Name,HQ Country,Org-Type,Web,Contact E-mail,Where we work,Topics,Project Title,Role\n"
    "Santé Pour Tous,Senegal,NGO,https://spt.example,a@spt.example,SN; ML,malaria,Nets,lead\n"
    ",Kenya,NGO,,,,,,\n"
    "Narnia Health,Narnia,NGO,,,,,,\n"
    "Uni Bamako,ML,university,,not-an-email,,,,\n"
    "Makerere University,UGA,University,,,KE,,Nets,partner\n"
    "Odd Org,KE,wizards,,,,,,\n"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_headers_are_matched_flexibly() -> None:
    assert canonical_header("  Organisation  NAME ") == "name"
    assert canonical_header("Organization") == "name"
    assert canonical_header("HQ-Country") == "country"
    assert canonical_header("Headquarters") == "country"
    assert canonical_header("Category") == "type"
    assert canonical_header("URL") == "website"
    assert canonical_header("Countries of work") == "countries of work"
    assert canonical_header("Where We Work") == "countries of work"
    assert canonical_header("Sectors") == "themes"
    assert canonical_header("About") == "description"
    assert canonical_header("Start year") == "year"
    assert canonical_header("favourite colour") is None


def test_rejected_rows_are_listed_while_good_rows_import() -> None:
    data = parse_files([("members.csv", MEMBERS.encode())])
    by_name = {o.name: o for o in data.organisations}
    assert set(by_name) == {"Santé Pour Tous", "Makerere University"}
    spt = by_name["Santé Pour Tous"]
    assert spt.external_id == "sante-pour-tous"
    assert (spt.country, spt.org_type, spt.countries) == ("SN", "ngo", ("SN", "ML"))
    assert spt.website == "https://spt.example" and spt.themes == ("malaria",)
    assert by_name["Makerere University"].country == "UG"
    assert by_name["Makerere University"].org_type == "research"
    assert data.rejected == [
        "members.csv:3: missing name",
        'members.csv:4: unknown country "Narnia"',
        'members.csv:5: bad email "not-an-email"',
        'members.csv:7: unknown organisation type "wizards"',
    ]
    [project] = data.projects
    assert project.title == "Nets"
    roles = {(p.org_external_id, p.role) for p in project.participants}
    assert roles == {("sante-pour-tous", "lead"), ("makerere-university", "partner")}


def test_latin1_semicolon_csv_with_accents() -> None:
    text = "Notes;Organisation;Country;Type\nx;Ministère de la Santé;Côte d'Ivoire;Ministry\n"
    data = parse_files([("fr.csv", text.encode("cp1252"))])
    [org] = data.organisations
    assert org.name == "Ministère de la Santé"
    assert (org.country, org.org_type) == ("CI", "public")
    assert "fr.csv: read as cp1252, semicolon-separated" in data.notes
    assert any("ignored columns: Notes" in note for note in data.notes)


def test_utf8_bom_tab_separated_and_multiline_cell() -> None:
    text = 'Name\tCountry\tDescription\nA\tFR\t"two\nlines"\n\tFR\t\n'
    data = parse_files([("t.csv", text.encode("utf-8-sig"))])
    assert [o.description for o in data.organisations] == ["two\nlines"]
    assert data.rejected == ["t.csv:4: missing name"]  # the line numbers count the cell's lines
    assert "t.csv: read as utf-8, tab-separated" in data.notes


def test_two_files_members_and_projects() -> None:
    members = "id,name,country\nM1,Alpha Health,KE\nM2,Beta Care,TZ\n"
    projects = "Organisation,Project,Year,Role\nAlpha Health,Clinics,2021,coordinator\n"
    projects += "M2,Clinics,2021,partner\nGamma,Clinics,2021,partner\nBeta Care,Labs,20x,\n"
    data = parse_files([("m.csv", members.encode()), ("p.csv", projects.encode())])
    assert [o.external_id for o in data.organisations] == ["M1", "M2"]
    [project] = data.projects
    assert project.year == 2021
    assert [(p.org_external_id, p.role) for p in project.participants] == [
        ("M1", "lead"),
        ("M2", "partner"),
    ]
    assert data.rejected == [
        'p.csv:4: unknown organisation "Gamma" (not in the organisations list)',
        'p.csv:5: bad year "20x"',
    ]


def test_file_without_a_name_column_is_refused() -> None:
    with pytest.raises(SpreadsheetError, match="no organisation name column"):
        parse_files([("x.csv", b"country,type\nKE,ngo\n")])


def test_xlsx_two_sheets() -> None:
    content = _xlsx(
        {
            "Read me": [["Fill in the members sheet"]],
            "Members": [["Organisation", "Country", "Type"], ["Alpha", "Kenya", "NGO"]],
            "Projects": [["Organisation", "Project title", "Year"], ["Alpha", "Clinics", 2020]],
        }
    )
    data = parse_files([("net.xlsx", content)])
    assert [o.name for o in data.organisations] == ["Alpha"]
    assert [(p.title, p.year) for p in data.projects] == [("Clinics", 2020)]


def test_xlsx_zip_bomb_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(SpreadsheetError, match="zip bomb"):
        read_xlsx(out.getvalue(), "bomb.xlsx")


def test_not_a_workbook_is_refused(tmp_path: Path, engine: Engine) -> None:
    path = _write(tmp_path, "broken.xlsx", "just text")
    with (
        pytest.raises(SourceFileError, match=r"broken\.xlsx: not an XLSX"),
        session_scope(engine) as session,
    ):
        import_spreadsheet(session, path)


def test_templates_read_back() -> None:
    for name, content in (("t.csv", template_csv()), ("t.xlsx", template_xlsx())):
        data = parse_files([(name, content)])
        assert data.rejected == [] and data.notes[-1:] != ["ignored"]
        [org] = data.organisations
        assert (org.name, org.country, org.org_type) == ("Santé Pour Tous", "SN", "ngo")
        assert org.countries == ("SN", "ML", "BF")
        [project] = data.projects
        assert (project.title, project.year) == ("Malaria nets for Kolda", 2024)


def test_reimport_changes_nothing(tmp_path: Path, engine: Engine) -> None:
    path = _write(tmp_path, "members.csv", MEMBERS)
    with session_scope(engine) as session:
        first = import_spreadsheet(session, path)
    assert first.counts["organisations"].inserted == 2
    assert first.counts["projects"].inserted == 1
    assert len(first.rejected) == 4
    with session_scope(engine) as session:
        again = import_spreadsheet(session, path)
    assert again.counts["organisations"].unchanged == 2
    assert again.counts["projects"].unchanged == 1
    with Session(engine) as session:
        assert len(session.exec(select(Organisation)).all()) == 2
        assert len(session.exec(select(Project)).all()) == 1
        assert len(session.exec(select(ProjectParticipant)).all()) == 2


def test_cli_template_then_import(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    runner = CliRunner()
    out = tmp_path / "template.xlsx"
    result = runner.invoke(app, ["import", "template", "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["import", "xlsx", str(out)])
    assert result.exit_code == 0, result.output
    assert "organisations: 1 new" in result.output
    csv_path = _write(tmp_path, "members.csv", MEMBERS)
    result = runner.invoke(app, ["import", "csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "4 rejected" in result.output
    assert 'members.csv:4: unknown country "Narnia"' in result.output
    result = runner.invoke(app, ["import", "csv", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1
    assert "missing.csv: cannot read" in result.output


def test_french_and_spanish_headers_are_recognised() -> None:
    assert canonical_header("Nom de l'organisation") == "name"
    assert canonical_header("Pays d'intervention") == "countries of work"
    assert canonical_header("Correo electrónico") == "email"
    assert canonical_header("Sitio web") == "website"
    members = (
        "Nom;Pays;Type;Courriel;Pays d'intervention;Thématiques\n"
        "Santé Sud;France;ONG;contact@sante-sud.example;SN, ML;santé maternelle\n"
    )
    data = parse_files([("membres.csv", members.encode("cp1252"))])
    assert data.rejected == []
    (org,) = data.organisations
    assert (org.name, org.country, org.countries) == ("Santé Sud", "FR", ("SN", "ML"))
    assert org.contact_email == "contact@sante-sud.example"


def test_contact_emails_are_stored_and_never_erased_by_a_source_without_them(
    tmp_path: Path, engine: Engine
) -> None:
    path = _write(tmp_path, "members.csv", MEMBERS)
    with session_scope(engine) as session:
        import_spreadsheet(session, path)
    without = _write(tmp_path, "again.csv", MEMBERS.replace("a@spt.example", ""))
    with session_scope(engine) as session:
        report = import_spreadsheet(session, without)
    assert report.counts["organisations"].updated == 1  # the row changed: no e-mail any more
    with Session(engine) as session:
        org = session.exec(select(Organisation).where(Organisation.name == "Santé Pour Tous")).one()
    assert org.contact_email == "a@spt.example"
