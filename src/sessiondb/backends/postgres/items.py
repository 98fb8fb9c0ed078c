"""PostgreSQL backend: ``items``, the item-only read of a session's messages.

Mirrors ``backends/sqlite/items.py``: one column, no ``Message`` mapping, no tool-call
query, for replaying a conversation (framework adapters, prompts).
"""

from __future__ import annotations

import json
from typing import Any

from ..._base import check_limit
from ...errors import InvalidInput, NotFound
from ...model import check_key
from .core import PostgresCore

# The same ranges as SELECT_MESSAGES_FIRST/LAST (queries.py), item column only.
SELECT_ITEMS_FIRST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
ORDER BY seq
LIMIT %(limit)s"""

# The newest %(limit)s of the range, read backwards from the end (the caller reverses).
SELECT_ITEMS_LAST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
ORDER BY seq DESC
LIMIT %(limit)s"""

SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = %(id)s"

_FAR_FUTURE = 1 << 62


class PostgresItems(PostgresCore):
    """``Store.items`` on PostgreSQL."""

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
            "limit": count,  # LIMIT NULL: no limit
        }
        # One autocommit statement sees one snapshot; the existence check runs only when
        # nothing came back.
        with self._connection(f"reading items of session {session_id!r}") as conn:
            if count == 0:
                rows = []
            elif last is not None:
                rows = conn.execute(SELECT_ITEMS_LAST, params).fetchall()
                rows.reverse()
            else:
                rows = conn.execute(SELECT_ITEMS_FIRST, params).fetchall()
            if not rows and not conn.execute(SESSION_EXISTS, {"id": session_id}).fetchone():
                raise NotFound(f"no session {session_id!r}")
        loads = json.loads
        return [loads(row[0]) for row in rows]
