"""OpenAI Agents SDK: ``SessionDBSession``, a ``Session`` stored in sessiondb.

>>> from sessiondb.integrations.openai_agents import SessionDBSession   # doctest: +SKIP
>>> session = SessionDBSession("chat-42", "agent.db")                    # doctest: +SKIP
>>> result = await Runner.run(agent, "Hello", session=session)           # doctest: +SKIP

What it promises:

* items come back JSON-equal to what the SDK added, in order; ``get_items(limit=K)``
  reads only the newest K rows (``Store.items(last=K)``);
* item ``"id"`` fields are never used as keys: the chat-completions and LiteLLM models
  write ``"id": "__fake_id__"`` on every item, and every one of them is kept;
* token usage is recorded as the run goes: the SDK hands each save the run's context
  (``wrapper``), and the usage added since the previous save is stored on that batch
  (``Store.append(..., usage=)``), so ``Session.usage`` and ``Store.stats`` count it.
  Give ``price=`` to record a cost as well. ``await session.record_usage(result)``
  returns the run's usage and records whatever part of it no save carried (see there).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import NotFound
from ..model import Usage
from ._db import DB, missing, open_async

try:
    from agents.memory.session_settings import SessionSettings, resolve_session_limit
except ImportError as exc:  # extra not installed (tests/integrations/test_extras.py)
    raise missing("openai-agents", exc) from exc

__all__ = ["SessionDBSession", "usage_from_sdk"]

Price = Callable[[Usage], float | None]

# Where a session keeps the usage no save carried (record_usage), in its metadata.
UNATTRIBUTED_KEY = "unattributed_usage"
# Attribute set on the SDK's RunContextWrapper: usage already stored, per session id.
_RECORDED_ATTR = "_sessiondb_recorded_usage"


def usage_from_sdk(usage: Any) -> Usage:
    """The sessiondb ``Usage`` of an ``agents.Usage`` (zero counters stay unset)."""
    details_in = getattr(usage, "input_tokens_details", None)
    details_out = getattr(usage, "output_tokens_details", None)

    def count(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value else None

    return Usage(
        input_tokens=count(getattr(usage, "input_tokens", None)),
        output_tokens=count(getattr(usage, "output_tokens", None)),
        cache_read_tokens=count(getattr(details_in, "cached_tokens", None)),
        cache_write_tokens=count(getattr(details_in, "cache_write_tokens", None)),
        reasoning_tokens=count(getattr(details_out, "reasoning_tokens", None)),
    )


def _minus(total: Usage, done: Usage) -> Usage:
    """``total - done`` field by field; fields that end at zero (or below) are unset."""
    values = {}
    for name, value in total.to_dict().items():
        left = value - (getattr(done, name) or 0)
        if left > 0:
            values[name] = left
    return Usage.from_dict(values)


class SessionDBSession:
    """An OpenAI Agents SDK ``Session`` whose items live in a sessiondb session.

    ``db`` is None (``$SESSIONDB_URL`` or the default file), a URL, a path, a ``Store``
    or an ``AsyncStore``. The sessiondb session (id ``session_id``, ``source``
    ``"openai-agents"``) is created at the first write with ``agent``, ``user_id``,
    ``title`` and ``metadata``. ``price`` turns a turn's ``Usage`` into US dollars.
    ``options`` (e.g. ``durability="full"``) go to ``sessiondb.connect`` when ``db`` is a
    location. Raises what ``sessiondb.connect`` raises for a location it cannot open.
    """

    session_settings: SessionSettings | None = None

    def __init__(
        self,
        session_id: str,
        db: DB = None,
        *,
        session_settings: SessionSettings | None = None,
        agent: str | None = None,
        user_id: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        price: Price | None = None,
        **options: Any,
    ) -> None:
        self.session_id = session_id
        self.session_settings = session_settings or SessionSettings()
        self.db, self._owned = open_async(db, options)
        self.price = price
        self._fields: dict[str, Any] = {
            "agent": agent,
            "user_id": user_id,
            "title": title,
            "metadata": metadata,
            "source": "openai-agents",
        }
        self._exists = False

    async def close(self) -> None:
        """Close the store if this session opened it (a store passed in stays open)."""
        if self._owned:
            await self.db.close()

    async def _ensure(self) -> None:
        if not self._exists:
            await self.db.ensure_session(self.session_id, **self._fields)
            self._exists = True

    # ------------------------------------------------------------------ Session protocol

    async def get_items(self, limit: int | None = None, *, wrapper: Any = None) -> list[Any]:
        """The stored items, oldest first; with ``limit`` (or ``session_settings.limit``)
        only the newest ``limit`` of them. A session never written to has none."""
        del wrapper
        effective = resolve_session_limit(limit, self.session_settings)
        try:
            if effective is None or effective < 0:  # SQLiteSession: negative = unlimited
                return await self.db.items(self.session_id)
            return await self.db.items(self.session_id, last=effective)
        except NotFound:
            return []

    async def add_items(self, items: list[Any], *, wrapper: Any = None) -> None:
        """Append ``items`` in one transaction, with the run's usage since the last save.

        Raises InvalidInput (an item that is not a JSON object; nothing written).
        """
        if not items:
            return
        await self._ensure()
        usage = self._unrecorded(wrapper)
        try:
            await self.db.append(self.session_id, list(items), usage=usage)
        except NotFound:  # deleted behind our back: recreate, as SQLiteSession would
            self._exists = False
            await self._ensure()
            await self.db.append(self.session_id, list(items), usage=usage)
        self._mark_recorded(wrapper)

    async def pop_item(self, *, wrapper: Any = None) -> Any | None:
        """Remove and return the newest item, or None when there is none."""
        del wrapper
        try:
            message = await self.db.pop(self.session_id)
        except NotFound:
            return None
        return None if message is None else message.item

    async def clear_session(self, *, wrapper: Any = None) -> None:
        """Delete every item; the sessiondb session itself (metadata, title) stays."""
        del wrapper
        with contextlib.suppress(NotFound):
            await self.db.clear(self.session_id)

    # ------------------------------------------------------------------ usage

    def _run_usage(self, wrapper: Any) -> Usage | None:
        usage = getattr(wrapper, "usage", None)
        return None if usage is None else usage_from_sdk(usage)

    def _unrecorded(self, wrapper: Any) -> Usage | None:
        """The run's usage not yet stored in this session, priced; None when nothing."""
        total = self._run_usage(wrapper)
        if total is None:
            return None
        done = getattr(wrapper, _RECORDED_ATTR, {}).get(self.session_id, Usage())
        left = _minus(total, done)
        if left.is_empty():
            return None
        if self.price is not None:
            cost = self.price(left)
            if cost is not None:
                left = replace(left, cost_usd=cost)
        return left

    def _mark_recorded(self, wrapper: Any) -> None:
        total = self._run_usage(wrapper)
        if total is None:
            return
        recorded = getattr(wrapper, _RECORDED_ATTR, None)
        if recorded is None:
            recorded = {}
            # The SDK keeps its own per-run bookkeeping on the wrapper the same way.
            setattr(wrapper, _RECORDED_ATTR, recorded)
        recorded[self.session_id] = total

    async def record_usage(self, result: Any) -> Usage:
        """Return a finished run's usage (``RunResult``/``RunResultStreaming``), priced.

        ``Runner.run(..., session=self)`` has already stored the usage turn by turn, so
        usually nothing is left to write. Usage no save carried (items added by hand,
        the run given another session object) is added to the session's metadata under
        ``"unattributed_usage"``: the core has no way to add usage to stored messages,
        so it is not in ``Session.usage``. Raises NotFound for a session never written.
        """
        wrapper = getattr(result, "context_wrapper", None)
        total = self._run_usage(wrapper) or Usage()
        left = self._unrecorded(wrapper)
        if left is not None:
            session = await self.db.get_session(self.session_id)
            previous = session.metadata.get(UNATTRIBUTED_KEY)
            before = Usage.from_dict(previous) if isinstance(previous, Mapping) else Usage()
            merged = (before + left).to_dict()
            await self.db.update_session(self.session_id, metadata={UNATTRIBUTED_KEY: merged})
            self._mark_recorded(wrapper)
        if self.price is not None and not total.is_empty():
            cost = self.price(total)
            if cost is not None:
                total = replace(total, cost_usd=cost)
        return total
