"""Session commands: list, show, new, append, rm, compact, fork, tree, recover."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import click

from ..model import RELATIONS, STATUSES, Message, Session, ToolCall
from ..store import Store
from . import App, fail, pass_app
from . import render as r
from .params import DURATION, JSON_OBJECT, WHEN

FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)

# Pages of this size bound the memory of `list --all`, whatever the number of sessions.
STREAM_PAGE = 200

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
jsonl_option = click.option(
    "--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line (streams)."
)


def jsonl_lines(what: str) -> Callable[[FC], FC]:
    """``--jsonl`` saying what each line is (for commands whose lines are not listed items)."""
    return click.option("--jsonl", "as_jsonl", is_flag=True, help=f"Print one JSON line {what}.")


def complete_session_id(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion for session ids: the newest sessions starting with what was typed."""
    from click.shell_completion import CompletionItem

    root = ctx.find_root()
    try:
        app = App(db=root.params.get("db"), schema=root.params.get("schema"), debug=False)
        try:
            page = app.store().list_sessions(limit=200)
        finally:
            app.close()
    except Exception:  # completion must never break the shell
        return []
    return [
        CompletionItem(s.id, help=r.one_line(s.title or s.preview or "", 50))
        for s in page.items
        if s.id.startswith(incomplete)
    ]


session_id_argument = click.argument("session_id", metavar="ID", shell_complete=complete_session_id)


# ---------------------------------------------------------------------------- list


@click.command("list")
@click.option("--agent", help="Only sessions of this agent.")
@click.option(
    "--source",
    help="Only sessions from this source (e.g. claude-code, codex; see stats --by source).",
)
@click.option("--user", "user_id", help="Only sessions of this user id.")
@click.option("--status", type=click.Choice(STATUSES), help="Only sessions with this status.")
@click.option("--since", type=WHEN, help="Updated at or after (2025-01-31, 7d = 7 days ago).")
@click.option("--until", type=WHEN, help="Updated before (same forms as --since).")
@click.option("--roots", is_flag=True, help="Only top-level sessions (no sub-agents, forks).")
@click.option("--all", "every", is_flag=True, help="Every matching session (ignores --limit).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="At most.")
@json_option
@jsonl_option
@pass_app
def list_command(
    app: App,
    agent: str | None,
    source: str | None,
    user_id: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    roots: bool,
    every: bool,
    limit: int,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """List sessions, most recently updated first."""
    filters: dict[str, Any] = {
        "agent": agent,
        "source": source,
        "user_id": user_id,
        "status": status,
        "since": since,
        "until": until,
        "roots_only": roots,
    }
    store = app.store()

    def pages() -> Iterator[list[Session]]:
        """Pages of sessions; `--all` walks the keyset cursor to the end."""
        cursor: str | None = None
        remaining = None if every else limit
        while True:
            size = STREAM_PAGE if remaining is None else min(STREAM_PAGE, remaining)
            page = store.list_sessions(limit=size, cursor=cursor, **filters)
            yield page.items
            if remaining is not None:
                remaining -= len(page.items)
            cursor = page.next_cursor
            if cursor is None or remaining == 0:
                return

    if as_jsonl:
        for items in pages():
            r.emit_jsonl(items)
    elif as_json:
        r.emit_json([s for items in pages() for s in items])
    else:
        out = r.console()
        shown = 0
        for items in pages():
            # One table per page keeps --all streaming; the header only once.
            if items or shown == 0:
                out.print(r.session_table(items, header=shown == 0, width=out.width))
            shown += len(items)
        if shown == 0:
            click.echo("No sessions.", err=True)


# ---------------------------------------------------------------------------- show


@click.command("show")
@session_id_argument
@click.option("--last", type=click.IntRange(1), help="Only the last N messages.")
@click.option("--full", is_flag=True, help="Do not fold long tool arguments and results.")
@click.option("--markdown", is_flag=True, help="Print the transcript as Markdown.")
@json_option
@pass_app
def show_command(
    app: App, session_id: str, last: int | None, full: bool, markdown: bool, as_json: bool
) -> None:
    """Show a session's transcript: roles, tool calls and results, usage per turn.

    Messages hidden from the model (e.g. replaced by a compaction summary) are dimmed.
    """
    if markdown and as_json:
        raise click.UsageError("--markdown and --json exclude each other")
    store = app.store()
    if markdown:
        if last is not None:
            raise click.UsageError("--last does not apply to --markdown")
        click.echo(store.export(session_id, "markdown"), nl=False)
        return
    session = store.get_session(session_id)
    messages = store.messages(session_id, last=last)
    if as_json:
        r.emit_json({"session": session, "messages": messages})
        return
    out = r.console()
    out.print(r.session_header(session))
    out.print()
    if last is not None and messages and messages[0].seq > 1:
        out.print(f"[dim]… {messages[0].seq - 1} earlier message(s) not shown[/dim]\n")
    out.print(
        r.transcript(
            messages,
            full=full,
            calls=_answered_calls(store, session_id, messages, last is not None),
        )
    )


def _answered_calls(
    store: Store, session_id: str, messages: list[Message], windowed: bool
) -> dict[int, list[ToolCall]]:
    """Tool calls by the seq of the message holding their result (for result headers)."""
    known = [c for m in messages for c in m.tool_calls]
    if windowed and any(m.role == "tool" for m in messages):
        # With --last, a result's call may lie before the window: ask for them all.
        known = store.tool_calls(session_id)
    answered: dict[int, list[ToolCall]] = {}
    for call in known:
        if call.result_seq is not None:
            answered.setdefault(call.result_seq, []).append(call)
    return answered


# ---------------------------------------------------------------------------- write


@click.command("new")
@click.option("--id", "session_id", help="Use this id instead of a generated one.")
@click.option("--agent", help="Agent name.")
@click.option("--title", help="Title.")
@click.option("--source", help="Where the session comes from.")
@click.option("--user", "user_id", help="User id.")
@click.option("--model", help="Model name.")
@click.option("--parent", "parent_id", help="Parent session id (for sub-agents).")
@click.option(
    "--relation",
    type=click.Choice(RELATIONS),
    help="Relation to --parent.",
)
@click.option("--metadata", type=JSON_OBJECT, help='JSON object, e.g. \'{"team": "infra"}\'.')
@json_option
@pass_app
def new_command(
    app: App,
    session_id: str | None,
    agent: str | None,
    title: str | None,
    source: str | None,
    user_id: str | None,
    model: str | None,
    parent_id: str | None,
    relation: str | None,
    metadata: dict[str, Any] | None,
    as_json: bool,
) -> None:
    """Create a session and print its id (for shell-scripted agents)."""
    session = app.store().create_session(
        session_id,
        agent=agent,
        title=title,
        source=source,
        user_id=user_id,
        model=model,
        parent_id=parent_id,
        relation=relation,
        metadata=metadata,
    )
    if as_json:
        r.emit_json(session)
    else:
        click.echo(session.id)


@click.command("append")
@session_id_argument
@click.option("--model", help="Model of this turn (recorded on its first assistant message).")
@json_option
@pass_app
def append_command(app: App, session_id: str, model: str | None, as_json: bool) -> None:
    """Append JSON items read from stdin, one per line, as one all-or-nothing batch.

    Example: echo '{"role": "user", "content": "hi"}' | sessiondb append ID
    """
    items: list[dict[str, Any]] = []
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            fail(f"not JSON: {exc.args[0] if exc.args else exc}", f"stdin:{number}")
        if not isinstance(item, dict):
            fail(f"expected a JSON object, got {type(item).__name__}", f"stdin:{number}")
        items.append(item)
    stored = app.store().append(session_id, items, model=model) if items else []
    if not items:
        app.store().get_session(session_id)  # still an error for a missing session
    if as_json:
        r.emit_json(stored)
    else:
        for message in stored:
            click.echo(f"{message.seq}\t{message.id}")


@click.command("rm")
@session_id_argument
@click.option("--recursive", "-r", is_flag=True, help="Also delete sub-agents and forks.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_app
def rm_command(app: App, session_id: str, recursive: bool, yes: bool, as_json: bool) -> None:
    """Delete a session with its messages (children survive unless --recursive)."""
    store = app.store()
    session = store.get_session(session_id)
    if not yes:
        what = f"session {session.id} ({session.message_count} messages)"
        click.confirm(
            f"Delete {what}{' and its subtree' if recursive else ''}?", abort=True, err=True
        )
    deleted = store.delete_session(session_id, recursive=recursive)
    if as_json:
        r.emit_json({"deleted": deleted})
    else:
        click.echo(f"Deleted {deleted} session(s).")


@click.command("compact")
@session_id_argument
@click.option("--summary", required=True, help="The summary that replaces older messages.")
@click.option(
    "--keep-last", default=0, show_default=True, type=click.IntRange(0), help="Messages kept."
)
@click.option("--role", default="user", show_default=True, help="Role of the summary message.")
@json_option
@pass_app
def compact_command(
    app: App, session_id: str, summary: str, keep_last: int, role: str, as_json: bool
) -> None:
    """Hide older messages from the model behind a summary (nothing is deleted)."""
    message = app.store().compact(session_id, summary, keep_last=keep_last, summary_role=role)
    if as_json:
        r.emit_json(message)
    else:
        click.echo(f"Compacted {session_id}: summary is message #{message.seq}.")


@click.command("fork")
@session_id_argument
@click.option("--at", "at_seq", type=click.IntRange(0), help="Copy messages up to this seq.")
@click.option("--title", help="Title of the new session.")
@json_option
@pass_app
def fork_command(
    app: App, session_id: str, at_seq: int | None, title: str | None, as_json: bool
) -> None:
    """Copy a session (up to --at SEQ) into a new child session; print the new id."""
    session = app.store().fork(session_id, at_seq=at_seq, title=title)
    if as_json:
        r.emit_json(session)
    else:
        click.echo(session.id)


# ---------------------------------------------------------------------------- lineage


@click.command("tree")
@session_id_argument
@json_option
@pass_app
def tree_command(app: App, session_id: str, as_json: bool) -> None:
    """Show a session's lineage: sub-agents and forks, with status and rolled-up cost."""
    store = app.store()
    root = store.tree(session_id)
    # Summing the sessions' usage would count what forks copied twice: tree_usage does not.
    usage = {node.session.id: store.tree_usage(node.session.id) for node in root.walk()}
    if as_json:
        r.emit_json(r.tree_json(root, usage))
    else:
        r.console().print(r.lineage_tree(root, usage))


@click.command("recover")
@click.option(
    "--idle", type=DURATION, default="1h", show_default=True, help="Idle longer than this."
)
@json_option
@jsonl_lines('per session: {"session_id"}')
@pass_app
def recover_command(app: App, idle: Any, as_json: bool, as_jsonl: bool) -> None:
    """Mark active sessions idle longer than --idle as interrupted (after a crash).

    Prints their ids (--jsonl: one {"session_id"} object per line).
    """
    ids = app.store().recover_interrupted(idle)
    if as_jsonl:
        r.emit_jsonl({"session_id": sid} for sid in ids)
    elif as_json:
        r.emit_json({"interrupted": ids})
    else:
        for sid in ids:
            click.echo(sid)
        click.echo(f"Marked {len(ids)} session(s) interrupted.", err=True)


COMMANDS = [
    list_command,
    show_command,
    new_command,
    append_command,
    rm_command,
    compact_command,
    fork_command,
    tree_command,
    recover_command,
]
