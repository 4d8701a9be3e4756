"""`healthmatch import KIND URL` end to end: the recorded files served by a real local HTTP server,
stored in a real SQLite database; refused URLs and broken servers store nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from models.call import Call
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.settings import get_settings
from tests.conftest import FIXTURES
from tests.scrapers.local_server import LocalServer, Route

runner = CliRunner()


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def serve(server: LocalServer, path: str, file: Path, content_type: str | None = None) -> str:
    server.routes[path] = Route.from_file(file, content_type)
    return server.url(path)


def test_iati_from_a_url_imports_every_activity_and_twice_changes_nothing(
    cli_env: LocalServer, engine: Engine
) -> None:
    url = serve(cli_env, "/iati/cafod.xml", FIXTURES / "iati" / "cafod-v1.00.xml")
    first = runner.invoke(app, ["import", "iati", url])
    assert first.exit_code == 0, first.output
    assert "projects: 57 new" in first.stdout
    again = runner.invoke(app, ["import", "iati", url])
    assert "projects: 0 new, 0 updated, 57 unchanged" in again.stdout
    assert count(engine, Project) == 57
    assert "/robots.txt" in cli_env.paths()  # asked before the first page of the host
    user_agents = {r.headers.get("user-agent", "") for r in cli_env.requests}
    assert all(ua.startswith("healthmatch/") for ua in user_agents)


def test_cordis_tables_from_a_zip_url(cli_env: LocalServer, engine: Engine, tmp_path: Path) -> None:
    archive = tmp_path / "cordis-HORIZONprojects-csv.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("project.csv", "organization.csv", "topics.csv"):
            zipped.write(FIXTURES / "cordis" / name, f"csv/{name}")
    url = serve(cli_env, "/data/cordis-HORIZONprojects-csv.zip", archive)
    first = runner.invoke(app, ["import", "cordis", url])
    assert first.exit_code == 0, first.output
    assert "projects: 7 new" in first.stdout
    assert "organisations: 24 new" in first.stdout
    again = runner.invoke(app, ["import", "cordis", url])
    assert "projects: 0 new, 0 updated, 7 unchanged" in again.stdout
    assert count(engine, ProjectParticipant) == 26
    with Session(engine) as session:
        leads = session.exec(select(ProjectParticipant).where(ProjectParticipant.role == "lead"))
        assert len(leads.all()) == 7  # one coordinator per project


def test_cordis_files_from_a_folder(cli_env: LocalServer, engine: Engine) -> None:
    result = runner.invoke(app, ["import", "cordis", str(FIXTURES / "cordis")])
    assert result.exit_code == 0, result.output
    assert count(engine, Project) == 7
    with Session(engine) as session:
        called = session.exec(select(Project).where(Project.funding_call_title != "")).all()
    assert len(called) == 6  # topics.csv names the topic of 6 of the 7 projects


def test_grants_gov_zip_and_feed_urls_become_calls(
    cli_env: LocalServer, engine: Engine, tmp_path: Path
) -> None:
    archive = tmp_path / "GrantsDBExtract20261122v2.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.write(FIXTURES / "grants-gov" / "GrantsDBExtract-sample.xml", "GrantsDBExtract.xml")
    grants = serve(cli_env, "/extract/GrantsDBExtract20261122v2.zip", archive)
    result = runner.invoke(app, ["import", "grants-gov", grants])
    assert result.exit_code == 0, result.output
    stored_grants = count(engine, Call)
    assert stored_grants >= 5
    assert "rejected" in result.stdout  # the broken records are listed, the rest stored
    feed = serve(cli_env, "/news/feed.xml", FIXTURES / "feeds" / "funding-news.rss.xml")
    result = runner.invoke(app, ["import", "feed", feed])
    assert result.exit_code == 0, result.output
    assert "feed:127.0.0.1" in result.stdout
    again = runner.invoke(app, ["import", "feed", feed])
    assert "0 new, 0 updated" in again.stdout
    assert count(engine, Call) > stored_grants


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:{other}/private.xml",
        "http://localhost/admin",
    ],
)
def test_a_redirect_to_a_private_address_is_refused_and_stores_nothing(
    cli_env: LocalServer, engine: Engine, target: str
) -> None:
    with LocalServer() as other:  # a second local service, NOT allowed
        other.routes["/private.xml"] = Route.from_file(FIXTURES / "iati" / "cafod-v1.00.xml")
        cli_env.routes["/iati.xml"] = Route.redirect(target.format(other=other.port))
        result = runner.invoke(app, ["import", "iati", cli_env.url("/iati.xml")])
        assert other.requests == []
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert "non-public address" in result.stderr
    assert count(engine, Project) == 0


def test_a_server_that_times_out_gives_a_clear_error(cli_env: LocalServer, engine: Engine) -> None:
    cli_env.routes["/slow.xml"] = Route(body=b"<rss/>", delay=3.0)
    result = runner.invoke(app, ["import", "feed", cli_env.url("/slow.xml")])
    assert result.exit_code == 1
    assert "timed out" in result.stderr
    assert count(engine, Call) == 0


def test_a_page_over_the_size_cap_is_refused(
    cli_env: LocalServer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHMATCH_FETCH_MAX_MB", "1")
    get_settings.cache_clear()
    page = b"<html><body>" + b"<p>filler text</p>" * 200_000 + b"</body></html>"  # 3.6 MB
    cli_env.routes["/huge.xml"] = Route(body=page, chunked=True)
    result = runner.invoke(app, ["import", "feed", cli_env.url("/huge.xml")])
    assert result.exit_code == 1
    assert "exceeds" in result.stderr
    assert count(engine, Call) == 0


def test_robots_txt_is_respected(cli_env: LocalServer, engine: Engine) -> None:
    cli_env.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /private/\n")
    url = serve(cli_env, "/private/feed.xml", FIXTURES / "feeds" / "calls.atom.xml")
    result = runner.invoke(app, ["import", "feed", url])
    assert result.exit_code == 1
    assert "robots.txt" in result.stderr
    assert "/private/feed.xml" not in cli_env.paths()


def test_an_html_page_given_as_a_feed_is_refused(cli_env: LocalServer, engine: Engine) -> None:
    cli_env.routes["/news"] = Route(
        body=b"<!DOCTYPE html><html><body><h1>News</h1></body></html>",
        headers={"Content-Type": "text/html"},
    )
    result = runner.invoke(app, ["import", "feed", cli_env.url("/news")])
    assert result.exit_code == 1
    assert "not an RSS or Atom feed" in result.stderr
    assert count(engine, Call) == 0


def test_an_unreachable_site_gives_a_clear_error(cli_env: LocalServer, engine: Engine) -> None:
    with LocalServer() as gone:
        origin = gone.origin
    url = f"{origin}/feed.xml"
    allowed = f"{cli_env.origin},{origin}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEALTHMATCH_FETCH_ALLOWED_ORIGINS", allowed)
        get_settings.cache_clear()
        result = runner.invoke(app, ["import", "feed", url])
    assert result.exit_code == 1
    assert "cannot connect" in result.stderr


def test_organisations_imported_from_cordis_keep_their_country(
    cli_env: LocalServer, engine: Engine
) -> None:
    runner.invoke(app, ["import", "cordis", str(FIXTURES / "cordis")])
    with Session(engine) as session:
        countries = set(session.exec(select(Organisation.hq_country)).all())
    assert "GR" in countries and "GB" in countries  # EL and UK as ISO codes
    assert "EL" not in countries and "UK" not in countries
