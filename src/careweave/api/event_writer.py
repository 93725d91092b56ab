"""Group commit for ``POST /events``: one writer per process ingests waiting events together.

Each event used to be its own request transaction: a session, ``BEGIN IMMEDIATE`` (the
SQLite writer lock) or the PostgreSQL audit-head row lock, the token's look-up, the audit
chain's head read and write, the per-transaction caches (opt-ins, relationships) and a
commit, besides FastAPI's thread hop per sync dependency. At 100 events/s that overhead
was most of a worker's CPU (docs/care.md, Latency).

Now the handler checks the body in the event loop and hands the event to this process's
:class:`EventWriter`, a thread that takes whatever is waiting (up to ``MAX_BATCH``) and
ingests it in **one** transaction, calling :func:`careweave.care.events.ingest` exactly as
the request did, one event after another in arrival order (as ``careweave events
replay`` ingests a whole file in one transaction). Every request is answered only once
its batch has committed, so a 200 still means the event, its notifications, tasks, outbox
messages and audit entries are in the store; a batch lasts as long as its events take
(about 5-10 ms each), and the next batch takes what arrived meanwhile.

One event failing (unknown person, no relationship, a token revoked, an ``external_id``
used for another event, a clash in the store) fails alone, with the error it would have
had alone: the transaction is rolled back, the failing event answered with its error
(its refusal audited, as for any request), the events before it ingested again and
committed, and the events after it run as a batch of their own. Whole-transaction
rollback rather than a SAVEPOINT per event, deliberately: a rollback to a savepoint
undoes the rows but not the per-transaction state kept in ``session.info`` (pending audit
entries, the outbox's idempotency keys, cached answers), which a real rollback clears; the
price, re-running the events before a failure, is paid only when one fails, at most once
per event. If the commit itself fails, or the store fails during an event (an
``OperationalError``: on PostgreSQL two workers' batches may deadlock over the same
rows, which one event at a time made unlikely), each event is tried again alone, so
the store's trouble is not answered as one event's fault. An event refused alone for
others' changes at the same moment (a deadlock or serialization failure again: another
worker's batch crossing it) is tried again after a short, growing, jittered pause, at
most ``store.db.RETRIES`` times (``store.db.backoff``); still refused, it is answered 503
with ``Retry-After`` and a sentence saying nothing was saved (``store.db.StoreBusy``),
never 500, and nothing of it is in the store (each try was rolled back whole). A duplicate
``external_id`` is not a failure: it answers ``duplicate: true`` as before, including
a duplicate of an event earlier in the same batch.

Authentication runs in the batch's transaction (a token is looked up once per batch), so
a revoked token or a deactivated user is refused from the next batch on: there is no
cache across transactions to go stale.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from careweave.api.deps import ACTOR, SCOPE, AppState, Credentials, authenticate, refused
from careweave.api.schemas import EventIn
from careweave.care import events
from careweave.care.context import Ctx
from careweave.security import audit
from careweave.security.errors import Forbidden
from careweave.store import db

#: Most events in one transaction. A process has at most 16 requests in flight
#: (api/app.py), so in practice a batch is at most 16.
MAX_BATCH = 32
#: The writer thread ends after this long without events (a new one starts on demand).
IDLE_SECONDS = 5.0


@dataclass
class Job:
    creds: Credentials
    body: EventIn
    #: The JSON answer (``EventOut``'s fields), or the error the request fails with.
    future: Future[bytes] = field(default_factory=Future)


@dataclass
class Stats:
    batches: int = 0
    events: int = 0
    largest: int = 0
    #: Events answered StoreBusy (503) after every retry was refused.
    gave_up: int = 0


class EventWriter:
    """This process's writer of events (see the module docstring)."""

    def __init__(
        self, state: AppState, *, max_batch: int = MAX_BATCH, idle: float = IDLE_SECONDS
    ) -> None:
        self._state = state
        self._max = max_batch
        self._idle = idle
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stats = Stats()

    def submit(self, creds: Credentials, body: EventIn) -> Future[bytes]:
        """Queue one event; the future is resolved once its batch has committed (or it failed)."""
        job = Job(creds, body)
        self._queue.put(job)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="careweave-events", daemon=True
                )
                self._thread.start()
        return job.future

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._idle)
            except queue.Empty:
                with self._lock:  # submit() starts a new thread once this one is gone
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            jobs = [first]
            while len(jobs) < self._max:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.run_batch(jobs)
            except BaseException as e:  # never leave a request waiting for ever
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(e)

    def run_batch(self, jobs: list[Job]) -> None:
        """Ingest ``jobs`` in one transaction, each failing alone (module docstring)."""
        # A request whose client went away before its turn is not ingested.
        todo = [[j for j in jobs if j.future.set_running_or_notify_cancel()]]
        while todo:
            group = todo.pop()
            if not group:
                continue
            failed = self._attempt(group)
            if failed is None:
                continue
            if failed == len(group):  # the commit or the store failed: each on its own
                if len(group) > 1:
                    todo.extend([j] for j in reversed(group))
                else:
                    self._retry_alone(group[0])
                continue
            todo.append(group[failed + 1 :])
            todo.append(group[:failed])  # taken first: arrival order is kept

    def _retry_alone(self, job: Job) -> None:
        """One event the store refused for others' changes at the same moment (a
        deadlock, a serialization failure: ``db.retryable``), tried again alone after a
        growing, jittered pause (``db.backoff``), at most ``db.RETRIES`` times; still
        refused, it is answered ``StoreBusy`` (503 with Retry-After), nothing of it
        written (every try was rolled back whole)."""
        for attempt in range(1, db.RETRIES + 1):
            time.sleep(db.backoff(attempt))
            if self._attempt([job]) != 1:  # committed, or answered with its own error
                return
        self.stats.gave_up += 1
        job.future.set_exception(db.StoreBusy(db.BUSY_TEXT))

    def _attempt(self, group: list[Job]) -> int | None:
        """Ingest ``group`` in one transaction: None when committed (every job answered),
        else the index of the job that failed (answered with its error; nothing of the
        group written), or ``len(group)`` when the commit or the store failed (an
        ``OperationalError``: nobody answered, each to be tried alone), for a group of
        one only when a retry may cure it (``db.retryable``: nobody answered; any other
        store error is the answer)."""
        answers: list[bytes] = []
        with self._state.sessions() as session:
            for i, job in enumerate(group):
                mark = audit.refusal_count(session)
                try:
                    answers.append(self._one(session, job))
                except Exception as e:
                    if isinstance(e, OperationalError) and (len(group) > 1 or db.retryable(e)):
                        # The store's trouble, not the event's (a deadlock between two
                        # workers' transactions, a lock wait given up): each again alone.
                        session.rollback()
                        return len(group)
                    if isinstance(e, Forbidden) and audit.refusal_count(session) == mark:
                        refused(session, job.creds.method, job.creds.path, e, self._state.clock())
                    session.rollback()  # a refusal is written now, in its own transaction
                    job.future.set_exception(e)
                    return i
            try:
                session.commit()
            except Exception as e:
                session.rollback()
                if len(group) == 1 and not db.retryable(e):
                    group[0].future.set_exception(e)
                    return None
                return len(group)
        self.stats.batches += 1
        self.stats.events += len(group)
        self.stats.largest = max(self.stats.largest, len(group))
        for job, answer in zip(group, answers, strict=True):
            job.future.set_result(answer)
        return None

    def _one(self, session: Session, job: Job) -> bytes:
        at = self._state.clock()
        session.info.pop(ACTOR, None)
        session.info.pop(SCOPE, None)
        user = authenticate(session, job.creds, at)
        ctx = Ctx(
            session=session,
            user=user,
            now=at,
            config=self._state.config,
            scope=session.info.get(SCOPE),
        )
        body = job.body
        routed = events.ingest(
            ctx,
            body.nhs_number,
            body.type,
            body.occurred_at,
            dict(body.payload),
            body.external_id,
            source=f"api:{user.username}",
        )
        session.flush()  # ids, and any clash in the store, belong to this event
        answer: dict[str, Any] = {
            "id": routed.event.id,
            "duplicate": routed.duplicate,
            "notified_user_ids": sorted({n.recipient_user_id for n in routed.notifications}),
            "task_ids": [t.id for t in routed.tasks],
            "alerts": list(routed.alerts),
            "incident_id": routed.incident.id if routed.incident is not None else None,
        }
        return orjson.dumps(answer)
