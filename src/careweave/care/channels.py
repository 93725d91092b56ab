"""Ways out of Careweave for the outbox (care/outbox.py): email over SMTP, SMS through a gateway.

``EmailSender`` sends with the standard library's ``smtplib`` (STARTTLS and login
when configured), one connection per batch. ``SmsGateway`` is the interface an SMS
provider is plugged in behind; ``HttpSmsGateway`` is the shipped one: it POSTs
``{"to": "+447700900123", "text": "..."}`` as JSON to the configured URL with an
``Idempotency-Key`` header (and ``Authorization: Bearer`` when a token is set),
so a gateway that took a message whose reply was lost does not send it twice.

Both raise ``Transient`` for what a retry may cure (connection refused, timeouts,
SMTP 4xx, HTTP 429 and 5xx) and ``Permanent`` for what it will not (SMTP 5xx such
as an unknown recipient, other HTTP 4xx). Neither logs the message or its address.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
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


@dataclass(frozen=True)
class EmailSender:
    host: str
    port: int = 25
    sender: str = "careweave@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def _message(self, m: Email) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = m.to
        msg["Subject"] = m.subject
        # The same Message-ID on every retry: mail clients drop a duplicate delivery.
        msg["Message-ID"] = f"<{m.key}@careweave>"
        if m.event_id is not None:
            msg["X-Careweave-Event"] = str(m.event_id)
        msg.set_content(m.body)
        return msg

    def send_batch(self, messages: Sequence[Email]) -> list[ChannelError | None]:
        """Send each message over one connection; one result per message (None = sent)."""
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as e:
            err = Transient(f"smtp connect: {type(e).__name__}")
            return [err for _ in messages]
        out: list[ChannelError | None] = []
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            for m in messages:
                try:
                    smtp.send_message(self._message(m))
                    out.append(None)
                except smtplib.SMTPRecipientsRefused:
                    out.append(Permanent("smtp: recipient refused"))
                except smtplib.SMTPResponseException as e:
                    cls = Permanent if e.smtp_code >= 500 else Transient
                    out.append(cls(f"smtp: {e.smtp_code}"))
                except (OSError, smtplib.SMTPException) as e:
                    out.append(Transient(f"smtp: {type(e).__name__}"))
        except (OSError, smtplib.SMTPException) as e:
            out += [Transient(f"smtp: {type(e).__name__}")] * (len(messages) - len(out))
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return out


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
