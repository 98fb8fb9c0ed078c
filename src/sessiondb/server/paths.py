"""Ids with ``/`` (or ``%``) in URL paths: ``/v1/sessions/user%2F42`` is session ``user/42``.

ASGI servers percent-decode the path before the app routes it, so ``%2F`` would become a
path separator and ``user/42`` could never be reached (and ``x/tree`` would be the tree
page of ``x``). ``RawPathSegments`` routes on the raw path instead: it decodes every
escape but ``%2F`` and ``%25``, which stay (upper-cased) inside their segment, and the
``segment`` path convertor (``{session_id:segment}``) decodes those two in the value.
``%25`` stays encoded as well so that a literal ``%2F`` in an id (sent as ``%252F``) is
not read as ``/``. Paths without either escape are left as the server decoded them.

Links to such ids are built with ``quote_segment`` (``/`` and ``%`` encoded).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RawPathSegments", "SegmentConvertor", "quote_segment"]

_KEPT = re.compile(r"(%2[Ff]|%25)")
_KEPT_BYTES = re.compile(rb"%(2[Ff]|25)")


def quote_segment(value: str) -> str:
    """``value`` as one URL path segment: everything but unreserved characters encoded."""
    return quote(value, safe="")


def routing_path(raw_path: str) -> str:
    """``raw_path`` decoded as a server does, except that ``%2F`` and ``%25`` stay."""
    parts = _KEPT.split(raw_path)
    return "".join(part.upper() if i % 2 else unquote(part) for i, part in enumerate(parts))


class SegmentConvertor(Convertor[str]):
    """A path parameter of one segment in a path made by ``RawPathSegments``."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return _KEPT.sub(lambda m: "/" if m.group(1) != "%25" else "%", value)

    def to_string(self, value: str) -> str:
        return value.replace("%", "%25").replace("/", "%2F")


register_url_convertor("segment", SegmentConvertor())


class RawPathSegments:
    """ASGI middleware: keep ``%2F`` and ``%25`` encoded in ``scope["path"]`` (see the
    module docstring). The path is rebuilt from ``raw_path``, the bytes the server
    received (as the ASGI spec defines it); a scope without one is passed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and _KEPT_BYTES.search(raw):
            path = routing_path(raw.decode("latin-1"))
            root = scope.get("root_path", "")
            if root and scope["path"].startswith(root) and not path.startswith(root):
                path = root + path  # a server whose raw_path leaves out the root_path
            scope = {**scope, "path": path}
        await self.app(scope, receive, send)
