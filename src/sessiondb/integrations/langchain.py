"""LangChain: ``SessionDBChatMessageHistory``, a ``BaseChatMessageHistory`` in sessiondb.

>>> from sessiondb.integrations.langchain import SessionDBChatMessageHistory  # doctest: +SKIP
>>> history = SessionDBChatMessageHistory("chat-42", "agent.db")               # doctest: +SKIP
>>> history.add_messages([HumanMessage("hi")]); history.messages               # doctest: +SKIP

Each message is stored as an OpenAI-chat-shaped item, so sessiondb's search, tool-call
rows and exports understand it, carrying LangChain's own serialization beside it::

    {"role": "assistant", "content": <message.content>,
     "tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}],
     "langchain": {"type": "ai", "data": <message.model_dump() without "content">}}

so a message comes back equal to what was added: tool calls, ``tool_call_id``, ids,
``usage_metadata``, ``response_metadata`` and ``additional_kwargs`` all survive. The
content is stored once. ``AIMessage.usage_metadata`` is recorded as the message's
sessiondb ``Usage`` (and ``response_metadata["model_name"]`` as its model), so
``Session.usage`` and ``Store.stats`` count it. Message ids are never used as keys:
adding the same message twice stores it twice, as LangChain's own histories do.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..aio import AsyncStore
from ..dialects import project
from ..errors import NotFound
from ..model import NewMessage, Usage
from ._db import DB, missing, open_async, open_sync

try:
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        message_to_dict,
        messages_from_dict,
    )
except ImportError as exc:  # extra not installed (tests/integrations/test_extras.py)
    raise missing("langchain", exc) from exc

__all__ = ["SessionDBChatMessageHistory", "item_from_message", "message_from_item"]

# LangChain message type -> the role sessiondb (and OpenAI chat) calls it.
_ROLES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "function",
    "developer": "developer",
}


def _role(message: BaseMessage) -> str:
    kind = message.type.removesuffix("MessageChunk").lower()
    if kind == "chat":
        role = getattr(message, "role", "")
        return role if isinstance(role, str) and role else "assistant"
    return _ROLES.get(kind, "assistant")


def usage_from_metadata(usage: Mapping[str, Any] | None) -> Usage | None:
    """The sessiondb ``Usage`` of an ``AIMessage.usage_metadata``; None when absent."""
    if not usage:
        return None
    details_in = usage.get("input_token_details") or {}
    details_out = usage.get("output_token_details") or {}

    def count(value: Any) -> int | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return value if ok else None

    found = Usage(
        input_tokens=count(usage.get("input_tokens")),
        output_tokens=count(usage.get("output_tokens")),
        cache_read_tokens=count(details_in.get("cache_read")),
        cache_write_tokens=count(details_in.get("cache_creation")),
        reasoning_tokens=count(details_out.get("reasoning")),
    )
    return None if found.is_empty() else found


def item_from_message(message: BaseMessage) -> NewMessage:
    """The sessiondb message for a LangChain message (lossless; see the module doc)."""
    dumped = message_to_dict(message)
    data = dict(dumped["data"])
    content = data.pop("content", "")
    item: dict[str, Any] = {"role": _role(message), "content": content}
    calls = getattr(message, "tool_calls", None)
    if calls:
        item["tool_calls"] = [
            {
                "id": call.get("id") or "",
                "type": "function",
                "function": {
                    "name": call.get("name", ""),
                    "arguments": json.dumps(call.get("args", {}), ensure_ascii=False),
                },
            }
            for call in calls
        ]
    call_id = getattr(message, "tool_call_id", None)
    if call_id:
        item["tool_call_id"] = call_id
    if message.type == "function":
        item["name"] = getattr(message, "name", None) or ""
    item["langchain"] = {"type": dumped["type"], "data": data}
    metadata = getattr(message, "response_metadata", None) or {}
    model = metadata.get("model_name") or metadata.get("model")
    return NewMessage(
        item=item,
        usage=usage_from_metadata(getattr(message, "usage_metadata", None)),
        model=model if isinstance(model, str) and model else None,
    )


def message_from_item(item: Mapping[str, Any]) -> BaseMessage:
    """The LangChain message stored as ``item``.

    Items written by something else (an importer, another framework's adapter) are read
    through sessiondb's own projection (``dialects.project``): role, text and tool calls.
    """
    stored = item.get("langchain")
    if isinstance(stored, Mapping):
        data = {**stored["data"], "content": item.get("content", "")}
        return messages_from_dict([{"type": stored["type"], "data": data}])[0]
    seen = project(item)
    if seen.role == "tool":
        return ToolMessage(seen.text, tool_call_id=seen.tool_call_id or "")
    if seen.role == "user":
        return HumanMessage(seen.text)
    if seen.role in ("system", "developer"):
        return SystemMessage(seen.text)
    calls = [
        {"name": c.name, "args": _arguments(c.arguments), "id": c.call_id or None}
        for c in seen.calls
    ]
    return AIMessage(seen.text, tool_calls=calls)


def _arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments as a dict (LangChain's shape); a non-object goes under "input"."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"input": raw}
    return value if isinstance(value, dict) else {"input": value}


class SessionDBChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat history stored in the sessiondb session ``session_id``.

    ``db`` is None, a URL, a path, a ``Store`` or an ``AsyncStore``. Any non-empty
    string is a valid ``session_id`` (no UUID required). The session (``source``
    ``"langchain"``) is created at the first write. ``window=N`` makes ``messages``
    read only the newest N (in SQL); the default reads all, as LangChain expects.
    ``options`` go to ``sessiondb.connect`` when ``db`` is a location.
    Methods raise InvalidInput for content that is not JSON (nothing written).
    """

    def __init__(
        self,
        session_id: str,
        db: DB = None,
        *,
        window: int | None = None,
        agent: str | None = None,
        user_id: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.session_id = session_id
        self.store, self._owned = open_sync(db, options)
        self.window = window
        self._async: AsyncStore | None = db if isinstance(db, AsyncStore) else None
        self._fields: dict[str, Any] = {
            "agent": agent,
            "user_id": user_id,
            "title": title,
            "metadata": metadata,
            "source": "langchain",
        }
        self._exists = False

    @property
    def async_store(self) -> AsyncStore:
        """The ``AsyncStore`` the coroutine methods use (made on first use)."""
        if self._async is None:
            self._async, _ = open_async(self.store)
        return self._async

    def close(self) -> None:
        """Close the store if this history opened it (a store passed in stays open)."""
        if self._owned:
            self.store.close()

    # ------------------------------------------------------------------ reads

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The stored messages, oldest first (the newest ``window`` when set)."""
        try:
            found = self.store.items(self.session_id, last=self.window)
        except NotFound:
            return []
        return [message_from_item(item) for item in found]

    async def aget_messages(self) -> list[BaseMessage]:
        """Awaitable ``messages``."""
        try:
            found = await self.async_store.items(self.session_id, last=self.window)
        except NotFound:
            return []
        return [message_from_item(item) for item in found]

    # ------------------------------------------------------------------ writes

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` in one transaction."""
        batch = [item_from_message(m) for m in messages]
        if not batch:
            return
        if not self._exists:
            self.store.ensure_session(self.session_id, **self._fields)
            self._exists = True
        try:
            self.store.append(self.session_id, batch)
        except NotFound:  # cleared away by someone else: recreate
            self.store.ensure_session(self.session_id, **self._fields)
            self.store.append(self.session_id, batch)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Awaitable ``add_messages``."""
        batch = [item_from_message(m) for m in messages]
        if not batch:
            return
        db = self.async_store
        if not self._exists:
            await db.ensure_session(self.session_id, **self._fields)
            self._exists = True
        try:
            await db.append(self.session_id, batch)
        except NotFound:
            await db.ensure_session(self.session_id, **self._fields)
            await db.append(self.session_id, batch)

    def clear(self) -> None:
        """Delete every message; the sessiondb session (title, metadata) stays."""
        with contextlib.suppress(NotFound):
            self.store.clear(self.session_id)

    async def aclear(self) -> None:
        """Awaitable ``clear``."""
        with contextlib.suppress(NotFound):
            await self.async_store.clear(self.session_id)
