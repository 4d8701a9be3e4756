"""A real SMTP server for tests (aiosmtpd on 127.0.0.1 and a free port) that keeps what it
receives, can refuse the next messages with a chosen reply, and can call a hook on each message.

    from tests.api.smtp_server import LocalSmtp, smtp_server_fixture  # noqa: F401

    def test_x(smtp_server: LocalSmtp) -> None:
        settings = smtp_server.settings()           # Settings pointing at it
        ...                                          # or monkeypatch.setenv(**smtp_server.env())
        smtp_server.refuse("421 4.3.2 Try later", count=2)
        [received] = smtp_server.wait_for(1)
        received.rcpt_tos, received.message()["Subject"]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from models.settings import Settings
from tests.live_server import free_port  # re-exported for the mail tests

Stage = Literal["rcpt", "data"]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # the message as received, CRLF line ends
    at: float = field(default_factory=time.monotonic)

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, _class=EmailMessage, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Refusal:
    reply: str
    count: int
    stage: Stage


class LocalSmtp:
    """The server; `start()` / `stop()`, or the `smtp_server` fixture.

    - `received`: every accepted message (a copy of the list, safe to read from any thread);
    - `refuse(reply, count, stage)`: answer `reply` (e.g. "421 4.3.2 Try later" or
      "550 5.1.1 No such user") instead of accepting the next `count` messages, at RCPT or
      at the end of DATA;
    - `on_message`: called with each accepted message, in the server's thread, before the
      client gets its 250 (a hook that kills the client leaves the message received but not
      acknowledged);
    - `auth=(user, password)`: require that login (AUTH PLAIN/LOGIN, without TLS).
    """

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        on_message: Callable[[Received], None] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.on_message = on_message
        self.auth = auth
        self.attempts = 0  # MAIL FROM commands seen (accepted or refused messages)
        self.logins: list[str] = []
        self._received: list[Received] = []
        self._refusals: list[_Refusal] = []
        self._lock = threading.Condition()
        self._controller: Controller | None = None

    # --- control ---------------------------------------------------------------------------

    def start(self) -> LocalSmtp:
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        for _ in range(5):  # the free port may be taken between asking and binding
            self.port = free_port()
            controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
            try:
                controller.start()
            except (OSError, RuntimeError):
                continue
            self._controller = controller
            return self
        raise RuntimeError("could not start the test SMTP server")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> LocalSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse(self, reply: str, count: int = 1, stage: Stage = "data") -> None:
        code = reply[:3]
        if not (code.isdigit() and code[0] in "45"):
            raise ValueError(f"a refusal is a 4xx or 5xx reply: {reply!r}")
        with self._lock:
            self._refusals.append(_Refusal(reply, count, stage))

    def settings(self, **overrides: Any) -> Settings:
        """Settings that send to this server (no retries pause unless given)."""
        values: dict[str, Any] = {
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_timeout_s": 5.0,
            "smtp_retry_base_s": 0.0,
        }
        if self.auth is not None:
            values.update(smtp_username=self.auth[0], smtp_password=self.auth[1])
        values.update(overrides)
        return Settings(**values)

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a CLI run in a subprocess."""
        env = {
            "HEALTHMATCH_SMTP_HOST": self.host,
            "HEALTHMATCH_SMTP_PORT": str(self.port),
            "HEALTHMATCH_SMTP_SECURITY": "none",
            "HEALTHMATCH_SMTP_TIMEOUT_S": "5",
            "HEALTHMATCH_SMTP_RETRY_BASE_S": "0",
        }
        if self.auth is not None:
            env["HEALTHMATCH_SMTP_USERNAME"] = self.auth[0]
            env["HEALTHMATCH_SMTP_PASSWORD"] = self.auth[1]
        return env

    # --- what arrived ------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The received messages once there are at least `count` (AssertionError on timeout)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._received) >= count, timeout):
                raise AssertionError(f"{len(self._received)} messages received, not {count}")
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._refusals.clear()
            self.attempts = 0

    # --- called by the handler, in the server's thread ---------------------------------------

    def _take_refusal(self, stage: Stage) -> str | None:
        with self._lock:
            for refusal in self._refusals:
                if refusal.stage == stage and refusal.count > 0:
                    refusal.count -= 1
                    return refusal.reply
            return None

    def _store(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)
            self._lock.notify_all()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.auth is not None:
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if (login, password) == self.auth:
                with self._lock:
                    self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(self, owner: LocalSmtp) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        with self.owner._lock:
            self.owner.attempts += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.owner._take_refusal("rcpt")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = self.owner._take_refusal("data")
        if refusal is not None:
            return refusal
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        received = Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(data))
        self.owner._store(received)
        if self.owner.on_message is not None:
            self.owner.on_message(received)
        return "250 Message accepted"


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[LocalSmtp]:
    """A started `LocalSmtp`, stopped after the test."""
    server = LocalSmtp().start()
    try:
        yield server
    finally:
        server.stop()
