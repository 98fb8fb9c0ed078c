"""sessiondb over HTTP: a REST API under ``/v1`` and a web UI at ``/``.

``create_app(store)`` builds the application (FastAPI), so tests and embedders hand in
any backend; ``run(...)`` is what ``sessiondb serve`` calls. Needs the ``server`` extra:
``pip install 'sessiondb[server]'``.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import TYPE_CHECKING, Any

from ..backends import redact
from ..errors import InvalidInput, MissingDependency
from .auth import Principal, Tokens, parse_tokens

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..store import Store

__all__ = ["Principal", "Tokens", "create_app", "is_loopback", "parse_tokens", "run"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _missing_extra(exc: ImportError) -> MissingDependency:
    return MissingDependency(
        f"the server requires the 'server' extra: pip install 'sessiondb[server]' ({exc})",
        reason="the server needs the 'server' extra: pip install 'sessiondb[server]'",
        subject=str(exc),
    )


def create_app(store: Store, **options: object) -> FastAPI:
    """The web application over ``store``; see ``sessiondb.server.app.create_app``.

    Raises MissingDependency when the ``server`` extra is not installed.
    """
    try:
        from .app import create_app as build
    except ImportError as exc:
        raise _missing_extra(exc) from exc
    return build(store, **options)  # type: ignore[arg-type]


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(
    store_url: str | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    tokens: Tokens | str | None = None,
    insecure: bool = False,
    max_body_bytes: int | None = None,
    **options: Any,
) -> None:
    """Serve ``store_url`` (None: ``$SESSIONDB_URL`` or the default embedded file) until
    interrupted, printing the URL.

    ``tokens`` is a ``Tokens`` table or a spec string; ``$SESSIONDB_TOKENS`` is added to
    it. ``max_body_bytes`` caps request bodies (uploads included; default 16 MiB).
    ``options`` go to ``sessiondb.connect`` (e.g. ``schema``). Raises InvalidInput
    when asked to bind a non-loopback address without a token (unless ``insecure``),
    MissingDependency without the ``server`` extra.
    """
    table = tokens if isinstance(tokens, Tokens) else parse_tokens(tokens)
    env_tokens = os.environ.get("SESSIONDB_TOKENS")
    if env_tokens:
        table = parse_tokens(env_tokens) | table
    if not is_loopback(host) and not table and not insecure:
        raise InvalidInput(
            f"refusing to serve {host!r} without a token: anyone on the network could read "
            "and change every session. Pass --token (or set SESSIONDB_TOKENS), or --insecure "
            "if this network is trusted.",
            reason="refusing to serve the network without a token (pass --token, or "
            "--insecure if this network is trusted)",
            subject=host,
        )
    try:
        import uvicorn
    except ImportError as exc:
        raise _missing_extra(exc) from exc
    from .. import connect

    store = connect(store_url, **options)
    try:
        limits = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
        app = create_app(store, tokens=table, **limits)
        shown = f"[{host}]" if ":" in host else host
        where = redact(store.url)  # a terminal or a log: never the password
        print(f"sessiondb: serving {where} at http://{shown}:{port}/", file=sys.stderr)
        if table:
            print(
                f"sessiondb: {len(table)} token(s); requests need a bearer token", file=sys.stderr
            )
        elif not is_loopback(host):
            print(
                "sessiondb: WARNING: no token (--insecure): anyone who can reach "
                f"{shown}:{port} can read and change every session",
                file=sys.stderr,
            )
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
    finally:
        store.close()
