"""SQLite backend, lineage: children, ancestors, subtrees and their usage (recursive CTEs)."""

from __future__ import annotations

from ...errors import NotFound
from ...insights import build_tree
from ...model import Session, TreeNode, Usage, check_key
from . import queries as q
from . import search_queries as sq
from .core import SQLiteCore


class SQLiteLineage(SQLiteCore):
    """``children``, ``ancestors``, ``tree`` and ``tree_usage`` on SQLite."""

    def children(self, session_id: str) -> list[Session]:
        check_key("session_id", session_id)
        with self._read(f"reading children of session {session_id!r}") as conn:
            rows = conn.execute(sq.SELECT_CHILDREN, {"id": session_id}).fetchall()
            if not rows and not conn.execute(q.SESSION_EXISTS, {"id": session_id}).fetchone():
                raise NotFound(f"no session {session_id!r}")
        return [self._session(row) for row in rows]

    def ancestors(self, session_id: str) -> list[Session]:
        check_key("session_id", session_id)
        rows = self._query(
            f"reading ancestors of session {session_id!r}", sq.SELECT_ANCESTORS, {"id": session_id}
        )
        if not rows:
            raise NotFound(f"no session {session_id!r}")
        return [self._session(row) for row in rows[1:]]

    def tree(self, session_id: str) -> TreeNode:
        check_key("session_id", session_id)
        rows = self._query(
            f"reading the tree of session {session_id!r}", sq.SELECT_SUBTREE, {"id": session_id}
        )
        return build_tree(session_id, (self._session(row) for row in rows))

    def tree_usage(self, session_id: str) -> Usage:
        check_key("session_id", session_id)
        rows = self._query(
            f"summing usage under session {session_id!r}",
            sq.SUM_SUBTREE_USAGE,
            {"id": session_id},
        )
        found, *sums = rows[0]
        if not found:
            raise NotFound(f"no session {session_id!r}")
        return Usage(
            input_tokens=int(sums[0]),
            output_tokens=int(sums[1]),
            cache_read_tokens=int(sums[2]),
            cache_write_tokens=int(sums[3]),
            reasoning_tokens=int(sums[4]),
            cost_usd=float(sums[5]),
        )
