"""OpenAI Agents SDK ``SQLiteSession`` databases (read-only).

Tables ``agent_sessions(session_id, created_at, updated_at)`` and
``agent_messages(id, session_id, message_data, created_at)``; ``message_data`` is one
Responses item as JSON, stored as is. Sessions are ``openai-agents:<session_id>``;
message ids are ``row-<id>`` (rows are never renumbered; ``pop_item`` deletes them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..model import NewMessage
from ._common import Begin, Context, Entry, Record, as_time
from ._formats import SQLITE_ERRORS, Format, Head, open_readonly

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "openai-agents"
# Reading a foreign Agents SDK database, read-only.
SELECT_AGENT_SESSIONS = "SELECT session_id, created_at FROM agent_sessions ORDER BY created_at"
SELECT_AGENT_MESSAGES = (
    "SELECT id, message_data, created_at FROM agent_messages "
    "WHERE session_id = :session_id ORDER BY id"
)


def detect(path: Path, head: Head) -> bool:
    """True for a database with the SDK's default tables."""
    return head.tables is not None and {"agent_sessions", "agent_messages"} <= head.tables


def read(ctx: Context) -> Iterator[Record]:
    """Records of every session in the database."""
    try:
        conn = open_readonly(ctx.source)
    except SQLITE_ERRORS as exc:
        raise ctx.bad(0, f"cannot open the database read-only ({exc})") from None
    try:
        try:
            sessions = conn.execute(SELECT_AGENT_SESSIONS).fetchall()
        except SQLITE_ERRORS as exc:
            raise ctx.bad(0, f"not an Agents SDK database ({exc})") from None
        for number, (session_id, created) in enumerate(sessions, 1):
            try:
                # A whole session is read before any of it is written: a corrupt page
                # skips the session instead of leaving it half-imported.
                rows = conn.execute(SELECT_AGENT_MESSAGES, {"session_id": session_id}).fetchall()
            except SQLITE_ERRORS as exc:
                ctx.skip(number, f"session {session_id}: messages unreadable ({exc})")
                continue
            key = f"{SOURCE}:{session_id}"
            fields = {"created_at": as_time(created), "metadata": {"source_id": str(session_id)}}
            yield Begin(key, SOURCE, fields)
            for row_id, data, created_at in rows:
                try:
                    item = json.loads(data)
                except (TypeError, ValueError, RecursionError):
                    item = None
                if not isinstance(item, dict):
                    ctx.skip(number, f"session {session_id}: row {row_id} is not a JSON item")
                    continue
                message = NewMessage(item=item, id=f"row-{row_id}", created_at=as_time(created_at))
                yield Entry(key, message, number)
    finally:
        conn.close()


FORMAT = Format("openai_agents", detect, read, sqlite=True)
