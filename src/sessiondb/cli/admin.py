"""Maintenance: path, doctor, migrate, prune."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table

from ..backends import redact
from ..model import STATUSES
from . import App, pass_app
from . import render as r
from .params import DURATION
from .sessions import json_option, jsonl_lines


@click.command("path")
@json_option
@pass_app
def path_command(app: App, as_json: bool) -> None:
    """Print the database in use (--db, else $SESSIONDB_URL, else the default file)."""
    url = redact(app.url)
    if as_json:
        r.emit_json({"url": url})
    else:
        click.echo(url)


@click.command("doctor")
@json_option
@pass_app
def doctor_command(app: App, as_json: bool) -> None:
    """Check the database: integrity, counters, schema version, counts and size.

    Exits 1 when a problem is found. Does not migrate the database.
    """
    store = app.store(migrate=False)
    pending = store.pending_migrations()
    # A database that is not fully migrated cannot be checked against today's schema.
    problems = store.check() if not pending else []
    info: dict[str, Any] = store.info() if not pending else {"url": redact(store.url)}
    info["schema_version"] = store.schema_version()
    if as_json:
        r.emit_json(
            {"ok": not problems, "problems": problems, "pending_migrations": pending, **info}
        )
    else:
        table = Table(box=box.SIMPLE, show_header=False, pad_edge=False)
        table.add_column(style="dim")
        table.add_column()
        for key, value in info.items():
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
        if pending:
            table.add_row("pending migrations", ", ".join(pending) + " (run `sessiondb migrate`)")
        r.console().print(table)
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        click.echo("ok" if not problems else f"{len(problems)} problem(s)", err=True)
    if problems:
        raise click.exceptions.Exit(1)


@click.command("migrate")
@click.option("--check", is_flag=True, help="Only report pending migrations (exit 1 if any).")
@json_option
@pass_app
def migrate_command(app: App, check: bool, as_json: bool) -> None:
    """Upgrade the database schema (normally done on open); --check only reports."""
    store = app.store(migrate=False)
    names = store.pending_migrations() if check else store.migrate()
    version = store.schema_version()
    if as_json:
        key = "pending" if check else "applied"
        r.emit_json({key: names, "schema_version": version})
    elif check:
        for name in names:
            click.echo(name)
        click.echo(f"{len(names)} pending migration(s); schema version {version}", err=True)
    else:
        for name in names:
            click.echo(f"applied {name}")
        click.echo(f"schema version {version}", err=True)
    if check and names:
        raise click.exceptions.Exit(1)


@click.command("prune")
@click.option(
    "--older-than",
    type=DURATION,
    required=True,
    help="Idle longer than this (90d, 12w, 36h).",
)
@click.option("--status", type=click.Choice(STATUSES), help="Only sessions with this status.")
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="First export each session as JSONL into this directory.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@json_option
@jsonl_lines('per session: {"session_id", "archive", "dry_run"}')
@pass_app
def prune_command(
    app: App,
    older_than: timedelta,
    status: str | None,
    archive_dir: Path | None,
    dry_run: bool,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Delete sessions idle longer than --older-than, with their sub-agent trees.

    With --archive DIR each is first exported to a new JSONL file in DIR (named after
    its id, never overwriting a file) and read back; nothing is deleted if that fails.
    Then the space is reclaimed. Prints the ids (and archive files) removed.
    """
    report = app.store().prune(
        older_than=older_than, status=status, archive_dir=archive_dir, dry_run=dry_run
    )
    if as_jsonl:
        r.emit_jsonl(
            {"session_id": sid, "archive": report.archives.get(sid), "dry_run": report.dry_run}
            for sid in report.session_ids
        )
        return
    if as_json:
        r.emit_json(report)
        return
    for sid in report.session_ids:
        archive = report.archives.get(sid)
        click.echo(sid if archive is None else f"{sid}\t{archive}")
    click.echo(r.prune_summary(report), err=True)


COMMANDS = [path_command, doctor_command, migrate_command, prune_command]
