"""Domain errors of the importers; the CLI and the API translate them once, at their edge."""

from __future__ import annotations

from pathlib import Path


class ImportFailed(Exception):
    """An import that was refused as a whole: nothing of it was stored."""


class SourceFileError(ImportFailed):
    """A problem at a known place in a source file, reported as `FILE:LINE: reason`."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class FetchError(ImportFailed):
    """A URL that could not be fetched: refused, unreachable, too slow, too large or an HTTP error.

    `reason` is one short human-readable phrase; `url` is the URL that failed (after redirects).
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class BlockedURL(FetchError):
    """Refused before any request: a scheme other than http(s), or a host that resolves to a
    loopback, private, link-local, multicast, reserved or cloud-metadata address (SSRF guard)."""


class RobotsDisallowed(FetchError):
    """The site's robots.txt disallows our User-Agent from this URL."""


class ResponseTooLarge(FetchError):
    """The body exceeded the size cap; reading stopped at the cap."""
