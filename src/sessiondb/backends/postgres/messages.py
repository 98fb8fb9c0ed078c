"""PostgreSQL backend: ``append`` and ``messages`` with as few round trips as possible.

Each statement costs a network round trip, which on a loopback connection is as much as
the statement itself. The common append (one message, id generated, no session metadata)
is one statement (``message_queries.APPEND_ONE_*``); any other append runs the shared
algorithm (``SQLCore._append_locked``) in a transaction. A read sends its two statements
(messages, their tool calls) in one pipeline, inside a read-only snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..._base import (
    PreparedMessage,
    check_limit,
    check_other_metadata,
    message_rows,
    new_messages,
    read_window,
    summarize_batch,
)
from ...errors import Conflict, NotFound
from ...model import Message, Usage, check_metadata
from ...store import AppendInput, MessageOrder
from . import message_queries as mq
from . import queries as q
from .core import PostgresCore


class PostgresMessages(PostgresCore):
    """``append`` and ``messages`` on PostgreSQL."""

    def append(
        self,
        session_id: str,
        items: AppendInput,
        *,
        ids: Sequence[str] | None = None,
        usage: Usage | None = None,
        model: str | None = None,
        expect_last_seq: int | None = None,
        session_metadata: Mapping[str, Any] | None = None,
        other_metadata: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[Message]:
        prepared = self._prepare(items, ids, usage, model)
        patch = check_metadata("session_metadata", session_metadata) if session_metadata else None
        others = check_other_metadata(session_id, other_metadata) if other_metadata else None
        if not prepared:
            self.get_session(session_id)  # still NotFound for a missing session
            return []
        if len(prepared) == 1 and not prepared[0].explicit_id and not patch and not others:
            one = self._append_one(session_id, prepared[0], expect_last_seq)
            if one is not None:
                return one
        with self._write(f"appending to session {session_id!r}") as conn:
            return self._append_locked(conn, session_id, prepared, expect_last_seq, patch, others)

    def _append_one(
        self, session_id: str, p: PreparedMessage, expect_last_seq: int | None
    ) -> list[Message] | None:
        """Append one message with a generated id in one statement; None when it does not
        qualify (two results for one call id need the multi-statement path)."""
        check_limit("expect_last_seq", expect_last_seq)
        proj = p.projection
        result_ids = [r.call_id for r in proj.results]
        if len(set(result_ids)) != len(result_ids):
            return None
        # Seq 0 is a placeholder: the statement assigns the real one from the session row.
        rows, calls, _ = message_rows(session_id, [p], 0)
        params: dict[str, Any] = dict(rows[0])
        summary = summarize_batch([p])
        params["message_model"] = params["model"]
        params["model"] = summary["model"]
        params["preview"] = summary["preview"]
        params["expect_last_seq"] = expect_last_seq
        if calls:
            params["call_ids"] = [c["call_id"] for c in calls]
            params["call_names"] = [c["name"] for c in calls]
            params["call_arguments"] = [c["arguments"] for c in calls]
        if result_ids:
            params["result_ids"] = result_ids
            params["result_texts"] = [r.text for r in proj.results]
            params["result_statuses"] = ["error" if r.is_error else "ok" for r in proj.results]
        if calls and result_ids:
            sql = mq.APPEND_ONE_WITH_BOTH
        elif calls:
            sql = mq.APPEND_ONE_WITH_CALLS
        elif result_ids:
            sql = mq.APPEND_ONE_WITH_RESULTS
        else:
            sql = mq.APPEND_ONE
        with self._connection(f"appending to session {session_id!r}") as conn:
            row = conn.execute(sql, params).fetchone()
            if row is None:
                found = conn.execute(mq.SELECT_LAST_SEQ, {"id": session_id}).fetchone()
                if found is None:
                    raise NotFound.session(session_id)
                raise Conflict(
                    f"session {session_id!r}: expected last seq {expect_last_seq}, "
                    f"found {found[0]}",
                    expected=expect_last_seq,
                    actual=found[0],
                    reason=f"expected last seq {expect_last_seq}, found {found[0]}",
                    subject=session_id,
                )
        seq = int(row[0])
        rows[0]["seq"] = seq
        for c in calls:
            c["request_seq"] = seq
        return new_messages(session_id, [p], rows, calls)

    def messages(
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
    ) -> list[Message]:
        window = read_window(
            "messages",
            session_id,
            after_seq=after_seq,
            before_seq=before_seq,
            last=last,
            limit=limit,
            since=since,
            until=until,
            order=order,
        )
        if window.count == 0:
            self.get_session(session_id)
            return []
        params = {**window.params, "limit": window.count}
        select_messages = q.MESSAGE_WINDOWS[window.kind, window.newest]
        if window.kind == "seq":
            select_calls = mq.SELECT_CALLS_LAST if window.newest else mq.SELECT_CALLS_FIRST
        else:
            # A time window's seqs are not a range: its calls are read for its rows.
            select_calls = None
        with self._connection(f"reading messages of session {session_id!r}") as conn:
            if select_calls is None:
                rows = conn.execute(select_messages, params).fetchall()
                if window.newest:
                    rows.reverse()
                if not rows:
                    self._require(conn, session_id)
                    return []
                return self._messages_from_rows(conn, session_id, rows)
            # One round trip: the snapshot, both reads and the end of the snapshot are
            # sent together; the results come back in order.
            try:
                with conn.pipeline():
                    conn.execute(mq.BEGIN_SNAPSHOT)
                    messages = conn.execute(select_messages, params)
                    calls = conn.execute(select_calls, params)
                    conn.execute(mq.COMMIT)
            finally:
                if conn.info.transaction_status:
                    conn.rollback()  # an error left the snapshot open
            rows = messages.fetchall()
            call_rows = calls.fetchall()
            if not rows:
                self._require(conn, session_id)
                return []
        if window.newest:
            rows.reverse()
        return self._assemble(session_id, rows, call_rows)

    @staticmethod
    def _require(conn: Any, session_id: str) -> None:
        """Raise NotFound unless the session exists."""
        if not conn.execute(mq.SESSION_EXISTS, {"id": session_id}).fetchone():
            raise NotFound.session(session_id)
