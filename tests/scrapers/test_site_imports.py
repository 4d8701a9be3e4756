"""Member websites end to end: a small site served by a real local HTTP server, crawled by
`healthmatch import website` and `healthmatch scrape members` into a real SQLite database."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from models.db import session_scope
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.website import WebsiteSource
from tests.conftest import FIXTURES
from tests.scrapers.local_server import LocalServer, Route

runner = CliRunner()
HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(body: str) -> Route:
    return Route(body=body.encode(), headers=HTML)


def jsonld_page(name: str, description: str, start: str, country: str) -> Route:
    data = {
        "@context": "https://schema.org",
        "@type": "Project",
        "name": name,
        "description": description,
        "startDate": start,
        "areaServed": {"@type": "Country", "name": country},
    }
    return page(
        f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>'
        f"<body><h1>{name}</h1></body></html>"
    )


def build_site(server: LocalServer, prefix: str = "") -> str:
    """A member site: a listing with 5 project links (3 good, 1 missing, 1 redirecting to the
    cloud metadata address) and an unrelated page."""
    links = ["a", "b", "c", "missing", "sneaky"]
    anchors = "".join(f'<li><a href="{prefix}/projects/{slug}/">{slug}</a></li>' for slug in links)
    server.routes[f"{prefix}/projects/"] = page(
        f'<html><body><a href="{prefix}/about/">About</a><ul>{anchors}</ul></body></html>'
    )
    server.routes[f"{prefix}/projects/a/"] = jsonld_page(
        "Community health workers in Kisumu",
        "Training 400 community health workers for malaria case management.",
        "2023-02-01",
        "Kenya",
    )
    server.routes[f"{prefix}/projects/b/"] = page(
        '<html><head><meta property="og:title" content="Safe water for rural clinics">'
        '<meta property="og:description" content="Water, sanitation and hygiene in 30 clinics.">'
        "</head><body></body></html>"
    )
    server.routes[f"{prefix}/projects/c/"] = Route.from_file(
        FIXTURES / "websites" / "project-broken-jsonld.html", "text/html"
    )
    server.routes[f"{prefix}/projects/sneaky/"] = Route.redirect(
        "http://169.254.169.254/latest/meta-data/"
    )
    return server.url(f"{prefix}/projects/")


def add_member(engine: Engine, name: str) -> int:
    with session_scope(engine) as session:
        org = Organisation(name=name, org_type="ngo", hq_country="KE")
        session.add(org)
        session.flush()
        assert org.id is not None
        return org.id


def test_import_website_stores_the_members_projects_and_skips_bad_pages(
    cli_env: LocalServer, engine: Engine
) -> None:
    org_id = add_member(engine, "Lake Health Trust")
    url = build_site(cli_env)
    result = runner.invoke(app, ["import", "website", url, "--org", str(org_id)])
    assert result.exit_code == 0, result.output
    assert "projects: 3 new" in result.stdout
    assert "2 rejected" in result.stdout
    assert "/projects/missing/: HTTP 404" in result.stdout
    assert "non-public address" in result.stdout  # the redirect to 169.254.169.254
    assert "/about/" not in cli_env.paths()
    with Session(engine) as session:
        projects = {p.title: p for p in session.exec(select(Project)).all()}
        kisumu = projects["Community health workers in Kisumu"]
        assert kisumu.countries == ["KE"]
        assert str(kisumu.start_date) == "2023-02-01"
        assert "Safe water for rural clinics" in projects
        roles = session.exec(select(ProjectParticipant.organisation_id, ProjectParticipant.role))
        assert set(roles.all()) == {(org_id, "lead")}
        site = session.exec(select(WebsiteSource)).one()
        assert (site.organisation_id, site.start_url) == (org_id, url)
        assert site.last_status == "ok: 3 projects, 2 pages skipped"
    again = runner.invoke(app, ["import", "website", url, "--org", str(org_id)])
    assert "projects: 0 new, 0 updated, 3 unchanged" in again.stdout


def test_scrape_members_refreshes_every_site_and_reports_the_failed_one(
    cli_env: LocalServer, engine: Engine
) -> None:
    good = add_member(engine, "Lake Health Trust")
    flaky = add_member(engine, "Coast Clinics")
    good_url = build_site(cli_env, "/lake")
    flaky_url = build_site(cli_env, "/coast")
    for org_id, url in ((good, good_url), (flaky, flaky_url)):
        result = runner.invoke(app, ["import", "website", url, "--org", str(org_id)])
        assert result.exit_code == 0, result.output
    cli_env.routes["/coast/projects/"] = Route(status=500)  # the second site breaks
    cli_env.routes["/lake/projects/d/"] = jsonld_page(
        "Cold chain for vaccines", "Solar fridges in 12 health centres.", "2024-05-01", "Uganda"
    )
    cli_env.routes["/lake/projects/"] = page(
        '<html><body><a href="/lake/projects/a/">a</a><a href="/lake/projects/d/">d</a>'
        "</body></html>"
    )
    result = runner.invoke(app, ["scrape", "members"])
    assert result.exit_code == 1
    assert "Coast Clinics" in result.stdout and "failed: " in result.stdout
    assert "HTTP 500" in result.stdout
    assert "2 websites crawled, 1 failed" in result.stdout
    with Session(engine) as session:
        titles = session.exec(select(Project.title)).all()
        assert "Cold chain for vaccines" in titles  # the new project of the good site
        assert len(titles) == 3 + 3 + 1  # nothing of the failing site was lost
        statuses = {s.organisation_id: s.last_status for s in session.exec(select(WebsiteSource))}
    assert statuses[good].startswith("ok: 2 projects")
    assert statuses[flaky].startswith("failed: ")


def test_scrape_members_with_none_registered_says_how_to_add_one(cli_env: LocalServer) -> None:
    result = runner.invoke(app, ["scrape", "members"])
    assert result.exit_code == 0
    assert "import website" in result.stdout


def test_unknown_member_and_bad_selector_are_refused_before_any_request(
    cli_env: LocalServer, engine: Engine
) -> None:
    url = build_site(cli_env)
    unknown = runner.invoke(app, ["import", "website", url, "--org", "999"])
    assert unknown.exit_code == 1
    assert "no organisation with id 999" in unknown.stderr
    org_id = add_member(engine, "Lake Health Trust")
    bad = runner.invoke(
        app, ["import", "website", url, "--org", str(org_id), "--title-selector", "h1[["]
    )
    assert bad.exit_code == 1
    assert "invalid CSS selector" in bad.stderr
    assert cli_env.requests == []


def test_a_listing_that_cannot_be_fetched_stores_nothing(
    cli_env: LocalServer, engine: Engine
) -> None:
    org_id = add_member(engine, "Lake Health Trust")
    cli_env.routes["/projects/"] = Route(body=b"<html></html>", headers=HTML, delay=3.0)
    result = runner.invoke(
        app, ["import", "website", cli_env.url("/projects/"), "--org", str(org_id)]
    )
    assert result.exit_code == 1
    assert "timed out" in result.stderr
    with Session(engine) as session:
        assert session.exec(select(WebsiteSource)).all() == []
        assert session.exec(select(Project)).all() == []


def test_a_50_mb_project_page_is_skipped_in_bounded_memory(
    cli_env: LocalServer, engine: Engine
) -> None:
    org_id = add_member(engine, "Lake Health Trust")
    url = build_site(cli_env)
    huge = b"<html><body>" + b"<p>" + b"x" * 1000 + b"</p>" * 1 + b"</body></html>"
    cli_env.routes["/projects/b/"] = Route(body=huge * 51_000, headers=HTML, chunked=True)
    result = runner.invoke(app, ["import", "website", url, "--org", str(org_id)])
    assert result.exit_code == 0, result.output
    assert "/projects/b/: body exceeds the cap" in result.stdout
    assert "projects: 2 new" in result.stdout
