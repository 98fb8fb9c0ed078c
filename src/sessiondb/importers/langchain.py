"""LangChain ``SQLChatMessageHistory`` tables: ``message_store(id, session_id, message)``
in a SQLite file (read-only).

``message`` is ``{"type": "human"|"ai"|"system"|"tool", "data": {...}}``. It is turned
into the chat shape sessiondb understands (``role`` = the LangChain type, ``content``,
OpenAI-style ``tool_calls``, ``tool_call_id``) and the original JSON is kept in
``metadata["langchain"]``. Usage comes from ``usage_metadata``. Sessions are
``langchain:<session_id>``; message ids are ``row-<id>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import NewMessage, Usage
from ._common import Begin, Context, Entry, Record, as_dict, as_str, usage_or_none
from ._formats import SQLITE_ERRORS, Format, Head, open_readonly

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "langchain"
# Reading a foreign LangChain database, read-only.
SELECT_LANGCHAIN_SESSIONS = "SELECT DISTINCT session_id FROM message_store ORDER BY session_id"
SELECT_LANGCHAIN_MESSAGES = (
    "SELECT id, message FROM message_store WHERE session_id = :session_id ORDER BY id"
)


def detect(path: Path, head: Head) -> bool:
    """True for a database with a ``message_store`` table."""
    return head.tables is not None and "message_store" in head.tables


def to_item(message: dict[str, Any]) -> dict[str, Any] | None:
    """The chat-shaped item of a serialized LangChain message (None when unusable)."""
    kind = as_str(message.get("type"))
    data = as_dict(message.get("data"))
    if kind is None or "content" not in data:
        return None
    item: dict[str, Any] = {"role": kind, "content": data.get("content")}
    calls = data.get("tool_calls")
    if isinstance(calls, list) and calls:
        item["tool_calls"] = [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {
                    "name": call.get("name"),
                    "arguments": json.dumps(call.get("args"), ensure_ascii=False),
                },
            }
            for call in calls
            if isinstance(call, dict)
        ]
    for name in ("tool_call_id", "name", "id"):
        if as_str(data.get(name)):
            item[name] = data[name]
    return item


def _usage(message: dict[str, Any]) -> Usage:
    raw = as_dict(as_dict(message.get("data")).get("usage_metadata"))
    return (
        usage_or_none(
            input_tokens=raw.get("input_tokens"),
            output_tokens=raw.get("output_tokens"),
            cache_read_tokens=as_dict(raw.get("input_token_details")).get("cache_read"),
            reasoning_tokens=as_dict(raw.get("output_token_details")).get("reasoning"),
        )
        or Usage()
    )


def read(ctx: Context) -> Iterator[Record]:
    """Records of every session in the ``message_store`` table."""
    try:
        conn = open_readonly(ctx.source)
    except SQLITE_ERRORS as exc:
        raise ctx.bad(0, f"cannot open the database read-only ({exc})") from None
    try:
        try:
            sessions = [row[0] for row in conn.execute(SELECT_LANGCHAIN_SESSIONS)]
        except SQLITE_ERRORS as exc:
            raise ctx.bad(0, f"not a LangChain message store ({exc})") from None
        for number, session_id in enumerate(sessions, 1):
            try:
                # A whole session is read before any of it is written (see openai_agents).
                params = {"session_id": session_id}
                rows = conn.execute(SELECT_LANGCHAIN_MESSAGES, params).fetchall()
            except SQLITE_ERRORS as exc:
                ctx.skip(number, f"session {session_id}: messages unreadable ({exc})")
                continue
            key = f"{SOURCE}:{session_id}"
            yield Begin(key, SOURCE, {"metadata": {"source_id": str(session_id)}})
            for row_id, data in rows:
                try:
                    message = json.loads(data)
                except (TypeError, ValueError, RecursionError):
                    message = None
                item = to_item(message) if isinstance(message, dict) else None
                if item is None or not isinstance(message, dict):
                    ctx.skip(number, f"session {session_id}: row {row_id} is not a message")
                    continue
                entry = NewMessage(
                    item=item,
                    id=f"row-{row_id}",
                    usage=_usage(message),
                    metadata={"langchain": message},
                )
                yield Entry(key, entry, number)
    finally:
        conn.close()


FORMAT = Format("langchain", detect, read, sqlite=True)
