"""What the SQL backends share: row mappers and the append algorithm, written once.

SQLite and PostgreSQL store the same columns in the same order with the same meaning
(times as integer microseconds since the epoch, items and metadata as JSON text, flags as
0/1 integers), and each backend's ``queries`` module names its statements identically.
So a row read from either database maps to the model the same way, and ``append`` runs
the same steps on both; only the SQL text and the connection differ.

``conn`` below is the backend's DB-API connection (``sqlite3.Connection`` or
``psycopg.Connection``): both offer ``execute(sql, params) -> cursor`` and ``cursor()``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

from .._base import (
    BaseStore,
    PreparedMessage,
    merge_metadata,
    message_rows,
    new_message,
    summarize_batch,
)
from ..errors import Conflict, InvalidInput, NotFound
from ..model import (
    Message,
    Session,
    ToolCall,
    Usage,
    check_metadata,
    check_text,
    dump_json,
    from_micros,
)
from ..store import UNSET

__all__ = ["SQLCore"]

_loads = json.loads
_NO_USAGE = (None,) * 6
_USAGE_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
)


def _execute_all(conn: Any, statement: str, rows: list[dict[str, Any]]) -> None:
    """Run ``statement`` once per row; a single row skips executemany's set-up (on
    psycopg, entering and leaving pipeline mode costs an extra sync)."""
    if len(rows) == 1:
        conn.execute(statement, rows[0])
    elif rows:
        conn.cursor().executemany(statement, rows)


class SQLCore(BaseStore):
    """Row mapping and the append algorithm over a backend's ``queries`` module.

    A subclass sets ``queries`` and, where its SQL takes a list of ids differently,
    overrides ``_id_list``.
    """

    queries: ModuleType

    # Provided by the backend core: one write transaction, driver errors translated.
    def _write(self, what: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _id_list(self, ids: list[str]) -> Any:
        """The parameter value for a list of ids (SQLite: JSON for json_each)."""
        return json.dumps(ids)

    # ------------------------------------------------------------------ row mapping

    @staticmethod
    def _session(row: Sequence[Any]) -> Session:
        """A Session from a row of SESSION_COLUMNS."""
        usage = Usage(
            input_tokens=row[16],
            output_tokens=row[17],
            cache_read_tokens=row[18],
            cache_write_tokens=row[19],
            reasoning_tokens=row[20],
            cost_usd=row[21],
        )
        return Session(
            id=row[0],
            title=row[1],
            agent=row[2],
            model=row[3],
            source=row[4],
            user_id=row[5],
            working_dir=row[6],
            parent_id=row[7],
            relation=row[8],
            status=row[9],
            metadata={} if row[10] == "{}" else _loads(row[10]),
            created_at=from_micros(row[11]),
            updated_at=from_micros(row[12]),
            last_message_at=None if row[13] is None else from_micros(row[13]),
            message_count=row[14],
            last_seq=row[15],
            usage=usage,
            preview=row[22],
            compaction_count=row[23],
            compacted_at=None if row[24] is None else from_micros(row[24]),
        )

    @staticmethod
    def _tool_call(row: Sequence[Any]) -> ToolCall:
        """A ToolCall from a row of TOOL_CALL_COLUMNS."""
        duration = None
        if row[9] is not None and row[8] is not None:
            duration = max(0, (row[9] - row[8]) // 1000)
        return ToolCall(
            session_id=row[0],
            call_id=row[1],
            name=row[2],
            arguments=row[3],
            request_seq=row[4],
            result_seq=row[5],
            result_text=row[6],
            status=row[7],
            duration_ms=duration,
        )

    @staticmethod
    def _message(row: Sequence[Any], calls: list[ToolCall]) -> Message:
        """A Message from a row of MESSAGE_COLUMNS and its tool calls."""
        # Runs once per message read: kept lean (no generator, no JSON parse of "{}").
        usage_columns = row[10:16]
        metadata = row[18]
        return Message(
            session_id=row[0],
            seq=row[1],
            id=row[2],
            role=row[3],
            item=_loads(row[4]),
            text=row[5],
            tool_call_id=row[6],
            tool_calls=calls,
            created_at=from_micros(row[8]),
            model=row[9],
            usage=None if usage_columns == _NO_USAGE else Usage(*usage_columns),
            visible_to_model=bool(row[16]),
            visible_to_user=bool(row[17]),
            metadata={} if metadata == "{}" else _loads(metadata),
        )

    def _messages_from_rows(self, conn: Any, rows: list[Any]) -> list[Message]:
        """Messages for rows of MESSAGE_COLUMNS (one session, seq order), with their tool
        calls (one extra query, only when a row has calls)."""
        calls: dict[int, list[ToolCall]] = {}
        with_calls = [row[1] for row in rows if row[7]]
        if with_calls:
            params = {
                "session_id": rows[0][0],
                "first_seq": min(with_calls),
                "last_seq": max(with_calls),
            }
            for call_row in conn.execute(self.queries.SELECT_TOOL_CALLS_FOR_SEQS, params):
                calls.setdefault(call_row[4], []).append(self._tool_call(call_row))
        return [self._message(row, calls.get(row[1], [])) for row in rows]

    # ------------------------------------------------------------------ append

    def _insert_messages(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        """Insert the message rows of one append (a backend may batch them its own way)."""
        _execute_all(conn, self.queries.INSERT_MESSAGE, rows)

    def _append_locked(
        self,
        conn: Any,
        session_id: str,
        prepared: list[PreparedMessage],
        expect_last_seq: int | None,
        metadata_patch: Mapping[str, Any] | None = None,
    ) -> list[Message]:
        """Append inside an open write transaction; shared by append and history writes.

        Raises NotFound (no session) and Conflict (``expect_last_seq`` mismatch); the
        caller's transaction rolls back everything on any error.
        """
        q = self.queries
        existing: dict[str, Message] = {}
        explicit = [p.id for p in prepared if p.explicit_id]
        if explicit:
            # Lock the session before looking for the ids: a concurrent writer of the same
            # ids then waits here and finds them stored, instead of inserting them twice.
            if conn.execute(q.LOCK_SESSION, {"id": session_id}).fetchone() is None:
                raise NotFound(f"no session {session_id!r}")
            found = conn.execute(
                q.SELECT_MESSAGES_BY_IDS,
                {"session_id": session_id, "ids": self._id_list(explicit)},
            ).fetchall()
            if found:
                found.sort(key=lambda r: r[1])
                existing = {m.id: m for m in self._messages_from_rows(conn, found)}
        new = [p for p in prepared if p.id not in existing] if existing else prepared
        if not new:
            return [existing[p.id] for p in prepared]
        summary = summarize_batch(new)
        # One statement reserves the seq range and updates every counter; the row lock
        # it takes (the whole database, on SQLite) serialises writers of the session.
        row = conn.execute(
            q.RESERVE_SEQS, {"id": session_id, "added": len(new), **summary}
        ).fetchone()
        if row is None:
            raise NotFound(f"no session {session_id!r}")
        first_seq = row[0] - len(new) + 1
        actual = first_seq - 1
        if expect_last_seq is not None and expect_last_seq != actual:
            raise Conflict(
                f"session {session_id!r}: expected last seq {expect_last_seq}, found {actual}",
                expected=expect_last_seq,
                actual=actual,
            )
        if metadata_patch:
            current = json.loads(conn.execute(q.SELECT_METADATA, {"id": session_id}).fetchone()[0])
            params = {"id": session_id, "metadata": merge_metadata(current, metadata_patch)}
            conn.execute(q.UPDATE_METADATA, params)
        rows, calls, results = message_rows(session_id, new, first_seq)
        self._insert_messages(conn, rows)
        _execute_all(conn, q.INSERT_TOOL_CALL, calls)
        _execute_all(conn, q.COMPLETE_TOOL_CALL, results)
        stored = {p.id: new_message(session_id, p, r) for p, r in zip(new, rows, strict=True)}
        if not existing:
            return list(stored.values())
        return [existing[p.id] if p.id in existing else stored[p.id] for p in prepared]

    # ------------------------------------------------------------------ update_message

    def update_message(
        self,
        session_id: str,
        message_id: str,
        *,
        usage: Usage | None = UNSET,
        visible_to_model: bool = UNSET,
        visible_to_user: bool = UNSET,
        metadata: Mapping[str, Any] | None = UNSET,
    ) -> Message:
        check_text("message_id", message_id, allow_none=False)
        if usage is not UNSET and usage is not None and not isinstance(usage, Usage):
            raise InvalidInput(f"usage: expected sessiondb.Usage, got {type(usage).__name__}")
        for name, flag in (
            ("visible_to_model", visible_to_model),
            ("visible_to_user", visible_to_user),
        ):
            if flag is not UNSET and not isinstance(flag, bool):
                raise InvalidInput(f"{name}: expected True or False, got {flag!r}")
        metadata_json: str | None = None
        new_metadata: dict[str, Any] = {}
        if metadata is not UNSET:
            new_metadata = check_metadata("metadata", metadata)
            metadata_json = dump_json("metadata", new_metadata)
        q = self.queries
        what = f"updating message {message_id!r} of session {session_id!r}"
        with self._write(what) as conn:
            # The session's lock first, as append takes it: writers of one session queue
            # in the same order, and the totals below cannot change under us.
            if conn.execute(q.LOCK_SESSION, {"id": session_id}).fetchone() is None:
                raise NotFound(f"no session {session_id!r}")
            row = conn.execute(q.SELECT_MESSAGE, {"session_id": session_id, "id": message_id})
            found = row.fetchone()
            if found is None:
                raise NotFound(f"no message {message_id!r} in session {session_id!r}")
            current = self._messages_from_rows(conn, [found])[0]
            changes: dict[str, Any] = {}
            if usage is not UNSET:
                changes["usage"] = None if usage is None or usage.is_empty() else usage
            if visible_to_model is not UNSET:
                changes["visible_to_model"] = visible_to_model
            if visible_to_user is not UNSET:
                changes["visible_to_user"] = visible_to_user
            if metadata is not UNSET:
                changes["metadata"] = new_metadata
            updated = dataclasses.replace(current, **changes)
            new_usage = updated.usage or Usage()
            conn.execute(
                q.UPDATE_MESSAGE,
                {
                    "session_id": session_id,
                    "id": message_id,
                    **{name: getattr(new_usage, name) for name in _USAGE_COLUMNS},
                    "visible_to_model": int(updated.visible_to_model),
                    "visible_to_user": int(updated.visible_to_user),
                    "metadata": dump_json("metadata", updated.metadata)
                    if metadata_json is None
                    else metadata_json,
                },
            )
            old_usage = current.usage or Usage()
            if new_usage != old_usage:
                delta = {
                    name: (getattr(new_usage, name) or 0) - (getattr(old_usage, name) or 0)
                    for name in _USAGE_COLUMNS
                }
                delta["cost_usd"] = float(delta["cost_usd"])
                conn.execute(q.ADD_SESSION_USAGE, {"id": session_id, **delta})
        return updated
