"""``create_app(store)``: the FastAPI application serving the API (``/v1``) and web UI (``/``).

Every error leaves through ``error_response``, the one handler: the body is always
``{"error": <class name>, "detail": ...}`` and the status comes from ``STATUS_CODES``
(web pages get the same status with an HTML page). Bodies are capped by ``BodyLimit``
before the app sees them, on the declared ``Content-Length`` and on the bytes received.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..aio import AsyncStore
from ..errors import (
    AlreadyExists,
    BackendError,
    Conflict,
    InvalidInput,
    MissingDependency,
    NotFound,
    SchemaTooNew,
    SessionDBError,
)
from ..store import Store
from .auth import Forbidden, PayloadTooLarge, Principal, Tokens, Unauthorized, parse_tokens
from .paths import RawPathSegments

__all__ = ["DEFAULT_MAX_BODY_BYTES", "STATUS_CODES", "create_app", "error_body", "error_response"]

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
HERE = Path(__file__).parent

# The one table from error class to HTTP status; the most specific class wins (MRO order).
STATUS_CODES: dict[type[Exception], int] = {
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    InvalidInput: 422,
    RequestValidationError: 422,
    Unauthorized: 401,
    Forbidden: 403,
    PayloadTooLarge: 413,
    SchemaTooNew: 409,
    BackendError: 503,
    MissingDependency: 501,
    SessionDBError: 500,
}


def _status_of(exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        # FastAPI answers an unparsable body (bad UTF-8, broken multipart) with 400: for
        # us that is invalid input like any other.
        return 422 if exc.status_code == 400 else exc.status_code
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


def _name_of(exc: Exception, status: int) -> str:
    if not isinstance(exc, SessionDBError | HTTPException | RequestValidationError):
        return "InternalError"  # a bug: do not leak its type or message to clients
    if isinstance(exc, RequestValidationError) or status == 422:
        return "InvalidInput"
    if isinstance(exc, HTTPException):
        # Starlette's own 404/405...: name the status the way our classes are named.
        try:
            return http.HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
        except ValueError:
            return "HTTPError"
    return type(exc).__name__


def _detail_of(exc: Exception) -> Any:
    if not isinstance(exc, SessionDBError | HTTPException | RequestValidationError):
        return "unexpected server error; the server log has the details"
    if isinstance(exc, RequestValidationError):
        return [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    if isinstance(exc, HTTPException):
        return exc.detail
    return str(exc)


def error_body(exc: Exception) -> dict[str, Any]:
    """``{"error": <class name>, "detail": ...}`` for ``exc``, as the API answers it
    (an event stream that has started sends it as an ``error`` event)."""
    return {"error": _name_of(exc, _status_of(exc)), "detail": _detail_of(exc)}


async def error_response(request: Request, exc: Exception) -> Response:
    """The response for any error: JSON for the API, an HTML page for the web UI."""
    status = _status_of(exc)
    name, detail = _name_of(exc, status), _detail_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if getattr(exc, "headers", None):
        headers = {**(headers or {}), **exc.headers}  # type: ignore[attr-defined]
    if _wants_html(request):
        if status == 401 and request.method == "GET":
            target = quote(request.url.path, safe="/")  # keeps a %2F inside an id encoded
            return RedirectResponse(f"/login?next={target}", status_code=303)
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "error": name, "detail": detail, "who": None},
            status_code=status,
            headers=headers,
        )
    return JSONResponse(
        {"error": name, "detail": jsonable_encoder(detail)}, status_code=status, headers=headers
    )


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/v1", "/openapi.json", "/static")):
        return False
    return "text/html" in request.headers.get("accept", "")


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413.

    The body is read (up to the limit) before the app runs, so a lying or missing
    ``Content-Length`` cannot get more than ``limit`` bytes into memory, and the app then
    reads it from memory.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # then wait for the disconnect, as a server would

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        error = PayloadTooLarge(f"request body is over the limit of {self.limit} bytes")
        response = await error_response(request, error)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_CSP = (
    b"content-security-policy",
    b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
)


class SecurityHeaders:
    """ASGI middleware: no sniffing, no framing; a same-origin CSP on HTML pages (the UI
    loads nothing from elsewhere, and its scripts are files, never inline)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_HEADERS)
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    headers.append(_CSP)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    store: Store,
    *,
    tokens: Tokens | Mapping[str, Principal] | str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    sse_interval: float = 0.25,
) -> FastAPI:
    """The web application over ``store`` (not closed by the app).

    ``tokens``: a ``Tokens`` table, a mapping token -> ``Principal``, or a spec string
    (see ``sessiondb.server.auth``); None or empty means no authentication.
    ``max_body_bytes``: larger request bodies get 413. ``sse_interval``: seconds between
    polls of the event stream. Raises InvalidInput for a malformed token spec.
    """
    from . import api, web

    app = FastAPI(
        title="sessiondb",
        version=__version__,
        description=(
            "The session database for AI agents over HTTP. Every error is "
            '`{"error": <class>, "detail": ...}`.'
        ),
        docs_url=None,  # the bundled /docs page works offline (Swagger UI needs a CDN)
        redoc_url=None,
    )
    if isinstance(tokens, Tokens):
        table = tokens
    elif isinstance(tokens, str):
        table = parse_tokens(tokens)
    else:
        table = Tokens(tokens)
    app.state.store = store
    app.state.db = AsyncStore(store)
    app.state.tokens = table
    app.state.sse_interval = sse_interval
    templates = Jinja2Templates(directory=HERE / "templates")
    web.setup_templates(templates)
    app.state.templates = templates

    for cls in (SessionDBError, HTTPException, RequestValidationError, Exception):
        # Exception: Starlette answers with this handler, then re-raises for the log.
        app.add_exception_handler(cls, error_response)
    app.add_middleware(BodyLimit, limit=max_body_bytes)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(RawPathSegments)  # session ids with '/' route as one segment
    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
