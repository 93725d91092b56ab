"""Security headers on every response of the API and the workbench.

- ``Content-Security-Policy``: scripts, styles, images and fonts from the app itself
  only (no inline script or style, no eval), forms post only to the app, no plugins,
  ``frame-ancestors 'none'``. The interactive API docs (``/docs``, ``/redoc``: FastAPI's
  Swagger UI and ReDoc, an inline bootstrap script and assets from cdn.jsdelivr.net)
  carry a policy that allows exactly that; they hold no personal data.
- ``X-Frame-Options: DENY`` (older browsers' frame-ancestors), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: no-referrer`` (URLs carry NHS numbers).
- ``Cache-Control: no-store`` on everything but the static assets (``/assets``), so no
  page or API answer with personal data is kept by a browser or proxy; a handler's own
  Cache-Control is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
STATIC_PREFIX = "/assets/"


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CSP if path.startswith(DOCS_PATHS) else CSP
    out = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if not path.startswith(STATIC_PREFIX):
        out.append((b"cache-control", b"no-store"))
    return out


class SecurityHeaders:
    """ASGI middleware adding :func:`headers_for` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
