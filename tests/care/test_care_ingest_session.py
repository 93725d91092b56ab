"""``events.ingest`` called several times in one session: within one transaction (as the
events writer batches them), and again after a rollback in the same session. Its rows are
written with Core statements (the event, its notifications, outbox messages, task,
incident), so these check what the unit of work used to guarantee: a duplicate in the
same transaction is found, a rolled-back event leaves nothing behind (in the store or in
the session), and the audit chain still verifies."""

from __future__ import annotations

import datetime as dt

from care_world import MR_JONES, MRS_JONES, World, join_teams
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careweave.care import config as care_config
from careweave.care import events
from careweave.care.context import Ctx
from careweave.security import audit
from careweave.store.models import Event, Incident, Notification, Task, User


def _ctx(w: World, s: Session) -> Ctx:
    feed = s.get(User, w.ids["feed"])
    assert feed is not None
    return Ctx(session=s, user=feed, now=w.clock.now, config=care_config.load())


def _count(s: Session, model: type, **where: object) -> int:
    q = select(func.count()).select_from(model)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return s.scalar(q) or 0


def test_several_events_in_one_transaction(world: World) -> None:
    w = world
    join_teams(w)
    at = w.clock.now - dt.timedelta(minutes=1)
    with w.session() as s, s.begin():
        ctx = _ctx(w, s)
        alarm = events.ingest(ctx, MRS_JONES, "fall_alarm", at, {}, "same-tx-1")
        admitted = events.ingest(ctx, MR_JONES, "admission", at, {}, "same-tx-2")
        again = events.ingest(ctx, MRS_JONES, "fall_alarm", at, {}, "same-tx-1")
        assert not alarm.duplicate and not admitted.duplicate
        assert again.duplicate and again.event is alarm.event  # the session's own object
        assert alarm.incident is not None and alarm.tasks and alarm.notifications
        assert s.get(Event, alarm.event.id) is alarm.event  # persistent, no query needed
        assert s.get(Incident, alarm.incident.id) is alarm.incident
        assert all(n in s and n.id is not None for n in alarm.notifications)
        ids = (alarm.event.id, admitted.event.id)
    with w.session() as s:
        assert _count(s, Event) == 2
        for event_id, routed in zip(ids, (alarm, admitted), strict=True):
            assert _count(s, Notification, event_id=event_id) == len(routed.notifications)
            assert _count(s, Task, event_id=event_id) == len(routed.tasks)
        assert {(n.id, n.recipient_user_id) for n in alarm.notifications} == set(
            s.execute(
                select(Notification.id, Notification.recipient_user_id).where(
                    Notification.event_id == ids[0]
                )
            ).tuples()
        )
        assert _count(s, Incident, event_id=ids[0]) == 1
        assert audit.verify(s).problem is None


def test_a_rolled_back_event_leaves_nothing_and_the_session_goes_on(world: World) -> None:
    w = world
    join_teams(w)
    at = w.clock.now - dt.timedelta(minutes=1)
    with w.session() as s:
        ctx = _ctx(w, s)
        first = events.ingest(ctx, MRS_JONES, "fall_alarm", at, {}, "rolled-1")
        gone = (first.event.id, first.incident.id if first.incident else None)
        s.rollback()
        assert first.event not in s and first.incident not in s
        assert all(t not in s for t in first.tasks)
        assert all(n not in s for n in first.notifications)
        # The same session again (the events writer re-runs a batch's earlier events after
        # one fails): SQLite hands out the rolled-back ids again, with no clash.
        ctx = _ctx(w, s)
        second = events.ingest(ctx, MRS_JONES, "fall_alarm", at, {}, "rolled-1")
        assert not second.duplicate
        assert second.event in s and s.get(Event, second.event.id) is second.event
        s.commit()
    with w.session() as s:
        assert _count(s, Event) == 1
        assert _count(s, Incident) == 1
        stored = s.scalar(select(Event.id))
        assert stored == second.event.id
        if gone[0] != stored:  # PostgreSQL's sequence moved on: nothing under the old id
            assert _count(s, Notification, event_id=gone[0]) == 0
        assert _count(s, Notification, event_id=stored) == len(second.notifications)
        assert audit.verify(s).problem is None
