"""The call, consortium, map and secretariat flows in a real browser (Debian's Chromium through
Playwright) against a live uvicorn server over the test network."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from api.services.passwords import hash_password
from models.db import session_scope
from models.organisation import Organisation
from models.user import User
from tests.web.conftest import PASSWORD, Site


@pytest.fixture(scope="module")
def staff(site: Site) -> str:
    """The secretariat user gets a password in this module's copy of the site."""
    with session_scope(site.engine) as session:
        user = session.get(User, site.user_ids["secretariat"])
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
        session.add(user)
    return Site.email("secretariat")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, live: str, email: str) -> None:
    page.goto(f"{live}/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert f"Signed in as {email}" in page.content()


def build_consortium(page: Any, live: str, site: Site) -> None:
    page.goto(f"{live}/calls")
    page.get_by_role("link", name="Malaria elimination in East Africa").click()
    page.wait_for_url("**/calls/*")
    assert page.get_by_role("heading", name="Members this call fits").is_visible()
    page.get_by_label("Minimum size").fill("3")
    page.get_by_label("Maximum size").fill("3")
    page.get_by_label("Alternatives").fill("2")
    page.get_by_role("button", name="Build consortia").click()
    page.wait_for_url("**build=1*")


def members_of(alternative: Any) -> list[str]:
    links = alternative.locator("ol.members > li > a:not(.swap)")
    return [links.nth(i).inner_text() for i in range(links.count())]


def test_a_member_builds_a_consortium_swaps_saves_and_exports(
    page: Any, live: str, site: Site
) -> None:
    sign_in(page, live, Site.email("member_a"))
    build_consortium(page, live, site)
    alternatives = page.locator("article.alternative")
    assert alternatives.count() == 2
    first = alternatives.first
    assert first.get_by_role("heading", name="Alternative 1").is_visible()
    table = first.locator("table.coverage")
    assert table.is_visible()
    assert table.locator("thead th").count() == 4  # aspect + three members
    assert table.locator("tbody tr").count() >= 1
    before = members_of(first)
    assert len(before) == 3 and before[0] == "Malaria Action Kenya"
    # swap the first partner: another organisation takes its place
    swap = first.locator("a.swap").first  # the first partner's, after the lead
    assert "Swap this partner" in swap.inner_text() and before[1] in swap.inner_text()
    swap.click()
    page.wait_for_load_state()
    after = members_of(page.locator("article.alternative").first)
    assert before[1] not in after and len(after) == 3
    # save the first alternative as a shortlist, then download its CSV
    page.locator("article.alternative").first.get_by_label("Shortlist name").fill(
        "Browser consortium"
    )
    page.locator("article.alternative").first.get_by_role(
        "button", name="Save as shortlist"
    ).click()
    page.wait_for_url("**/shortlists/*")
    assert page.get_by_role("heading", name="Browser consortium").is_visible()
    assert page.get_by_role("status").filter(has_text="saved as a shortlist").is_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename == "Browser-consortium.csv"
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert [r[2] for r in rows[1:]] == after


def test_the_secretariat_previews_the_digest(page: Any, live: str, staff: str) -> None:
    sign_in(page, live, staff)
    page.get_by_role("link", name="Secretariat").click()
    page.wait_for_url("**/secretariat")
    assert page.get_by_role("heading", name="Imports").is_visible()
    page.get_by_role("link", name="Preview the digest").click()
    page.wait_for_url("**/secretariat/digest")
    assert page.get_by_role("heading", name="Digest preview").is_visible()
    digest = page.locator("section.digest").first
    assert digest.is_visible()
    assert "Malaria Action Kenya" in " ".join(page.locator("section.digest h2").all_inner_texts())
    first_row = digest.locator("tbody tr").first
    assert first_row.locator("td").nth(1).inner_text().strip()  # a reason
    assert page.get_by_role("button", name="Send these").is_visible()


def test_builder_map_and_export_work_without_javascript(
    browser: Any, live: str, site: Site
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        sign_in(page, live, Site.email("member_b"))
        build_consortium(page, live, site)
        assert page.locator("article.alternative").count() == 2
        page.locator("article.alternative").first.get_by_role(
            "button", name="Save as shortlist"
        ).click()
        page.wait_for_url("**/shortlists/*")
        assert page.get_by_role("link", name="Export XLSX").is_visible()
        page.goto(f"{live}/map")
        page.get_by_label("Theme").select_option("malnutrition")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/map?theme=malnutrition")
        assert page.locator("svg.tilemap a.tile").count() == 1
        with Session(site.engine) as session:
            malawi = session.get(Organisation, site.ids["nutrition"])
            assert malawi is not None and malawi.hq_country == "MW"
        assert page.locator('svg.tilemap a.tile[data-code="MW"]').count() == 1
    finally:
        context.close()
