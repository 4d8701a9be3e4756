"""Where an import reads from: a local path, or a URL fetched first into a temporary file.

Every `healthmatch import KIND PATH|URL` goes through `local_copy`, so the parsers only ever see
files: a URL is fetched whole (through the guarded `Fetcher`: size cap, timeouts, robots.txt,
private addresses refused) before the database transaction starts, and the copy is removed
afterwards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from scrapers.fetch import Fetcher


def is_url(location: str) -> bool:
    return location.strip().lower().startswith(("http://", "https://"))


def url_file_name(url: str, fallback: str = "download") -> str:
    """The last path segment of `url` (``.../GrantsDBExtract.zip`` -> ``GrantsDBExtract.zip``),
    reduced to safe characters, so that parsers that look at suffixes still can."""
    name = PurePosixPath(urlsplit(url).path).name
    safe = "".join(c for c in name if c.isalnum() or c in "._-")
    return safe.lstrip(".") or fallback


@contextmanager
def local_copy(location: str, fetcher: Fetcher) -> Iterator[Path]:
    """`location` as a local path: a path as given, a URL fetched into a temporary folder."""
    if not is_url(location):
        yield Path(location)
        return
    response = fetcher.get(location.strip())
    with tempfile.TemporaryDirectory(prefix="healthmatch-") as folder:
        path = Path(folder) / url_file_name(response.url)
        path.write_bytes(response.content)
        yield path
