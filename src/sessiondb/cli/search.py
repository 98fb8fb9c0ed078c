"""Search and statistics: search, stats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..model import ROLES, STATUSES
from . import App, pass_app
from . import render as r
from .params import WHEN
from .sessions import json_option, jsonl_option

GROUPS = ("day", "week", "month", "model", "agent", "source", "tool", "status")


@click.command("search")
@click.argument("query")
@click.option("--sessions", "by_session", is_flag=True, help="Group hits by session.")
@click.option("--session", "session_id", metavar="ID", help="Only in this session.")
@click.option("--agent", help="Only sessions of this agent.")
@click.option("--source", help="Only sessions from this source.")
@click.option("--user", "user_id", help="Only sessions of this user id.")
@click.option("--role", type=click.Choice(ROLES), help="Only messages with this role.")
@click.option("--tool", help="Only messages calling or answering this tool.")
@click.option("--status", type=click.Choice(STATUSES), help="Only sessions with this status.")
@click.option("--since", type=WHEN, help="Messages at or after (2025-01-31, 7d).")
@click.option("--until", type=WHEN, help="Messages before.")
@click.option("--include-hidden", is_flag=True, help="Also messages hidden from the model.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="At most.")
@click.option("--cursor", help="Continue from a previous --json page's next_cursor.")
@click.option(
    "--marks",
    default="[,]",
    show_default=True,
    metavar="OPEN,CLOSE",
    help="Match markers in --json/--jsonl snippets.",
)
@json_option
@jsonl_option
@pass_app
def search_command(
    app: App,
    query: str,
    by_session: bool,
    session_id: str | None,
    agent: str | None,
    source: str | None,
    user_id: str | None,
    role: str | None,
    tool: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    include_hidden: bool,
    limit: int,
    cursor: str | None,
    marks: str,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Full-text search over messages, best matches first.

    QUERY: words (all must match), "a phrase", -excluded, a OR b, prefix*.
    A query that starts with a dash goes after --: sessiondb search -- '-draft report'
    """
    opening, sep, closing = marks.partition(",")
    if not sep:
        raise click.BadParameter("expected OPEN,CLOSE (e.g. '[,]')", param_hint="--marks")
    highlight = (opening, closing)
    filters: dict[str, Any] = {
        "agent": agent,
        "source": source,
        "user_id": user_id,
        "status": status,
        "since": since,
        "until": until,
        "include_hidden": include_hidden,
        "highlight": r.HIGHLIGHT,
        "limit": limit,
        "cursor": cursor,
    }
    store = app.store()
    if by_session:
        if session_id or role or tool:
            raise click.UsageError("--sessions does not combine with --session, --role, --tool")
        groups = store.sessions_matching(query, **filters)
        docs = [r.session_hit_json(hit, highlight) for hit in groups.items]
        if as_jsonl:
            r.emit_jsonl(docs)
        elif as_json:
            r.emit_json({"items": docs, "next_cursor": groups.next_cursor})
        elif groups.items:
            r.console().print(r.session_hits_table(groups.items))
        else:
            click.echo("No matches.", err=True)
        return
    if session_id is not None:
        # A mistyped id would otherwise read as "No matches.": name it instead.
        store.get_session(session_id)
    page = store.search(query, session_id=session_id, role=role, tool=tool, **filters)
    hits = [r.search_hit_json(hit, highlight) for hit in page.items]
    if as_jsonl:
        r.emit_jsonl(hits)
    elif as_json:
        r.emit_json({"items": hits, "next_cursor": page.next_cursor})
    elif page.items:
        r.console().print(r.hits_table(page.items))
        if page.next_cursor:
            click.echo(f"More: --cursor {page.next_cursor}", err=True)
    else:
        click.echo("No matches.", err=True)


@click.command("stats")
@click.option("--by", "group_by", type=click.Choice(GROUPS), help="Also totals per group.")
@click.option("--since", type=WHEN, help="From (2025-01-31, 30d = 30 days ago).")
@click.option("--until", type=WHEN, help="Before.")
@click.option("--agent", help="Only sessions of this agent.")
@click.option("--source", help="Only sessions from this source.")
@click.option("--user", "user_id", help="Only sessions of this user id.")
@json_option
@pass_app
def stats_command(
    app: App,
    group_by: Any,
    since: datetime | None,
    until: datetime | None,
    agent: str | None,
    source: str | None,
    user_id: str | None,
    as_json: bool,
) -> None:
    """Totals of sessions, messages, tokens and cost, per-group figures, and a tool table."""
    stats = app.store().stats(
        since=since, until=until, group_by=group_by, agent=agent, source=source, user_id=user_id
    )
    if as_json:
        r.emit_json(r.stats_json(stats))
        return
    out = r.console()
    for renderable in r.stats_renderables(stats, group_by):
        out.print(renderable)


COMMANDS = [search_command, stats_command]
