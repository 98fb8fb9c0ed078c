"""``sessiondb serve``: the HTTP API and web UI (needs the ``server`` extra)."""

from __future__ import annotations

import os

import click

from ..errors import SessionDBError

__all__ = ["COMMANDS", "serve"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--token",
    "tokens",
    multiple=True,
    help="Require 'Authorization: Bearer TOKEN'. TOKEN alone grants everything; "
    "TOKEN=tenant:ro|rw limits it to one tenant (sessions with that user_id, ids "
    "starting 'tenant:'). Repeatable; "
    "$SESSIONDB_TOKENS is added.",
)
@click.option("--insecure", is_flag=True, help="Allow a non-loopback --host without any token.")
@click.option(
    "--max-body-mb",
    default=16,
    show_default=True,
    type=click.IntRange(1, 4096),
    help="Refuse request bodies (uploads too) larger than this with 413.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    tokens: tuple[str, ...],
    insecure: bool,
    max_body_mb: int,
) -> None:
    """Serve the REST API (/v1, schema at /openapi.json) and the web UI (/)."""
    from ..server import Tokens, parse_tokens, run

    # The group's --db/--schema when it has them (ctx.obj), else $SESSIONDB_URL.
    obj = ctx.obj
    url = getattr(obj, "db", None) or os.environ.get("SESSIONDB_URL") or None
    schema = getattr(obj, "schema", None)
    options = {"schema": schema} if schema else {}
    try:
        table: Tokens = parse_tokens(*tokens)
        run(
            url,
            host=host,
            port=port,
            tokens=table,
            insecure=insecure,
            max_body_bytes=max_body_mb * 1024 * 1024,
            **options,
        )
    except SessionDBError as exc:
        from ..backends import redact, resolve_url
        from . import describe

        raise click.ClickException(describe(exc, redact(resolve_url(url)))) from exc


COMMANDS = [serve]
