"""The FastAPI application factory for the care API (without the web workbench).

``create_app`` builds the API alone; careweave.server (the composition root) builds
the whole application from a settings object and adds the workbench. This package
never imports careweave.web.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from careweave import __version__
from careweave.api.deps import AppState
from careweave.api.fhir import bulk_jobs
from careweave.api.fhir import openapi as fhir_openapi
from careweave.api.fhir import outcome as fhir_outcome
from careweave.api.headers import SecurityHeaders
from careweave.api.schemas import ErrorOut, HealthOut
from careweave.care import config as care_config
from careweave.care.referrals import seed_services
from careweave.errors import InputError
from careweave.maturity.matrices import load_matrices
from careweave.security.errors import DomainError
from careweave.store.db import (
    BUSY_TEXT,
    READ_ONLY,
    RETRY_AFTER,
    StoreBusy,
    busy,
    make_engine,
    session_factory,
    transaction,
    upgrade,
)

log = logging.getLogger(__name__)
# Below Starlette's 40 worker threads and the engine's 30 pooled connections.
MAX_IN_FLIGHT = 16

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 422, 429, 503)
}


class Activity:
    """The HTTP requests this process has in progress (arrived, not yet answered), so that
    background work in the same interpreter can give way to them (``app.state``'s
    ``careweave_activity``; the commissioner pages' warmer waits for a moment with none).

    One interpreter runs Python in one thread at a time: a thread busy in Python keeps
    every request thread waiting for its turn each time that thread comes back from
    SQLite or DuckDB (which let go of the interpreter while they work), so a page of many
    short queries slowed several-fold while the warmer ran (docs/web.md, the p99 tail)."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def started(self) -> None:
        with self._idle:
            self._in_flight += 1

    def finished(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no request is in progress (True) or ``timeout`` seconds have passed
        with one always in progress (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)


class InFlightLimit:
    """Caps requests in progress so threads never all wait on the store, and counts them
    in ``activity`` (from arrival, waiting included, to the answer).

    Handlers run in Starlette's worker threads (40). A request holding the SQLite write
    lock (or the audit-chain row lock on PostgreSQL) needs a free thread to finish; if
    every thread were parked waiting for that lock, nothing could progress until timeouts.
    """

    def __init__(self, app: ASGIApp, limit: int, activity: Activity | None = None) -> None:
        self.app = app
        self.limit = limit
        self.activity = activity if activity is not None else Activity()
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        sem = self._semaphores.get(loop)
        if sem is None:
            sem = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        self.activity.started()
        try:
            async with sem:
                await self.app(scope, receive, send)
        finally:
            self.activity.finished()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    db_url: str,
    *,
    config_dir: Path | str | None = None,
    pseudonym_key: bytes | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
    cookie_secure: bool = True,
    matrix_dir: Path | str | None = None,
    bulk_dir: Path | str = "careweave-bulk",
    bulk_keep: dt.timedelta = dt.timedelta(hours=24),
) -> FastAPI:
    """Build the API over the store at ``db_url`` (migrated to the newest schema first).

    ``bulk_dir``: where FHIR Bulk Data export files are written (every worker of one
    server must be given the same; made at the first kick-off); ``bulk_keep``: how long a
    finished export is kept (api/fhir/bulk_jobs.py)."""
    from careweave.api.routers import ALL

    engine = make_engine(db_url)
    upgrade(engine)
    cfg = care_config.load(config_dir)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        seed_services(s, cfg, clock())
    key = pseudonym_key
    if key is None:
        # Pseudonyms are then stable only for this process: fine for a laptop, not for analysis.
        log.warning("no pseudonym key configured: using a random per-process key")
        key = secrets.token_bytes(32)

    app = FastAPI(
        title="Careweave care co-ordination API",
        version=__version__,
        description="Register, care teams, assessments, care plans, referrals, MDT, events, "
        "notifications; every access checked for a legitimate relationship and audited.",
        responses=ERRORS,
    )
    app.state.careweave = AppState(
        sessions, cfg, clock, key, cookie_secure, matrices=load_matrices(matrix_dir)
    )
    # FHIR Bulk Data export jobs: in the store, their files under bulk_dir.
    app.state.careweave_fhir_exports = bulk_jobs.Exports(Path(bulk_dir), sessions, clock, bulk_keep)
    # The override directory, for rules read outside the care config (capacity norms).
    app.state.careweave_config_dir = Path(config_dir) if config_dir is not None else None
    # Requests in progress, for background work in this process to give way to them.
    app.state.careweave_activity = activity = Activity()
    app.add_middleware(InFlightLimit, limit=MAX_IN_FLIGHT, activity=activity)
    app.add_middleware(SecurityHeaders)  # outermost: every response, errors included

    def _error(request: Request, detail: str, status: int) -> JSONResponse:
        """``{"detail": ...}``, or an OperationOutcome on the FHIR endpoint."""
        if fhir_outcome.is_fhir(request):
            return fhir_outcome.response(detail, status)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, e: DomainError) -> JSONResponse:
        return _error(request, str(e), e.status)

    @app.exception_handler(fhir_outcome.FhirError)
    async def _fhir(_: Request, e: fhir_outcome.FhirError) -> JSONResponse:
        return fhir_outcome.response(e.text, e.status, e.code)

    @app.exception_handler(InputError)
    async def _input(request: Request, e: InputError) -> JSONResponse:
        return _error(request, str(e), 422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        # FHIR reports a malformed request as 400; the JSON API keeps its 422.
        status = 400 if fhir_outcome.is_fhir(request) else 422
        return _error(request, f"{where}: {first.get('msg')}", status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> Response:
        if fhir_outcome.is_fhir(request):
            text = {404: "no such FHIR endpoint", 405: "interaction not supported"}.get(
                e.status_code, str(e.detail)
            )
            r = fhir_outcome.response(f"{request.method} {request.url.path}: {text}", e.status_code)
            if e.headers:
                r.headers.update(e.headers)
            return r
        return await http_exception_handler(request, e)

    def _busy(request: Request, retry_after: int) -> JSONResponse:
        """503 with Retry-After: the store refused the change for others made at the same
        moment, and retrying did not get past it (store/db.py); nothing was saved."""
        if fhir_outcome.is_fhir(request):
            r: JSONResponse = fhir_outcome.response(BUSY_TEXT, 503, "transient")
        else:
            r = JSONResponse({"detail": BUSY_TEXT}, status_code=503)
        r.headers["Retry-After"] = str(retry_after)
        return r

    @app.exception_handler(StoreBusy)
    async def _store_busy(request: Request, e: StoreBusy) -> JSONResponse:
        return _busy(request, e.retry_after)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, e: OperationalError) -> JSONResponse:
        # A request's transaction (rolled back whole by its dependency) that met a
        # deadlock or a lock wait is the store's moment, not a fault: 503, try again.
        if busy(e):
            return _busy(request, RETRY_AFTER)
        raise e  # anything else is a server error (500), logged as before

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, e: IntegrityError) -> JSONResponse:
        return _error(
            request, "conflict: the change clashes with existing data; nothing was saved", 409
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, e: DataError) -> JSONResponse:
        return _error(request, "a value is out of range for storage; nothing was saved", 422)

    @app.get(
        "/health",
        response_model=HealthOut,
        tags=["health"],
        responses={503: {"model": ErrorOut, "description": "store unreachable"}},
    )
    def health() -> JSONResponse | HealthOut:
        """200 when the store answers a query."""
        try:
            with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                conn.execute(text("SELECT 1"))  # a read: never waits for the write lock
        except OperationalError:
            return JSONResponse({"detail": "store unreachable"}, status_code=503)
        return HealthOut(status="ok", store="reachable")

    for router in ALL:
        app.include_router(router)
    openapi = app.openapi

    def with_fhir_parameters() -> dict[str, Any]:
        """The OpenAPI document, the FHIR searches' parameters declared (api/fhir/openapi.py)."""
        if app.openapi_schema is None:
            app.openapi_schema = fhir_openapi.declare(openapi())
        return app.openapi_schema

    app.openapi = with_fhir_parameters  # type: ignore[method-assign]
    return app
