"""SQLite backend: ``items``, the item-only read of a session's messages.

Replaying a conversation (an adapter's ``get_items``, a prompt) needs the item dicts and
nothing else; reading one column and skipping the ``Message`` mapping makes the newest
50 of a session several times cheaper than ``messages`` (see benchmarks/bench_adapters.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..._base import read_window
from ...errors import NotFound
from ...model import load_json
from ...store import MessageOrder
from . import queries as q
from .core import SQLiteCore


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
        params = {**window.params, "limit": -1 if window.count is None else window.count}
        # One statement needs no explicit transaction: SQLite runs it on one snapshot.
        what = f"reading items of session {session_id!r}"
        if window.count == 0:
            rows = []
        else:
            rows = self._query(what, q.ITEM_WINDOWS[window.kind, window.newest], params)
            if window.newest:
                rows.reverse()
        if not rows and not self._query(what, q.SESSION_EXISTS, {"id": session_id}):
            raise NotFound.session(session_id)
        return [load_json(row[0]) for row in rows]
