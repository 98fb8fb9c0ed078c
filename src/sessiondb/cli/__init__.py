"""The ``sessiondb`` command line: inspect, search, import and clean up sessions.

Every command is thin: it parses its arguments, calls the public Store API and prints
(rich for people, ``--json``/``--jsonl`` for scripts). Errors the library raises on
purpose become one line, ``Error: <what> (<which id/file>)``, built from the error's
``reason`` and ``subject``, and exit status 1; usage errors exit 2; ``--debug`` shows
the traceback (and the driver's log) instead.

Shell completion comes from click: ``eval "$(_SESSIONDB_COMPLETE=bash_source sessiondb)"``
(``zsh_source`` and ``fish_source`` likewise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, NoReturn

try:
    import click
    import rich  # noqa: F401  (checked here so the message names the extra)
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from ..errors import MissingDependency

    raise MissingDependency(
        f"the command line requires the 'cli' extra: pip install 'sessiondb[cli]' ({exc})"
    ) from exc

from .. import __version__, connect
from ..backends import redact, resolve_url
from ..errors import BackendError, SchemaTooNew, SessionDBError
from ..store import Store

__all__ = ["App", "main"]

_POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass
class App:
    """What every command gets: where the database is, and the store once opened."""

    db: str | None
    schema: str | None
    debug: bool
    _store: Store | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The URL or path in use (``--db``, else ``$SESSIONDB_URL``, else the default)."""
        return resolve_url(self.db)

    def store(self, *, migrate: bool = True) -> Store:
        """Open the store (once per command); ``migrate=False`` leaves the schema alone."""
        if self._store is None:
            options: dict[str, Any] = {}
            if not migrate:
                options["migrate"] = False
            if self.schema:
                if not self.url.startswith(_POSTGRES):
                    raise click.UsageError("--schema (SESSIONDB_SCHEMA) is for PostgreSQL URLs")
                options["schema"] = self.schema
            self._store = connect(self.db, **options)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(App)


def fail(what: str, which: object) -> NoReturn:
    """Stop the command with ``Error: <what> (<which>)`` and exit status 1."""
    raise click.ClickException(f"{what} ({which})")


def describe(exc: SessionDBError, database: str) -> str:
    """The ``<what> (<which>)`` of an ``Error:`` line for a library error.

    Uses the error's ``reason`` and ``subject`` when it has them; a failure of the
    database itself (or a too-new schema) without a subject is about ``database``.
    """
    what = _one_line(exc.reason or str(exc) or type(exc).__name__)
    which = exc.subject
    if which is None and isinstance(exc, BackendError | SchemaTooNew):
        which = database
    return what if which is None else f"{what} ({_one_line(which)})"


class SessionDBGroup(click.Group):
    """A group that turns library errors into one ``Error:`` line (exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SessionDBError as exc:
            if _debug(ctx):
                raise
            raise click.ClickException(describe(exc, _database(ctx))) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # `sessiondb list --jsonl | head` closed the pipe: click's main() quiets it.
            raise
        except OSError as exc:
            if _debug(ctx):
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from exc
        except Exception as exc:
            # A bug, not a user error: still one line, with the way to see more.
            if _debug(ctx):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {_one_line(str(exc))} "
                "(run with --debug for the traceback)"
            ) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order added: most used first, as in --help


def _debug(ctx: click.Context) -> bool:
    app = ctx.find_object(App)
    return bool(app and app.debug)


def _database(ctx: click.Context) -> str:
    app = ctx.find_object(App)
    return redact(app.url) if app else "?"


def _quiet_driver_logs() -> None:
    """Keep psycopg's log (e.g. the pool's multi-line warning per failed reconnection
    attempt) off stderr: the command reports the error that matters in one line.

    A NullHandler only stops logging's last-resort stderr handler; handlers a caller
    configured still get every record.
    """
    logger = logging.getLogger("psycopg")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _one_line(text: str) -> str:
    return " ".join(text.split())


@click.group(cls=SessionDBGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="URL",
    envvar="SESSIONDB_URL",
    show_envvar=True,
    help="Database: a file path, sqlite:///file.db or postgresql://... "
    "[default: the per-user file shown by `sessiondb path`]",
)
@click.option(
    "--schema",
    metavar="NAME",
    envvar="SESSIONDB_SCHEMA",
    show_envvar=True,
    help="PostgreSQL schema to use (also: ?schema=NAME in the URL).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="sessiondb", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, db: str | None, schema: str | None, debug: bool) -> None:
    """sessiondb: the session database for AI agents.

    Inspect, search, import and clean up the sessions your agents wrote. Every command
    that prints has --json (and --jsonl where it lists) for scripts.
    """
    if not debug:
        _quiet_driver_logs()
    app = App(db=db, schema=schema, debug=debug)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from . import admin, imports, search, serve, sessions

    for module in (sessions, search, imports, admin, serve):
        for command in module.COMMANDS:
            main.add_command(command)


_register()


def run() -> None:
    """Entry point for ``python -m sessiondb``."""
    main(prog_name="sessiondb")
