"""The call pages through a TestClient: the call, its rules and fitting members, the consortium
builder (alternatives, coverage table, swap links, infeasible and contradictory rules), saving a
consortium as a shortlist and exporting it, and the map."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.web.routes.map import country_counts
from models.call import Call, CallStatus
from models.db import session_scope
from models.shortlist import Shortlist
from tests.web.conftest import Site, csrf_of, sign_in

HOSTILE_TITLE = "<script>alert(1)</script> Malaria bed nets call"
HOSTILE_CONDITIONS = (
    "The consortium must include at least 3 partners from at least 2 different countries. "
    '<img src=x onerror="alert(2)"> </details><script>alert(3)</script>'
)


@pytest.fixture(scope="module")
def calls(site: Site) -> Iterator[dict[str, int]]:
    """A hostile open call with a deadline next month, and one whose deadline has passed."""
    today = date.today()
    with session_scope(site.engine) as session:
        hostile = Call(
            source="test",
            source_id="hostile",
            title=HOSTILE_TITLE,
            text="Malaria prevention with bed nets and community case management of malaria.",
            conditions=HOSTILE_CONDITIONS,
            funder="<b>Funder</b>",
            deadlines=[
                (today - timedelta(days=10)).isoformat(),
                (today + timedelta(30)).isoformat(),
            ],
            next_deadline=today + timedelta(days=30),
            budget_max=500000,
            currency="EUR",
            status=CallStatus.OPEN,
        )
        past = Call(
            source="test",
            source_id="past",
            title="A call of last year",
            next_deadline=today - timedelta(days=200),
            status=CallStatus.CLOSED,
        )
        session.add(hostile)
        session.add(past)
        session.flush()
        assert hostile.id is not None and past.id is not None
        ids = {"hostile": hostile.id, "past": past.id}
    yield ids


def build(client: TestClient, call_id: int, **params: object) -> tuple[int, str]:
    page = client.get(f"/calls/{call_id}", params={"build": "1", **params})
    return page.status_code, page.text


def test_calls_list_shows_open_calls_and_hides_past_deadlines(
    client: TestClient, site: Site, calls: dict[str, int]
) -> None:
    page = client.get("/calls")
    assert page.status_code == 200
    assert f'href="/calls/{calls["hostile"]}"' in page.text
    assert f'href="/calls/{site.ids["malaria_call"]}"' in page.text
    assert "A call of last year" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert "A call of last year" in client.get("/calls?past=1").text
    closed = client.get("/calls?status=closed&past=1").text
    assert "A call of last year" in closed and "Malaria elimination" not in closed


def test_call_page_escapes_and_shows_rules_and_members(
    client: TestClient, calls: dict[str, int]
) -> None:
    page = client.get(f"/calls/{calls['hostile']}")
    assert page.status_code == 200
    html = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Malaria bed nets call" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "&lt;/details&gt;&lt;script&gt;alert(3)" in html
    assert "&lt;b&gt;Funder&lt;/b&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "<details><summary>Conditions</summary>" in html
    assert "(passed)" in html  # the first deadline
    assert "500,000 EUR" in html
    rules = html[html.index('id="rules-h"') : html.index('id="builder-h"')]
    assert "Minimum partners" in rules and "Minimum countries" in rules
    assert "at least 3 partners" in rules  # the evidence sentence
    fits = html[html.index('id="fit-h"') :]
    assert fits.count('class="result"') >= 3
    assert "Malaria Action Kenya" in fits
    assert "Matched projects" in fits
    assert "Sign in to build a consortium" in html  # anonymous: no builder


def test_unknown_call_is_a_404_page(client: TestClient) -> None:
    assert client.get("/calls/999999").status_code == 404


def test_builder_shows_k_alternatives_with_coverage_and_checks(
    client: TestClient, site: Site
) -> None:
    assert sign_in(client, "member_a").status_code == 303
    call = site.ids["malaria_call"]
    form = client.get(f"/calls/{call}").text
    lead = site.ids["malaria_ngo"]
    assert f'<option value="{lead}" selected>' in form  # the member's own organisation
    status, html = build(client, call, min_size=3, max_size=3, k=2)
    assert status == 200, html
    assert html.count('class="alternative"') == 2
    assert "Alternative 1" in html and "Alternative 2" in html
    first = html[html.index("Alternative 1") : html.index("Alternative 2")]
    assert first.count('<li><a href="/organisations/') == 3
    assert "lead" in first and "Malaria Action Kenya" in first
    table = re.search(r'<table class="coverage">(.*?)</table>', first, re.S)
    assert table is not None
    header = re.findall(r'<th scope="col"', table.group(1))
    assert len(header) == 1 + 3  # the aspect column and the three members
    cells = re.findall(r'<td class="c(\d)">(\d\.\d\d)</td>', table.group(1))
    assert cells and len(cells) % 3 == 0
    assert all(0 <= float(v) <= 1 for _, v in cells)
    assert "Rule checks" in first and ">met: size" in first.replace("\n", "")
    assert 'name="csrf_token"' in first  # save as shortlist


def swap_links(html: str) -> list[str]:
    return [
        unquote(h).replace("&amp;", "&") for h in re.findall(r'class="swap" href="([^"]+)"', html)
    ]


def test_swap_link_excludes_that_partner(client: TestClient, site: Site) -> None:
    sign_in(client, "member_a")
    call = site.ids["malaria_call"]
    status, html = build(client, call, min_size=3, max_size=3, k=1)
    assert status == 200
    links = swap_links(html)
    assert len(links) == 2  # the two partners, not the lead
    swapped = links[0]
    excluded = parse_qs(urlsplit(swapped).query)["exclude"]
    first = html[html.index("Alternative 1") : html.index('id="fit-h"')]
    partner = excluded[0]
    assert f'href="/organisations/{partner}"' in first
    again = client.get(swapped)
    assert again.status_code == 200
    alternative = again.text[again.text.index("Alternative 1") : again.text.index('id="fit-h"')]
    members = re.findall(r'<li><a href="/organisations/(\d+)"', alternative)
    assert partner not in members and len(members) == 3
    assert f'<option value="{partner}" selected>' in again.text  # kept in the exclude select


def test_infeasible_rules_say_why(client: TestClient, site: Site) -> None:
    sign_in(client, "member_a")
    status, html = build(client, site.ids["malaria_call"], min_size=12, max_size=12)
    assert status == 200
    assert "No consortium meets every rule." in html
    assert "to make it possible" in html
    assert 'class="alternative"' not in html


def test_contradictory_rules_are_a_422_with_the_form_kept(client: TestClient, site: Site) -> None:
    sign_in(client, "member_a")
    call = site.ids["malaria_call"]
    lead = site.ids["malaria_ngo"]
    status, html = build(client, call, lead=lead, min_size=5, max_size=3)
    assert status == 422
    assert "These rules contradict each other" in html
    assert 'value="5"' in html and 'value="3"' in html  # kept
    status, html = build(client, call, min_size="abc", k=9)
    assert status == 422
    assert 'value="abc"' in html and "Enter a whole number from 1 to 5." in html
    assert 'aria-invalid="true"' in html


def test_save_as_shortlist_then_export(client: TestClient, site: Site) -> None:
    call = site.ids["malaria_call"]
    anonymous = client.post(f"/calls/{call}/shortlist", data={"organisation_id": "1"})
    assert anonymous.status_code == 403  # no CSRF token
    sign_in(client, "member_a")
    _, html = build(client, call, min_size=3, max_size=3, k=1)
    members = re.findall(
        r'name="organisation_id" value="(\d+)"',
        html[html.index("Alternative 1") : html.index('id="fit-h"')],
    )
    members = list(dict.fromkeys(members))[:3]
    no_token = client.post(
        f"/calls/{call}/shortlist", data={"organisation_id": members}, follow_redirects=False
    )
    assert no_token.status_code == 403
    saved = client.post(
        f"/calls/{call}/shortlist",
        data={"organisation_id": members, "name": "Consortium =cmd", "csrf_token": csrf_of(html)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    url = saved.headers["location"]
    page = client.get(url)
    assert page.status_code == 200
    assert "The consortium was saved as a shortlist." in page.text
    assert "Malaria elimination in East Africa" in page.text
    shortlist_id = int(url.rsplit("/", 1)[1])
    with Session(site.engine) as session:
        row = session.get(Shortlist, shortlist_id)
        assert row is not None and row.call_id == call
        assert row.owner_id == site.user_ids["member_a"]
    exported = client.get(f"/shortlists/{shortlist_id}/export.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="Consortium-cmd.csv"'
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == members
    assert rows[1][2] == "Malaria Action Kenya"
    assert rows[1][-1] == "office@malaria-ngo.example"  # its own contact: allowed
    xlsx = client.get(f"/shortlists/{shortlist_id}/export.xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert [str(r[1]) for r in values[1:]] == members
    assert client.get(f"/shortlists/{shortlist_id}/export.pdf").status_code == 404
    # another member can neither see nor export it
    other = TestClient(site.app)
    with other:
        sign_in(other, "member_b")
        assert other.get(f"/shortlists/{shortlist_id}").status_code == 404
        assert other.get(f"/shortlists/{shortlist_id}/export.csv").status_code == 404
        assert other.get(f"/shortlists/{shortlist_id}/export.xlsx").status_code == 404
    with TestClient(site.app) as anonymous_client:
        gone = anonymous_client.get(
            f"/shortlists/{shortlist_id}/export.csv", follow_redirects=False
        )
        assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")


# --- the map ------------------------------------------------------------------------------------


def table_counts(html: str) -> dict[str, int]:
    return {
        code: int(n)
        for code, n in re.findall(
            r"<tr><td><a [^>]+>[^<]+</a></td><td>([A-Z]{2})</td><td>(\d+)</td></tr>", html
        )
    }


def test_map_has_tiles_and_a_table_consistent_with_the_data(client: TestClient, site: Site) -> None:
    page = client.get("/map")
    assert page.status_code == 200
    html = page.text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    counts = table_counts(html)
    with Session(site.engine) as session:
        assert counts == country_counts(session)
    # Malaria Action Kenya (KE HQ; UG, TZ) and the hostile organisation (TZ, KE) work in KE
    assert counts["KE"] >= 3 and counts["UG"] >= 2 and counts["MW"] == 2
    for code in ("KE", "UG", "TZ", "NG", "MW", "IN", "BE", "DE"):
        assert f'data-code="{code}"' in html
        assert re.search(rf"<title>[^<]+: {counts[code]} organisations</title>", html)
    assert 'href="/search?country=KE"' in html
    assert "&lt;b&gt;malaria&lt;/b&gt;" in html  # the hostile theme, escaped in the select
    assert "<b>malaria</b>" not in html


def test_map_theme_filter_changes_the_counts(client: TestClient, site: Site) -> None:
    everything = table_counts(client.get("/map").text)
    page = client.get("/map", params={"theme": "malnutrition"})
    assert page.status_code == 200
    counts = table_counts(page.text)
    assert counts == {"MW": 2}  # Nutrition First Malawi, and Safe Births through its project
    assert counts != everything
    assert 'href="/search?country=MW&amp;q=malnutrition"' in page.text
    assert '<option value="malnutrition" selected>' in page.text
