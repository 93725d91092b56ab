"""The jobs ``careweave serve`` runs on a clock, beside the request handlers.

One daemon thread in the serving process (the supervisor when there are several
workers, so exactly one loop per server, whatever the worker count) runs each job
on its own period, each in its own transaction:

- the alarm incidents' 2-hour check (care/incidents.check_breaches), every minute;
- draining the outbox of email and SMS (care/outbox.drain), every
  ``outbox_every`` seconds (0.2 s: an alarm reaches the responder's phone within a
  second), when channels are configured;
- deleting expired FHIR Bulk Data exports and their files (api/fhir/bulk_jobs.sweep),
  every 10 minutes (added by careweave.server, which knows the API).

A job that fails is logged (its kind of error, never a person's data) and tried
again on its next turn; stopping the server stops the loop. The same jobs run
from a scheduler as ``careweave incidents check-breaches`` and ``careweave outbox
send``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from careweave.care import incidents, outbox
from careweave.care.channels import Channels
from careweave.care.config import CareConfig
from careweave.store.db import transaction

log = logging.getLogger(__name__)
BREACH_EVERY = 60.0


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[], object]
    next_at: float = 0.0


@dataclass
class Loop:
    """The clock-driven jobs over one store; ``start`` runs them in a daemon thread."""

    jobs: list[Job]
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def tick(self) -> None:
        """Run every job that is due now (each in its own transaction)."""
        mono = time.monotonic()
        for job in self.jobs:
            if mono < job.next_at:
                continue
            job.next_at = mono + job.every
            try:
                job.run()
            except Exception as e:  # a job must never stop the loop
                log.warning("background job %s failed: %s", job.name, type(e).__name__)

    def _run(self) -> None:
        step = min(j.every for j in self.jobs)
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(step)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="careweave-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def breach_job(
    sessions: sessionmaker[Session],
    config: CareConfig,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Job:
    def run() -> None:
        with transaction(sessions) as s:
            incidents.check_breaches(s, config, clock(), "serve")

    return Job("incident breaches", BREACH_EVERY, run)


def outbox_job(
    sessions: sessionmaker[Session],
    channels: Channels,
    every: float,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Job:
    return Job("outbox", every, lambda: outbox.drain(sessions, channels, clock))
