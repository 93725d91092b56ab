"""Wiring the workbench into the care API's FastAPI app (called by careweave.server).

Pages reuse the API's dependencies (one transaction per request, the current
user from the session cookie, CSRF on every unsafe request) and the domain
functions in careweave.care / careweave.security. Domain errors on page routes
render as NHS.UK error pages instead of JSON; a missing or expired session
redirects to the sign-in page.
"""

from __future__ import annotations

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
    """Compile every template and fill the caches of the worklist (segments,
    organisations) and the population pages (the pyramid, segment counts, and from the
    warehouse its tables, movement and spend), so the first users after a start do not
    pay for them: at 1,000,000 people the segment list alone is a half-second scan, and
    20 first requests at once took over a second. A failure is logged (no personal data)
    and never stops the server."""
    from careweave.web import population
    from careweave.web import warehouse as wh
    from careweave.web.pages.worklist import segment_options
    from careweave.web.render import env
    from careweave.web.worklist_query import organisations

    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    try:
        with app.state.careweave.sessions() as session:
            organisations(session)
            segment_options(session)
            for by in ("locality", "cluster", "practice"):
                population.pyramid(session, by)
            population.segment_counts(session)
        reader: Reader | None = app.state.careweave_warehouse_reader
        if reader is not None:
            with reader.cursor() as con:
                if con is not None:
                    wh.tables(con)
                    wh.movement(con)
                    wh.segment_spend(con)
    except Exception as e:  # warming is an optimisation only
        log.warning("workbench warm-up skipped: %s", type(e).__name__)


def _warm_on_startup(app: FastAPI) -> None:
    """Run :func:`warm_up` (in a worker thread) before the app starts serving."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        await run_in_threadpool(warm_up, app)
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
    app: FastAPI, warehouse: Path | str | None = None, budget: Path | str | None = None
) -> None:
    """Add the pages, the public directory and /assets to an app from create_app.

    ``warehouse`` is the DuckDB file the pages read (read-only); None: no warehouse,
    and the pages that need one say so. ``budget`` is the pooled budget file the schemes
    page reports (None: the shipped example). Installing twice is refused."""
    from careweave.web.pages import ROUTERS

    if getattr(app.state, "careweave_web", False):
        raise RuntimeError("the web workbench is already installed on this app")
    app.state.careweave_web = True
    app.state.careweave_warehouse = Path(warehouse) if warehouse is not None else None
    app.state.careweave_budget = Path(budget) if budget is not None else None
    app.state.careweave_warehouse_reader = (
        Reader(Path(warehouse)) if warehouse is not None else None
    )
    _warm_on_startup(app)

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
