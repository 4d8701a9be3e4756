"""Members' websites: project links, pagination, what a page says about a project, the crawl.

The pages are the hand-written fixtures of `tests/fixtures/websites/` (see its README). The crawl
is tested with a fake fetch function over a dict of URL -> page: a pure test of the crawl logic;
the network path is tested elsewhere against a real server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest

from scrapers.errors import FetchError
from scrapers.website import (
    MAX_LISTING_PAGES,
    MAX_PAGE_BYTES,
    CrawlResult,
    PageProject,
    PageRejected,
    SiteConfig,
    crawl_site,
    dates_in_text,
    extract_projects,
    jsonld_projects,
    next_listing_page,
    normalise_url,
    project_links,
    to_project_record,
)
from tests.conftest import FIXTURES

SITES = FIXTURES / "websites"
BASE = "https://www.example-health.org"
LISTING = f"{BASE}/projects/"
PAGE_2 = f"{BASE}/projects/page/2/"
MALARIA = f"{BASE}/projects/malaria-nets-kenya/"
MATERNAL = f"{BASE}/projects/maternal-health-tanzania/"
WATER = f"{BASE}/projects/clean-water-clinics"
TB = f"{BASE}/projects/tb-screening-malawi"
VACCINE = f"{BASE}/projects/vaccine-cold-chain-nepal"
ARCHIVED = f"{BASE}/projects/archived-project"
CHOLERA = f"{BASE}/projects/cholera-response"
REPORT = f"{BASE}/projects/annual-report-2023.pdf"

SELECTORS = {
    "title_selector": ".project-name",
    "description_selector": ".project-summary",
    "date_selector": ".project-period",
    "country_selector": ".project-countries",
}


def page(name: str) -> bytes:
    return (SITES / name).read_bytes()


def config(**changes: object) -> SiteConfig:
    return SiteConfig.from_dict({"start_url": LISTING, **changes})


@dataclass(frozen=True)
class FakePage:
    url: str
    content: bytes
    content_type: str = "text/html; charset=utf-8"


class FakeSite:
    """A fetch function over a dict; unknown URLs fail as a 404 would."""

    def __init__(self, pages: dict[str, FakePage | FetchError | bytes]) -> None:
        self.pages = pages
        self.calls: list[str] = []

    def __call__(self, url: str) -> FakePage:
        self.calls.append(url)
        item = self.pages.get(url)
        if item is None:
            raise FetchError(url, "HTTP 404")
        if isinstance(item, FetchError):
            raise item
        return item if isinstance(item, FakePage) else FakePage(url, item)


def example_site() -> FakeSite:
    return FakeSite(
        {
            LISTING: page("listing-page-1.html"),
            PAGE_2: page("listing-page-2.html"),
            MALARIA: page("project-jsonld.html"),
            MATERNAL: page("project-graph.html"),
            WATER: page("project-opengraph.html"),
            TB: page("project-selectors.html"),
            VACCINE: page("project-broken-jsonld.html"),
            ARCHIVED: page("project-nothing.html"),
            CHOLERA: FetchError(CHOLERA, "HTTP 503"),
            REPORT: FakePage(REPORT, b"%PDF-1.7\n...", "application/pdf"),
        }
    )


def only(projects: list[PageProject]) -> PageProject:
    assert len(projects) == 1, projects
    return projects[0]


# --- links and pagination -----------------------------------------------------------------------


def test_project_links_of_the_listing_are_absolute_same_site_unique_and_in_order() -> None:
    links = project_links(page("listing-page-1.html"), LISTING, config())
    # not: home, about, contact, /fr/, news, privacy, the listing itself, page 2, the partner
    # site, twitter, mailto:, tel:, javascript:; the TB page linked twice (once with #overview)
    assert links == [MALARIA, MATERNAL, WATER, TB]


def test_project_links_of_the_second_listing_page() -> None:
    links = project_links(page("listing-page-2.html"), PAGE_2, config())
    assert links == [VACCINE, ARCHIVED, CHOLERA, REPORT]


def test_link_pattern_decides_which_links_are_projects() -> None:
    links = project_links(
        page("listing-page-1.html"), LISTING, config(link_pattern=r"-(kenya|malawi)/?$")
    )
    assert links == [MALARIA, TB]


def test_links_to_other_sites_never_count_even_when_they_match_the_pattern() -> None:
    links = project_links(page("listing-page-1.html"), LISTING, config(link_pattern="joint"))
    assert links == []


def test_next_listing_page_from_rel_next() -> None:
    assert next_listing_page(page("listing-page-1.html"), LISTING) == PAGE_2
    assert next_listing_page(page("listing-page-2.html"), PAGE_2) is None


def test_next_listing_page_from_the_link_text_alone() -> None:
    html = b"""<main><a href="/projects/a">A</a>
    <div class="nav-links"><a href="?page=3">Next page &raquo;</a></div></main>"""
    assert next_listing_page(html, f"{LISTING}?page=2") == f"{LISTING}?page=3"
    assert next_listing_page(b"<a href='https://other.example/p2'>Next</a>", LISTING) is None


def test_a_base_element_resolves_relative_links() -> None:
    html = b'<head><base href="https://www.example-health.org/en/"></head>'
    html += b'<a href="projects/x">x</a>'
    links = project_links(html, f"{BASE}/en/index.html", config(start_url=f"{BASE}/en/"))
    assert links == [f"{BASE}/en/projects/x"]


# --- one page -----------------------------------------------------------------------------------


def test_json_ld_project() -> None:
    found = only(extract_projects(page("project-jsonld.html"), MALARIA, config()))
    assert found.found_by == "json-ld"
    assert found.title == "Malaria nets in Kenya"
    assert found.url == MALARIA
    assert found.description.startswith("Distribution of long-lasting insecticide-treated nets")
    assert "\n\nThe project also monitors" in found.description
    assert (found.start_date, found.end_date) == (date(2021, 3, 1), date(2024, 2, 29))
    assert found.countries == ("KE", "UG")  # "East Africa" is no country
    assert found.keywords == ("malaria", "bed nets", "community health")


def test_json_ld_graph_with_partial_dates_and_country_in_the_address() -> None:
    found = only(extract_projects(page("project-graph.html"), MATERNAL, config()))
    assert found.found_by == "json-ld"
    assert found.title == "Maternal health in Tanzania"
    assert found.url == MATERNAL  # the node's "#project" @id is no page of its own
    assert found.description == (
        "An implementation study of emergency obstetric care referral networks in Mwanza region."
    )
    assert (found.start_date, found.end_date) == (date(2022, 1, 1), date(2025, 12, 31))
    assert found.countries == ("TZ",)  # not the organisation's GB
    assert found.keywords == ("maternal health", "obstetric care", "referral")


def test_open_graph_only_strips_the_site_name() -> None:
    found = only(extract_projects(page("project-opengraph.html"), WATER, config()))
    assert found.found_by == "open-graph"
    assert found.title == "Clean water for rural clinics"
    assert found.description.startswith("Rainwater harvesting and chlorination at 25 rural")
    assert (found.start_date, found.countries) == (None, ())


def test_selectors_read_a_page_without_metadata() -> None:
    found = only(extract_projects(page("project-selectors.html"), TB, config(**SELECTORS)))
    assert found.found_by == "selectors"
    assert found.title == "Mobile TB screening in Malawi"
    assert found.description.split("\n\n") == [
        "Two mobile X-ray units with computer-aided detection screen miners, prisoners and their "
        "families for tuberculosis in the Northern and Central regions.",
        "People found with TB start treatment the same day through the district programme.",
    ]
    assert (found.start_date, found.end_date) == (date(2020, 1, 1), date(2022, 12, 31))
    assert found.countries == ("MW", "ZM", "MZ")


def test_without_selectors_that_page_holds_no_project() -> None:
    assert extract_projects(page("project-selectors.html"), TB, config()) == []


def test_broken_json_ld_and_markup_fall_back_to_the_heading_and_paragraphs() -> None:
    found = only(extract_projects(page("project-broken-jsonld.html"), VACCINE, config()))
    assert found.found_by == "html"
    assert found.title == "Vaccine cold chain in Nepal"  # not the header's site title
    paragraphs = found.description.split("\n\n")
    assert len(paragraphs) == 2  # the unclosed <p>s are not read twice; "Share", aside left out
    assert paragraphs[0].startswith("Solar direct-drive refrigerators for 60 health posts")
    assert paragraphs[1].endswith("spare parts are stocked at each district store.")


def test_a_page_with_nothing_usable_holds_no_project() -> None:
    assert extract_projects(page("project-nothing.html"), ARCHIVED, config()) == []


def test_an_error_page_holds_no_project() -> None:
    html = b"<html><body><main><h1>Page not found</h1><p>Sorry.</p></main></body></html>"
    assert extract_projects(html, ARCHIVED, config()) == []


def test_a_listing_with_several_json_ld_projects_yields_each() -> None:
    url = f"{BASE}/our-work/"
    found = extract_projects(page("listing-inline-jsonld.html"), url, config(start_url=url))
    assert [p.title for p in found] == [
        "Malaria nets in Kenya",
        "Community health workers in Uganda",
        "Hand hygiene in district hospitals",
        "Clean water for rural clinics",
    ]
    assert {p.found_by for p in found} == {"json-ld"}
    assert [p.url for p in found] == [
        MALARIA,
        f"{url}#community-health-workers-in-uganda",
        f"{url}#hand-hygiene-in-district-hospitals",
        f"{url}#clean-water-for-rural-clinics",
    ]
    uganda, hygiene = found[1], found[2]
    assert (uganda.start_date, uganda.end_date) == (date(2019, 1, 1), date(2022, 6, 30))
    assert uganda.countries == ("UG",)
    assert hygiene.countries == ("GH",)  # "Tamale, Ghana"
    assert hygiene.keywords == ("infection prevention", "WASH")
    assert jsonld_projects(page("listing-inline-jsonld.html"), url) == found


def test_the_listing_page_itself_has_no_json_ld_projects() -> None:
    assert jsonld_projects(page("listing-page-1.html"), LISTING) == []


def test_charset_from_the_meta_element_or_the_content_type() -> None:
    html = '<meta charset="windows-1252"><h1>Santé maternelle à Dakar</h1>'.encode("cp1252")
    assert only(extract_projects(html, WATER, config())).title == "Santé maternelle à Dakar"
    bare = "<h1>Santé maternelle à Dakar</h1>".encode("cp1252")
    found = only(extract_projects(bare, WATER, config(), charset="windows-1252"))
    assert found.title == "Santé maternelle à Dakar"


@pytest.mark.parametrize(
    "html",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"<html><body><h1>Half a page</h1><p class='x",
        b"</div></div><table><tr><td><h1>Odd</td></h1>",
        b'<script type="application/ld+json">[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[</script>',
        b'<script type="application/ld+json">' + b"[" * 100_000 + b"</script>",
    ],
)
def test_broken_input_does_not_crash(html: bytes) -> None:
    assert isinstance(extract_projects(html, WATER, config()), list)
    assert isinstance(project_links(html, LISTING, config()), list)


def test_void_elements_without_a_slash_keep_their_attributes_and_siblings() -> None:
    # they are rewritten as <br /> before parsing (bs4's html.parser builder is quadratic in them)
    html = (
        b"""<main><h1>Eye care<br>in Sylhet</h1><img alt=logo src=x.png><link-card>
    <a href="/projects/eye-care">more</a></link-card>"""
        + b"<br>" * 20_000
        + b"""
    <p>Cataract surgery camps and training of ophthalmic assistants in four districts.</p></main>"""
    )
    found = only(extract_projects(html, WATER, config()))
    assert found.title == "Eye care in Sylhet"
    assert found.description.startswith("Cataract surgery camps")
    assert project_links(html, LISTING, config()) == [f"{BASE}/projects/eye-care"]


def test_pages_over_five_megabytes_are_refused() -> None:
    html = b"<h1>Big</h1>" + b" " * MAX_PAGE_BYTES
    with pytest.raises(PageRejected, match="page larger than 5 MB"):
        extract_projects(html, WATER, config())


def test_dates_written_in_text() -> None:
    spans = dates_in_text("From 3rd March 2021 to Feb. 2023; review 2024-07-15, closing 2025")
    assert spans == [
        (date(2021, 3, 3), date(2021, 3, 3)),
        (date(2023, 2, 1), date(2023, 2, 28)),
        (date(2024, 7, 15), date(2024, 7, 15)),
        (date(2025, 1, 1), date(2025, 12, 31)),
    ]
    assert dates_in_text("June 5, 2020 and 31 February 2021") == [(date(2020, 6, 5),) * 2]


# --- records ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://WWW.Example-Health.org:443/projects/X/#top",
            "https://www.example-health.org/projects/X",
        ),
        ("http://example.org/", "http://example.org"),
        ("http://example.org:8080/a/?id=3", "http://example.org:8080/a?id=3"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_to_project_record() -> None:
    found = only(extract_projects(page("project-jsonld.html"), MALARIA, config()))
    record = to_project_record(found, member_external_id="org-7", source="website")
    assert record.source == "website"
    assert record.external_id == "https://www.example-health.org/projects/malaria-nets-kenya"
    assert record.source_url == MALARIA
    assert (record.title, record.year, record.countries) == (found.title, 2021, ("KE", "UG"))
    assert record.keywords == found.keywords
    assert [(p.org_external_id, p.role, p.source_role) for p in record.participants] == [
        ("org-7", "lead", "website")
    ]
    # a fragment only comes from extract_projects telling apart projects that share one page
    shared = PageProject(
        url="HTTPS://WWW.EXAMPLE-HEALTH.ORG/our-work/#a", title="A", found_by="html"
    )
    record = to_project_record(shared, member_external_id="m", source="s")
    assert record.external_id == f"{BASE}/our-work#a"


# --- crawl --------------------------------------------------------------------------------------


def crawl(site: FakeSite, **changes: object) -> CrawlResult:
    return crawl_site(config(**SELECTORS, **changes), site, member_external_id="org-7")


def test_crawl_the_example_site() -> None:
    site = example_site()
    done: list[int] = []
    result = crawl_site(config(**SELECTORS), site, member_external_id="org-7", progress=done.append)

    by_title = {p.title: p for p in result.projects}
    assert list(by_title) == [
        "Malaria nets in Kenya",
        "Maternal health in Tanzania",
        "Clean water for rural clinics",
        "Mobile TB screening in Malawi",
        "Vaccine cold chain in Nepal",
    ]
    assert [p.external_id for p in result.projects] == [
        f"{BASE}/projects/malaria-nets-kenya",
        f"{BASE}/projects/maternal-health-tanzania",
        f"{BASE}/projects/clean-water-clinics",
        f"{BASE}/projects/tb-screening-malawi",
        f"{BASE}/projects/vaccine-cold-chain-nepal",
    ]
    assert by_title["Mobile TB screening in Malawi"].countries == ("MW", "ZM", "MZ")
    assert by_title["Maternal health in Tanzania"].start_date == date(2022, 1, 1)
    assert {p.source for p in result.projects} == {"website"}
    assert result.rejected == [
        f"{ARCHIVED}: no project found",
        f"{CHOLERA}: HTTP 503",
        f"{REPORT}: not an HTML page (application/pdf)",
    ]
    assert result.pages_fetched == 9  # 2 listing pages, 7 project pages (the 503 not counted)
    assert result.links_skipped == 0
    assert site.calls.count(LISTING) == 1 and site.calls.count(PAGE_2) == 1
    assert done == list(range(1, 9))


def test_crawling_twice_gives_the_same_records() -> None:
    assert crawl(example_site()).projects == crawl(example_site()).projects


def test_crawl_follows_at_most_max_pages_project_pages() -> None:
    site = example_site()
    result = crawl(site, max_pages=2)
    assert [p.title for p in result.projects] == [
        "Malaria nets in Kenya",
        "Maternal health in Tanzania",
    ]
    assert site.calls == [LISTING, PAGE_2, MALARIA, MATERNAL]
    assert result.links_skipped == 6


def test_crawl_without_pagination_reads_the_first_listing_page_only() -> None:
    site = example_site()
    result = crawl(site, follow_pagination=False)
    assert PAGE_2 not in site.calls
    assert len(result.projects) == 4 and result.rejected == []


def test_a_listing_that_cannot_be_fetched_fails_the_crawl() -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        crawl(FakeSite({}))
    pdf = FakeSite({LISTING: FakePage(LISTING, b"%PDF-1.4", "application/pdf")})
    with pytest.raises(PageRejected, match=r"not an HTML page \(application/pdf\)"):
        crawl(pdf)


def test_a_later_listing_page_that_fails_is_rejected_and_the_crawl_goes_on() -> None:
    site = example_site()
    site.pages[PAGE_2] = FetchError(PAGE_2, "timed out")
    result = crawl(site)
    assert f"{PAGE_2}: timed out" in result.rejected
    assert len(result.projects) == 4


def test_a_project_page_over_five_megabytes_is_rejected() -> None:
    site = example_site()
    site.pages[WATER] = b"<h1>Huge</h1>" + b" " * MAX_PAGE_BYTES
    result = crawl(site)
    assert f"{WATER}: page larger than 5 MB" in result.rejected
    assert "Clean water for rural clinics" not in {p.title for p in result.projects}


def test_without_a_content_type_the_body_decides_whether_a_page_is_html() -> None:
    site = example_site()
    site.pages[MALARIA] = FakePage(MALARIA, page("project-jsonld.html"), "")
    site.pages[REPORT] = FakePage(REPORT, b"%PDF-1.7", "")
    result = crawl(site)
    assert "Malaria nets in Kenya" in {p.title for p in result.projects}
    assert f"{REPORT}: not an HTML page (unknown type)" in result.rejected


def listing(number: int, next_href: str | None) -> bytes:
    more = f'<a rel="next" href="{next_href}">Next</a>' if next_href else ""
    return f'<main><a href="/projects/p{number}">P{number}</a>{more}</main>'.encode()


def project_calls(site: FakeSite) -> list[str]:
    return [url.removeprefix(LISTING) for url in site.calls if url.startswith(f"{LISTING}p")]


def test_pagination_that_loops_back_is_read_once() -> None:
    site = FakeSite(
        {
            LISTING: listing(1, "?page=2"),
            f"{LISTING}?page=2": listing(2, "?page=3"),
            f"{LISTING}?page=3": listing(3, "/projects/"),  # back to the first page
        }
    )
    result = crawl(site)
    assert site.calls[:3] == [LISTING, f"{LISTING}?page=2", f"{LISTING}?page=3"]
    assert project_calls(site) == ["p1", "p2", "p3"]
    assert len(result.rejected) == 3  # the project pages p1-p3 are not in the fake site


def test_pagination_stops_after_ten_listing_pages() -> None:
    pages: dict[str, FakePage | FetchError | bytes] = {LISTING: listing(0, "?page=1")}
    for number in range(1, 30):
        pages[f"{LISTING}?page={number}"] = listing(number, f"?page={number + 1}")
    site = FakeSite(pages)
    crawl(site, max_pages=3)
    assert MAX_LISTING_PAGES == 10
    assert len(site.calls) == 10 + 3
    assert project_calls(site) == ["p0", "p1", "p2"]


def test_projects_on_the_listing_itself_count_once() -> None:
    our_work = f"{BASE}/our-work/"
    site = FakeSite(
        {
            our_work: page("listing-inline-jsonld.html"),
            MALARIA: page("project-jsonld.html"),
            WATER: page("project-opengraph.html"),
        }
    )
    result = crawl_site(config(start_url=our_work), site, member_external_id="org-7")
    assert [(p.title, p.external_id) for p in result.projects] == [
        ("Malaria nets in Kenya", f"{BASE}/projects/malaria-nets-kenya"),  # the page's, full
        ("Clean water for rural clinics", f"{BASE}/projects/clean-water-clinics"),
        (
            "Community health workers in Uganda",
            f"{BASE}/our-work#community-health-workers-in-uganda",
        ),
        (
            "Hand hygiene in district hospitals",
            f"{BASE}/our-work#hand-hygiene-in-district-hospitals",
        ),
    ]
    assert result.projects[0].start_date == date(2021, 3, 1)
    assert result.rejected == []


# --- configuration ------------------------------------------------------------------------------


def test_config_round_trip() -> None:
    original = config(**SELECTORS, link_pattern=r"/projects/\w+", max_pages=7)
    assert SiteConfig.from_dict(original.to_dict()) == original
    assert original.to_dict()["follow_pagination"] is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start_url": LISTING, "selector": "h1", "depth": 2}, "unknown key.*depth, selector"),
        ({"link_pattern": "x"}, "start_url is required"),
        ({"start_url": "ftp://example.org/"}, "start_url: expected an http"),
        ({"start_url": "/projects/"}, "start_url: expected an http"),
        ({"start_url": LISTING, "link_pattern": "(unclosed"}, "link_pattern: invalid regex"),
        ({"start_url": LISTING, "title_selector": "h1[["}, "title_selector: invalid CSS"),
        ({"start_url": LISTING, "date_selector": "::bogus"}, "date_selector: invalid CSS"),
        ({"start_url": LISTING, "max_pages": "5"}, "max_pages: expected an integer"),
        ({"start_url": LISTING, "max_pages": True}, "max_pages: expected an integer"),
        ({"start_url": LISTING, "max_pages": 0}, "max_pages: expected a positive"),
        ({"start_url": LISTING, "follow_pagination": "yes"}, "follow_pagination: expected true"),
        ({"start_url": 3}, "start_url: expected a string"),
    ],
)
def test_config_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SiteConfig.from_dict(data)


def test_fake_fetch_matches_the_protocol() -> None:
    fetch: Callable[[str], FakePage] = example_site()
    assert fetch(LISTING).content.startswith(b"<!DOCTYPE html>")
