"""A small real HTTP server for tests of networked code: routes in, recorded requests out.

    server = LocalServer().start()          # or the `local_server` fixture (conftest.py)
    server.routes["/data.xml"] = Route(body=b"<x/>", headers={"Content-Type": "text/xml"})
    server.routes["/file.csv"] = Route.from_file(FIXTURES / "file.csv")
    server.routes["/old"] = Route.redirect("/data.xml")
    server.routes["/flaky"] = Route(handler=sequence(Route(status=503), Route(body=b"ok")))
    fetcher.get(server.url("/data.xml"))
    assert server.paths() == ["/robots.txt", "/data.xml"]
    server.stop()

It is an `http.server.ThreadingHTTPServer` on 127.0.0.1 (a free port), serving in a daemon thread,
HTTP/1.1. `routes` maps a path (matched with its query string first, then without) to a `Route`;
unknown paths, /robots.txt included unless routed, answer 404. Every request is recorded in
`requests` (method, path with query, lower-case headers) before it is answered.
"""

from __future__ import annotations

import contextlib
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType


@dataclass
class Route:
    """What the server answers for one path.

    - `status`, `headers`, `body`: the response. A Content-Length is added unless `chunked` is set
      (then the body is sent with chunked transfer encoding, no length) or `headers` has one.
    - `delay`: seconds to wait before sending anything (to provoke a read timeout).
    - `drip`: seconds to wait before each `chunk_size` piece of the body (a slow server).
    - `handler`: called with the request's lower-case headers, returns the Route to answer with
      (conditional requests, changing answers); the other fields are then ignored.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    chunk_size: int = 64 * 1024
    chunked: bool = False
    handler: Callable[[Mapping[str, str]], Route] | None = None

    @classmethod
    def from_file(cls, path: Path, content_type: str | None = None) -> Route:
        """Serve a file's bytes, with a Content-Type guessed from its name unless given."""
        guessed = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(body=path.read_bytes(), headers={"Content-Type": guessed})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Route:
        return cls(status=status, headers={"Location": location})


def sequence(*routes: Route) -> Callable[[Mapping[str, str]], Route]:
    """A handler answering with the given routes in turn, the last one repeated forever."""
    remaining = list(routes)
    lock = threading.Lock()

    def handler(_headers: Mapping[str, str]) -> Route:
        with lock:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return handler


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names


class LocalServer:
    """See the module docstring. `origin` is `http://127.0.0.1:PORT`; `url(path)` a full URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalServer:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + (path if path.startswith("/") else "/" + path)

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [request.path for request in self.requests]

    def find(self, path: str) -> Route | None:
        return self.routes.get(path) or self.routes.get(path.split("?", 1)[0])


def _make_handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            server.requests.append(Request(self.command, self.path, headers))
            route = server.find(self.path) or Route(status=404, body=b"not found")
            if route.handler is not None:
                route = route.handler(headers)
            try:
                _answer(self, route)
            except ConnectionError:
                self.close_connection = True  # the client gave up (timeout, size cap)

        def handle(self) -> None:
            with contextlib.suppress(ConnectionError):
                super().handle()

        def finish(self) -> None:
            with contextlib.suppress(ConnectionError):
                super().finish()

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


def _answer(handler: BaseHTTPRequestHandler, route: Route) -> None:
    if route.delay:
        time.sleep(route.delay)
    handler.send_response(route.status)
    names = {name.lower() for name in route.headers}
    for name, value in route.headers.items():
        handler.send_header(name, value)
    if route.chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    elif "content-length" not in names:
        handler.send_header("Content-Length", str(len(route.body)))
    handler.end_headers()
    for piece in _pieces(route.body, route.chunk_size):
        if route.drip:
            time.sleep(route.drip)
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if route.chunked else piece)
        handler.wfile.flush()
    if route.chunked:
        handler.wfile.write(b"0\r\n\r\n")


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]
