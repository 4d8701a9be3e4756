"""The one HTTP fetcher every networked importer uses: polite, bounded and guarded.

`Fetcher(policy).get(url)` returns a `Response` or raises a `FetchError` (or one of its subclasses
from `scrapers.errors`). The pieces, each a small function or class below:

- SSRF guard (`check_url`): only http(s) URLs without userinfo, whose host resolves (through
  `socket.getaddrinfo`, which also decodes odd IPv4 literals such as `2130706433` or `0x7f.1`)
  only to public addresses: loopback, private, shared (100.64/10), link-local (and with it the
  cloud metadata address 169.254.169.254), multicast, reserved and unspecified addresses are
  refused, also when wrapped in IPv4-mapped, 6to4, Teredo or NAT64 IPv6 forms. Origins listed in
  `FetchPolicy.allowed_origins` skip the address check (tests, a local mirror). Redirects are
  followed by hand, so every hop is checked again.
  DNS rebinding: the address is *not* pinned; httpx resolves the name again when it connects, so a
  hostile DNS server could answer differently the second time. As a second line, the peer address
  of the actual connection is checked before any byte of the body is read, and the response is
  refused when it is not public. The request itself may then already have reached that address
  (a bodiless GET with our headers only), which is the remaining limitation. Proxies from the
  environment are not used (`trust_env=False`): the guard checks the address we connect to.
- robots.txt (`RobotsCache`): fetched once per origin through the same guarded path (retries,
  redirects, rate limit; no robots check of its own) and kept for the life of the Fetcher; rules
  for the token "healthmatch" apply. 2xx: parsed with `urllib.robotparser`; 4xx other than 429:
  no rules, all allowed; 429, 5xx or unreachable: everything disallowed ("robots.txt
  unavailable"), as RFC 9309 and Google's crawler do.
- Retries: connect errors, dropped connections, timeouts and HTTP 429/502/503/504 are retried
  `retries` times, waiting `backoff`, then twice that, ... or the server's `Retry-After` (seconds
  form, at most 30 s). Other statuses are not retried; a non-2xx final status raises
  `FetchError(url, "HTTP 404 Not Found")`.
- Limits: `timeout` for connecting and for each read; `total_timeout` for the whole response (a
  server dribbling bytes slowly); `max_bytes` for the body, refused early from Content-Length or
  once the streamed body passes it (`ResponseTooLarge`), so memory stays bounded by the cap. The
  cap counts decoded bytes (after gzip), which also bounds compression bombs. The total timeout
  is checked between body chunks; the status line and headers are bounded by the read timeout
  (and h11's 64 KiB header limit), not by `total_timeout`.
- Per-host rate limit (`HostRateLimiter`): at least `min_interval` seconds between two requests to
  the same host, every request counted (robots.txt, redirect hops, retries).
- Conditional-GET cache (`ResponseCache`): with `cache_dir`, a 200 response carrying an ETag or a
  Last-Modified is stored (one file per URL, named by the SHA-256 of the URL, written atomically);
  the next get sends If-None-Match / If-Modified-Since and a 304 returns the stored copy with
  `from_cache=True`. An unreadable or corrupt entry is ignored and fetched again.
- Every request, robots.txt included, carries `FetchPolicy.user_agent`.

A Fetcher is not thread-safe: use one per importer run (or per thread).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.robotparser import RobotFileParser

import httpx

from scrapers.errors import BlockedURL, FetchError, ResponseTooLarge, RobotsDisallowed

log = logging.getLogger(__name__)

ROBOTS_TOKEN = "healthmatch"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
ROBOTS_MAX_BYTES = 512 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class FetchPolicy:
    """How a Fetcher behaves; the defaults suit a polite importer on the public internet."""

    user_agent: str = (
        "healthmatch/0.1 (partner matching for health networks; "
        "+https://github.com/healthmatch/healthmatch)"
    )
    timeout: float = 20.0  # seconds, connect and each read
    total_timeout: float = 120.0  # seconds for one whole response body (slow-drip guard)
    max_bytes: int = 50 * 1024 * 1024  # body cap
    retries: int = 2  # extra attempts on connect errors, timeouts, 429, 502, 503, 504
    backoff: float = 0.5  # first wait in seconds, doubled each retry
    min_interval: float = 1.0  # min seconds between two requests to the same host
    respect_robots: bool = True
    max_redirects: int = 5
    cache_dir: Path | None = None  # on-disk conditional-GET cache; None = no cache
    allowed_origins: frozenset[str] = field(default_factory=frozenset)  # exempt from SSRF guard


@dataclass(frozen=True)
class Response:
    """A successful (2xx, or 304 revalidated from the cache) response."""

    url: str  # final URL after redirects
    status: int
    content: bytes
    headers: dict[str, str]  # lower-case names
    from_cache: bool = False  # True when a 304 revalidated the cached copy

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case; "" when the server sent none."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


# --- SSRF guard -----------------------------------------------------------------------------


def origin_of(url: httpx.URL | str) -> str:
    """`scheme://host:port`, lower-case, with the default port made explicit."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    scheme = parsed.scheme.lower()
    port = parsed.port or DEFAULT_PORTS.get(scheme, 0)
    host = parsed.host.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _normalised_origins(origins: Iterable[str]) -> frozenset[str]:
    return frozenset(origin_of(origin) for origin in origins)


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam for tests simulating DNS rebinding)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses carried inside an IPv6 one (IPv4-mapped, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public_address(text: str) -> bool:
    """False for loopback, private, shared, link-local, multicast, reserved, unspecified
    addresses, and for IPv6 forms wrapping such an IPv4 address."""
    address: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(address))
    return not any(_is_special(candidate) for candidate in candidates)


def _is_special(address: IPAddress) -> bool:
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, allowed_origins: Iterable[str] = frozenset()) -> None:
    """Refuse (`BlockedURL`) a URL that must not be fetched; see the module docstring.

    An unresolvable host raises `FetchError("cannot resolve host ...")`.
    """
    parsed = _parse_url(url)
    if parsed.scheme not in DEFAULT_PORTS:
        raise BlockedURL(url, f"scheme {parsed.scheme!r} is not allowed (only http and https)")
    if parsed.userinfo:
        raise BlockedURL(url, "credentials in the URL are not allowed")
    if not parsed.host:
        raise BlockedURL(url, "no host in the URL")
    if origin_of(parsed) in _normalised_origins(allowed_origins):
        return
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    try:
        addresses = _resolve(parsed.host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(url, f"cannot resolve host {parsed.host!r} ({exc})") from exc
    for address in addresses:
        if not is_public_address(address):
            raise BlockedURL(url, f"host {parsed.host!r} resolves to non-public address {address}")


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(url, f"invalid URL ({exc})") from exc
    return parsed.copy_with(scheme=parsed.scheme.lower()) if parsed.scheme else parsed


# --- rate limit -----------------------------------------------------------------------------


class HostRateLimiter:
    """At least `min_interval` seconds between two requests to the same host."""

    def __init__(
        self, min_interval: float, *, sleep: Callable[[float], None], clock: Callable[[], float]
    ) -> None:
        self.min_interval = min_interval
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}

    def wait(self, host: str) -> None:
        """Sleep as long as needed, then record this request's time."""
        last = self._last.get(host)
        if last is not None:
            remaining = self.min_interval - (self._clock() - last)
            if remaining > 0:
                self._sleep(remaining)
        self._last[host] = self._clock()


# --- conditional-GET cache ------------------------------------------------------------------


@dataclass(frozen=True)
class CacheEntry:
    url: str  # final URL of the stored response
    headers: dict[str, str]
    content: bytes

    @property
    def validators(self) -> dict[str, str]:
        """The conditional request headers that revalidate this entry."""
        conditional: dict[str, str] = {}
        if "etag" in self.headers:
            conditional["If-None-Match"] = self.headers["etag"]
        if "last-modified" in self.headers:
            conditional["If-Modified-Since"] = self.headers["last-modified"]
        return conditional


class ResponseCache:
    """One file per URL: a JSON header line (final URL, headers, body length and SHA-256), then
    the body. Written to a temporary file and renamed, so readers never see half an entry."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, url: str) -> Path:
        return self.directory / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def load(self, url: str) -> CacheEntry | None:
        """The stored entry, or None when there is none or it is unreadable or corrupt."""
        path = self.path_for(url)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        entry = _decode_entry(data)
        if entry is None:
            log.warning("ignoring corrupt cache entry %s for %s", path, url)
        return entry

    def store(self, url: str, entry: CacheEntry) -> None:
        """Store atomically; a failure to write is logged, never fatal."""
        meta = {
            "url": entry.url,
            "headers": entry.headers,
            "length": len(entry.content),
            "sha256": hashlib.sha256(entry.content).hexdigest(),
        }
        data = json.dumps(meta).encode("utf-8") + b"\n" + entry.content
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.path_for(url), data)
        except OSError as exc:
            log.warning("could not write the cache entry for %s: %s", url, exc)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _decode_entry(data: bytes) -> CacheEntry | None:
    header, newline, content = data.partition(b"\n")
    try:
        meta: Any = json.loads(header)
    except ValueError:
        return None
    if not newline or not isinstance(meta, dict):
        return None
    url, headers = meta.get("url"), meta.get("headers")
    if not isinstance(url, str) or not isinstance(headers, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        return None
    if meta.get("length") != len(content):
        return None
    if meta.get("sha256") != hashlib.sha256(content).hexdigest():
        return None
    return CacheEntry(url=url, headers=headers, content=content)


# --- robots.txt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RobotsRules:
    """The robots.txt verdict for one origin: parsed rules, allow-all, or unavailable."""

    parser: RobotFileParser | None = None  # None and no problem: allow all
    problem: str | None = None  # set: disallow all, for this reason

    def allows(self, url: str) -> bool:
        if self.problem is not None:
            return False
        return self.parser is None or self.parser.can_fetch(ROBOTS_TOKEN, url)


def parse_robots(content: bytes) -> RobotsRules:
    parser = RobotFileParser()
    parser.parse(content.decode("utf-8", errors="replace").splitlines())
    return RobotsRules(parser=parser)


def robots_rules_for_status(status: int, reason: str) -> RobotsRules | None:
    """The verdict a non-2xx robots.txt status implies (None for 2xx: parse the body)."""
    if 200 <= status < 300:
        return None
    if 400 <= status < 500 and status != 429:
        return RobotsRules()
    return RobotsRules(problem=f"robots.txt unavailable (HTTP {status} {reason})".rstrip())


# --- the fetcher ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """One final (non-redirect) response, body read only for 2xx."""

    url: str
    status: int
    reason: str
    headers: dict[str, str]
    content: bytes
    attempts: int = 1


class _Retry(Exception):
    """A transient failure: worth another attempt after `wait` seconds (None: the backoff)."""

    def __init__(
        self, error: FetchError, raw: _Raw | None = None, wait: float | None = None
    ) -> None:
        super().__init__(error.reason)
        self.error = error
        self.raw = raw
        self.wait = wait


class Fetcher:
    """GET URLs under a `FetchPolicy`; see the module docstring. Use as a context manager."""

    def __init__(
        self,
        policy: FetchPolicy = FetchPolicy(),
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._clock = clock
        self._allowed = _normalised_origins(policy.allowed_origins)
        self._limiter = HostRateLimiter(policy.min_interval, sleep=sleep, clock=clock)
        self._robots: dict[str, RobotsRules] = {}
        self._cache = ResponseCache(policy.cache_dir) if policy.cache_dir is not None else None
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout),
            headers={"User-Agent": policy.user_agent},
            trust_env=False,
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str) -> Response:
        """The 2xx response for `url` (after redirects), or the revalidated cached copy."""
        cached = self._cache.load(url) if self._cache is not None else None
        conditional = cached.validators if cached is not None else {}
        raw = self._follow(url, conditional, self.policy.max_bytes, self.policy.respect_robots)
        if raw.status == 304 and cached is not None:
            return Response(cached.url, 200, cached.content, dict(cached.headers), from_cache=True)
        if not 200 <= raw.status < 300:
            tries = f" ({raw.attempts} attempts)" if raw.attempts > 1 else ""
            raise FetchError(raw.url, f"HTTP {raw.status} {raw.reason}".rstrip() + tries)
        if self._cache is not None and raw.status == 200:
            entry = CacheEntry(raw.url, raw.headers, raw.content)
            if entry.validators:
                self._cache.store(url, entry)
        return Response(raw.url, raw.status, raw.content, raw.headers)

    # -- redirects and robots --

    def _follow(
        self, url: str, headers: Mapping[str, str], max_bytes: int, check_robots: bool
    ) -> _Raw:
        """Request `url`, following redirects by hand: every hop is guarded (and robots-checked)."""
        current = url
        for _ in range(self.policy.max_redirects + 1):
            check_url(current, self._allowed)
            if check_robots:
                self._check_robots(current)
            raw = self._with_retries(current, headers, max_bytes)
            location = raw.headers.get("location")
            if raw.status not in REDIRECT_STATUSES or not location:
                return raw
            current = str(_parse_url(current).join(location))
        raise FetchError(url, f"too many redirects (more than {self.policy.max_redirects})")

    def _check_robots(self, url: str) -> None:
        origin = origin_of(url)
        rules = self._robots.get(origin)
        if rules is None:
            rules = self._robots[origin] = self._fetch_robots(origin)
        if not rules.allows(url):
            raise RobotsDisallowed(url, rules.problem or "disallowed by robots.txt")

    def _fetch_robots(self, origin: str) -> RobotsRules:
        robots_url = f"{origin}/robots.txt"
        try:
            raw = self._follow(robots_url, {}, min(self.policy.max_bytes, ROBOTS_MAX_BYTES), False)
        except FetchError as exc:
            log.warning("robots.txt of %s unavailable: %s", origin, exc)
            return RobotsRules(problem=f"robots.txt unavailable ({exc.reason})")
        verdict = robots_rules_for_status(raw.status, raw.reason)
        return verdict if verdict is not None else parse_robots(raw.content)

    # -- retries and single attempts --

    def _with_retries(self, url: str, headers: Mapping[str, str], max_bytes: int) -> _Raw:
        attempts = self.policy.retries + 1
        for attempt in range(attempts):
            try:
                raw = self._attempt(url, headers, max_bytes)
            except _Retry as retry:
                if attempt == attempts - 1:
                    if retry.raw is not None:
                        return _with_attempts(retry.raw, attempts)
                    raise retry.error from retry
                self._sleep(self._backoff(attempt, retry.wait))
                continue
            return _with_attempts(raw, attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        return float(self.policy.backoff * 2**attempt)

    def _attempt(self, url: str, headers: Mapping[str, str], max_bytes: int) -> _Raw:
        """One GET: transport errors become FetchError, transient ones `_Retry`."""
        self._limiter.wait(_parse_url(url).host)
        try:
            return self._stream(url, headers, max_bytes)
        except httpx.TimeoutException as exc:
            raise _Retry(FetchError(url, f"timed out after {self.policy.timeout:g} s")) from exc
        except httpx.ConnectError as exc:
            raise _Retry(FetchError(url, f"cannot connect ({exc})")) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retry(FetchError(url, f"connection lost ({exc})")) from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, f"network error ({exc})") from exc

    def _stream(self, url: str, headers: Mapping[str, str], max_bytes: int) -> _Raw:
        deadline = self._clock() + self.policy.total_timeout
        with self._client.stream("GET", url, headers=dict(headers)) as response:
            self._check_peer(url, response)
            raw = _Raw(
                url=url,
                status=response.status_code,
                reason=response.reason_phrase,
                headers={name.lower(): value for name, value in response.headers.items()},
                content=b"",
            )
            if raw.status in RETRY_STATUSES:
                error = FetchError(url, f"HTTP {raw.status} {raw.reason}".rstrip())
                raise _Retry(error, raw, _retry_after(raw.headers))
            if 200 <= raw.status < 300:
                content = self._read_body(url, response, max_bytes, deadline)
                return _Raw(raw.url, raw.status, raw.reason, raw.headers, content)
            return raw

    def _check_peer(self, url: str, response: httpx.Response) -> None:
        """Refuse a response from a non-public peer (DNS changed since `check_url`)."""
        if origin_of(url) in self._allowed:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer and not is_public_address(str(peer[0])):
            raise BlockedURL(url, f"connected to non-public address {peer[0]}")

    def _read_body(
        self, url: str, response: httpx.Response, max_bytes: int, deadline: float
    ) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(
                url, f"Content-Length {declared} bytes exceeds the cap of {max_bytes} bytes"
            )
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(url, f"body exceeds the cap of {max_bytes} bytes")
            if self._clock() > deadline:
                raise FetchError(
                    url, f"timed out after {self.policy.total_timeout:g} s (whole response)"
                )
        return bytes(body)


def _with_attempts(raw: _Raw, attempts: int) -> _Raw:
    return _Raw(raw.url, raw.status, raw.reason, raw.headers, raw.content, attempts)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The Retry-After header in its seconds form; None for the date form or none."""
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None
