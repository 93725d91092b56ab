"""Group commit of POST /events (api/event_writer.py): events waiting together are ingested
in one transaction, yet each is answered as it would be alone, and nothing a reply
acknowledged is lost, nor anything of a failed event written."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from care_world import MR_JONES, MRS_JONES, World, build_world, join_teams
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from careweave.api.deps import Credentials
from careweave.api.event_writer import EventWriter, Job
from careweave.api.schemas import EventIn
from careweave.devtools import free_port, wait_until_healthy
from careweave.security import audit, auth
from careweave.security.errors import Forbidden, Invalid, NotFound, Unauthorized
from careweave.store.models import AuditEntry, Event, Notification, User

UNKNOWN = "9434765811"  # a valid NHS number nobody in the store has


def _job(w: World, who: str, nhs: str, type_: str, at: dt.datetime, ext: str | None) -> Job:
    body = EventIn.model_validate(
        {"nhs_number": nhs, "type": type_, "occurred_at": at.isoformat(), "external_id": ext}
    )
    return Job(Credentials("POST", "/events", w.tokens.get(who, who), None, None), body)


def _writer(w: World) -> EventWriter:
    return EventWriter(w.client.app.state.careweave)  # type: ignore[attr-defined]


def _answer(f: Future[bytes]) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(f.result(timeout=0))
    return out


def _notified(s: Session, event_id: int) -> int:
    return s.scalar(select(func.count()).where(Notification.event_id == event_id)) or 0


def test_one_batch_each_event_answered_as_alone(world: World) -> None:
    w = world
    join_teams(w)
    now = w.clock.now
    jobs = [
        _job(w, "feed", MRS_JONES, "admission", now, "adm-1"),
        _job(w, "feed", MR_JONES, "fall_alarm", now, "fall-1"),
        _job(w, "feed", MRS_JONES, "fall_alarm", now + dt.timedelta(hours=1), None),  # future
        _job(w, "feed", MRS_JONES, "admission", now, "adm-1"),  # duplicate, same batch
        _job(w, "feed", MR_JONES, "admission", now, "fall-1"),  # external_id of another event
        _job(w, "feed", UNKNOWN, "fall_alarm", now, None),
        _job(w, "outsider", MRS_JONES, "fall_alarm", now, None),  # no relationship
        _job(w, "not-a-token", MRS_JONES, "fall_alarm", now, None),
        _job(w, "feed", MRS_JONES, "fall_alarm", now, "fall-2"),
    ]
    writer = _writer(w)
    writer.run_batch(jobs)
    f = [j.future for j in jobs]
    first, alarm, last = _answer(f[0]), _answer(f[1]), _answer(f[8])
    assert not first["duplicate"] and first["task_ids"]
    assert alarm["incident_id"] is not None and alarm["notified_user_ids"]
    assert _answer(f[3]) == {**_answer(f[3]), "id": first["id"], "duplicate": True}
    with pytest.raises(Invalid, match="occurred_at: is in the future"):
        f[2].result(timeout=0)
    with pytest.raises(Invalid, match="external_id: 'fall-1' was already used"):
        f[4].result(timeout=0)
    with pytest.raises(NotFound):
        f[5].result(timeout=0)
    with pytest.raises(Forbidden):
        f[6].result(timeout=0)
    with pytest.raises(Unauthorized):
        f[7].result(timeout=0)
    with w.session() as s:
        stored = list(s.execute(select(Event.id, Event.external_id).order_by(Event.id)))
        # Exactly the three good events, in arrival order, each with its notifications.
        assert [e.external_id for e in stored] == ["adm-1", "fall-1", "fall-2"]
        assert [e.id for e in stored] == [first["id"], alarm["id"], last["id"]]
        for e in stored:
            assert _notified(s, e.id) > 0
        # The refused attempt is on record; the chain is whole.
        refused = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "refused"))
        assert "outsider" in list(refused)
        assert audit.verify(s).problem is None
    # Four answered 200 (the duplicate too); the failures split the batch, each failure
    # costing at most one more commit.
    assert writer.stats.events == 4 and 1 <= writer.stats.batches <= 6


def test_a_failed_commit_loses_nothing(sqlite_world: World) -> None:
    """The batch's commit fails once: every event is tried again alone and stored."""
    w = sqlite_world
    join_teams(w)
    jobs = [_job(w, "feed", MR_JONES, "fall_alarm", w.clock.now, f"k{i}") for i in range(5)]
    failed: list[int] = []

    def fail_once(session: Session) -> None:
        if not failed and len([o for o in session.new if isinstance(o, Event)]) != 1:
            failed.append(1)
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    sa_event.listen(Session, "before_commit", fail_once)
    try:
        writer = _writer(w)
        writer.run_batch(jobs)
    finally:
        sa_event.remove(Session, "before_commit", fail_once)
    assert failed == [1]
    ids = [_answer(j.future)["id"] for j in jobs]
    with w.session() as s:
        stored = list(s.scalars(select(Event.external_id).order_by(Event.id)))
        assert stored == [f"k{i}" for i in range(5)]
        assert all(_notified(s, i) > 0 for i in ids)
        assert audit.verify(s).problem is None
    assert writer.stats.batches == 5  # each alone after the failed commit


def test_a_store_failure_mid_batch_is_not_one_events_fault(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails during one event of a batch (as a deadlock between two workers'
    batches would): nobody is answered with it; each event is tried alone and stored."""
    w = sqlite_world
    join_teams(w)
    from careweave.api import event_writer

    real = event_writer.events.ingest
    calls: list[int] = []

    def flaky(*a: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise OperationalError("INSERT", {}, Exception("deadlock detected"))
        return real(*a, **kw)

    monkeypatch.setattr(event_writer.events, "ingest", flaky)
    jobs = [_job(w, "feed", MR_JONES, "fall_alarm", w.clock.now, f"d{i}") for i in range(5)]
    writer = _writer(w)
    writer.run_batch(jobs)
    ids = [_answer(j.future)["id"] for j in jobs]
    with w.session() as s:
        assert list(s.scalars(select(Event.external_id).order_by(Event.id))) == [
            f"d{i}" for i in range(5)
        ]
        assert all(_notified(s, i) > 0 for i in ids)
    assert writer.stats.batches == 5


def test_revoked_token_refused_from_the_next_batch(sqlite_world: World) -> None:
    w = sqlite_world
    join_teams(w)
    writer = _writer(w)
    ok = _job(w, "feed", MR_JONES, "fall_alarm", w.clock.now, "before")
    writer.run_batch([ok])
    assert _answer(ok.future)["duplicate"] is False
    with w.session() as s, s.begin():
        user = s.get(User, w.ids["feed"])
        assert user is not None
        auth.revoke_tokens(s, user, w.clock.now, actor="admin")
    late = _job(w, "feed", MR_JONES, "fall_alarm", w.clock.now, "after")
    writer.run_batch([late])
    with pytest.raises(Unauthorized, match="revoked"):
        late.future.result(timeout=0)


def test_concurrent_posts_over_http(world: World) -> None:
    """Many requests at once through the endpoint: each its own answer, the good ones
    all stored with their notifications, whatever batches they fell into."""
    w = world
    join_teams(w)
    now = w.clock.now.isoformat()
    headers = w.h("feed")

    def body(i: int) -> dict[str, Any]:
        return {
            "nhs_number": MR_JONES,
            "type": "fall_alarm",
            "occurred_at": now,
            "external_id": f"e{i}",
        }

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=w.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            bodies = [body(i) for i in range(12)]
            bodies.append(body(3))  # a duplicate
            bodies.append({**body(99), "nhs_number": UNKNOWN})  # nobody
            bodies.append({**body(98), "occurred_at": "yesterday"})  # invalid
            return await asyncio.gather(
                *(c.post("/events", json=b, headers=headers) for b in bodies)
            )

    # In a thread of its own: a worker that ran the browser tests keeps Playwright's
    # event loop running on its main thread, where asyncio.run() refuses to start.
    with ThreadPoolExecutor(1) as pool:
        replies = pool.submit(asyncio.run, post_all()).result()
    assert [r.status_code for r in replies] == [200] * 13 + [404, 422]
    assert replies[12].json()["duplicate"] is True
    assert replies[12].json()["id"] == replies[3].json()["id"]
    assert "occurred_at" in replies[14].json()["detail"]
    with w.session() as s:
        for r in replies[:12]:
            assert _notified(s, r.json()["id"]) > 0
        assert s.scalar(select(func.count()).select_from(Event)) == 12


def test_server_killed_mid_batch_loses_nothing_acknowledged(tmp_path: Path, clock: Any) -> None:
    """SIGKILL a real server while events pour in: every event it answered 200 is in the
    store with its notifications; no stored event lacks its notifications."""
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    w = build_world(url, clock)
    join_teams(w)
    w.client.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "careweave.cli.main", "serve", "--db", url, "--port", str(port)],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CAREWEAVE_NO_JOBS": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base)
        acknowledged: list[tuple[str, int]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def sender(n: int) -> None:
            with httpx.Client(base_url=base, headers=w.h("feed"), timeout=30) as c:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    ext = f"t{n}-{i}"
                    at = dt.datetime.now(dt.UTC).isoformat()
                    try:
                        r = c.post(
                            "/events",
                            json={
                                "nhs_number": MRS_JONES,
                                "type": "fall_alarm",
                                "occurred_at": at,
                                "external_id": ext,
                            },
                        )
                    except httpx.TransportError:
                        return
                    if r.status_code == 200:
                        with lock:
                            acknowledged.append((ext, r.json()["id"]))

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert len(acknowledged) >= 40
    with w.session() as s:
        stored = dict(s.execute(select(Event.external_id, Event.id)).tuples().all())
        for ext, event_id in acknowledged:
            assert stored.get(ext) == event_id
        for event_id in stored.values():
            assert _notified(s, event_id) > 0
        assert audit.verify(s).problem is None


def test_the_endpoint_authenticates_as_before(sqlite_world: World) -> None:
    """No credentials is 401 before the body is looked at; a browser session needs its
    CSRF token; a FHIR client's token is refused here; each refusal writes no event."""
    w = sqlite_world
    join_teams(w, (MRS_JONES,))
    body = {"nhs_number": MRS_JONES, "type": "fall_alarm", "occurred_at": w.clock.now.isoformat()}
    assert w.client.post("/events", json={"nonsense": 1}).status_code == 401
    with w.session() as s, s.begin():
        auth.create_user(
            s,
            username="nurse",
            display_name="nurse",
            role="clinician",
            password="correct horse battery",
            org_id="P1",
            now=w.clock(),
        )
        feed = s.get(User, w.ids["feed"])
        assert feed is not None
        fhir = auth.issue_token(s, feed, "fhir", w.clock(), fhir_scopes=["system/*.read"])
    c = TestClient(w.client.app, base_url="https://testserver")
    r = c.post("/auth/login", json={"username": "nurse", "password": "correct horse battery"})
    csrf = r.json()["csrf_token"]
    r = c.post("/events", json=body)
    assert r.status_code == 403 and "csrf" in r.json()["detail"]
    r = w.client.post("/events", json=body, headers={"Authorization": f"Bearer {fhir}"})
    assert r.status_code == 403 and "FHIR scopes" in r.json()["detail"]
    with w.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        refused = s.execute(
            select(AuditEntry.actor, AuditEntry.resource_id).where(AuditEntry.action == "refused")
        ).all()
        assert ("nurse", "/events") in [tuple(r) for r in refused]
    r = c.post("/events", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"  # the security headers still apply
    with w.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 1
        assert _notified(s, r.json()["id"]) > 0
