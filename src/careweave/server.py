"""The composition root: the whole application (care API + web workbench) from settings.

This is the one place that knows both halves: :func:`build_app` builds the API
(careweave.api.create_app) and installs the workbench (careweave.web.install)
on it, from one :class:`careweave.settings.Settings`; :func:`serve` runs it with
uvicorn. The API never imports the web; the web builds on the API's request
dependencies.

With several workers, each worker process builds its own app from the same
settings object, handed to it pickled (no environment variables are written).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from careweave.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI
    from sqlalchemy.orm import Session, sessionmaker

    from careweave.care.background import Job, Loop
    from careweave.web.pages.intelligence import PageWarmer


log = logging.getLogger(__name__)

#: How ``serve`` runs uvicorn, whatever the worker count.
#:
#: - ``timeout_keep_alive``: an idle keep-alive connection is closed after 75 s, not
#:   uvicorn's 5 s. A client's pool keeps idle connections for as long or longer (httpx
#:   5 s, nginx and load balancers 60 s), so at 5 s the server's close races the client's
#:   next request on that connection, which then fails with a reset (seen as "connection
#:   reset" in bench_events at 100 events/s). The server must outlast its clients.
#: - ``timeout_worker_healthcheck``: with several workers uvicorn's supervisor pings each
#:   one and kills it (every connection it holds reset) when it does not answer in time;
#:   5 s is too short for a worker busy on a saturated machine, 30 s is not.
#: - HTTP parsing by httptools and the uvloop event loop (both pinned): uvicorn picks them
#:   when installed; pure-Python h11 cost about a quarter of a request's CPU.
UVICORN: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "timeout_keep_alive": 75,
    "timeout_worker_healthcheck": 30,
}


#: How long the commissioner pages' warmer waits, before each view it makes, for a moment
#: with no request in progress (``_warm_commissioner_pages``).
GIVE_WAY_SECONDS = 5.0


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_app(
    settings: Settings, *, clock: Callable[[], dt.datetime] = _utcnow, serving: bool = False
) -> FastAPI:
    """The API and the workbench over the store ``settings.db`` (migrated and seeded first).

    ``serving``: the app is what this process serves (``careweave serve``), so after its
    start-up warm-up the start-up heap is frozen out of the garbage collector's sight
    (``careweave.web.app.freeze_heap``), and with a warehouse a thread makes the
    commissioner pages' first views (``careweave.web.pages.intelligence.PageWarmer``)."""
    from careweave.api import create_app
    from careweave.web import install

    app = create_app(
        settings.db,
        config_dir=settings.config_dir,
        pseudonym_key=settings.pseudonym_key_bytes(),
        clock=clock,
        cookie_secure=settings.cookie_secure,
        matrix_dir=settings.matrix_dir,
        bulk_dir=settings.bulk_dir,
        bulk_keep=dt.timedelta(hours=settings.bulk_keep_hours),
    )
    install(app, warehouse=settings.warehouse, budget=settings.budget_file, freeze=serving)
    if serving and settings.warehouse is not None:
        _warm_commissioner_pages(app, settings.warehouse)
    return app


def _warm_commissioner_pages(
    app: FastAPI, warehouse: Path | str, every: float = 10.0
) -> PageWarmer:
    """Start the thread that makes the commissioner pages' first views at start and after
    each new measures run (careweave.web.pages.intelligence.PageWarmer). Before each view
    it waits for a moment when the app has no request in progress, at most
    :data:`GIVE_WAY_SECONDS` (then it makes the view anyway, so a server never idle still
    warms, one view at a time)."""
    from pathlib import Path

    from careweave.api.app import Activity
    from careweave.web.pages.intelligence import PageWarmer
    from careweave.web.worklist_query import organisations

    def store_names() -> dict[str, str]:
        with app.state.careweave.sessions() as session:
            return {k: str(v.name) for k, v in organisations(session).items()}

    activity: Activity = app.state.careweave_activity

    def give_way() -> None:
        activity.wait_idle(GIVE_WAY_SECONDS)

    warmer = PageWarmer(Path(warehouse), store_names, every, pause=give_way)
    app.state.careweave_page_warmer = warmer
    warmer.start()
    return warmer


def jobs_loop(settings: Settings) -> Loop:
    """The clock-driven jobs (care/background.py) over the store of ``settings``."""
    from careweave.care import background
    from careweave.care import config as care_config
    from careweave.store.db import make_engine, session_factory, upgrade

    engine = make_engine(settings.db)
    upgrade(engine)  # before the jobs touch the store
    cfg = care_config.load(settings.config_dir)
    sessions = session_factory(engine)
    jobs = [background.breach_job(sessions, cfg), bulk_sweep_job(settings, sessions)]
    channels = settings.channels()
    if channels.names():
        jobs.append(background.outbox_job(sessions, channels, settings.outbox_every))
    return background.Loop(jobs)


def bulk_sweep_job(settings: Settings, sessions: sessionmaker[Session]) -> Job:
    """Expired FHIR Bulk Data exports deleted, files and all (api/fhir/bulk_jobs.py)."""
    from pathlib import Path

    from careweave.api.fhir import bulk_jobs
    from careweave.care.background import Job

    root = Path(settings.bulk_dir).resolve()
    keep = dt.timedelta(hours=settings.bulk_keep_hours)
    return Job(
        "bulk export sweep",
        bulk_jobs.SWEEP_EVERY,
        lambda: bulk_jobs.sweep(sessions, root, _utcnow(), keep),
    )


def serve(settings: Settings) -> None:
    """Serve the application on ``settings.host:port`` with ``settings.workers`` processes,
    and (unless ``settings.no_jobs``) the clock-driven jobs in one thread of this process."""
    loop = None
    try:
        if not settings.no_jobs:
            loop = jobs_loop(settings)
            loop.start()
        _serve(settings)
    finally:
        if loop is not None:
            loop.stop()


def _serve(settings: Settings) -> None:
    import uvicorn

    if settings.workers == 1:
        app = build_app(settings, serving=True)  # migrates and seeds before listening
        uvicorn.run(app, host=settings.host, port=settings.port, **UVICORN)
        return
    from uvicorn.supervisors import Multiprocess

    if settings.pseudonym_key_bytes() is None:
        # One random key for every worker, or each would make different pseudonyms.
        log.warning("no pseudonym key configured: using a random key for this server run")
        key = SecretStr(secrets.token_hex(32))
        settings = settings.model_copy(update={"pseudonym_key": key})
    build_app(settings)  # migrate and seed once, before any worker starts
    # uvicorn.run insists on an import string for several workers; build its pieces
    # here instead so each worker gets this settings object, not the environment.
    config = uvicorn.Config(
        functools.partial(build_app, settings, serving=True),
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        **UVICORN,
    )
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
