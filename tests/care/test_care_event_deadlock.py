"""Deadlocks in the events writer (api/event_writer.py) on PostgreSQL, for real.

Two workers' writers whose batches cross (each holds the external_id the other inserts
next) deadlock; PostgreSQL refuses one, whose events are then tried alone. An event
tried alone can deadlock again with another worker's transaction: it is retried with a
short, growing pause, at most ``store.db.RETRIES`` times, and when every try was refused
the client gets a 503 with Retry-After in words, never a 500, and nothing of the event
is in the store."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import orjson
import pytest
from care_world import MR_JONES, MRS_JONES, World, build_world, join_teams
from psycopg.errors import DeadlockDetected
from sqlalchemy import create_engine, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import OperationalError

from careweave.api import event_writer
from careweave.api.deps import Credentials
from careweave.api.event_writer import EventWriter, Job
from careweave.api.schemas import EventIn
from careweave.security import audit
from careweave.store import db
from careweave.store.models import AuditEntry, Event, Notification


@pytest.fixture
def pg_world(pg_url: str, clock: Any) -> Iterator[World]:
    """A care world on a fresh database of the test PostgreSQL."""
    name = f"cw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    w = build_world(pg_url.rsplit("/", 1)[0] + "/" + name, clock)
    try:
        yield w
    finally:
        w.client.close()
        _engine(w).dispose()
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _job(w: World, nhs: str, ext: str) -> Job:
    body = EventIn.model_validate(
        {
            "nhs_number": nhs,
            "type": "fall_alarm",
            "occurred_at": w.clock.now.isoformat(),
            "external_id": ext,
        }
    )
    return Job(Credentials("POST", "/events", w.tokens["feed"], None, None), body)


def _writer(w: World) -> EventWriter:
    return EventWriter(w.client.app.state.careweave)  # type: ignore[attr-defined]


def _answer(f: Future[bytes]) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(f.result(timeout=0))
    return out


def _engine(w: World) -> Engine:
    bind = w.client.app.state.careweave.sessions.kw["bind"]  # type: ignore[attr-defined]
    assert isinstance(bind, Engine)
    return bind


def test_two_workers_batches_that_deadlock_are_each_answered(
    pg_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A's batch is [x, y], worker B's [y, x]; each holds its first event's
    external_id until the other holds its own, so their second events cross: a deadlock.
    PostgreSQL refuses one batch; its events are tried alone and answered as duplicates
    of the other's; each event is stored once, with its notifications."""
    w = pg_world
    join_teams(w)
    real = event_writer.events.ingest
    barrier = threading.Barrier(2, timeout=30)
    crossed: set[str] = set()

    def crossing(*a: Any, **kw: Any) -> Any:
        out = real(*a, **kw)
        me = threading.current_thread().name
        if me not in crossed:  # each batch's first event, its first try only
            crossed.add(me)
            barrier.wait()
        return out

    monkeypatch.setattr(event_writer.events, "ingest", crossing)
    a, b = _writer(w), _writer(w)
    jobs_a = [_job(w, MRS_JONES, "x"), _job(w, MR_JONES, "y")]
    jobs_b = [_job(w, MR_JONES, "y"), _job(w, MRS_JONES, "x")]
    threads = [
        threading.Thread(target=a.run_batch, args=(jobs_a,), name="worker-a"),
        threading.Thread(target=b.run_batch, args=(jobs_b,), name="worker-b"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    answers = [_answer(j.future) for j in jobs_a + jobs_b]
    by_ext: dict[str, list[dict[str, Any]]] = {"x": [], "y": []}
    for job, ans in zip(jobs_a + jobs_b, answers, strict=True):
        by_ext[str(job.body.external_id)].append(ans)
    for ext, pair in by_ext.items():
        assert sorted(p["duplicate"] for p in pair) == [False, True], ext
        assert pair[0]["id"] == pair[1]["id"]
    # The deadlock happened: one writer's batch was refused and split, the other's whole.
    assert sorted([a.stats.batches, b.stats.batches]) == [1, 2]
    with w.session() as s:
        assert sorted(s.scalars(select(Event.external_id))) == ["x", "y"]
        for pair in by_ext.values():
            n = s.scalar(select(func.count()).where(Notification.event_id == pair[0]["id"]))
            assert n and n > 0
        assert audit.verify(s).problem is None


class OtherWorker:
    """Another worker's transaction crossing the writer's, try after try, ``times`` times:
    it holds the audit chain's head (as any commit that appends to the audit log does),
    waits until the writer's transaction has inserted its event, then inserts an event
    with the same external_id, which waits for the writer's; the writer's commit waits
    for the head: a deadlock. This transaction waits 10 s before looking for one, the
    writer's 1 s (PostgreSQL's default), so PostgreSQL refuses the writer's; this one
    then rolls back, leaving nothing."""

    def __init__(self, engine: Engine, ext: str, times: int) -> None:
        self.engine = engine
        self.ext = ext
        self.times = times
        self.tries = 0
        self.barrier = threading.Barrier(2, timeout=30)
        self.thread = threading.Thread(target=self._run, name="other-worker")
        self.errors: list[BaseException] = []

    def ingest(self, real: Any) -> Any:
        def crossing(*a: Any, **kw: Any) -> Any:
            crossed = self.tries < self.times
            if crossed:
                self.tries += 1
                self.barrier.wait()  # the other worker holds the head
            out = real(*a, **kw)
            if crossed:
                self.barrier.wait()  # our event inserted: the other inserts its copy
            return out

        return crossing

    def _run(self) -> None:
        try:
            for _ in range(self.times):
                with self.engine.connect() as c:
                    c.execute(text("SET LOCAL deadlock_timeout = '10s'"))
                    c.execute(text("SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE"))
                    try:
                        # The writer's try; it may have stopped trying (then no more).
                        self.barrier.wait(timeout=30 if self.tries == 0 else 10)
                    except threading.BrokenBarrierError:
                        return
                    self.barrier.wait()
                    c.execute(
                        text(
                            "INSERT INTO events (external_id, nhs_number, type, occurred_at,"
                            " received_at, payload, source) VALUES (:ext, :nhs, 'fall_alarm',"
                            " now(), now(), '{}', 'other') ON CONFLICT (external_id) DO NOTHING"
                        ),
                        {"ext": self.ext, "nhs": MRS_JONES},
                    )
                    c.rollback()
        except BaseException as e:
            self.errors.append(e)
            self.barrier.abort()

    def __enter__(self) -> OtherWorker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(60)
        assert not self.errors, self.errors


def _post(w: World, ext: str) -> Any:
    return w.client.post(
        "/events",
        json={
            "nhs_number": MRS_JONES,
            "type": "fall_alarm",
            "occurred_at": w.clock.now.isoformat(),
            "external_id": ext,
        },
        headers=w.h("feed"),
    )


class Deadlocks:
    """The deadlocks PostgreSQL reported to the app's statements (SQLSTATE 40P01)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen = 0

    def _error(self, ctx: ExceptionContext) -> None:
        if getattr(ctx.original_exception, "sqlstate", None) == "40P01":
            self.seen += 1

    def __enter__(self) -> Deadlocks:
        sa_event.listen(self.engine, "handle_error", self._error)
        return self

    def __exit__(self, *exc: object) -> None:
        sa_event.remove(self.engine, "handle_error", self._error)


def test_a_lone_event_deadlocked_again_is_retried_and_stored(
    pg_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone event deadlocks twice with another worker's transactions: it is tried
    again after a pause and stored once (it used to answer 500 at the first)."""
    w = pg_world
    join_teams(w)
    with Deadlocks(_engine(w)) as seen, OtherWorker(_engine(w), "lone-1", times=2) as other:
        monkeypatch.setattr(event_writer.events, "ingest", other.ingest(event_writer.events.ingest))
        r = _post(w, "lone-1")
    assert r.status_code == 200, r.text
    assert other.tries == 2 and seen.seen == 2
    with w.session() as s:
        stored = list(s.scalars(select(Event.id).where(Event.external_id == "lone-1")))
        assert stored == [r.json()["id"]]
        n = s.scalar(select(func.count()).where(Notification.event_id == stored[0]))
        assert n and n > 0
        assert audit.verify(s).problem is None


def test_a_lone_event_deadlocked_every_try_answers_503_and_writes_nothing(
    pg_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = pg_world
    join_teams(w)
    with w.session() as s:
        entries = s.scalar(select(func.count()).select_from(AuditEntry))
        notifications = s.scalar(select(func.count()).select_from(Notification))
    tries = db.RETRIES + 1
    with (
        Deadlocks(_engine(w)) as seen,
        OtherWorker(_engine(w), "lone-2", times=tries) as other,
    ):
        monkeypatch.setattr(event_writer.events, "ingest", other.ingest(event_writer.events.ingest))
        r = _post(w, "lone-2")
    # The first try and every retry, each a deadlock PostgreSQL found.
    assert other.tries == tries and seen.seen == tries
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(db.RETRY_AFTER)
    assert "nothing was saved" in r.json()["detail"]
    assert "deadlock" in r.json()["detail"]
    writer: EventWriter = w.client.app.state.careweave_event_writer  # type: ignore[attr-defined]
    assert writer.stats.gave_up == 1
    with w.session() as s:
        assert s.scalar(select(func.count()).where(Event.external_id == "lone-2")) == 0
        assert s.scalar(select(func.count()).select_from(Notification)) == notifications
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == entries
        assert audit.verify(s).problem is None
    # The same event sent again once the store is quiet is stored.
    again = _post(w, "lone-2")
    assert again.status_code == 200 and again.json()["duplicate"] is False


def test_a_deadlocked_request_elsewhere_answers_503(sqlite_world: World) -> None:
    """Any request whose transaction the store refuses for a deadlock (rolled back whole
    by its dependency) answers 503 with Retry-After in words, not 500 (api/app.py); on
    the FHIR endpoint as an OperationOutcome."""
    w = sqlite_world
    app = w.client.app

    def boom() -> None:
        raise OperationalError("UPDATE x", {}, DeadlockDetected("deadlock detected"))

    for path in ("/test-deadlock", "/fhir/test-deadlock"):
        app.add_api_route(path, boom)  # type: ignore[attr-defined]
        app.router.routes.insert(0, app.router.routes.pop())  # type: ignore[attr-defined]
    r = w.client.get("/test-deadlock")
    assert r.status_code == 503 and r.headers["retry-after"] == str(db.RETRY_AFTER)
    assert "nothing was saved" in r.json()["detail"]
    r = w.client.get("/fhir/test-deadlock")
    assert r.status_code == 503 and r.headers["retry-after"] == str(db.RETRY_AFTER)
    assert r.json()["issue"][0]["code"] == "transient"
