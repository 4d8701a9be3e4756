"""Sending over SMTP: one attempt per `send`, errors sorted into "try again later"
(`MailUnavailable`) and "refused for good" (`MailRejected`); `send_with_retries` around it.

Error messages carry the server's reply or the connection error, never the password.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from types import TracebackType
from typing import Protocol

from models.settings import Settings, SmtpSecurity


class MailUnavailable(Exception):
    """The server could not be reached, or refused for now (4xx): the message may be retried."""


class MailRejected(Exception):
    """The server refused the message for good (5xx): sending it again would not help."""


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}".strip()


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    sender = parseaddr(str(message.get("From", "")))[1]
    recipients = [
        address
        for field in ("To", "Cc", "Bcc")
        for _, address in getaddresses([str(v) for v in message.get_all(field, [])])
        if address
    ]
    if not sender or not recipients:
        raise ValueError("the message has no From: or no recipient")
    return sender, recipients


class SmtpSender:
    """Sends messages through the SMTP server of the settings.

    `send` makes one attempt on a fresh connection, closed afterwards; inside `with sender:`
    one connection is kept for several messages (checked with NOOP before each; reopened after
    a failure or when the server has dropped it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._keep_open = False
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        self._keep_open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._keep_open = False
        self.close()

    @property
    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        timeout = s.smtp_timeout_s
        connection: smtplib.SMTP
        if s.smtp_security == SmtpSecurity.SSL:
            connection = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        try:
            connection.ehlo_or_helo_if_needed()
            if s.smtp_security == SmtpSecurity.STARTTLS:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if s.smtp_username:
                connection.login(s.smtp_username, s.smtp_password.get_secret_value())
        except BaseException:
            _close(connection)
            raise
        return connection

    def _open(self) -> smtplib.SMTP:
        if self._connection is not None:
            try:
                code, _ = self._connection.noop()
                if code == 250:
                    return self._connection
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        connection = self._connect()
        if self._keep_open:
            self._connection = connection
        return connection

    def send(self, message: EmailMessage) -> None:
        """One delivery attempt. Raises MailUnavailable or MailRejected (see the module).

        Whatever fails before MAIL FROM (connection, greeting, EHLO, STARTTLS, login) is the
        server's or the configuration's problem, not the message's: MailUnavailable, even on a
        5xx reply. Afterwards a 5xx reply is MailRejected, a 4xx reply MailUnavailable."""
        sender, recipients = _envelope(message)
        data = message.as_bytes()
        try:
            connection = self._open()
        except (smtplib.SMTPException, OSError) as error:
            raise MailUnavailable(self._describe(error)) from None
        try:
            refused = connection.sendmail(sender, recipients, data)
        except smtplib.SMTPRecipientsRefused as error:
            self._failed(connection)
            replies = error.recipients.values()
            reason = "; ".join(f"{to}: {_reply(*r)}" for to, r in error.recipients.items())
            if replies and all(400 <= code < 500 for code, _ in replies):
                raise MailUnavailable(f"{self._where} refused for now: {reason}") from None
            raise MailRejected(f"{self._where} refused the recipient: {reason}") from None
        except smtplib.SMTPResponseException as error:  # sender refused, data refused
            self._failed(connection)
            if 500 <= error.smtp_code < 600:
                reply = _reply(error.smtp_code, error.smtp_error)
                raise MailRejected(f"{self._where} refused the message: {reply}") from None
            raise MailUnavailable(self._describe(error)) from None
        except (smtplib.SMTPException, OSError) as error:
            self._failed(connection)
            raise MailUnavailable(self._describe(error)) from None
        except BaseException:
            self._failed(connection)
            raise
        if refused:  # only with several recipients, some accepted
            reason = "; ".join(f"{to}: {_reply(*r)}" for to, r in refused.items())
            self._done(connection)
            raise MailRejected(f"{self._where} refused some recipients: {reason}")
        self._done(connection)

    def _describe(self, error: BaseException) -> str:
        """What went wrong, for a MailUnavailable: the server's reply or the socket error."""
        where = self._where
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return f"{where}: login refused: {_reply(error.smtp_code, error.smtp_error)}"
        if isinstance(error, smtplib.SMTPResponseException):
            return f"{where} replied {_reply(error.smtp_code, error.smtp_error)}"
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return f"{where} closed the connection: {error}"
        if isinstance(error, TimeoutError):
            return f"{where}: timed out after {self.settings.smtp_timeout_s:g} s"
        return f"{where}: {type(error).__name__}: {error}"

    def _done(self, connection: smtplib.SMTP) -> None:
        if not self._keep_open:
            _quit(connection)

    def _failed(self, connection: smtplib.SMTP | None) -> None:
        if connection is not None:
            _close(connection)
        if connection is self._connection:
            self._connection = None

    def close(self) -> None:
        """Close the connection kept by `with sender:`, if any."""
        connection, self._connection = self._connection, None
        if connection is not None:
            _quit(connection)


def _quit(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        _close(connection)


def _close(connection: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        connection.close()


def send_with_retries(
    sender: Sender,
    message: EmailMessage,
    *,
    retries: int,
    base_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send `message`, trying again up to `retries` times while the server is unavailable,
    after `base_s`, 2 * `base_s`, 4 * `base_s`... Returns the number of attempts it took; raises
    the last MailUnavailable when every attempt failed, MailRejected at once."""
    attempt = 0
    while True:
        attempt += 1
        try:
            sender.send(message)
        except MailUnavailable:
            if attempt > retries:
                raise
            sleep(base_s * 2 ** (attempt - 1))
        else:
            return attempt
