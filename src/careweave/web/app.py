"""Wiring the workbench into the care API's FastAPI app (called by careweave.server).

Pages reuse the API's dependencies (one transaction per request, the current
user from the session cookie, CSRF on every unsafe request) and the domain
functions in careweave.care / careweave.security. Domain errors on page routes
render as NHS.UK error pages instead of JSON; a missing or expired session
redirects to the sign-in page.
"""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from careweave.security.errors import DomainError
from careweave.web.errors import domain_message, validation_message
from careweave.web.render import render_error
from careweave.web.warehouse import Reader

STATIC = Path(__file__).parent / "static"
PREFIX = "/app"
log = logging.getLogger(__name__)


def warm_up(app: FastAPI) -> None:
    """Prepare every route, compile every template and fill the caches of the worklist (segments,
    organisations) and the population pages (the pyramid, segment counts, and from the
    warehouse its tables, movement and spend), so the first users after a start do not
    pay for them: at 1,000,000 people the segment list alone is a half-second scan, and
    20 first requests at once took over a second. It also reads one person's history
    from the warehouse as the patient page does (timeline, telehealth, risk history,
    shared record; nothing is kept or shown, nobody's access is recorded): the first
    such read in a process cost about 360 ms of CPU (DuckDB's first use of each table,
    the code descriptions and reference ranges loaded), against 40-50 ms after, and
    the first users all paid it at once.

    FastAPI (0.165) prepares a router's routes (their dependencies and the pydantic
    validators of their parameters) when a request first walks that router, in the event
    loop, so every request in flight waited: about 1 s of CPU at the first request, the
    first patient page 450 ms of CPU instead of 120 and the first population page 155
    instead of 25. Building the OpenAPI schema (``app.openapi()``, public, and kept for
    ``/openapi.json``) walks every route and prepares them all here instead.

    A failure is logged (no personal data) and never stops the server."""
    from sqlalchemy import select

    from careweave.store.models import Person
    from careweave.web import population
    from careweave.web import warehouse as wh
    from careweave.web.pages.worklist import segment_options
    from careweave.web.record import shared_record
    from careweave.web.templating import env
    from careweave.web.worklist_query import organisations

    try:
        app.openapi()
    except Exception as e:  # warming is an optimisation only
        log.warning("route warm-up skipped: %s", type(e).__name__)
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    try:
        with app.state.careweave.sessions() as session:
            organisations(session)
            segment_options(session)
            for by in ("locality", "cluster", "practice"):
                population.pyramid(session, by)
            population.segment_counts(session)
            someone = session.execute(select(Person.nhs_number).limit(1)).scalar()
        reader: Reader | None = app.state.careweave_warehouse_reader
        if reader is not None:
            with reader.cursor() as con:
                if con is not None:
                    wh.tables(con)
                    wh.movement(con)
                    wh.segment_spend(con)
                    if someone is not None:
                        now = dt.datetime.now(dt.UTC)
                        wh.timeline(con, someone, now.date() - dt.timedelta(days=730))
                        wh.telehealth(con, someone, now - dt.timedelta(days=30))
                        wh.risk_history(con, someone)
                        shared_record(con, someone, now.date())
    except Exception as e:  # warming is an optimisation only
        log.warning("workbench warm-up skipped: %s", type(e).__name__)


def freeze_heap() -> None:
    """Collect the garbage, then move every object alive now (modules, compiled templates,
    the warm caches: about 310,000 objects in the demo) out of the garbage collector's
    sight for the rest of the process (``gc.freeze``). A full collection stops every
    thread while it walks all tracked objects: over the start-up heap that was about
    200 ms of CPU (0.8 s wall on the shared machine), in the middle of whichever requests
    were running, a few times a minute under load; over what requests leave behind it is
    about 15 ms. A frozen object in a reference cycle is never collected (reference
    counting still frees the rest, such as a cache's replaced values), so only a serving
    process does this (``install(..., freeze=True)``, from ``careweave.server``), not
    the tests' apps, which come and go by the hundred."""
    gc.collect()
    gc.freeze()


def _warm_on_startup(app: FastAPI, freeze: bool) -> None:
    """Run :func:`warm_up` (in a worker thread) before the app starts serving, then
    :func:`freeze_heap` when ``freeze``."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        await run_in_threadpool(warm_up, app)
        if freeze:
            freeze_heap()
        async with inner(a) as state:
            yield state
        reader: Reader | None = getattr(app.state, "careweave_warehouse_reader", None)
        if reader is not None:
            reader.close()  # let go of the warehouse file at shutdown

    app.router.lifespan_context = lifespan


async def _delegate(result: Any) -> Response:
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, Response)
    return result


def _is_page(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def install(
    app: FastAPI,
    warehouse: Path | str | None = None,
    budget: Path | str | None = None,
    *,
    freeze: bool = False,
) -> None:
    """Add the pages, the public directory and /assets to an app from create_app.

    ``warehouse`` is the DuckDB file the pages read (read-only); None: no warehouse,
    and the pages that need one say so. ``budget`` is the pooled budget file the schemes
    page reports (None: the shipped example). ``freeze``: after the start-up warm-up,
    hide the start-up heap from the garbage collector (:func:`freeze_heap`; for a
    serving process). Installing twice is refused."""
    from careweave.web.pages import ROUTERS

    if getattr(app.state, "careweave_web", False):
        raise RuntimeError("the web workbench is already installed on this app")
    app.state.careweave_web = True
    app.state.careweave_warehouse = Path(warehouse) if warehouse is not None else None
    app.state.careweave_budget = Path(budget) if budget is not None else None
    app.state.careweave_warehouse_reader = (
        Reader(Path(warehouse)) if warehouse is not None else None
    )
    _warm_on_startup(app, freeze)

    json_domain = app.exception_handlers.get(DomainError)
    json_validation = app.exception_handlers.get(RequestValidationError)

    async def domain(request: Request, e: Exception) -> Response:
        if not _is_page(request):
            assert json_domain is not None
            return await _delegate(json_domain(request, e))
        assert isinstance(e, DomainError)
        if e.status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target)}", status_code=303)
        # A choice the page does not offer (an edited address): explained, with the way
        # back to the plain page, as for a malformed one.
        again = request.url.path if request.method == "GET" and e.status in (400, 422) else None
        return await run_in_threadpool(
            render_error, request, e.status, domain_message(e.status, str(e)), None, again
        )

    async def validation(request: Request, e: Exception) -> Response:
        if not _is_page(request):
            assert json_validation is not None
            return await _delegate(json_validation(request, e))
        assert isinstance(e, RequestValidationError)
        errors: list[dict[str, Any]] = list(e.errors())
        lines = list(dict.fromkeys(validation_message(err) for err in errors))
        # A bad address (query or path) is explained, with the way back to the plain page.
        again = request.url.path if request.method == "GET" else None
        return await run_in_threadpool(render_error, request, 422, "\n".join(lines), None, again)

    async def http_error(request: Request, e: Exception) -> Response:
        assert isinstance(e, StarletteHTTPException)
        if not _is_page(request) or e.status_code not in (404, 405):
            assert json_http is not None
            return await _delegate(json_http(request, e))
        message = (
            "We cannot find the page you asked for."
            if e.status_code == 404
            else "That page cannot be used like that."
        )
        return await run_in_threadpool(render_error, request, e.status_code, message)

    async def crash(request: Request, e: Exception) -> Response:
        # Only the exception's type is logged: its text may carry personal data.
        log.error("page %s failed: %s", request.url.path, type(e).__name__)
        if not _is_page(request):
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return await run_in_threadpool(
            render_error, request, 500, "Something went wrong on our side."
        )

    json_http = app.exception_handlers.get(StarletteHTTPException)
    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, crash)

    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)
