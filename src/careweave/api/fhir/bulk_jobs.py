"""Bulk Data export jobs: kept in the operational store, their files on disk.

A job is a row of ``fhir_bulk_exports`` (``store.models.BulkExport``), so whichever
server worker a client reaches answers its status, files and DELETE, and a restart
keeps it. Its files are ``<bulk dir>/<job id>/<Type>.ndjson`` under the configured
directory (``Settings.bulk_dir``: every worker must see the same one), each written as
``<Type>.ndjson.part`` and renamed when complete (``bulk.Writer``); the manifest lists a
file only once the whole job is done, so nothing half-written is ever served.

The process that took the kick-off writes the files, in a thread of its own (the cohort,
who is exported, is kept only in its memory), and a heartbeat thread of that process
writes each running job's progress and ``heartbeat_at`` to the store every
:data:`BEAT` seconds. So:

- **status** is read from the store by any worker: running (202, ``X-Progress``),
  done (200, the manifest, ``Expires``) or failed (500 OperationOutcome);
- a running job whose heartbeat is older than :data:`STALE` was being written by a
  server that stopped (a restart mid-export): it is reported failed ("kick off
  again"), not resumed; the files it had begun are deleted by the next sweep;
- **DELETE** (any worker) removes the row and the directory; the writing process
  learns of it at its next heartbeat (or at once when it is the same process), stops,
  and removes whatever it had begun;
- **expiry**: a finished job (done or failed) is kept for ``Settings.bulk_keep_hours``
  (24) from when it finished, then answers 404 like a deleted one; :func:`sweep`
  (at every kick-off, and every 10 minutes in ``careweave serve``'s jobs thread) deletes
  expired rows and their files, marks stale jobs failed, and removes directories no row
  owns (a crash between a delete's commit and its removal).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from careweave.store.db import transaction
from careweave.store.models import BulkExport

log = logging.getLogger(__name__)

#: Seconds between a running job's heartbeats (progress written to the store).
BEAT = 2.0
#: A running job whose heartbeat is older than this is taken as abandoned.
STALE = dt.timedelta(seconds=60)
#: Seconds between sweeps in ``careweave serve``'s jobs thread.
SWEEP_EVERY = 600.0
#: A directory with no job row is removed once it is this old (a kick-off makes the
#: directory just after committing its row, so a young one may be a job being started).
ORPHAN_AGE = dt.timedelta(hours=1)
JOB_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class Job:
    """A job as the process writing it holds it (the row has the rest)."""

    id: str
    owner: int  # user id: only they may read the status and files
    request: str
    types: tuple[str, ...]
    since: dt.datetime | None
    nhs_numbers: list[str]
    pseudonymise: bool
    directory: Path
    transaction_time: dt.datetime
    done_types: int = 0
    written: int = 0
    output: list[dict[str, Any]] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


def progress(done_types: int, types: int, written: int) -> str:
    return f"{done_types}/{types} types, {written} resources"


def stale(row: BulkExport, now: dt.datetime) -> bool:
    return row.state == "running" and now - row.heartbeat_at > STALE


def expired(row: BulkExport, now: dt.datetime) -> bool:
    return row.expires_at is not None and now >= row.expires_at


class Exports:
    """The export jobs over one store and bulk directory, and this process's writers."""

    def __init__(
        self,
        root: Path,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        keep: dt.timedelta,
    ) -> None:
        self.root = root.resolve()
        self.sessions = sessions
        self.clock = clock
        self.keep = keep
        self.running: dict[str, Job] = {}  # the jobs this process is writing
        self.lock = threading.Lock()
        self._beating: threading.Thread | None = None

    def directory(self, job_id: str) -> Path:
        return self.root / job_id

    def create(self, job: Job) -> None:
        """The job's row (running) committed, then its empty directory."""
        now = self.clock()
        with transaction(self.sessions) as s:
            s.add(
                BulkExport(
                    id=job.id,
                    owner_id=job.owner,
                    request=job.request,
                    types=list(job.types),
                    since=job.since,
                    pseudonymised=job.pseudonymise,
                    transaction_time=job.transaction_time,
                    state="running",
                    done_types=0,
                    written=0,
                    output=[],
                    heartbeat_at=now,
                )
            )
        job.directory.mkdir(parents=True)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def start(self, job: Job, run: Callable[[Job], None]) -> None:
        """Write the job's files in a thread; record the outcome in the store."""
        with self.lock:
            self.running[job.id] = job
            if self._beating is None:
                self._beating = threading.Thread(
                    target=self._beat_loop, name="bulk-heartbeat", daemon=True
                )
                self._beating.start()

        def target() -> None:
            error: str | None = None
            try:
                run(job)
            except Exception as e:  # reported through the status endpoint
                error = f"{type(e).__name__}: the export failed"
                if not job.cancelled.is_set():
                    log.warning("bulk export %s failed: %s", job.id, type(e).__name__)
            finally:
                with self.lock:
                    self.running.pop(job.id, None)
                try:
                    self._finish(job, error)
                finally:
                    job.finished.set()

        threading.Thread(target=target, name=f"bulk-{job.id[:8]}", daemon=True).start()

    def _finish(self, job: Job, error: str | None) -> None:
        now = self.clock()
        kept = False
        if not job.cancelled.is_set():
            with transaction(self.sessions) as s:
                done = s.execute(
                    update(BulkExport)
                    .where(BulkExport.id == job.id, BulkExport.state == "running")
                    .values(
                        state="failed" if error else "done",
                        error=error,
                        output=[] if error else job.output,
                        done_types=job.done_types,
                        written=job.written,
                        heartbeat_at=now,
                        finished_at=now,
                        expires_at=now + self.keep,
                    )
                )
                kept = done.rowcount == 1 and error is None  # type: ignore[attr-defined]
        if not kept:  # failed, or deleted meanwhile: no file is left behind
            shutil.rmtree(job.directory, ignore_errors=True)

    def _beat_loop(self) -> None:
        while True:
            time.sleep(BEAT)
            with self.lock:
                jobs = list(self.running.values())
                if not jobs:
                    self._beating = None
                    return
            try:
                self.beat(jobs)
            except Exception as e:  # the store away for a moment: try at the next beat
                log.warning("bulk export heartbeat failed: %s", type(e).__name__)

    def beat(self, jobs: list[Job]) -> None:
        """Write the jobs' progress and heartbeat; a job whose row is gone (DELETE from
        any worker) is cancelled."""
        now = self.clock()
        with transaction(self.sessions) as s:
            for job in jobs:
                found = s.execute(
                    update(BulkExport)
                    .where(BulkExport.id == job.id, BulkExport.state == "running")
                    .values(done_types=job.done_types, written=job.written, heartbeat_at=now)
                )
                if found.rowcount == 0:  # type: ignore[attr-defined]
                    job.cancelled.set()

    def find(self, session: Session, job_id: str, owner: int) -> BulkExport | None:
        """The owner's job, or None (unknown, another account's, deleted or expired)."""
        if not JOB_ID.fullmatch(job_id):
            return None
        row = session.get(BulkExport, job_id)
        if row is None or row.owner_id != owner or expired(row, self.clock()):
            return None
        return row

    def delete(self, session: Session, job_id: str) -> None:
        """Remove the job's row and commit ``session`` (the request's: on SQLite a second
        writer in the same request would wait for it), then its files; a writer stops."""
        session.execute(delete(BulkExport).where(BulkExport.id == job_id))
        session.commit()
        with self.lock:
            job = self.running.get(job_id)
        if job is not None:
            job.cancelled.set()
        shutil.rmtree(self.directory(job_id), ignore_errors=True)

    def sweep(self) -> int:
        """Delete expired jobs and their files, mark abandoned ones failed (their files
        deleted), remove directories no job owns; the number of jobs removed."""
        return sweep(self.sessions, self.root, self.clock(), self.keep)


def sweep(sessions: sessionmaker[Session], root: Path, now: dt.datetime, keep: dt.timedelta) -> int:
    """See :meth:`Exports.sweep` (also run by ``careweave serve``'s jobs thread)."""
    with transaction(sessions) as s:
        gone = list(
            s.scalars(
                delete(BulkExport)
                .where(BulkExport.expires_at.is_not(None), BulkExport.expires_at <= now)
                .returning(BulkExport.id)
            )
        )
        abandoned = list(
            s.scalars(
                update(BulkExport)
                .where(BulkExport.state == "running", BulkExport.heartbeat_at < now - STALE)
                .values(
                    state="failed",
                    error="the server writing it stopped before it finished; kick off again",
                    finished_at=now,
                    expires_at=now + keep,
                )
                .returning(BulkExport.id)
            )
        )
    for job_id in gone + abandoned:
        shutil.rmtree(root / job_id, ignore_errors=True)
    if root.is_dir():
        with sessions() as s:
            owned = set(
                s.scalars(
                    select(BulkExport.id).where(
                        or_(BulkExport.state == "running", BulkExport.state == "done")
                    )
                )
            )
        for path in root.iterdir():
            if not JOB_ID.fullmatch(path.name) or path.name in owned:
                continue
            # Wall time, not the app's clock: a file's age is the file system's.
            if time.time() - path.stat().st_mtime > ORPHAN_AGE.total_seconds():
                shutil.rmtree(path, ignore_errors=True)
    return len(gone)
