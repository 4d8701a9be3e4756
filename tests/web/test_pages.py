"""The web pages through a TestClient: escaping, CSRF, permissions, privacy, sign-in, languages,
page weight and error pages."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.services.passwords import hash_password, verify_password
from api.services.throttle import FailureThrottle
from api.services.web_sessions import hash_token
from api.web.core import safe_next
from api.web.i18n import CATALOGUES, EN, from_accept_language
from api.web.routes.account import SigninThrottles
from models.common import utcnow
from models.organisation import Organisation
from models.settings import Settings, get_settings
from models.shortlist import Shortlist, ShortlistEntry
from models.user import User
from models.web_session import WebSession
from tests.web.conftest import (
    PASSWORD,
    Site,
    csrf_of,
    sign_in,
)

SEARCH = "/search?q=malaria+bed+nets"


def org(site: Site, key: str) -> Organisation:
    with Session(site.engine) as session:
        row = session.get(Organisation, site.ids[key])
        assert row is not None
        return row


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>malaria</b>" not in html


# --- escaping --------------------------------------------------------------------------------


def test_hostile_text_is_escaped_in_search_results(client: TestClient) -> None:
    page = client.get(SEARCH)
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; Bed Net Alliance" in page.text
    assert_escaped(page.text)
    echoed = client.get("/search", params={"q": "<script>alert('q')</script> malaria"})
    assert "&lt;script&gt;alert(&#39;q&#39;)" in echoed.text
    assert "<script>alert('q')" not in echoed.text


def test_hostile_text_is_escaped_on_the_organisation_page(client: TestClient, site: Site) -> None:
    page = client.get(f"/organisations/{site.ids['hostile']}")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; Malaria bed nets" in page.text
    assert "&lt;b&gt;malaria&lt;/b&gt;" in page.text
    assert_escaped(page.text)


def test_hostile_text_is_escaped_in_the_edit_form(client: TestClient, site: Site) -> None:
    assert sign_in(client, "admin").status_code == 303
    page = client.get(f"/organisations/{site.ids['hostile']}/edit")
    assert page.status_code == 200
    assert (
        'value="&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; Bed Net Alliance"' in page.text
    )
    assert "&lt;/textarea&gt;&lt;script&gt;" in page.text
    assert_escaped(page.text)


# --- CSRF --------------------------------------------------------------------------------------


def edit_form(site: Site, key: str, **changes: str) -> dict[str, str]:
    row = org(site, key)
    form = {
        "name": row.name,
        "org_type": str(row.org_type),
        "hq_country": row.hq_country or "",
        "city": row.city,
        "website": row.website,
        "description": row.description,
        "languages": ", ".join(row.languages),
        "themes": ", ".join(row.themes),
        "aliases": ", ".join(row.aliases),
        "contact_email": row.contact_email,
    }
    return form | changes


def test_posts_without_the_right_csrf_token_are_refused(client: TestClient, site: Site) -> None:
    assert sign_in(client, "member_a").status_code == 303
    url = f"/organisations/{site.ids['malaria_ngo']}/edit"
    token = csrf_of(client.get(url).text)
    for sent in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        answer = client.post(url, data=edit_form(site, "malaria_ngo", city="Forged") | sent)
        assert answer.status_code == 403
        assert "did not come from this site" in answer.text
    other_site = client.post(
        url,
        data=edit_form(site, "malaria_ngo", city="Forged", csrf_token=token),
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert org(site, "malaria_ngo").city != "Forged"
    # sign-in and sign-out are forms too
    assert client.post("/signout", data={}).status_code == 403
    fresh = TestClient(site.app)
    no_cookie = fresh.post(
        "/signin", data={"email": Site.email("member_b"), "password": PASSWORD, "csrf_token": "x"}
    )
    assert no_cookie.status_code == 403
    assert "hm_session" not in fresh.cookies


# --- permissions and privacy -----------------------------------------------------------------


def test_a_member_cannot_open_or_post_another_organisations_edit_form(
    client: TestClient, site: Site
) -> None:
    assert sign_in(client, "member_a").status_code == 303
    url = f"/organisations/{site.ids['maternal']}/edit"
    page = client.get(url)
    assert page.status_code == 403
    assert 'name="contact_email"' not in page.text
    assert "hello@maternal.example" not in page.text
    token = csrf_of(client.get("/").text)  # a valid token of member_a's session
    answer = client.post(url, data=edit_form(site, "maternal", name="Taken over", csrf_token=token))
    assert answer.status_code == 403
    assert org(site, "maternal").name == "Safe Births Nigeria"
    assert "Edit this profile" not in client.get(f"/organisations/{site.ids['maternal']}").text


def test_anonymous_visitors_are_sent_to_sign_in_from_an_edit_form(
    client: TestClient, site: Site
) -> None:
    answer = client.get(f"/organisations/{site.ids['maternal']}/edit", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/signin?next=/organisations/{site.ids['maternal']}/edit"


def test_people_and_contact_follow_the_visibility_rules(client: TestClient, site: Site) -> None:
    url = f"/organisations/{site.ids['malaria_ngo']}"
    anonymous = client.get(url).text
    assert "Person a_public" in anonymous
    for hidden in ("Person a_network", "Person a_private", "office@malaria-ngo.example", "@people"):
        assert hidden not in anonymous
    assert sign_in(client, "member_b").status_code == 303
    other = client.get(url).text
    assert "Person a_network" in other
    assert "Person a_private" not in other
    assert "office@malaria-ngo.example" not in other
    client.cookies.clear()
    assert sign_in(client, "member_a").status_code == 303
    own = client.get(url).text
    assert "Person a_private" in own
    assert "office@malaria-ngo.example" in own
    assert "a_private@people.example" in own
    assert "Edit this profile" in own


def test_the_organisation_page_shows_projects_calls_and_similar(
    client: TestClient, site: Site
) -> None:
    page = client.get(f"/organisations/{site.ids['malaria_ngo']}").text
    assert "Bed nets against malaria in northern Uganda" in page
    assert "Uganda" in page  # the countries of its projects: who works where
    assert 'id="similar"' in page
    assert "Institute of Tropical Medicine" in page
    assert "Calls for this organisation" in page


# --- editing ---------------------------------------------------------------------------------


def test_a_member_edits_its_own_profile(client: TestClient, site: Site) -> None:
    assert sign_in(client, "member_b").status_code == 303
    url = f"/organisations/{site.ids['maternal']}/edit"
    token = csrf_of(client.get(url).text)
    bad = edit_form(
        site, "maternal", name="", website="not a url", contact_email="nope", csrf_token=token
    )
    bad["countries"] = "GH"
    answer = client.post(url, data=bad | {"city": "Kept <city>"})
    assert answer.status_code == 422
    assert "This field is required." in answer.text
    assert "Enter a full address" in answer.text
    assert "Enter an e-mail address" in answer.text
    assert 'value="Kept &lt;city&gt;"' in answer.text  # the input is kept (and escaped)
    assert 'value="not a url"' in answer.text
    assert org(site, "maternal").name == "Safe Births Nigeria"
    good = edit_form(site, "maternal", city="Abuja", website="https://safe-births.example")
    good |= {"csrf_token": token, "countries": "GH"}
    saved = client.post(url, data=good, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/organisations/{site.ids['maternal']}"
    page = client.get(saved.headers["location"])
    assert "The profile was saved." in page.text
    assert "Abuja" in page.text
    assert "The profile was saved." not in client.get(saved.headers["location"]).text
    row = org(site, "maternal")
    assert (row.city, row.website, row.countries) == (
        "Abuja",
        "https://safe-births.example",
        ["GH"],
    )


# --- sign-in ---------------------------------------------------------------------------------


def test_sign_in_and_out(client: TestClient, site: Site) -> None:
    wrong = sign_in(client, "member_a", password="not the password")
    assert wrong.status_code == 400
    assert "Wrong e-mail or password." in wrong.text
    assert "hm_session" not in client.cookies
    no_password = sign_in(client, "secretariat", password="")
    assert no_password.status_code == 400
    answer = sign_in(client, "member_a")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "hm_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/")
    assert "Signed in as member_a@users.example" in page.text
    with Session(site.engine) as session:
        rows = session.exec(
            select(WebSession).where(col(WebSession.user_id) == site.user_ids["member_a"])
        ).all()
        assert rows and all(len(row.token_hash) == 64 for row in rows)
        count = len(rows)
    out = client.post("/signout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert "Sign in" in client.get("/").text
    with Session(site.engine) as session:
        left = session.exec(
            select(WebSession).where(col(WebSession.user_id) == site.user_ids["member_a"])
        ).all()
        assert len(left) == count - 1


def test_an_inactive_user_is_signed_out(client: TestClient, site: Site) -> None:
    assert sign_in(client, "member_b").status_code == 303
    with Session(site.engine) as session:
        user = session.get(User, site.user_ids["member_b"])
        assert user is not None
        user.is_active = False
        session.add(user)
        session.commit()
    try:
        assert "Signed in as" not in client.get("/").text
        assert sign_in(client, "member_b").status_code == 400
    finally:
        with Session(site.engine) as session:
            user = session.get(User, site.user_ids["member_b"])
            assert user is not None
            user.is_active = True
            session.add(user)
            session.commit()


def test_an_expired_session_is_no_session(client: TestClient, site: Site) -> None:
    assert sign_in(client, "member_a").status_code == 303
    token = client.cookies["hm_session"]
    with Session(site.engine) as session:
        row = session.exec(
            select(WebSession).where(col(WebSession.token_hash) == hash_token(token))
        ).one()
        assert row.expires_at - row.created_at == timedelta(days=14)
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    page = client.get("/")
    assert "Signed in as" not in page.text
    assert 'hm_session=""' in page.headers["set-cookie"]
    with Session(site.engine) as session:
        gone = session.exec(
            select(WebSession).where(col(WebSession.token_hash) == hash_token(token))
        ).first()
        assert gone is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/organisations/3?lang=fr", "/organisations/3?lang=fr"),
        ("https://evil.example/", "/"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
    ],
)
def test_next_is_a_same_site_path(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def test_sign_in_never_redirects_to_another_site(client: TestClient) -> None:
    page = client.get("/signin?next=https://evil.example/")
    assert '<input type="hidden" name="next" value="/">' in page.text
    token = csrf_of(page.text)
    form = {"email": Site.email("member_a"), "password": PASSWORD, "csrf_token": token}
    answer = client.post("/signin", data=form | {"next": "//evil.example"}, follow_redirects=False)
    assert answer.headers["location"] == "/"
    client.cookies.clear()
    token = csrf_of(client.get("/signin").text)
    answer = client.post(
        "/signin",
        data=form | {"csrf_token": token, "next": "/shortlists"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/shortlists"


# --- search ----------------------------------------------------------------------------------


def test_search_shows_explained_results(client: TestClient) -> None:
    page = client.get(SEARCH)
    assert page.status_code == 200
    assert "Malaria Action Kenya" in page.text
    assert "Matched projects" in page.text
    assert "Bed nets against malaria in northern Uganda" in page.text
    assert "More like this" in page.text
    assert "Add to shortlist" not in page.text  # anonymous


def test_search_errors_keep_the_form(client: TestClient) -> None:
    blank = client.get("/search?q=+++&type=ngo")
    assert blank.status_code == 422
    assert "Enter some words to search for." in blank.text
    assert '<option value="ngo" selected>' in blank.text
    unknown = client.get("/search?q=malaria&country=ZZ")
    assert unknown.status_code == 422
    assert "unknown country &#39;ZZ&#39;" in unknown.text
    assert 'value="malaria"' in unknown.text


def test_filters_narrow_the_results(client: TestClient) -> None:
    page = client.get(SEARCH + "&type=research")
    assert page.status_code == 200
    names = re.findall(r'<a href="/organisations/\d+">([^<]+)</a>', page.text)
    assert names and "Malaria Action Kenya" not in names
    assert "Institute of Tropical Medicine" in names


def test_add_to_a_new_shortlist_then_to_it_again(client: TestClient, site: Site) -> None:
    assert sign_in(client, "member_a").status_code == 303
    page = client.get(SEARCH)
    assert "Add to shortlist" in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "organisation_id": str(site.ids["tropical"]),
        "shortlist_id": "new",
        "new_name": "Malaria call <2026>",
        "next": SEARCH,
    }
    added = client.post("/shortlists/add", data=form, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == SEARCH
    assert "Added to the shortlist." in client.get(SEARCH).text
    with Session(site.engine) as session:
        shortlist = session.exec(
            select(Shortlist).where(col(Shortlist.name) == "Malaria call <2026>")
        ).one()
        entries = session.exec(
            select(ShortlistEntry).where(col(ShortlistEntry.shortlist_id) == shortlist.id)
        ).all()
        assert [e.organisation_id for e in entries] == [site.ids["tropical"]]
    again = client.post("/shortlists/add", data=form | {"shortlist_id": str(shortlist.id)})
    assert "already on that shortlist" in again.text
    mine = client.get("/shortlists").text
    assert "Malaria call &lt;2026&gt;" in mine and "Institute of Tropical Medicine" in mine


def test_a_missing_search_index_is_a_friendly_503(site: Site, tmp_path: Path) -> None:
    settings = Settings(
        database_url=site.url, index_path=tmp_path / "none.index", embedding_model="minilm"
    )
    with TestClient(create_app(settings, engine=site.engine)) as missing:
        page = missing.get(SEARCH)
        assert page.status_code == 503
        assert "search index is being prepared" in page.text
        assert missing.get("/").status_code == 200  # the form alone needs no index
        profile = missing.get(f"/organisations/{site.ids['malaria_ngo']}")
        assert profile.status_code == 200
        assert "Not available" in profile.text


# --- languages, weight, errors ------------------------------------------------------------------


def test_every_language_has_every_key() -> None:
    for lang, catalogue in CATALOGUES.items():
        assert set(catalogue) == set(EN), lang


def test_language_switch(client: TestClient) -> None:
    french = client.get("/search?lang=fr")
    assert '<html lang="fr">' in french.text
    assert "Trouver des partenaires" in french.text
    assert "Trouver des partenaires" in client.get("/").text  # remembered in a cookie
    spanish = client.get(SEARCH + "&lang=es")
    assert "Buscar socios" in spanish.text and "Proyectos coincidentes" in spanish.text
    client.cookies.clear()
    asked = client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.8"})
    assert '<html lang="es">' in asked.text
    assert from_accept_language("de-DE, fr;q=0.5, en;q=0.7") == "en"
    assert from_accept_language("de") is None
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "de"}).text


def transferred(client: TestClient, url: str) -> int:
    """Bytes of a page and of every static resource it links (stylesheet, scripts)."""
    page = client.get(url)
    assert page.status_code == 200
    total = len(page.content)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert assets, "the stylesheet is linked"
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200
        assert "max-age=31536000" in answer.headers["cache-control"]
        total += len(answer.content)
    return total


def test_the_search_results_page_weighs_under_100_kb(client: TestClient) -> None:
    anonymous = transferred(client, SEARCH)
    assert anonymous < 100 * 1024, f"{anonymous} bytes"
    assert sign_in(client, "member_a").status_code == 303  # with a shortlist form per result
    signed_in = transferred(client, SEARCH)
    assert signed_in < 100 * 1024, f"{signed_in} bytes"


def test_unknown_pages_are_404_pages(client: TestClient) -> None:
    for url in ("/organisations/999999", "/organisations/abc", "/organisations/999999/edit"):
        page = client.get(url)
        assert page.status_code == 404, url
        assert "This page does not exist." in page.text


def test_secretariat_page_is_for_staff_only(client: TestClient) -> None:
    assert client.get("/secretariat").status_code == 403
    assert "Secretariat" not in client.get("/").text
    assert sign_in(client, "admin").status_code == 303
    assert client.get("/secretariat").status_code == 200
    assert 'href="/secretariat"' in client.get("/").text


# --- passwords and the CLI -------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    stored = hash_password("a long enough password")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert stored != hash_password("a long enough password")
    assert verify_password("a long enough password", stored)
    assert not verify_password("another password", stored)
    assert not verify_password("a long enough password", "")
    assert not verify_password("x", "scrypt$bad")


def test_set_password_from_the_cli(
    site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", site.url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        email = Site.email("secretariat")
        short = runner.invoke(cli, ["users", "set-password", email, "--password-stdin"], "short\n")
        assert short.exit_code == 1
        new = "a brand new secretariat password"
        result = runner.invoke(
            cli, ["users", "set-password", email, "--password-stdin"], new + "\n"
        )
        assert result.exit_code == 0, result.output
        prompted = runner.invoke(cli, ["users", "set-password", email], f"{new}\n{new}\n")
        assert prompted.exit_code == 0, prompted.output
        assert new not in prompted.output
    finally:
        get_settings.cache_clear()
    assert sign_in(client, "secretariat", password=new).status_code == 303


def test_repeated_failed_sign_ins_lock_that_email_for_a_while(
    client: TestClient, site: Site
) -> None:
    email = Site.email("member_b")
    site.app.state.signin_throttles = SigninThrottles()  # no failures of earlier tests
    try:
        for _ in range(5):
            page = client.get("/signin").text
            wrong = {"email": email, "password": "wrong password", "csrf_token": csrf_of(page)}
            assert client.post("/signin", data=wrong).status_code == 400
        page = client.get("/signin").text
        right = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(page)}
        locked = client.post("/signin", data=right, follow_redirects=False)
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in locked.text
        assert "hm_session" not in client.cookies
        assert sign_in(client, "member_a").status_code == 303  # other people still get in
    finally:
        del site.app.state.signin_throttles  # the module's other tests start unthrottled


def test_the_throttle_forgets_failures_after_its_window() -> None:
    now = [0.0]
    throttle = FailureThrottle(max_failures=2, window_s=60, clock=lambda: now[0])
    throttle.failed(["k"])
    throttle.failed(["k"])
    assert throttle.retry_after(["k"]) == 60
    now[0] = 59.5
    assert throttle.retry_after(["k"]) == 1
    now[0] = 61
    assert throttle.retry_after(["k"]) == 0
    throttle.failed(["k"])
    throttle.succeeded(["k"])
    assert throttle.retry_after(["k"]) == 0
