"""Ways out of Careweave for the outbox (care/outbox.py): email over SMTP, SMS through a gateway.

``EmailSender`` sends with the standard library's ``smtplib`` (STARTTLS and login
when configured), a batch over one connection, which it keeps open for the next
batch (checked with NOOP first; a connection that failed or was refused is closed,
and the next batch opens a new one). ``SmsGateway`` is the interface an SMS
provider is plugged in behind; ``HttpSmsGateway`` is the shipped one: it POSTs
``{"to": "+447700900123", "text": "..."}`` as JSON to the configured URL with an
``Idempotency-Key`` header (and ``Authorization: Bearer`` when a token is set),
so a gateway that took a message whose reply was lost does not send it twice.

Both raise ``Transient`` for what a retry may cure (connection refused, timeouts,
SMTP 4xx, HTTP 429 and 5xx) and ``Permanent`` for what it will not (SMTP 5xx such
as an unknown recipient, other HTTP 4xx). Neither logs the message or its address.
"""

from __future__ import annotations

import functools
import smtplib
import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.header import Header
from email.mime.text import MIMEText
from typing import Protocol

import httpx


class ChannelError(Exception):
    """A message the channel did not take."""


class Transient(ChannelError):
    """Try again later."""


class Permanent(ChannelError):
    """Retrying will not help (the address is refused)."""


@dataclass(frozen=True)
class Email:
    key: str
    to: str
    subject: str
    body: str
    event_id: int | None = None


class EmailChannel(Protocol):
    def send_batch(self, messages: Sequence[Email]) -> list[ChannelError | None]: ...


class SmsGateway(Protocol):
    """What an SMS provider must do: send ``text`` to ``to`` once per ``key``."""

    def send(self, to: str, text: str, key: str) -> None: ...


@functools.cache
def _ehlo_name() -> str:
    """This host's name for EHLO, looked up once (``smtplib`` asks the resolver for it on
    every connection otherwise)."""
    return socket.getfqdn()


class _Kept:
    """The sender's open SMTP connection between batches, and the lock that gives it to one
    batch at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.smtp: smtplib.SMTP | None = None


@dataclass(frozen=True)
class EmailSender:
    host: str
    port: int = 25
    sender: str = "careweave@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    _kept: _Kept = field(default_factory=_Kept, compare=False, repr=False)

    def _message(self, m: Email) -> bytes:
        # compat32 (MIMEText's policy): the shipped texts are plain; the default policy's
        # header parsing cost more than the rest of a send.
        msg = MIMEText(m.body, "plain", "utf-8")
        msg["From"] = self.sender
        msg["To"] = m.to
        msg["Subject"] = m.subject if m.subject.isascii() else Header(m.subject, "utf-8").encode()
        # The same Message-ID on every retry: mail clients drop a duplicate delivery.
        msg["Message-ID"] = f"<{m.key}@careweave>"
        if m.event_id is not None:
            msg["X-Careweave-Event"] = str(m.event_id)
        return msg.as_bytes()

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, _ehlo_name(), timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _open(self) -> smtplib.SMTP:
        """The kept connection if the server still answers on it, else a new one."""
        smtp, self._kept.smtp = self._kept.smtp, None
        if smtp is not None:
            try:
                if smtp.noop()[0] == 250:
                    return smtp
            except (OSError, smtplib.SMTPException):
                pass
            smtp.close()
        return self._connect()

    def send_batch(self, messages: Sequence[Email]) -> list[ChannelError | None]:
        """Send each message over one connection, kept open for the next batch (the outbox
        drains every 0.2 s); one result per message (None = sent)."""
        with self._kept.lock:
            try:
                smtp = self._open()
            except (OSError, smtplib.SMTPException) as e:
                err = Transient(f"smtp connect: {type(e).__name__}")
                return [err for _ in messages]
            out: list[ChannelError | None] = []
            healthy = True
            for m in messages:
                try:
                    smtp.sendmail(self.sender, [m.to], self._message(m))
                    out.append(None)
                except smtplib.SMTPRecipientsRefused:
                    out.append(Permanent("smtp: recipient refused"))
                except smtplib.SMTPResponseException as e:
                    cls = Permanent if e.smtp_code >= 500 else Transient
                    out.append(cls(f"smtp: {e.smtp_code}"))
                    # smtplib has reset the transaction; 421 means the server is closing.
                    healthy = healthy and e.smtp_code != 421
                except (OSError, smtplib.SMTPException) as e:
                    err = Transient(f"smtp: {type(e).__name__}")
                    out += [err] * (len(messages) - len(out))
                    healthy = False
                    break
            if healthy:
                self._kept.smtp = smtp
            else:
                _close(smtp)
            return out

    def close(self) -> None:
        """Say goodbye on the kept connection, if any."""
        with self._kept.lock:
            smtp, self._kept.smtp = self._kept.smtp, None
            if smtp is not None:
                _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


@dataclass(frozen=True)
class HttpSmsGateway:
    url: str
    token: str | None = None
    timeout: float = 5.0

    def send(self, to: str, text: str, key: str) -> None:
        headers = {"Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            r = httpx.post(
                self.url, json={"to": to, "text": text}, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as e:
            raise Transient(f"sms gateway: {type(e).__name__}") from None
        if r.status_code == 429 or r.status_code >= 500:
            raise Transient(f"sms gateway: HTTP {r.status_code}")
        if r.status_code >= 400:
            raise Permanent(f"sms gateway: HTTP {r.status_code}")


@dataclass(frozen=True)
class Channels:
    """The channels configured for this server (either may be missing: its messages wait)."""

    email: EmailChannel | None = None
    sms: SmsGateway | None = None

    def names(self) -> list[str]:
        return [n for n, c in (("email", self.email), ("sms", self.sms)) if c is not None]
