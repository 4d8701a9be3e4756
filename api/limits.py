"""Request body limits, enforced before a route reads the body (413 as problem+json)."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on as a 413, not a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit} bytes")


def _problem_body(limit: int) -> bytes:
    body = {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": f"the request body exceeds the limit of {limit} bytes",
    }
    return json.dumps(body).encode()


class BodyLimit:
    """Refuse bodies over `default` bytes (over `uploads` bytes under the `upload_prefixes`).

    A declared Content-Length over the limit is refused before anything is read; a chunked body is
    counted as it arrives and cut off once it passes the limit.
    """

    def __init__(
        self, app: ASGIApp, *, default: int, uploads: int, upload_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads
        self.upload_prefixes = upload_prefixes

    def _limit(self, path: str) -> int:
        return self.uploads if path.startswith(self.upload_prefixes) else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await _send_413(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = _problem_body(limit)
    headers: list[Any] = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
