"""PostgreSQL backend: ``items``, the item-only read of a session's messages.

Mirrors ``backends/sqlite/items.py``: one column, no ``Message`` mapping, no tool-call
query, for replaying a conversation (framework adapters, prompts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..._base import read_window
from ...errors import NotFound
from ...model import load_json
from ...store import MessageOrder
from . import queries as q
from .core import PostgresCore


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
        since: datetime | None = None,
        until: datetime | None = None,
        order: MessageOrder = "seq",
    ) -> list[dict[str, Any]]:
        window = read_window(
            "items",
            session_id,
            after_seq=after_seq,
            before_seq=before_seq,
            last=last,
            limit=limit,
            since=since,
            until=until,
            order=order,
        )
        params = {**window.params, "limit": window.count}  # LIMIT NULL: no limit
        # One autocommit statement sees one snapshot; the existence check runs only when
        # nothing came back.
        with self._connection(f"reading items of session {session_id!r}") as conn:
            if window.count == 0:
                rows = []
            else:
                rows = conn.execute(q.ITEM_WINDOWS[window.kind, window.newest], params).fetchall()
                if window.newest:
                    rows.reverse()
            if not rows and not conn.execute(q.SESSION_EXISTS, {"id": session_id}).fetchone():
                raise NotFound.session(session_id)
        return [load_json(row[0]) for row in rows]
