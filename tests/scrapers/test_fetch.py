"""The fetcher against a real local HTTP server: guard, robots, retries, limits, cache, rate."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from scrapers import fetch
from scrapers.errors import BlockedURL, FetchError, ResponseTooLarge, RobotsDisallowed
from scrapers.fetch import Fetcher, FetchPolicy, HostRateLimiter, Response, check_url
from tests.scrapers.local_server import LocalServer, Route, sequence

MakeFetcher = Callable[..., Fetcher]


class FakeTime:
    """An injectable clock whose sleeps advance it instantly, recording each wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


# --- plain fetches ----------------------------------------------------------------------------


def test_get_returns_body_headers_and_sends_user_agent(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    local_server.routes["/data"] = Route(
        body=b"<xml/>", headers={"Content-Type": "Application/XML; charset=utf-8", "X-Thing": "1"}
    )

    response = fetcher.get(local_server.url("/data"))

    assert response.status == 200
    assert response.content == b"<xml/>"
    assert response.content_type == "application/xml"
    assert response.headers["x-thing"] == "1"
    assert response.url == local_server.url("/data")
    assert not response.from_cache
    assert local_server.paths() == ["/robots.txt", "/data"]
    for request in local_server.requests:
        assert request.headers["user-agent"] == FetchPolicy().user_agent
        assert request.headers["user-agent"].startswith("healthmatch/")


def test_content_type_is_empty_without_header() -> None:
    assert Response("http://x/", 200, b"", {}).content_type == ""


# --- SSRF guard -------------------------------------------------------------------------------


def test_redirect_chain_is_followed(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.routes["/a"] = Route.redirect("/b", 301)
    local_server.routes["/b"] = Route.redirect(local_server.url("/dir/c"), 307)
    local_server.routes["/dir/c"] = Route.redirect("d?x=1")  # relative to /dir/
    local_server.routes["/dir/d"] = Route(body=b"final")

    response = fetcher.get(local_server.url("/a"))

    assert response.content == b"final"
    assert response.url == local_server.url("/dir/d?x=1")
    assert local_server.paths() == ["/robots.txt", "/a", "/b", "/dir/c", "/dir/d?x=1"]


def test_redirect_to_another_local_port_is_blocked(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    with LocalServer() as other:
        other.routes["/secret"] = Route(body=b"internal")
        local_server.routes["/go"] = Route.redirect(other.url("/secret"))

        with pytest.raises(BlockedURL, match=r"non-public address 127\.0\.0\.1"):
            fetcher.get(local_server.url("/go"))

        assert other.requests == []


def test_redirect_to_cloud_metadata_is_blocked(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.routes["/go"] = Route.redirect("http://169.254.169.254/latest/meta-data/")

    with pytest.raises(BlockedURL) as raised:
        fetcher.get(local_server.url("/go"))

    assert raised.value.url == "http://169.254.169.254/latest/meta-data/"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://0/",
        "http://224.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://user:secret@example.org/",
        "ftp://example.org/file",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
    ],
)
def test_non_public_and_non_http_urls_are_refused_without_a_request(
    url: str, local_server: LocalServer, fetcher: Fetcher
) -> None:
    with pytest.raises(BlockedURL):
        fetcher.get(url)

    assert local_server.requests == []


def test_guard_allows_public_addresses_and_listed_origins() -> None:
    check_url("http://93.184.215.14/page")  # a literal: resolved without DNS
    check_url("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/")
    check_url("http://127.0.0.1/x", {"http://127.0.0.1:80"})  # default port normalised
    check_url("HTTP://127.0.0.1:8123/x", {"http://127.0.0.1:8123"})
    with pytest.raises(BlockedURL):
        check_url("http://127.0.0.1:8124/x", {"http://127.0.0.1:8123"})


def test_unresolvable_host_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="cannot resolve host") as raised:
        check_url("http://no-such-host.invalid/")
    assert not isinstance(raised.value, BlockedURL)


def test_dns_rebinding_to_a_private_peer_is_refused(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name "resolved" to a public address at check time, but the connection went to
    127.0.0.1: the peer check refuses the response (the request did reach the server)."""
    local_server.routes["/"] = Route(body=b"internal")
    monkeypatch.setattr(fetch, "_resolve", lambda host, port: ["93.184.215.14"])
    policy = FetchPolicy(respect_robots=False, min_interval=0, retries=0, timeout=2)

    with Fetcher(policy) as fetcher, pytest.raises(BlockedURL, match="connected to non-public"):
        fetcher.get(local_server.url("/"))


def test_too_many_redirects(local_server: LocalServer, make_fetcher: MakeFetcher) -> None:
    local_server.routes["/loop"] = Route.redirect("/loop")

    with pytest.raises(FetchError, match="too many redirects"):
        make_fetcher(max_redirects=3).get(local_server.url("/loop"))

    assert local_server.paths() == ["/robots.txt"] + ["/loop"] * 4


# --- robots.txt -------------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nDisallow: /all-private\n\nUser-agent: healthmatch\nDisallow: /private\n"


def test_robots_disallow_prevents_the_request(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.routes["/robots.txt"] = Route(body=ROBOTS)
    local_server.routes["/private/page"] = Route(body=b"secret")

    with pytest.raises(RobotsDisallowed):
        fetcher.get(local_server.url("/private/page"))

    assert local_server.paths() == ["/robots.txt"]
    assert local_server.requests[0].headers["user-agent"] == FetchPolicy().user_agent


def test_robots_is_fetched_once_per_origin(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.routes["/robots.txt"] = Route(body=ROBOTS)
    local_server.routes["/a"] = Route(body=b"a")
    local_server.routes["/all-private"] = Route(body=b"only for others")  # our group applies

    assert fetcher.get(local_server.url("/a")).content == b"a"
    assert fetcher.get(local_server.url("/all-private")).content == b"only for others"

    assert local_server.paths() == ["/robots.txt", "/a", "/all-private"]


def test_robots_applies_to_redirect_targets(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.routes["/robots.txt"] = Route(body=ROBOTS)
    local_server.routes["/open"] = Route.redirect("/private/x")

    with pytest.raises(RobotsDisallowed):
        fetcher.get(local_server.url("/open"))

    assert "/private/x" not in local_server.paths()


def test_missing_robots_allows_everything(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.routes["/private/page"] = Route(body=b"fine")

    assert fetcher.get(local_server.url("/private/page")).content == b"fine"


def test_robots_server_error_disallows_everything(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    local_server.routes["/robots.txt"] = Route(status=500)
    local_server.routes["/page"] = Route(body=b"x")

    with pytest.raises(RobotsDisallowed, match=r"robots\.txt unavailable"):
        fetcher.get(local_server.url("/page"))

    assert "/page" not in local_server.paths()


def test_robots_can_be_ignored(local_server: LocalServer, make_fetcher: MakeFetcher) -> None:
    local_server.routes["/robots.txt"] = Route(body=ROBOTS)
    local_server.routes["/private/page"] = Route(body=b"x")

    assert make_fetcher(respect_robots=False).get(local_server.url("/private/page")).content
    assert local_server.paths() == ["/private/page"]


# --- retries ----------------------------------------------------------------------------------


def test_503_then_200_is_retried(local_server: LocalServer, make_fetcher: MakeFetcher) -> None:
    fake = FakeTime()
    local_server.routes["/flaky"] = Route(handler=sequence(Route(status=503), Route(body=b"ok")))

    response = make_fetcher(respect_robots=False, backoff=0.5, sleep=fake.sleep).get(
        local_server.url("/flaky")
    )

    assert response.content == b"ok"
    assert local_server.paths() == ["/flaky", "/flaky"]
    assert fake.sleeps == [0.5]


def test_503_forever_fails_after_all_attempts(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    fake = FakeTime()
    local_server.routes["/down"] = Route(status=503)
    fetcher = make_fetcher(respect_robots=False, retries=2, backoff=0.5, sleep=fake.sleep)

    with pytest.raises(FetchError, match="HTTP 503 Service Unavailable"):
        fetcher.get(local_server.url("/down"))

    assert local_server.paths() == ["/down"] * 3
    assert fake.sleeps == [0.5, 1.0]  # doubled


def test_retry_after_is_honoured_and_capped(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    fake = FakeTime()
    local_server.routes["/busy"] = Route(
        handler=sequence(
            Route(status=429, headers={"Retry-After": "7"}),
            Route(status=503, headers={"Retry-After": "3600"}),
            Route(body=b"ok"),
        )
    )

    response = make_fetcher(respect_robots=False, sleep=fake.sleep).get(local_server.url("/busy"))

    assert response.content == b"ok"
    assert fake.sleeps == [7.0, 30.0]


def test_404_is_not_retried(local_server: LocalServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as raised:
        fetcher.get(local_server.url("/missing"))

    assert raised.value.reason == "HTTP 404 Not Found"
    assert raised.value.url == local_server.url("/missing")
    assert local_server.paths() == ["/robots.txt", "/missing"]


def test_connection_refused_is_a_fetch_error(make_fetcher: MakeFetcher) -> None:
    with LocalServer() as gone:
        origin, url = gone.origin, gone.url("/x")
    fetcher = make_fetcher(allowed_origins=frozenset({origin}), respect_robots=False)

    with pytest.raises(FetchError, match="cannot connect"):
        fetcher.get(url)


# --- limits -----------------------------------------------------------------------------------


def test_slow_server_times_out_in_bounded_time(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    local_server.routes["/slow"] = Route(body=b"late", delay=3.0)
    fetcher = make_fetcher(respect_robots=False, timeout=0.5, retries=1)

    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.5 s"):
        fetcher.get(local_server.url("/slow"))

    assert time.monotonic() - started < 2.5
    assert local_server.paths() == ["/slow", "/slow"]  # timeouts are retried


def test_dripping_server_hits_the_total_timeout(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    local_server.routes["/drip"] = Route(body=b"x" * 40, drip=0.05, chunk_size=1, chunked=True)
    fetcher = make_fetcher(respect_robots=False, timeout=0.5, total_timeout=0.4)

    started = time.monotonic()
    with pytest.raises(FetchError, match="whole response"):
        fetcher.get(local_server.url("/drip"))

    assert time.monotonic() - started < 1.5


def test_declared_length_above_cap_is_refused_before_reading(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    # Reading this body would take 2 s; the refusal comes from the header alone.
    body = b"x" * (2 * 1024 * 1024)
    local_server.routes["/big"] = Route(body=body, drip=0.06, chunk_size=64 * 1024)
    fetcher = make_fetcher(respect_robots=False, max_bytes=1024 * 1024)

    started = time.monotonic()
    with pytest.raises(ResponseTooLarge, match="Content-Length 2097152"):
        fetcher.get(local_server.url("/big"))

    assert time.monotonic() - started < 1.0


def test_streamed_body_above_cap_is_refused(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    local_server.routes["/big"] = Route(body=b"x" * (5 * 1024 * 1024), chunked=True)
    fetcher = make_fetcher(respect_robots=False, max_bytes=1024 * 1024)

    with pytest.raises(ResponseTooLarge, match="body exceeds the cap of 1048576 bytes"):
        fetcher.get(local_server.url("/big"))


def test_body_at_the_cap_is_accepted(local_server: LocalServer, make_fetcher: MakeFetcher) -> None:
    local_server.routes["/exact"] = Route(body=b"y" * 1000, chunked=True, chunk_size=100)

    response = make_fetcher(respect_robots=False, max_bytes=1000).get(local_server.url("/exact"))

    assert len(response.content) == 1000


# --- conditional-GET cache --------------------------------------------------------------------


def _conditional(
    validator_header: str, request_header: str, value: str
) -> Callable[[Mapping[str, str]], Route]:
    def handler(headers: Mapping[str, str]) -> Route:
        if headers.get(request_header) == value:
            return Route(status=304, headers={validator_header: value})
        return Route(body=b"payload", headers={validator_header: value, "Content-Type": "text/csv"})

    return handler


@pytest.mark.parametrize(
    ("validator", "request_header", "value"),
    [
        ("ETag", "if-none-match", '"v1"'),
        ("Last-Modified", "if-modified-since", "Wed, 01 Jan 2025 00:00:00 GMT"),
    ],
)
def test_conditional_get_revalidates_the_cache(
    validator: str,
    request_header: str,
    value: str,
    local_server: LocalServer,
    make_fetcher: MakeFetcher,
) -> None:
    local_server.routes["/data.csv"] = Route(handler=_conditional(validator, request_header, value))
    url = local_server.url("/data.csv")

    first = make_fetcher().get(url)
    second = make_fetcher().get(url)  # a new Fetcher: the cache is on disk

    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.content == first.content == b"payload"
    assert second.status == 200
    assert second.content_type == "text/csv"
    data_requests = [r for r in local_server.requests if r.path == "/data.csv"]
    assert request_header not in data_requests[0].headers
    assert data_requests[1].headers[request_header] == value


def test_corrupt_cache_entry_is_ignored(
    local_server: LocalServer, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    local_server.routes["/data"] = Route(handler=_conditional("ETag", "if-none-match", '"v1"'))
    url = local_server.url("/data")
    make_fetcher().get(url)
    (entry,) = (tmp_path / "http-cache").iterdir()
    entry.write_bytes(entry.read_bytes()[:-3] + b"XYZ")  # same length, wrong checksum

    response = make_fetcher().get(url)

    assert (response.from_cache, response.content) == (False, b"payload")
    assert "if-none-match" not in local_server.requests[-1].headers
    entry.write_bytes(b"\x00not json at all")
    assert make_fetcher().get(url).content == b"payload"
    assert make_fetcher().get(url).from_cache  # rewritten, valid again


def test_responses_without_validator_are_not_cached(
    local_server: LocalServer, make_fetcher: MakeFetcher, tmp_path: Path
) -> None:
    local_server.routes["/plain"] = Route(body=b"no validator")

    make_fetcher().get(local_server.url("/plain"))

    assert not (tmp_path / "http-cache").exists() or not any((tmp_path / "http-cache").iterdir())


# --- rate limit -------------------------------------------------------------------------------


def test_rate_limiter_sleeps_the_remaining_interval_per_host() -> None:
    fake = FakeTime()
    limiter = HostRateLimiter(1.0, sleep=fake.sleep, clock=fake.clock)

    limiter.wait("a.example")
    fake.now += 0.25
    limiter.wait("a.example")  # 0.75 s left
    limiter.wait("b.example")  # another host: no wait
    fake.now += 5
    limiter.wait("a.example")  # long enough ago

    assert fake.sleeps == [0.75]


def test_fetcher_spaces_requests_to_the_same_host(
    local_server: LocalServer, make_fetcher: MakeFetcher
) -> None:
    fake = FakeTime()
    local_server.routes["/a"] = Route(body=b"a")
    fetcher = make_fetcher(min_interval=1.0, sleep=fake.sleep, clock=fake.clock)

    fetcher.get(local_server.url("/a"))  # robots.txt, then /a one interval later
    fetcher.get(local_server.url("/a"))

    assert fake.sleeps == [1.0, 1.0]
