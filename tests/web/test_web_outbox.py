"""The administrator's outbox page: the email and texts that failed or are being retried,
in words, without the message or who it is about; "Send again now" puts one back in the
queue (audited); other roles are refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.care import config as care_config
from careweave.care import contacts, events, outbox
from careweave.care.channels import ChannelError, Channels, Email, Permanent, Transient
from careweave.care.context import Ctx, system_user
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import AuditEntry, OutboxMessage, User

Client = Callable[[str], tuple[TestClient, str]]
MRS = "9990000018"


class Refusing:
    """An email server that refuses every address; an SMS gateway that is down."""

    def send_batch(self, messages: Sequence[Email]) -> list[ChannelError | None]:
        return [Permanent("smtp: recipient refused") for _ in messages]

    def send(self, to: str, text: str, key: str) -> None:
        raise Transient("sms gateway: HTTP 503")


class Working:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_batch(self, messages: Sequence[Email]) -> list[ChannelError | None]:
        self.sent += [m.key for m in messages]
        return [None for _ in messages]

    def send(self, to: str, text: str, key: str) -> None:
        self.sent.append(key)


def seed_failures(db_url: str) -> tuple[int, int]:
    """A pendant alarm for Mrs Jones with the rapid-response nurse opted in to email: the
    daughter's text fails for a while (gateway down), the nurse's email is refused.
    Returns (text id, email id)."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        nurse = s.execute(select(User).where(User.username == "rapid.response")).scalar_one()
        ctx = Ctx(s, nurse, now, care_config.load(None))
        contacts.set_my_channels(ctx, "owain@nhs.example", None, True, False, [])
        feed = Ctx(s, system_user(s, now), now, care_config.load(None))
        events.ingest(
            feed, MRS, "fall_alarm", now - dt.timedelta(minutes=3), {}, external_id="ob-1"
        )
    down = Refusing()
    outbox.drain(sessions, Channels(email=down, sms=down), lambda: dt.datetime.now(dt.UTC))
    with sessions() as s:
        rows = {m.channel: m.id for m in s.execute(select(OutboxMessage)).scalars()}
    engine.dispose()
    return rows["sms"], rows["email"]


def test_failed_and_retrying_messages_in_words_and_send_again(
    client_for: Client, demo_db: str
) -> None:
    text_id, email_id = seed_failures(demo_db)
    c, csrf = client_for("demo.admin")
    page = c.get("/app/outbox")
    assert page.status_code == 200 and 'href="/app/outbox"' in page.text  # in the menu
    text_row = page.text.split(f'id="message-{text_id}"')[1].split("</tr>")[0]
    assert "Text message" in text_row and "Contact (daughter)" in text_row
    assert "Retrying" in text_row and "1 attempt" in text_row
    assert "The text message gateway had a fault (code 503)" in text_row
    email_row = page.text.split(f'id="message-{email_id}"')[1].split("</tr>")[0]
    assert "Email" in email_row and "Staff: Owain Jenkins (rapid response)" in email_row
    assert "Failed" in email_row and "The email server refused the address" in email_row
    assert "Fall alarm raised" in email_row
    # Nothing of the message or the person: no body, address, name, initials or NHS number.
    main = page.text.split("<main")[1]
    for secret in ("your relative", "+44", "owain@", "Jones", "M.J.", "999", "Careweave: "):
        assert secret not in main, secret

    r = c.post(f"/app/outbox/{email_id}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/app/outbox?retried={email_id}"
    after = c.get(r.headers["location"]).text
    assert f"Message {email_id} will be sent again" in after
    engine = make_engine(demo_db)
    sessions = session_factory(engine)
    with sessions() as s:
        m = s.get(OutboxMessage, email_id)
        assert m is not None and m.status == "pending" and m.claimed_until is None
        assert (
            s.execute(
                select(AuditEntry).where(
                    AuditEntry.resource == "outbox", AuditEntry.resource_id == str(email_id)
                )
            )
            .scalar_one()
            .actor
            == "demo.admin"
        )
    # The channels work again: everything goes; the page is clear.
    works = Working()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # past the text's back-off
    outbox.drain(sessions, Channels(email=works, sms=works), lambda: later)
    # the nurse's email and the daughter's two texts (her mother's alarm; her father's
    # carer may be unavailable), once each
    assert len(works.sent) == len(set(works.sent)) == 3
    engine.dispose()
    assert "Nothing has failed" in c.get("/app/outbox").text
    # A message already sent is not sent again: 409 in words; unknown is 404.
    r = c.post(f"/app/outbox/{email_id}/retry", data={"csrf_token": csrf})
    assert r.status_code == 409 and "already sent" in r.text
    assert c.post("/app/outbox/999999/retry", data={"csrf_token": csrf}).status_code == 404
    # Without the CSRF token: refused.
    assert c.post(f"/app/outbox/{text_id}/retry", data={}).status_code == 403


def test_other_roles_are_refused(client_for: Client) -> None:
    for who in ("coordinator", "commissioner", "gp.jones"):
        c, csrf = client_for(who)
        assert c.get("/app/outbox").status_code == 403, who
        assert 'href="/app/outbox"' not in c.get("/app/").text, who
        assert c.post("/app/outbox/1/retry", data={"csrf_token": csrf}).status_code == 403


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (None, "Not tried yet."),
        ("smtp connect: ConnectionRefusedError", "The email server could not be reached"),
        ("smtp: recipient refused", "The email server refused the address"),
        ("smtp: 451", "The email server had a fault (code 451)"),
        ("smtp: 554", "The email server refused the message (code 554)"),
        ("smtp: SMTPServerDisconnected", "The email server could not be reached"),
        ("sms gateway: HTTP 429", "The text message gateway is busy"),
        ("sms gateway: HTTP 502", "The text message gateway had a fault (code 502)"),
        ("sms gateway: HTTP 401", "The text message gateway refused the message (code 401)"),
        ("sms gateway: ConnectTimeout", "The text message gateway could not be reached"),
    ],
)
def test_last_errors_in_words(error: str | None, words: str) -> None:
    assert outbox.in_words(error).startswith(words)
