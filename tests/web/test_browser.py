"""The core flows in a real browser: Debian's Chromium, headless, driven by Playwright, against a
live uvicorn server over the test network."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.organisation import Organisation
from models.shortlist import Shortlist, ShortlistEntry
from tests.web.conftest import PASSWORD, Site

QUERY = "malaria bed nets"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, live: str, role: str) -> None:
    page.goto(f"{live}/signin")
    page.get_by_label("E-mail").fill(Site.email(role))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert f"Signed in as {Site.email(role)}" in page.content()


def search(page: Any, live: str, text: str = QUERY) -> None:
    page.goto(f"{live}/")
    page.get_by_label("What are you looking for?").fill(text)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**/search?q=*")


def test_a_member_searches_opens_a_result_and_shortlists_one(
    page: Any, live: str, site: Site
) -> None:
    sign_in(page, live, "member_a")
    search(page, live)
    results = page.locator("ol.results > li")
    assert results.count() >= 3
    first = results.first
    assert first.locator("dl.why").is_visible()
    assert "Matched projects" in first.inner_text()
    assert page.get_by_text("Bed nets against malaria in northern Uganda").first.is_visible()
    # the first organisation, then its look-alikes
    name = first.locator("h3 a").inner_text()
    first.locator("h3 a").click()
    page.wait_for_url("**/organisations/*")
    assert page.locator("h1").inner_text() == name
    page.go_back()
    page.wait_for_url("**/search?q=*")
    page.locator("ol.results > li").first.get_by_role("link", name="More like this").click()
    page.wait_for_url("**/organisations/*#similar")
    assert page.get_by_role("heading", name="Similar organisations").is_visible()
    assert page.locator("#similar-section ol.results > li").count() >= 1
    # add the second result to a new shortlist
    page.go_back()
    page.wait_for_url("**/search?q=*")
    second = page.locator("ol.results > li").nth(1)
    second_name = second.locator("h3 a").inner_text()
    second.get_by_label("Shortlist", exact=True).select_option("new")
    second.get_by_label("Name of a new shortlist").fill("Browser shortlist")
    second.get_by_role("button", name="Add to shortlist").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text="Added to the shortlist.").is_visible()
    page.get_by_role("link", name="My shortlists").click()
    assert page.get_by_role("heading", name="Browser shortlist").is_visible()
    assert page.get_by_role("link", name=second_name).is_visible()
    with Session(site.engine) as session:
        shortlist = session.exec(
            select(Shortlist).where(col(Shortlist.name) == "Browser shortlist")
        ).one()
        assert shortlist.owner_id == site.user_ids["member_a"]
        assert (
            len(
                session.exec(
                    select(ShortlistEntry).where(col(ShortlistEntry.shortlist_id) == shortlist.id)
                ).all()
            )
            == 1
        )


def test_a_member_edits_its_own_profile(page: Any, live: str, site: Site) -> None:
    sign_in(page, live, "member_a")
    org_id = site.ids["malaria_ngo"]
    page.goto(f"{live}/organisations/{org_id}")
    page.get_by_role("link", name="Edit this profile").click()
    page.wait_for_url(f"**/organisations/{org_id}/edit")
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Website").fill("malaria-action")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert page.get_by_text("Some fields need your attention.").is_visible()
    assert page.get_by_text("This field is required.").is_visible()
    assert page.get_by_label("Website").input_value() == "malaria-action"  # kept
    assert page.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"
    page.get_by_label("Name", exact=True).fill("Malaria Action Kenya")
    page.get_by_label("Website").fill("https://malaria-action.example")
    page.get_by_label("City").fill("Kisumu")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/organisations/{org_id}")
    assert page.get_by_text("The profile was saved.").is_visible()
    assert "Kisumu" in page.locator("dl.facts").inner_text()
    with Session(site.engine) as session:
        row = session.get(Organisation, org_id)
        assert row is not None
        assert (row.city, row.website) == ("Kisumu", "https://malaria-action.example")


def test_search_works_without_javascript(browser: Any, live: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        search(page, live)
        assert page.locator("ol.results > li").count() >= 3
        assert "Malaria Action Kenya" in page.locator("ol.results").inner_text()
        page.get_by_label("Organisation type").select_option("research")
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_load_state()
        assert "type=research" in page.url
        assert "Malaria Action Kenya" not in page.locator("ol.results").inner_text()
    finally:
        context.close()


def test_keyboard_reaches_the_search_box_and_submit(page: Any, live: str) -> None:
    page.goto(f"{live}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    page.keyboard.press("Enter")  # skip link: focus moves to the main content
    order: list[str] = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if order[-1] == "f-q":
            break
    assert order[-1] == "f-q", order
    page.keyboard.type(QUERY)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Search"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert page.locator("ol.results > li").count() >= 3
