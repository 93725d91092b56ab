"""External channels: a fall alarm reaches the opted-in responder and the consenting daughter
by email (a real local SMTP server) and SMS (a fake gateway over HTTP) from the durable
outbox; an outage loses nothing and the recovery sends no duplicate; the messages carry the
minimum personal data; contacts follow the relationship rules."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from care_world import MRS_JONES, World
from channel_fakes import SmtpServer, start_gateway
from sqlalchemy import event, select

from careweave.care import outbox
from careweave.care.channels import Channels, EmailSender, HttpSmsGateway
from careweave.store.db import make_engine, session_factory
from careweave.store.models import OutboxMessage, Person

DAUGHTER = {
    "name": "Siân Jones",
    "relationship": "daughter",
    "email": "sian@example.org",
    "phone": "07700 900123",
    "by_email": True,
    "by_sms": True,
    "topics": ["fall_alarm", "admission"],
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def setup(w: World) -> None:
    with w.session() as s, s.begin():
        p = s.get(Person, MRS_JONES)
        assert p is not None
        p.title, p.given_name, p.family_name = "Mrs", "Margaret", "Jones"
        p.conditions = ["dementia", "diabetes"]
    for u, role in (("cc", "care_coordinator"), ("rr", "rapid_response"), ("dr_gp", "gp")):
        r = w.post("cc", f"/people/{MRS_JONES}/care-team", {"user_id": w.ids[u], "team_role": role})
        assert r.status_code == 201, r.text
    r = w.put(
        "rr",
        "/me/channels",
        {
            "email": "owain@example.org",
            "phone": "+44 7700 900456",
            "by_email": True,
            "by_sms": True,
        },
    )
    assert r.status_code == 200, r.text
    r = w.post("cc", f"/people/{MRS_JONES}/contacts", DAUGHTER)
    assert r.status_code == 201, r.text


def alarm(w: World) -> Any:
    at = (w.clock.now - dt.timedelta(seconds=1)).isoformat()
    body = {"nhs_number": MRS_JONES, "type": "fall_alarm", "occurred_at": at}
    r = w.post("feed", "/events", {**body, "external_id": "alarm-1", "payload": {}})
    assert r.status_code == 200, r.text
    return r.json()


def channels(smtp_port: int, gateway_port: int) -> Channels:
    return Channels(
        EmailSender("127.0.0.1", smtp_port, "careweave@test", timeout=3),
        HttpSmsGateway(f"http://127.0.0.1:{gateway_port}/sms", timeout=3),
    )


def rows(w: World) -> list[OutboxMessage]:
    with w.session() as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def drain(w: World, ch: Channels) -> outbox.Drained:
    return outbox.drain(session_factory(make_engine(w.url)), ch, w.clock)


def test_outage_loses_nothing_and_recovery_sends_no_duplicate(
    world: World, smtp: SmtpServer
) -> None:
    w = world
    setup(w)
    gw_server, gw = start_gateway()
    try:
        port = gw_server.server_address[1]
        assert isinstance(port, int)
        smtp.stop()  # both channels down
        gw.mode = "down"
        alarm(w)
        queued = rows(w)
        assert sorted((m.channel, m.address) for m in queued) == [
            ("email", "owain@example.org"),
            ("email", "sian@example.org"),
            ("sms", "+447700900123"),
            ("sms", "+447700900456"),
        ]
        ch = channels(smtp.port, port)
        d = drain(w, ch)
        assert (d.sent, d.retried, d.failed) == (0, 4, 0)
        assert all(m.status == "pending" and m.attempts == 1 for m in rows(w))
        # Still down at the next try: the wait doubles.
        w.clock.advance(seconds=6)
        assert drain(w, ch).retried == 4
        assert {m.next_attempt_at - w.clock.now for m in rows(w)} == {dt.timedelta(seconds=10)}
        # The gateway comes back but its reply is lost: it took the messages.
        smtp.controller = type(smtp.controller)(smtp.inbox, hostname="127.0.0.1", port=smtp.port)
        smtp.start()
        gw.mode = "lose"
        assert drain(w, ch).sent == 0  # not yet due
        w.clock.advance(seconds=11)
        d = drain(w, ch)
        assert (d.sent, d.retried) == (2, 2)  # email sent, SMS "failed"
        gw.mode = "up"
        w.clock.advance(seconds=30)
        d = drain(w, ch)
        assert (d.sent, d.retried) == (2, 0)
        assert drain(w, ch).sent == 0
        # One of each, no more: the gateway saw the same key twice and delivered once.
        assert sorted(b["to"] for b in gw.delivered.values()) == ["+447700900123", "+447700900456"]
        assert gw.requests == 2 * 2 + 2 + 2
        assert sorted(m["To"] for m in smtp.inbox.messages) == [
            "owain@example.org",
            "sian@example.org",
        ]
        assert all(m.status == "sent" for m in rows(w))
        # A repeated delivery of the alarm queues nothing new.
        assert alarm(w)["duplicate"] is True
        assert len(rows(w)) == 4
    finally:
        gw_server.shutdown()


def test_messages_carry_the_minimum(sqlite_world: World, smtp: SmtpServer) -> None:
    w = sqlite_world
    setup(w)
    gw_server, gw = start_gateway()
    try:
        port = gw_server.server_address[1]
        assert isinstance(port, int)
        w.event(MRS_JONES, "fall_alarm", w.clock.now, device="pendant")
        assert drain(w, channels(smtp.port, port)).sent == 4
    finally:
        gw_server.shutdown()
    texts: list[str] = [b["text"] for b in gw.delivered.values()]
    texts += [str(m.get_content()) for m in smtp.inbox.messages]
    texts += [str(m["Subject"]) for m in smtp.inbox.messages]
    for t in texts:
        for secret in ("Jones", "Margaret", "dementia", "diabetes", MRS_JONES, "pendant"):
            assert secret not in t
    staff = [b["text"] for b in gw.delivered.values() if b["to"] == "+447700900456"]
    assert staff == ["Careweave: fall alarm raised for M.J. Sign in to Careweave to see it."]
    family = [b["text"] for b in gw.delivered.values() if b["to"] == "+447700900123"]
    assert family[0].startswith("Careweave: your relative's fall alarm was raised")
    assert all(m["Message-ID"].endswith("@careweave>") for m in smtp.inbox.messages)


def test_refused_address_is_kept_as_failed_and_others_go(
    sqlite_world: World, smtp: SmtpServer
) -> None:
    w = sqlite_world
    setup(w)
    smtp.inbox.refuse.add("sian@example.org")
    w.event(MRS_JONES, "fall_alarm", w.clock.now)
    d = outbox.drain(
        session_factory(make_engine(w.url)),
        Channels(EmailSender("127.0.0.1", smtp.port, timeout=3)),
        w.clock,
    )
    assert (d.sent, d.failed) == (1, 1)
    states = {(m.channel, m.address): m.status for m in rows(w)}
    assert states[("email", "sian@example.org")] == "failed"
    assert states[("sms", "+447700900123")] == "pending"  # no gateway configured: it waits


def test_consent_decides_what_is_sent(sqlite_world: World) -> None:
    w = sqlite_world
    setup(w)
    r = w.get("cc", f"/people/{MRS_JONES}/contacts")
    c: dict[str, Any] = r.json()[0]
    # SMS only, and only admissions: a fall alarm then sends the daughter nothing.
    body = {**DAUGHTER, "by_email": False, "topics": ["admission"], "version": c["version"]}
    assert w.put("cc", f"/people/{MRS_JONES}/contacts/{c['id']}", body).status_code == 200
    w.event(MRS_JONES, "fall_alarm", w.clock.now)
    assert {m.address for m in rows(w)} == {"owain@example.org", "+447700900456"}
    w.event(MRS_JONES, "admission", w.clock.now, method="emergency")
    family = [m for m in rows(w) if m.contact_id is not None]
    assert [(m.channel, m.kind) for m in family] == [("sms", "admission")]
    assert "your relative has been admitted to hospital" in family[0].body


def test_contacts_follow_the_relationship_rules(sqlite_world: World) -> None:
    w = sqlite_world
    setup(w)
    url = f"/people/{MRS_JONES}/contacts"
    assert w.get("outsider", url).status_code == 403
    assert w.post("outsider", url, DAUGHTER).status_code == 403
    r = w.post("cc", url, {**DAUGHTER, "phone": "12345"})
    assert r.status_code == 422 and r.json()["detail"].startswith("phone: enter a UK mobile")
    r = w.post("cc", url, {**DAUGHTER, "email": None})
    assert r.status_code == 422 and r.json()["detail"].startswith("email:")
    c = w.get("cc", url).json()[0]
    assert c["phone"] == "+447700900123"
    stale = {**DAUGHTER, "version": c["version"]}
    assert w.put("cc", f"{url}/{c['id']}", stale).status_code == 200
    r = w.put("cc", f"{url}/{c['id']}", stale)
    assert r.status_code == 409 and "changed since you opened" in r.json()["detail"]
    assert w.client.delete(f"{url}/{c['id']}", headers=w.h("cc")).status_code == 204
    assert w.get("cc", url).json() == []


def _queue(w: World, n: int) -> None:
    with w.session() as s, s.begin():
        for i in range(n):
            s.add(
                OutboxMessage(
                    idempotency_key=f"bulk-{i}",
                    channel="email",
                    address=f"responder{i}@example.org",
                    subject="Careweave: fall alarm raised",
                    body="Careweave: fall alarm raised for M.J. Sign in to Careweave to see it.",
                    kind="event:fall_alarm",
                    status="pending",
                    attempts=0,
                    next_attempt_at=w.clock.now,
                    created_at=w.clock.now,
                )
            )


def test_two_drainers_at_once_send_each_message_once(world: World, smtp: SmtpServer) -> None:
    """The claim is one guarded UPDATE over rows locked as they are chosen (FOR UPDATE SKIP
    LOCKED on PostgreSQL, the writer lock on SQLite): racing drainers split the work."""
    w = world
    _queue(w, 40)
    sessions = session_factory(make_engine(w.url))
    ch = Channels(EmailSender("127.0.0.1", smtp.port, timeout=5))
    go = threading.Barrier(2)
    results: list[outbox.Drained] = []

    def run() -> None:
        go.wait()
        results.append(outbox.drain(sessions, ch, w.clock, limit=25))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    while sum(d.sent for d in results) < 40:  # whatever the first two left
        d = outbox.drain(sessions, ch, w.clock, limit=25)
        assert d.sent > 0
        results.append(d)
    ids = [i for d in results for i in d.ids]
    assert len(ids) == len(set(ids)) == 40
    keys = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(keys) == len(set(keys)) == 40
    assert all(m.status == "sent" and m.attempts == 1 for m in rows(w))


def test_an_idle_drain_only_reads_and_a_kept_connection_serves_the_next_batch(
    sqlite_world: World, smtp: SmtpServer
) -> None:
    """The jobs thread drains every 0.2 s: with nothing due that is one SELECT, never the
    SQLite writer lock; batches share one SMTP connection until it fails."""
    w = sqlite_world
    engine = make_engine(w.url)
    sessions = session_factory(engine)
    ch = Channels(EmailSender("127.0.0.1", smtp.port, timeout=5))
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _log(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()[:2]).upper())

    assert outbox.drain(sessions, ch, w.clock).sent == 0
    assert seen and all(s == "BEGIN" or s.startswith("SELECT ") for s in seen), seen
    _queue(w, 3)
    assert outbox.drain(sessions, ch, w.clock).sent == 3
    with w.session() as s, s.begin():
        for m in s.execute(select(OutboxMessage)).scalars():
            m.idempotency_key += "-again"
            m.status, m.next_attempt_at = "pending", w.clock.now
    assert outbox.drain(sessions, ch, w.clock).sent == 3
    assert len(set(smtp.inbox.peers)) == 1  # six messages, two batches, one connection
    # The server goes away and comes back: the dead connection is replaced, nothing lost.
    smtp.stop()
    smtp.controller = type(smtp.controller)(smtp.inbox, hostname="127.0.0.1", port=smtp.port)
    smtp.start()
    with w.session() as s, s.begin():
        for m in s.execute(select(OutboxMessage)).scalars():
            m.idempotency_key += "-third"
            m.status, m.next_attempt_at = "pending", w.clock.now
    assert outbox.drain(sessions, ch, w.clock).sent == 3
    assert len(smtp.inbox.messages) == 9 and len(set(smtp.inbox.peers)) == 2
    email = ch.email
    assert isinstance(email, EmailSender)
    email.close()
