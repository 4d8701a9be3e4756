"""RSS and Atom feeds: the fixture feeds, deadlines found in text, hostile and non-feed input."""

from __future__ import annotations

import hashlib
import socket
from datetime import date

import pytest

from scrapers.feeds import FeedBatch, FeedParseError, find_deadlines, parse_feed
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
RSS = FEEDS / "funding-news.rss.xml"
ATOM = FEEDS / "calls.atom.xml"
TODAY = date(2026, 6, 1)
FEED_URL = "https://foundation.example.org/funding/feed.xml"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing must never open a connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used while parsing a feed")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def rss() -> FeedBatch:
    return parse_feed(RSS.read_bytes(), source="efh-feed", feed_url=FEED_URL, today=TODAY)


def test_rss_counts_and_rejected(rss: FeedBatch) -> None:
    assert len(rss.calls) == 4
    assert rss.rejected == ["entry 5: no title and no link"]
    assert rss.notes == []


def test_rss_first_item(rss: FeedBatch) -> None:
    call = rss.calls[0]
    assert call.source == "efh-feed"
    assert call.external_id == "efh-call-2026-014"  # the guid
    assert call.title == "Call for proposals: Community health workers in East Africa"
    assert call.funder == "Example Health Foundation \u2013 Funding opportunities"
    assert call.url == "https://foundation.example.org/funding/chw-east-africa"
    assert call.opening_date == date(2026, 5, 12)
    assert call.deadlines == (date(2027, 3, 15),)
    assert call.year == 2027
    assert call.status == "open"
    assert call.keywords == ("community health", "primary care", "East Africa")
    assert call.text == (
        "We fund partnerships that train and pay community health workers in Kenya, Uganda and "
        "Tanzania.\n\nGrants of up to GBP 500,000\n\nThree years\n\n"
        "Deadline: 15 March 2027, 17:00 UK time."
    )


def test_rss_ids_deadlines_statuses_and_links(rss: FeedBatch) -> None:
    fellowships, news, amr = rss.calls[1:]
    assert (
        fellowships.external_id
        == "https://foundation.example.org/funding/maternal-fellowships-2026"
    )
    assert fellowships.deadlines == (date(2026, 1, 31),)  # 31/01/2026
    assert fellowships.status == "closed"
    assert news.external_id == "https://foundation.example.org/news/strategy-2026"  # no guid
    assert (news.deadlines, news.status, news.keywords) == ((), "open", ())
    assert amr.url == "https://foundation.example.org/funding/amr-seed-grants"  # resolved
    assert amr.deadlines == (date(2026, 6, 30),)  # "Apply by June 30, 2026"
    assert amr.keywords == ("antimicrobial resistance", "AMR")


def test_relative_links_stay_relative_without_feed_url() -> None:
    result = parse_feed(RSS.read_bytes(), source="x", today=TODAY)
    assert result.calls[3].url == "/funding/amr-seed-grants"


def test_atom_entries() -> None:
    result = parse_feed(ATOM.read_bytes(), source="council", today=TODAY)
    assert result.rejected == []
    first, second, third = result.calls
    assert first.external_id == "tag:council.example.org,2026:call-7"
    assert first.funder == "Global Health Research Council \u2013 calls"
    assert first.text == (
        "Scope\n\nConsortia of at least three countries study how health systems absorb shocks."
        "\n\nThe closing date is 2026-09-30."
    )  # the HTML content, preferred to the summary
    assert first.opening_date == date(2026, 3, 2)  # published, not updated
    assert first.deadlines == (date(2026, 9, 30),)
    assert first.keywords == ("Health systems", "resilience")  # label, else term
    assert second.title == "Digital health & data: networking grants"
    assert second.opening_date == date(2026, 5, 20)  # updated only
    assert second.deadlines == (date(2025, 3, 1),)
    assert second.status == "closed"
    assert third.deadlines == ()  # "due 02/03/2026": not a stated deadline, and ambiguous
    assert third.status == "open"


def test_deterministic_ids_and_digests() -> None:
    once = parse_feed(RSS.read_bytes(), source="x", feed_url=FEED_URL, today=TODAY)
    again = parse_feed(RSS.read_bytes(), source="x", feed_url=FEED_URL, today=TODAY)
    assert [c.digest() for c in once.calls] == [c.digest() for c in again.calls]


def test_entry_without_id_or_link_is_keyed_by_its_title_hash() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>
    <item><title>Grants for nurses</title><description>Text</description></item>
    <item><title>Grants for nurses</title><description>Again</description></item>
    </channel></rss>"""
    result = parse_feed(feed, source="x", today=TODAY)
    expected = "sha256:" + hashlib.sha256(b"Grants for nurses").hexdigest()
    assert [c.external_id for c in result.calls] == [expected]
    assert result.rejected == [f"entry 2: repeated id '{expected}' (first at entry 1)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Deadline: 15 March 2027", (date(2027, 3, 15),)),
        ("The closing date 2027-03-15 is firm.", (date(2027, 3, 15),)),
        ("The deadline for applications is 31/01/2027.", (date(2027, 1, 31),)),
        ("Please apply by Friday, 1st May 2027.", (date(2027, 5, 1),)),
        ("Applications must be submitted by Jan. 5, 2027", (date(2027, 1, 5),)),
        ("Submission deadline: 15.03.2027", (date(2027, 3, 15),)),
        ("Deadline: 02/03/2027", ()),  # day and month cannot be told apart
        ("Deadline: 31 February 2027", ()),  # impossible
        ("Published 15 March 2027. Deadline to be announced.", ()),
        ("The event takes place on 15 March 2027.", ()),
    ],
)
def test_find_deadlines(text: str, expected: tuple[date, ...]) -> None:
    assert find_deadlines(text) == expected


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<rss version="2.0"><channel><title>&lol1;</title></channel></rss>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<rss version="2.0"><channel><title>&secret;</title></channel></rss>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://evil.example/rss.dtd">
<rss version="2.0"><channel><title>t</title></channel></rss>
"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_declarations_are_refused(payload: bytes) -> None:
    with pytest.raises(FeedParseError, match=r"refused: the document declares entities"):
        parse_feed(payload, source="x")


def test_entity_declarations_in_utf16_are_refused() -> None:
    with pytest.raises(FeedParseError, match=r"refused: the document declares entities"):
        parse_feed(XXE.decode().replace('"1.0"?', '"1.0" encoding="UTF-16"?').encode("utf-16"),
                   source="x")  # fmt: skip


def test_internal_subset_and_external_dtd_are_refused() -> None:
    with pytest.raises(FeedParseError, match=r"has an internal subset"):
        parse_feed(b"<!DOCTYPE rss [ ]><rss version='2.0'><channel/></rss>", source="x")
    with pytest.raises(FeedParseError, match=r"names an external DTD"):
        parse_feed(EXTERNAL_DTD, source="x")


def test_netscape_rss_091_doctype_is_allowed() -> None:
    feed = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old funder</title><link>https://old.example.org</link>
<description>d</description><language>en</language>
<item><title>Call A</title><link>https://old.example.org/a</link></item></channel></rss>"""
    result = parse_feed(feed, source="x", today=TODAY)
    assert [(c.title, c.funder) for c in result.calls] == [("Call A", "Old funder")]


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html><html><head><title>Funding</title></head><body>Hi</body></html>",
        b"<html><body><p>Funding news</p></body></html>",
    ],
)
def test_html_pages_are_not_feeds(page: bytes) -> None:
    with pytest.raises(FeedParseError, match=r"not an RSS or Atom feed: an HTML page"):
        parse_feed(page, source="x")


def test_broken_or_empty_input_raises() -> None:
    with pytest.raises(FeedParseError, match=r"not an RSS or Atom feed"):
        parse_feed(b"just some text, no markup", source="x")
    with pytest.raises(FeedParseError, match=r"empty document"):
        parse_feed(b"  ", source="x")
    with pytest.raises(
        FeedParseError, match=r"not a well-formed RSS or Atom feed \(.*no element found\)"
    ):
        parse_feed(b"<?xml version='1.0'?><rss version='2.0'><channel><title>x", source="x")


def test_truncated_feed_with_entries_is_read_leniently() -> None:
    truncated = RSS.read_bytes().split(b"<item>\n      <title>Our new strategy")[0]
    result = parse_feed(truncated, source="x", today=TODAY)
    assert [c.external_id for c in result.calls][:1] == ["efh-call-2026-014"]
    assert result.notes and result.notes[0].startswith("the feed is not well-formed")


def test_valid_feed_without_entries() -> None:
    feed = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title></feed>'
    result = parse_feed(feed, source="x")
    assert result.calls == []
    assert result.notes == ["the feed has no entries"]
