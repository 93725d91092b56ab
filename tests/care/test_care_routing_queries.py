"""Routing reads a bounded number of rows per event: the duty queues' staff of every
service a rule names in one read (not two queries a service), and a fall alarm's reads
do not grow with the number of services or of their staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from care_world import MRS_JONES, World
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from careweave.care import notify
from careweave.store.models import OutboxMessage, ServiceMember

SERVICES = ("telecare", "rapid-response", "district-nursing", "falls-service")


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement any engine of this process runs meanwhile (the API's included)."""
    seen: list[str] = []

    def log(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", log)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", log)


def reads(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")]


def staff_services(w: World, services: tuple[str, ...], users: list[str]) -> None:
    with w.session() as s, s.begin():
        for sid in services:
            for u in users:
                s.add(ServiceMember(service_id=sid, user_id=w.ids[u], added_at=w.clock.now))


def test_route_reads_every_duty_queue_at_once(world: World) -> None:
    w = world
    staff_services(w, SERVICES, ["cm", "analyst", "admin"])
    counts = []
    for k in (1, len(SERVICES)):
        with w.session() as s, s.begin():
            with statements() as seen:
                sent = notify.route(
                    s,
                    MRS_JONES,
                    [f"service:{sid}" for sid in SERVICES[:k]],
                    kind="event:fall_alarm",
                    subject="Fall / pendant alarm raised",
                    now=w.clock.now,
                )
                assert {n.recipient_user_id for n in sent} == {
                    w.ids[u] for u in ("cm", "analyst", "admin")
                }
            counts.append(len(reads(seen)))
            s.rollback()
    assert counts[0] == counts[1], counts  # one service or four: the same reads


def test_a_fall_alarm_reads_a_bounded_number_of_rows(world: World) -> None:
    w = world
    for u, role in (("rr", "rapid_response"), ("dn", "district_nurse"), ("dr_gp", "gp")):
        r = w.post("cc", f"/people/{MRS_JONES}/care-team", {"user_id": w.ids[u], "team_role": role})
        assert r.status_code == 201, r.text
    with statements() as seen:
        w.event(MRS_JONES, "fall_alarm", w.clock.now)
    few = len(reads(seen))
    # Three duty queues of three staff each: more people told, not more reads.
    staff_services(w, SERVICES[:3], ["cm", "analyst", "admin"])
    with statements() as seen:
        told = w.event(MRS_JONES, "fall_alarm", w.clock.now)
    assert {w.ids[u] for u in ("cm", "analyst", "admin", "rr")} <= set(told["notified_user_ids"])
    assert len(reads(seen)) == few
    # What a routed fall alarm reads, all told (9 here): the token with its user, the
    # person, the team, the queues' staff (1), the lead professional, the outbox's opt-ins
    # and contacts, the cared-for links, the audit head; opted-in staff's initials add
    # none (the person is in the session), a contact's message its idempotency keys.
    assert few <= 12, reads(seen)


def writes(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if s.upper().startswith(f"INSERT INTO {table.upper()} ")]


def test_a_routed_fall_alarm_runs_a_pinned_number_of_statements(world: World) -> None:
    """The whole of a routed fall alarm through ``POST /events``: every notification in
    one INSERT and their email / SMS in one more, however many targets and duty queues
    the rule reaches, and no more statements than pinned below (the request's own ones
    included: its token, BEGIN, the commit's audit chain)."""
    w = world
    for u, role in (("rr", "rapid_response"), ("dn", "district_nurse"), ("dr_gp", "gp")):
        r = w.post("cc", f"/people/{MRS_JONES}/care-team", {"user_id": w.ids[u], "team_role": role})
        assert r.status_code == 201, r.text
    staff_services(w, SERVICES[:3], ["cm", "analyst", "admin"])
    for who in ("rr", "dn"):  # two opted-in responders: email and text each
        r = w.put(
            who,
            "/me/channels",
            {
                "email": f"{who}@example.org",
                "phone": "+44 7700 900456",
                "by_email": True,
                "by_sms": True,
            },
        )
        assert r.status_code == 200, r.text
    r = w.post(
        "cc",
        f"/people/{MRS_JONES}/contacts",
        {
            "name": "Sian Jones",
            "relationship": "daughter",
            "email": "sian@example.org",
            "by_email": True,
            "topics": ["fall_alarm"],
        },
    )
    assert r.status_code == 201, r.text
    at = (w.clock.now - dt.timedelta(seconds=1)).isoformat()
    with statements() as seen:
        r = w.post(
            "feed",
            "/events",
            {
                "nhs_number": MRS_JONES,
                "type": "fall_alarm",
                "occurred_at": at,
                "external_id": "pinned-1",
                "payload": {},
            },
        )
    assert r.status_code == 200, r.text
    told = set(r.json()["notified_user_ids"])
    assert {w.ids[u] for u in ("rr", "dn", "dr_gp", "cm", "analyst", "admin")} <= told
    assert len(writes(seen, "notifications")) == 1, seen
    assert len(writes(seen, "outbox")) == 1, seen  # 2 staff x 2 channels + the daughter
    with w.session() as s:
        queued = (
            s.execute(select(OutboxMessage.channel).where(OutboxMessage.event_id == r.json()["id"]))
            .scalars()
            .all()
        )
    assert sorted(queued) == ["email", "email", "email", "sms", "sms"]
    # What it runs, all told: BEGIN (SQLite's BEGIN IMMEDIATE is a statement; PostgreSQL's
    # is not); the token with its user; the person; the event (its idempotency check is
    # the INSERT itself); the team; the queues' staff (1); the lead professional; the
    # notifications (1); the opt-ins, the contacts and their messages' idempotency keys;
    # the outbox (1); the task; the incident; the cared-for links; the audit head, entries
    # and head update. 18 on SQLite, 17 on PostgreSQL (30 and 20 before the hot path used
    # Core statements: SQLite's unit of work inserted each notification and message alone).
    assert len(seen) <= PINNED, "\n".join(seen)


PINNED = 18
