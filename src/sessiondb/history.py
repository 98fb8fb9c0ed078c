"""History windowing rules, independent of any backend.

A backend reads a session's model-visible messages from the END (newest first, in
chunks) and feeds them to a ``Window``; the window decides when it has read enough and
which suffix to return. Backends only fetch rows; every rule lives here:

* **Logical order.** A compaction summary is appended after the tail it precedes, so
  its seq is higher than the kept messages'. Its metadata says
  ``{"summary": true, "replaces_through": S}``: logically it sits right after seq ``S``
  (before ``S + 1``). ``history()`` returns messages in this logical order; every other
  message keeps its seq order. ``messages()`` is untouched (seq order, everything).
  ``compact()`` writes this metadata; a message appended with the same metadata is
  treated as a summary too.
* **Budgets.** ``max_messages`` and then ``max_tokens`` are filled from the newest
  message backwards; the first message that does not fit ends the window.
* **Legal start.** A window never contains a tool result whose call is not in the
  window (so it never starts with one), and therefore never holds an assistant
  tool-call message without the results that follow it. Calls and results are matched
  by call id in every dialect ``sessiondb.dialects`` knows (OpenAI chat ``tool_calls`` +
  ``role: "tool"``, Anthropic ``tool_use``/``tool_result`` blocks, Responses
  ``function_call``/``function_call_output``, goose, pi).
* **Preferred start.** When the budget cuts the session, the window starts at the
  oldest user turn (or summary) that fits at a legal boundary; if none fits, at the
  oldest legal boundary that fits. When everything fits, nothing is dropped beyond
  what legality requires.
* **Tight budget.** When not even one legal suffix fits (e.g. ``max_messages=1`` while
  the newest message is a tool result), the window is the *shortest* legal suffix, which
  exceeds the budget: a prompt that starts with an orphan tool result is rejected by
  every provider, and an empty one loses the turn. A budget of exactly 0 returns ``[]``.
  Callers that need a hard cap can measure the result with their own counter.
* **Token estimate.** Without a ``token_counter``, ``estimate_tokens`` is used: over the
  item's compact JSON, one token per 4 ASCII characters plus one per non-ASCII character,
  plus 4 per message for the provider's framing. It needs no dependency and errs high
  for English and code, roughly right for CJK; plug in a real tokenizer for exact fits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .dialects import project
from .errors import InvalidInput
from .model import load_json

__all__ = [
    "DEFAULT_CHUNK",
    "MAX_CHUNK",
    "SUMMARY_KEY",
    "HistoryRow",
    "Window",
    "estimate_tokens",
    "summary_item",
    "summary_metadata",
]

TokenCounter = Callable[[Mapping[str, Any]], int]

SUMMARY_KEY = "summary"
REPLACES_KEY = "replaces_through"
DEFAULT_CHUNK = 64
MAX_CHUNK = 4096
MESSAGE_OVERHEAD = 4


def estimate_tokens(item: Mapping[str, Any]) -> int:
    """A dependency-free token estimate for one item (see the module docstring)."""
    text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
    ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
    non_ascii = len(text) - ascii_chars
    return MESSAGE_OVERHEAD + (ascii_chars + 3) // 4 + non_ascii


def summary_metadata(replaces_through: int) -> dict[str, Any]:
    """The metadata that marks a compaction summary placed after seq ``replaces_through``."""
    return {SUMMARY_KEY: True, REPLACES_KEY: replaces_through}


SUMMARY_ROLES = ("user", "system", "developer", "assistant")


def summary_item(summary: str | Mapping[str, Any], role: str) -> Mapping[str, Any]:
    """The item a compaction stores: ``{"role": role, "content": summary}`` for a string,
    the given item dict otherwise. Raises InvalidInput for a bad role or summary."""
    if role not in SUMMARY_ROLES:
        raise InvalidInput.about(
            "summary_role", f"{role!r} is not one of {', '.join(SUMMARY_ROLES)}"
        )
    if isinstance(summary, str):
        return {"role": role, "content": summary}
    if isinstance(summary, Mapping):
        if project(summary).results:
            # A summary that answers tool calls could never start a legal window.
            raise InvalidInput.about("summary", "a tool result cannot be a summary")
        return summary
    raise InvalidInput.about(
        "summary", f"expected a string or an item dict, got {type(summary).__name__}"
    )


def _as_dict(value: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        if value == "{}":
            return {}
        loaded = load_json(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value)


@dataclass(slots=True)
class HistoryRow:
    """One stored model-visible message as a backend read it.

    ``item`` and ``metadata`` may be JSON text (SQLite) or already decoded (PostgreSQL).
    """

    seq: int
    item: str | Mapping[str, Any]
    metadata: str | Mapping[str, Any] | None = None
    _item: dict[str, Any] | None = field(default=None, repr=False)
    _replaces: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        meta = _as_dict(self.metadata)
        through = meta.get(REPLACES_KEY)
        if meta.get(SUMMARY_KEY) is True and isinstance(through, int):
            self._replaces = through

    @property
    def replaces_through(self) -> int | None:
        """For a compaction summary, the seq it logically follows; else None."""
        return self._replaces

    @property
    def is_summary(self) -> bool:
        """True for a compaction summary."""
        return self._replaces is not None

    def decoded(self) -> dict[str, Any]:
        """The item dict (decoded once)."""
        if self._item is None:
            self._item = _as_dict(self.item) if isinstance(self.item, str) else dict(self.item)
        return self._item


class Window:
    """Decides which suffix of a session's model-visible messages to return.

    Feed rows newest first in seq order (``feed`` returns True once no more rows are
    needed), then read ``items()`` / ``rows()``. Two modes:

    * ``Window(max_messages=..., max_tokens=..., token_counter=...)`` - ``history()``;
    * ``Window.at_least(n)`` - ``compact()``: the shortest legal suffix holding at least
      ``n`` messages (the kept tail, moved back to a legal boundary).

    Raises InvalidInput for a negative or non-integer budget, or a token counter that
    returns something other than an integer >= 0.
    """

    def __init__(
        self,
        *,
        max_messages: int | None = None,
        max_tokens: int | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        for name, value in (("max_messages", max_messages), ("max_tokens", max_tokens)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise InvalidInput.about(f"{name}", f"expected an integer >= 0, got {value!r}")
        if token_counter is not None and not callable(token_counter):
            raise InvalidInput.about("token_counter", "expected a callable item -> int")
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self._counter = token_counter or estimate_tokens
        self._at_least: int | None = None
        # Newest first (logical order reversed).
        self._taken: list[HistoryRow] = []
        self._tokens = 0
        self._needed: set[str] = set()  # call ids answered in the window, call not yet seen
        self._deferred: list[HistoryRow] = []  # summaries waiting for their logical place
        self._best_legal: int | None = None  # index in _taken: oldest legal start that fits
        self._best_preferred: int | None = None  # ... that is also a user turn or summary
        self._fallback: int | None = None
        self._over = False
        self._done = self.empty_budget

    @classmethod
    def at_least(cls, count: int) -> Window:
        """The compaction window: the shortest legal suffix of at least ``count`` messages."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput.about("keep_last", f"expected an integer >= 0, got {count!r}")
        window = cls()
        window._at_least = count
        window._done = count == 0
        return window

    # ------------------------------------------------------------------ reading

    @property
    def empty_budget(self) -> bool:
        """True when a budget of 0 makes the answer ``[]`` without reading anything."""
        return self.max_messages == 0 or self.max_tokens == 0

    @property
    def done(self) -> bool:
        """True once no more rows are needed."""
        return self._done

    def chunk_size(self, previous: int | None = None) -> int:
        """How many rows the backend should read next (doubling, bounded)."""
        if previous is None:
            first = self._at_least if self._at_least is not None else self.max_messages
            # One row beyond the budget tells whether the budget cuts the session.
            return min(MAX_CHUNK, (first + 2) if first is not None else DEFAULT_CHUNK)
        return min(MAX_CHUNK, max(DEFAULT_CHUNK, previous * 2))

    def feed(self, rows: Iterable[HistoryRow]) -> bool:
        """Consume rows, newest seq first; return True when no more are needed."""
        for row in rows:
            if self._done:
                break
            # A deferred summary comes (logically) after every message with a seq at or
            # below the one it replaces through, so it is taken before them.
            while self._deferred and (self._deferred[-1]._replaces or 0) >= row.seq:
                self._take(self._deferred.pop())
                if self._done:
                    return True
            if row.is_summary:
                self._deferred.append(row)
                self._deferred.sort(key=lambda r: r._replaces or 0)
            else:
                self._take(row)
        return self._done

    def finish(self) -> None:
        """Signal that the backend has no more rows (the session's start was reached)."""
        while self._deferred and not self._done:
            self._take(self._deferred.pop())
        self._done = True

    # ------------------------------------------------------------------ results

    def _start(self) -> int | None:
        """Index in ``_taken`` of the oldest message of the answer, or None for []."""
        if self.empty_budget:
            return None
        if self._at_least is not None:
            if self._fallback is not None:
                return self._fallback
            return self._best_legal  # the whole session is shorter than keep_last
        if not self._over:
            return self._best_legal
        if self._best_preferred is not None:
            return self._best_preferred
        if self._best_legal is not None:
            return self._best_legal
        return self._fallback

    def rows(self) -> list[HistoryRow]:
        """The chosen rows, oldest first (logical order). Call after ``done``."""
        start = self._start()
        if start is None:
            return []
        return self._taken[start::-1]

    def items(self) -> list[dict[str, Any]]:
        """The chosen items, oldest first: what ``history()`` returns."""
        return [row.decoded() for row in self.rows()]

    # ------------------------------------------------------------------ internals

    def _legal_after(self, row: HistoryRow) -> tuple[bool, bool]:
        """Add ``row`` (the next older message) to the legality state.

        Returns (the window may start at it, it is a preferred start: a user turn or a
        summary). A user message made only of tool results projects to role ``tool``.
        """
        proj = project(row.decoded())
        for call in proj.calls:
            self._needed.discard(call.call_id)
        for result in proj.results:
            self._needed.add(result.call_id)
        return not self._needed, row.is_summary or proj.role == "user"

    def _take(self, row: HistoryRow) -> None:
        if self._at_least is not None:
            self._taken.append(row)
            legal, _ = self._legal_after(row)
            if legal:
                self._best_legal = len(self._taken) - 1
                if len(self._taken) >= self._at_least:
                    self._fallback = len(self._taken) - 1
                    self._done = True
            return
        if not self._over:
            cost = 0
            if self.max_tokens is not None:
                cost = self._counter(row.decoded())
                if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
                    raise InvalidInput.about(
                        "token_counter", f"returned {cost!r}; expected an integer >= 0"
                    )
            fits = (self.max_messages is None or len(self._taken) < self.max_messages) and (
                self.max_tokens is None or self._tokens + cost <= self.max_tokens
            )
            if fits:
                self._tokens += cost
                self._taken.append(row)
                legal, preferred = self._legal_after(row)
                if legal:
                    index = len(self._taken) - 1
                    self._best_legal = index
                    if preferred:
                        self._best_preferred = index
                return
            self._over = True
            if self._best_legal is not None:
                self._done = True
                return
        # Tight budget: nothing legal fits; keep reading to the nearest legal start.
        self._taken.append(row)
        if self._legal_after(row)[0]:
            self._fallback = len(self._taken) - 1
            self._done = True
