"""SQLite backend: ``items``, the item-only read of a session's messages.

Replaying a conversation (an adapter's ``get_items``, a prompt) needs the item dicts and
nothing else; reading one column and skipping the ``Message`` mapping makes the newest
50 of a session several times cheaper than ``messages`` (see benchmarks/bench_adapters.py).
"""

from __future__ import annotations

import json
from typing import Any

from ..._base import check_limit
from ...errors import InvalidInput, NotFound
from ...model import check_key
from .core import SQLiteCore

# The same ranges as SELECT_MESSAGES_FIRST/LAST (queries.py), item column only.
SELECT_ITEMS_FIRST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
ORDER BY seq
LIMIT :limit"""

# The newest :limit of the range, read backwards from the end (the caller reverses).
SELECT_ITEMS_LAST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
ORDER BY seq DESC
LIMIT :limit"""

SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = :id"

_FAR_FUTURE = 1 << 62


class SQLiteItems(SQLiteCore):
    """``Store.items`` on SQLite."""

    def items(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        last: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        check_key("session_id", session_id)
        if last is not None and limit is not None:
            raise InvalidInput("items: give either last or limit, not both")
        check_limit("last", last)
        check_limit("limit", limit)
        check_limit("after_seq", after_seq)
        check_limit("before_seq", before_seq)
        count = last if last is not None else limit
        params = {
            "session_id": session_id,
            "after_seq": 0 if after_seq is None else after_seq,
            "before_seq": _FAR_FUTURE if before_seq is None else before_seq,
            "limit": -1 if count is None else count,
        }
        # One statement needs no explicit transaction: SQLite runs it on one snapshot.
        what = f"reading items of session {session_id!r}"
        if count == 0:
            rows = []
        elif last is not None:
            rows = self._query(what, SELECT_ITEMS_LAST, params)
            rows.reverse()
        else:
            rows = self._query(what, SELECT_ITEMS_FIRST, params)
        if not rows and not self._query(what, SESSION_EXISTS, {"id": session_id}):
            raise NotFound(f"no session {session_id!r}")
        loads = json.loads
        return [loads(row[0]) for row in rows]
