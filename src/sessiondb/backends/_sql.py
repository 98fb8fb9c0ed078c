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
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from .._base import (
    BaseStore,
    PreparedMessage,
    check_limit,
    merge_metadata,
    message_rows,
    new_messages,
    restored_fields,
    summarize_batch,
)
from ..errors import Conflict, InvalidInput, NotFound
from ..model import (
    _EPOCH,
    RELATIONS,
    STATUSES,
    USAGE_FIELDS,
    Message,
    Session,
    ToolCall,
    Usage,
    check_choice,
    check_id,
    check_metadata,
    check_text,
    dump_json,
    from_micros,
    load_json,
    now_micros,
    stored_message,
    stored_session,
    stored_tool_call,
    stored_usage,
)
from ..store import UNSET

__all__ = ["SQLCore"]

_loads = load_json
_NO_USAGE = (None,) * 6


def _totals_overflow(session_id: str) -> InvalidInput:
    """The error for a change that would take a session's usage totals past 2**63 - 1."""
    return InvalidInput(
        f"session {session_id!r}: its usage totals would overflow; nothing was written",
        reason="the session's usage totals would overflow, nothing was written",
        subject=session_id,
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
        return stored_session(
            row[0],
            _EPOCH + timedelta(microseconds=row[11]),
            _EPOCH + timedelta(microseconds=row[12]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            {} if row[10] == "{}" else _loads(row[10]),
            None if row[13] is None else from_micros(row[13]),
            row[14],
            row[15],
            stored_usage(row[16], row[17], row[18], row[19], row[20], float(row[21])),
            row[22],
            row[23],
            None if row[24] is None else from_micros(row[24]),
        )

    @staticmethod
    def _tool_call(row: Sequence[Any]) -> ToolCall:
        """A ToolCall from a row of TOOL_CALL_COLUMNS."""
        duration = None
        if row[9] is not None and row[8] is not None:
            duration = max(0, (row[9] - row[8]) // 1000)
        return stored_tool_call(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], duration
        )

    @staticmethod
    def _message(session_id: str, row: Sequence[Any], calls: list[ToolCall]) -> Message:
        """A Message of ``session_id`` from a row of MESSAGE_COLUMNS and its tool calls."""
        # Runs once per message read: kept lean (no generator, no JSON parse of "{}", no
        # validation of values that were validated when written).
        usage_columns = row[8:14]
        metadata = row[15]
        flags = row[14]
        return stored_message(
            session_id,
            row[0],
            row[1],
            row[2],
            _loads(row[3]),
            row[4],
            _EPOCH + timedelta(microseconds=row[6]),
            calls,
            row[5],
            row[7],
            None if usage_columns == _NO_USAGE else stored_usage(*usage_columns),
            bool(flags & 1),
            bool(flags & 2),
            {} if metadata == "{}" else _loads(metadata),
        )

    def _messages_from_rows(self, conn: Any, session_id: str, rows: list[Any]) -> list[Message]:
        """Messages of ``session_id`` for rows of MESSAGE_COLUMNS (seq order), with their
        tool calls (one extra query, only when a row has calls)."""
        call_rows: Any = ()
        with_calls = [row[0] for row in rows if row[14] & 4]
        if with_calls:
            params = {
                "session_id": session_id,
                "first_seq": min(with_calls),
                "last_seq": max(with_calls),
            }
            call_rows = conn.execute(self.queries.SELECT_TOOL_CALLS_FOR_SEQS, params)
        return self._assemble(session_id, rows, call_rows)

    def _assemble(self, session_id: str, rows: list[Any], call_rows: Any) -> list[Message]:
        """Messages of ``session_id`` from rows of MESSAGE_COLUMNS and rows of their calls
        (SELECT_TOOL_CALLS_FOR_SEQS' columns, in seq then position order)."""
        calls: dict[int, list[ToolCall]] = {}
        for c in call_rows:
            duration = None if c[8] is None else max(0, (c[8] - c[7]) // 1000)
            call = stored_tool_call(session_id, c[0], c[1], c[2], c[3], c[4], c[5], c[6], duration)
            found = calls.get(c[3])
            if found is None:
                calls[c[3]] = [call]
            else:
                found.append(call)
        message = self._message
        return [message(session_id, row, calls.get(row[0], [])) for row in rows]

    # ------------------------------------------------------------------ append

    def _insert_messages(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        """Insert the message rows of one append (a backend may batch them its own way)."""
        _execute_all(conn, self.queries.INSERT_MESSAGE, rows)

    def _insert_calls(self, conn: Any, calls: list[dict[str, Any]]) -> None:
        """Insert the tool-call rows of one append."""
        _execute_all(conn, self.queries.INSERT_TOOL_CALL, calls)

    def _reserve(self, conn: Any, params: dict[str, Any]) -> Any:
        """Run RESERVE_SEQS (``id``, ``added`` and summarize_batch's keys); the new last_seq
        row, or None when the session does not exist."""
        return conn.execute(self.queries.RESERVE_SEQS, params).fetchone()

    def _append_locked(
        self,
        conn: Any,
        session_id: str,
        prepared: list[PreparedMessage],
        expect_last_seq: int | None,
        metadata_patch: Mapping[str, Any] | None = None,
        other_patches: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[Message]:
        """Append inside an open write transaction; shared by append and history writes.

        ``other_patches`` (validated: other sessions' ids -> non-empty patches) are merged
        into those sessions. Raises NotFound (no session, ours or another) and Conflict
        (``expect_last_seq`` mismatch); the caller's transaction rolls back everything on
        any error.
        """
        check_limit("expect_last_seq", expect_last_seq)
        q = self.queries
        others: list[tuple[str, str, Mapping[str, Any]]] = []  # (id, stored metadata, patch)
        if other_patches:
            # Every session this append writes is locked first, in id order, so appends
            # naming overlapping sessions queue instead of deadlocking (see LOCK_SESSIONS).
            names = sorted({session_id, *other_patches})
            locked = dict(conn.execute(q.LOCK_SESSIONS, {"ids": self._id_list(names)}).fetchall())
            if session_id not in locked:
                raise NotFound.session(session_id)
            for other, patch in other_patches.items():
                if other not in locked:
                    raise NotFound(
                        f"no session {other!r} (named in other_metadata)",
                        reason="no such session",
                        subject=other,
                    )
                others.append((other, locked[other], patch))
        existing: dict[str, Message] = {}
        explicit = [p.id for p in prepared if p.explicit_id]
        if explicit:
            # Lock the session before looking for the ids: a concurrent writer of the same
            # ids then waits here and finds them stored, instead of inserting them twice.
            if conn.execute(q.LOCK_SESSION, {"id": session_id}).fetchone() is None:
                raise NotFound.session(session_id)
            found = conn.execute(
                q.SELECT_MESSAGES_BY_IDS,
                {"session_id": session_id, "ids": self._id_list(explicit)},
            ).fetchall()
            if found:
                found.sort(key=lambda r: r[0])
                existing = {m.id: m for m in self._messages_from_rows(conn, session_id, found)}
        new = [p for p in prepared if p.id not in existing] if existing else prepared
        if not new:
            return [existing[p.id] for p in prepared]
        summary = summarize_batch(new)
        # One statement reserves the seq range and updates every counter; the row lock
        # it takes (the whole database, on SQLite) serialises writers of the session.
        summary["id"] = session_id
        summary["added"] = len(new)
        row = self._reserve(conn, summary)
        if row is None:
            raise NotFound.session(session_id)
        if len(row) > 1 and not row[1]:
            raise _totals_overflow(session_id)
        first_seq = row[0] - len(new) + 1
        actual = first_seq - 1
        if expect_last_seq is not None and expect_last_seq != actual:
            raise Conflict(
                f"session {session_id!r}: expected last seq {expect_last_seq}, found {actual}",
                expected=expect_last_seq,
                actual=actual,
                reason=f"expected last seq {expect_last_seq}, found {actual}",
                subject=session_id,
            )
        if metadata_patch:
            current = json.loads(conn.execute(q.SELECT_METADATA, {"id": session_id}).fetchone()[0])
            params = {"id": session_id, "metadata": merge_metadata(current, metadata_patch)}
            conn.execute(q.UPDATE_METADATA, params)
        if others:
            now = now_micros()
            updates = [
                {"id": sid, "metadata": merge_metadata(json.loads(meta), patch), "now": now}
                for sid, meta, patch in others
            ]
            _execute_all(conn, q.UPDATE_OTHER_METADATA, updates)
        rows, calls, results = message_rows(session_id, new, first_seq)
        self._insert_messages(conn, rows)
        if calls:
            self._insert_calls(conn, calls)
        _execute_all(conn, q.COMPLETE_TOOL_CALL, results)
        made = new_messages(session_id, new, rows, calls)
        if not existing:
            return made
        stored = {m.id: m for m in made}
        return [existing[p.id] if p.id in existing else stored[p.id] for p in prepared]

    def _lock_lineage(self, conn: Any) -> None:
        """Serialise re-parentings before update_session checks for cycles (PostgreSQL;
        a SQLite write transaction already holds the database's write lock)."""

    # ------------------------------------------------------------------ update_session

    def update_session(
        self,
        session_id: str,
        *,
        title: str | None = UNSET,
        agent: str | None = UNSET,
        model: str | None = UNSET,
        source: str | None = UNSET,
        user_id: str | None = UNSET,
        working_dir: str | None = UNSET,
        parent_id: str | None = UNSET,
        relation: str | None = UNSET,
        status: str = UNSET,
        metadata: Mapping[str, Any] | None = UNSET,
        updated_at: datetime = UNSET,
        compaction_count: int = UNSET,
        compacted_at: datetime | None = UNSET,
        last_seq: int = UNSET,
        usage: Usage = UNSET,
        last_message_at: datetime | None = UNSET,
    ) -> Session:
        given = {
            "title": title,
            "agent": agent,
            "model": model,
            "source": source,
            "user_id": user_id,
            "working_dir": working_dir,
        }
        for name, value in given.items():
            if value is not UNSET:
                check_text(name, value)
        if status is not UNSET:
            check_choice("status", status, STATUSES)
        if relation is not UNSET and relation is not None:
            check_choice("relation", relation, RELATIONS)
        if parent_id is not UNSET and parent_id is not None:
            check_id("parent_id", parent_id)
        if metadata is not UNSET:
            check_metadata("metadata", metadata)
        q = self.queries
        with self._write(f"updating session {session_id!r}") as conn:
            if parent_id is not UNSET and parent_id is not None:
                self._lock_lineage(conn)
            row = conn.execute(q.SELECT_SESSION_FOR_UPDATE, {"id": session_id}).fetchone()
            if row is None:
                raise NotFound.session(session_id)
            current = self._session(row)
            params: dict[str, Any] = {
                name: getattr(current, name) if value is UNSET else value
                for name, value in given.items()
            }
            params["status"] = current.status if status is UNSET else status
            params["relation"] = current.relation if relation is UNSET else relation
            params["parent_id"] = current.parent_id if parent_id is UNSET else parent_id
            if parent_id is not UNSET and parent_id is not None:
                if not conn.execute(q.SESSION_EXISTS, {"id": parent_id}).fetchone():
                    raise NotFound(
                        f"parent session {parent_id!r} does not exist",
                        reason="no such parent session",
                        subject=parent_id,
                    )
                subtree = {r[0] for r in conn.execute(q.SELECT_DESCENDANT_IDS, {"id": session_id})}
                if parent_id in subtree:
                    raise InvalidInput(
                        f"parent_id: {parent_id!r} is {session_id!r} or one of its descendants",
                        reason="a session cannot be its own ancestor",
                        subject=f"{session_id} -> {parent_id}",
                    )
            if metadata is UNSET:
                params["metadata"] = dump_json("metadata", current.metadata)
            elif metadata is None:
                params["metadata"] = "{}"
            else:
                params["metadata"] = merge_metadata(current.metadata, metadata)
            params.update(
                restored_fields(
                    current,
                    updated_at,
                    compaction_count,
                    compacted_at,
                    last_seq,
                    usage,
                    last_message_at,
                )
            )
            params["id"] = session_id
            params["now"] = now_micros()
            conn.execute(q.UPDATE_SESSION, params)
            row = conn.execute(q.SELECT_SESSION, {"id": session_id}).fetchone()
        return self._session(row)

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
            raise InvalidInput.about(
                "usage", f"expected sessiondb.Usage, got {type(usage).__name__}"
            )
        for name, flag in (
            ("visible_to_model", visible_to_model),
            ("visible_to_user", visible_to_user),
        ):
            if flag is not UNSET and not isinstance(flag, bool):
                raise InvalidInput.about(name, f"expected True or False, got {flag!r}")
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
                raise NotFound.session(session_id)
            row = conn.execute(q.SELECT_MESSAGE, {"session_id": session_id, "id": message_id})
            found = row.fetchone()
            if found is None:
                raise NotFound(
                    f"no message {message_id!r} in session {session_id!r}",
                    reason="no such message",
                    subject=f"{message_id} in {session_id}",
                )
            current = self._messages_from_rows(conn, session_id, [found])[0]
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
                    **{name: getattr(new_usage, name) for name in USAGE_FIELDS},
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
                    for name in USAGE_FIELDS
                }
                delta["cost_usd"] = float(delta["cost_usd"])
                keys = {"session_id": session_id, "id": message_id}
                copy = int(bool(conn.execute(q.IS_FORK_COPY, keys).fetchone()[0]))
                fit = conn.execute(
                    q.ADD_SESSION_USAGE, {"id": session_id, "copy": copy, **delta}
                ).fetchone()
                if not fit[0]:
                    raise _totals_overflow(session_id)
        return updated
