"""History features shared by the SQL backends: windowing, compaction, deletes, fork.

The rules (legal start, budgets, summary placement) live in ``sessiondb.history``; this
class only reads rows from the end of a session and writes the changes, each operation
in one transaction, through the SQL text of the backend's ``history_queries`` module
(SQLite and PostgreSQL name their statements and parameters identically, as they do for
the core). Every delete keeps the tool_calls rows and the session's counters and preview
consistent with the messages left; usage totals are never reduced (they are money
already spent).

A backend mixes this in after its core (``class SQLiteHistory(SQLiteCore, SQLHistory)``),
whose ``_read``/``_write``/``_append_locked``/``_messages_from_rows``/``_session`` it uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

from .._base import check_limit, make_preview
from ..errors import AlreadyExists, InvalidInput, NotFound
from ..history import HistoryRow, Window, summary_item, summary_metadata
from ..model import Message, NewMessage, Session, check_key, now_micros
from ..store import AppendInput, TokenCounter
from ._sql import SQLCore

__all__ = ["SQLHistory"]

_FAR_FUTURE = 1 << 62

# Column order of SELECT_COPY_RANGE, which are also UPDATE_FORK_COUNTERS' parameters.
_RANGE_COLUMNS = (
    "message_count",
    "first_seq",
    "last_seq",
    "last_message_at",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
)


class SQLHistory(SQLCore):
    """History features of the Store contract over a backend's ``history_queries``."""

    history_queries: ModuleType

    # Provided by the backend core this class is mixed with.
    def _read(self, what: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _write(self, what: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers

    def _require_session(self, conn: Any, session_id: str, *, lock: bool = True) -> int:
        """The session's last_seq; raises NotFound."""
        hq = self.history_queries
        sql = hq.LOCK_SESSION_LAST_SEQ if lock else hq.SELECT_LAST_SEQ
        row = conn.execute(sql, {"id": session_id}).fetchone()
        if row is None:
            raise NotFound(f"no session {session_id!r}")
        return int(row[0])

    def _fill(self, conn: Any, session_id: str, window: Window) -> None:
        """Feed ``window`` model-visible rows from the end of the session, chunk by chunk,
        until it has what it needs; never reads more of the session than that."""
        hq = self.history_queries
        before = _FAR_FUTURE
        size = window.chunk_size()
        while not window.done:
            params = {"session_id": session_id, "before_seq": before, "limit": size}
            rows = conn.execute(hq.SELECT_VISIBLE_BEFORE, params).fetchall()
            window.feed(HistoryRow(row[0], row[1], row[2]) for row in rows)
            if len(rows) < size:
                window.finish()
                break
            before = rows[-1][0]
            size = window.chunk_size(size)

    def _preview(self, conn: Any, session_id: str) -> str | None:
        """The preview of what is left: the first user text, as append makes it."""
        hq = self.history_queries
        for (text,) in conn.execute(hq.SELECT_USER_TEXTS, {"session_id": session_id}):
            preview = make_preview(text)
            if preview is not None:
                return preview
        return None

    def _after_delete(
        self,
        conn: Any,
        session_id: str,
        deleted: int,
        last_seq: int,
        *,
        preview: str | bool | None = True,
    ) -> None:
        """Bring tool calls and session counters in line after ``deleted`` messages went.

        ``preview=True`` recomputes it; a string or None sets it.
        """
        hq = self.history_queries
        params = {"session_id": session_id}
        conn.execute(hq.DELETE_ORPHAN_CALLS, params)
        conn.execute(hq.REOPEN_ORPHAN_RESULTS, params)
        new_preview = self._preview(conn, session_id) if preview is True else preview
        conn.execute(
            hq.UPDATE_AFTER_DELETE,
            {
                "id": session_id,
                "deleted": deleted,
                "last_seq": last_seq,
                "preview": new_preview,
                "now": now_micros(),
            },
        )

    # ------------------------------------------------------------------ reads

    def history(
        self,
        session_id: str,
        *,
        max_messages: int | None = None,
        max_tokens: int | None = None,
        token_counter: TokenCounter | None = None,
    ) -> list[dict[str, Any]]:
        check_key("session_id", session_id)
        window = Window(
            max_messages=max_messages, max_tokens=max_tokens, token_counter=token_counter
        )
        with self._read(f"reading the history of session {session_id!r}") as conn:
            self._require_session(conn, session_id, lock=False)
            if not window.done:
                self._fill(conn, session_id, window)
        return window.items()

    # ------------------------------------------------------------------ compaction

    def compact(
        self,
        session_id: str,
        summary: str | Mapping[str, Any],
        *,
        keep_last: int = 0,
        summary_role: str = "user",
    ) -> Message:
        check_key("session_id", session_id)
        hq = self.history_queries
        window = Window.at_least(keep_last)
        item = summary_item(summary, summary_role)
        self._prepare(item, None, None, None)  # bad input raises before any lock is taken
        with self._write(f"compacting session {session_id!r}") as conn:
            last_seq = self._require_session(conn, session_id)
            if not window.done:
                self._fill(conn, session_id, window)
            kept = [row.seq for row in window.rows() if not row.is_summary]
            first_kept = min(kept) if kept else last_seq + 1
            conn.execute(
                hq.HIDE_BEFORE_TAIL,
                {"session_id": session_id, "first_kept": first_kept},
            )
            message = NewMessage(item, metadata=summary_metadata(first_kept - 1))
            prepared = self._prepare(message, None, None, None)
            stored = self._append_locked(conn, session_id, prepared, None)
            conn.execute(hq.RECORD_COMPACTION, {"id": session_id, "now": now_micros()})
        return stored[0]

    def replace_history(
        self, session_id: str, items: AppendInput, *, keep_replaced: bool = True
    ) -> list[Message]:
        check_key("session_id", session_id)
        hq = self.history_queries
        prepared = self._prepare(items, None, None, None)
        with self._write(f"replacing the history of session {session_id!r}") as conn:
            last_seq = self._require_session(conn, session_id)
            params = {"session_id": session_id}
            if keep_replaced:
                conn.execute(hq.HIDE_VISIBLE, params)
            else:
                deleted = conn.execute(hq.DELETE_VISIBLE, params).rowcount
                self._after_delete(conn, session_id, deleted, last_seq)
            explicit = [p.id for p in prepared if p.explicit_id]
            if explicit:
                ids = {"session_id": session_id, "ids": self._id_list(explicit)}
                clash = conn.execute(hq.SELECT_MESSAGES_BY_IDS, ids).fetchone()
                if clash is not None:
                    raise InvalidInput(
                        f"replace_history: message id {clash[2]!r} is already stored in "
                        f"session {session_id!r}; replacement messages need new ids"
                    )
            if not prepared:
                return []
            return self._append_locked(conn, session_id, prepared, None)

    # ------------------------------------------------------------------ deletes

    def truncate(self, session_id: str, *, keep_last: int) -> int:
        check_key("session_id", session_id)
        hq = self.history_queries
        keep = check_limit("keep_last", keep_last, allow_none=False) or 0
        with self._write(f"truncating session {session_id!r}") as conn:
            last_seq = self._require_session(conn, session_id)
            params: dict[str, Any] = {"session_id": session_id}
            if keep == 0:
                deleted = conn.execute(hq.DELETE_ALL_MESSAGES, params).rowcount
            else:
                row = conn.execute(hq.SELECT_NTH_NEWEST_SEQ, {**params, "offset": keep - 1})
                cut = row.fetchone()
                if cut is None:
                    return 0  # fewer than keep_last messages: nothing to delete
                deleted = conn.execute(
                    hq.DELETE_MESSAGES_BEFORE, {**params, "seq": cut[0]}
                ).rowcount
            if deleted:
                # Remaining messages keep their seqs; the next append continues after them.
                self._after_delete(conn, session_id, deleted, last_seq)
            return int(deleted)

    def pop(self, session_id: str) -> Message | None:
        check_key("session_id", session_id)
        hq = self.history_queries
        with self._write(f"popping the last message of session {session_id!r}") as conn:
            self._require_session(conn, session_id)
            params: dict[str, Any] = {"session_id": session_id}
            row = conn.execute(hq.SELECT_LAST_MESSAGE, params).fetchone()
            if row is None:
                return None
            message = self._messages_from_rows(conn, [row])[0]
            conn.execute(hq.DELETE_MESSAGE, {**params, "seq": message.seq})
            # last_seq steps back so the next append reuses the seq: seqs stay contiguous.
            # Only a user message can have been the preview.
            preview: str | bool | None = True
            if message.role != "user":
                preview = conn.execute(hq.SELECT_PREVIEW, {"id": session_id}).fetchone()[0]
            self._after_delete(conn, session_id, 1, message.seq - 1, preview=preview)
            return message

    def clear(self, session_id: str) -> int:
        check_key("session_id", session_id)
        hq = self.history_queries
        with self._write(f"clearing session {session_id!r}") as conn:
            self._require_session(conn, session_id)
            params = {"session_id": session_id}
            deleted = conn.execute(hq.DELETE_ALL_MESSAGES, params).rowcount
            conn.execute(hq.DELETE_ALL_CALLS, params)
            conn.execute(
                hq.UPDATE_AFTER_DELETE,
                {
                    "id": session_id,
                    "deleted": deleted,
                    "last_seq": 0,
                    "preview": None,
                    "now": now_micros(),
                },
            )
            return int(deleted)

    # ------------------------------------------------------------------ fork

    def fork(
        self,
        session_id: str,
        *,
        at_seq: int | None = None,
        title: str | None = None,
        id: str | None = None,
    ) -> Session:
        check_key("session_id", session_id)
        hq = self.history_queries
        check_limit("at_seq", at_seq)
        fields = self._session_fields(
            id,
            title=title,
            agent=None,
            model=None,
            source=None,
            user_id=None,
            working_dir=None,
            parent_id=None,
            relation="fork",
            status="active",
            metadata=None,
            created_at=None,
        )
        new_id = fields.id
        with self._write(f"forking session {session_id!r}") as conn:
            last_seq = self._require_session(conn, session_id)
            if conn.execute(hq.SESSION_EXISTS, {"id": new_id}).fetchone():
                raise AlreadyExists(f"session {new_id!r} already exists")
            params = {
                "id": new_id,
                "source_id": session_id,
                "title": fields.title,
                "now": fields.created_at,
                "at_seq": last_seq if at_seq is None else at_seq,
            }
            found = conn.execute(hq.SELECT_COPY_RANGE, params).fetchone()
            totals = dict(zip(_RANGE_COLUMNS, found, strict=True))
            first = totals.pop("first_seq")
            contiguous = totals["message_count"] == totals.pop("last_seq") - first + 1
            conn.execute(hq.INSERT_FORK_SESSION, params)
            if contiguous:
                params["offset"] = first - 1
                conn.execute(hq.COPY_MESSAGES_SHIFTED, params)
                conn.execute(hq.COPY_TOOL_CALLS_SHIFTED, params)
                if first > 1:
                    conn.execute(hq.SHIFT_SUMMARIES, params)
            else:
                conn.execute(hq.COPY_MESSAGES_RENUMBERED, params)
                conn.execute(hq.COPY_TOOL_CALLS_RENUMBERED, params)
            totals.update(id=new_id, preview=self._preview(conn, new_id))
            conn.execute(hq.UPDATE_FORK_COUNTERS, totals)
            row = conn.execute(hq.SELECT_SESSION, {"id": new_id}).fetchone()
        return self._session(row)
