"""The benchmark-format importer on real CORDIS rows: idempotent, atomic, clear about bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.provenance import Provenance
from scrapers.errors import SourceFileError
from scrapers.pipeline import import_bench
from tests.conftest import FIXTURES

MINI = FIXTURES / "bench-mini"


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Organisation, Project, ProjectParticipant, Provenance)
        }


def run_import(engine: Engine, folder: Path, source: str = "mini") -> str:
    with session_scope(engine) as session:
        return import_bench(session, folder, source=source).summary()


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder


def rewrite_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_import_stores_every_row_with_its_participants(engine: Engine) -> None:
    summary = run_import(engine, MINI)
    assert summary == (
        "mini: organisations: 11 new, 0 updated, 0 unchanged; "
        "projects: 4 new, 0 updated, 0 unchanged; calls: 2 new, 0 updated, 0 unchanged"
    )
    assert counts(engine) == {
        "Organisation": 11,
        "Project": 4,
        "ProjectParticipant": 11,
        "Provenance": 17,
    }


def test_cordis_conventions_are_mapped(engine: Engine) -> None:
    run_import(engine, MINI)
    with Session(engine) as session:
        countries = set(session.exec(select(Organisation.hq_country)).all())
        roles = set(session.exec(select(ProjectParticipant.role)).all())
        sources = set(session.exec(select(ProjectParticipant.source_role)).all())
    assert "GB" in countries and "UK" not in countries
    assert roles <= {"lead", "partner", "implementer"} and "lead" in roles
    assert "coordinator" in sources


def test_importing_twice_changes_nothing(engine: Engine) -> None:
    run_import(engine, MINI)
    before = counts(engine)
    summary = run_import(engine, MINI)
    assert "0 new, 0 updated, 11 unchanged" in summary
    assert counts(engine) == before


def test_a_changed_row_is_updated_in_place(engine: Engine, mini: Path) -> None:
    run_import(engine, mini)
    projects = mini / "projects.jsonl"
    first = json.loads(projects.read_text(encoding="utf-8").splitlines()[0])
    first["title"] = "A renamed project"
    first["participants"] = first["participants"][:1]
    rewrite_line(projects, 1, json.dumps(first))
    summary = run_import(engine, mini)
    assert "projects: 0 new, 1 updated, 3 unchanged" in summary
    with Session(engine) as session:
        project = session.exec(select(Project).where(Project.title == "A renamed project")).one()
        participants = session.exec(
            select(ProjectParticipant).where(ProjectParticipant.project_id == project.id)
        ).all()
    assert len(participants) == 1
    assert counts(engine)["Project"] == 4


def test_gzipped_files_are_read(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "gz"
    folder.mkdir()
    for path in MINI.glob("*.jsonl"):
        (folder / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    run_import(engine, folder)
    assert counts(engine)["Project"] == 4


@pytest.mark.parametrize(
    ("file", "line", "text", "message"),
    [
        (
            "projects.jsonl",
            2,
            '{"id": "1", "title": ',
            "projects.jsonl:2: invalid JSON (Expecting value at column 22)",
        ),
        (
            "projects.jsonl",
            3,
            '{"id": "p9", "title": "T", "participants": [{"org": "nobody"}]}',
            "projects.jsonl:3: project 'p9' names unknown organisation 'nobody'",
        ),
        (
            "organisations.jsonl",
            4,
            '{"name": "No id"}',
            "organisations.jsonl:4: missing 'id'",
        ),
        (
            "calls.jsonl",
            1,
            '{"id": "C", "title": "T", "deadline": "14 March"}',
            "calls.jsonl:1: 'deadline': unreadable date '14 March' "
            "(expected YYYY-MM-DD or M/D/YYYY)",
        ),
        ("projects.jsonl", 1, "[1, 2]", "projects.jsonl:1: each line must be a JSON object"),
    ],
)
def test_bad_input_names_file_and_line_and_stores_nothing(
    engine: Engine, mini: Path, file: str, line: int, text: str, message: str
) -> None:
    rewrite_line(mini / file, line, text)
    with pytest.raises(SourceFileError) as caught:
        run_import(engine, mini)
    assert str(caught.value) == f"{mini / file}:{message.split(':', 1)[1]}"
    assert counts(engine) == {
        "Organisation": 0,
        "Project": 0,
        "ProjectParticipant": 0,
        "Provenance": 0,
    }


def test_duplicate_ids_are_refused(engine: Engine, mini: Path) -> None:
    first = (mini / "organisations.jsonl").read_text(encoding="utf-8").splitlines()[0]
    rewrite_line(mini / "organisations.jsonl", 3, first)
    with pytest.raises(SourceFileError, match=r"organisations.jsonl:3: duplicate id '\d+' \(first"):
        run_import(engine, mini)


def test_missing_folder_and_empty_folder(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"nowhere: no such folder$"):
        run_import(engine, tmp_path / "nowhere")
    with pytest.raises(SourceFileError, match=r"none of organisations\.jsonl"):
        run_import(engine, tmp_path)


def test_projects_may_refer_to_organisations_imported_before(engine: Engine, mini: Path) -> None:
    run_import(engine, mini)
    (mini / "organisations.jsonl").unlink()
    summary = run_import(engine, mini)
    assert "projects: 0 new, 0 updated, 4 unchanged" in summary


@pytest.mark.slow
def test_full_cordis_benchmark_imports_idempotently(engine: Engine, shared_dir: Path) -> None:
    folder = shared_dir / "benchmarks" / "cordis-he"
    run_import(engine, folder, source="cordis-he")
    first = counts(engine)
    assert (first["Organisation"], first["Project"]) == (19_371, 9_198)
    run_import(engine, folder, source="cordis-he")
    assert counts(engine) == first


def test_import_is_idempotent_on_postgresql(postgres_url: str) -> None:
    upgrade(postgres_url)
    pg = make_engine(postgres_url)
    try:
        run_import(pg, MINI)
        first = counts(pg)
        assert "11 unchanged" in run_import(pg, MINI)
        assert (
            counts(pg)
            == first
            == {
                "Organisation": 11,
                "Project": 4,
                "ProjectParticipant": 11,
                "Provenance": 17,
            }
        )
    finally:
        pg.dispose()
