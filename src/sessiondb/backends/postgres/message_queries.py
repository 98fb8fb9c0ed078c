"""SQL of the PostgreSQL backend's append and message reads, round-trip lean.

On PostgreSQL every statement is a network round trip, and an append of one message used
five (BEGIN, the counters, the message, its tool calls, COMMIT). ``APPEND_ONE_*`` do it in
one statement, in autocommit: the session's row is updated (which locks it: writers of the
session queue there, exactly as in the multi-statement path), the message and its tool-call
rows are inserted from the seq that update returned, and results complete the calls stored
before, all in one implicit transaction. A mismatched ``expect_last_seq`` or a missing
session updates no row, so nothing else is written either.
"""

from __future__ import annotations

from .queries import _CALL_COLUMNS

_RESERVE_ONE = """
WITH s AS (
    UPDATE sessions SET
        last_seq = last_seq + 1,
        message_count = message_count + 1,
        updated_at = GREATEST(updated_at, %(created_at)s),
        last_message_at = GREATEST(coalesce(last_message_at, 0), %(created_at)s),
        model = coalesce(%(model)s, model),
        preview = coalesce(preview, %(preview)s),
        input_tokens = input_tokens + coalesce(%(input_tokens)s, 0),
        output_tokens = output_tokens + coalesce(%(output_tokens)s, 0),
        cache_read_tokens = cache_read_tokens + coalesce(%(cache_read_tokens)s, 0),
        cache_write_tokens = cache_write_tokens + coalesce(%(cache_write_tokens)s, 0),
        reasoning_tokens = reasoning_tokens + coalesce(%(reasoning_tokens)s, 0),
        cost_usd = cost_usd + coalesce(%(cost_usd)s, 0)
    WHERE id = %(session_id)s
      AND (%(expect_last_seq)s::bigint IS NULL OR last_seq = %(expect_last_seq)s)
    RETURNING last_seq
), m AS (
    INSERT INTO messages (session_id, seq, id, role, item, text, tool_text, search_text,
                          tool_call_id, has_tool_calls, created_at, model, input_tokens,
                          output_tokens, cache_read_tokens, cache_write_tokens,
                          reasoning_tokens, cost_usd, visible_to_model, visible_to_user,
                          metadata)
    SELECT %(session_id)s, s.last_seq, %(id)s, %(role)s, %(item)s, %(text)s, %(tool_text)s,
           %(search_text)s, %(tool_call_id)s, %(has_tool_calls)s, %(created_at)s,
           %(message_model)s, %(input_tokens)s, %(output_tokens)s, %(cache_read_tokens)s,
           %(cache_write_tokens)s, %(reasoning_tokens)s, %(cost_usd)s,
           %(visible_to_model)s, %(visible_to_user)s, %(metadata)s
    FROM s
)"""

# The message's own calls, pending (a result never answers a call after it).
_INSERT_CALLS = """, c AS (
    INSERT INTO tool_calls (session_id, call_id, name, arguments, request_seq, position,
                            requested_at)
    SELECT %(session_id)s, c.call_id, c.name, c.arguments, s.last_seq, c.n - 1,
           %(created_at)s
    FROM s, unnest(%(call_ids)s::text[], %(call_names)s::text[], %(call_arguments)s::text[])
         WITH ORDINALITY AS c(call_id, name, arguments, n)
)"""

# Its results complete the newest pending call of each id stored before it (the same
# rule as COMPLETE_TOOL_CALL). Used only when the result ids are distinct: one statement
# sees one snapshot, so two results for one id would both pick the same call.
_COMPLETE_CALLS = """, r AS (
    UPDATE tool_calls t
    SET result_seq = s.last_seq, result_text = r.result_text, status = r.status,
        completed_at = %(created_at)s
    FROM s, unnest(%(result_ids)s::text[], %(result_texts)s::text[],
                   %(result_statuses)s::text[]) AS r(call_id, result_text, status)
    -- The equalities on t let the planner find t by index; the subquery alone made it
    -- test every row of the table.
    WHERE t.session_id = %(session_id)s AND t.call_id = r.call_id
      AND (t.session_id, t.request_seq, t.position) = (
        SELECT p.session_id, p.request_seq, p.position FROM tool_calls p
        WHERE p.session_id = %(session_id)s AND p.call_id = r.call_id
          AND p.result_seq IS NULL AND p.request_seq < s.last_seq
        ORDER BY p.request_seq DESC, p.position DESC
        LIMIT 1)
)"""

_RETURN = "\nSELECT last_seq FROM s"

APPEND_ONE = _RESERVE_ONE + _RETURN
APPEND_ONE_WITH_CALLS = _RESERVE_ONE + _INSERT_CALLS + _RETURN
APPEND_ONE_WITH_RESULTS = _RESERVE_ONE + _COMPLETE_CALLS + _RETURN
APPEND_ONE_WITH_BOTH = _RESERVE_ONE + _INSERT_CALLS + _COMPLETE_CALLS + _RETURN

# Why an APPEND_ONE updated nothing: no session (NotFound) or another last_seq (Conflict).
SELECT_LAST_SEQ = "SELECT last_seq FROM sessions WHERE id = %(id)s"

# -- reads: messages and their calls in one pipelined round trip -------------------------

# The calls of exactly the window of queries.SELECT_MESSAGES_FIRST/LAST, found without
# waiting for its rows: the window's end seq is computed again in the subquery (an index
# probe), so both statements can be sent at once.
SELECT_CALLS_FIRST = f"""
SELECT {_CALL_COLUMNS} FROM tool_calls
WHERE session_id = %(session_id)s AND request_seq > %(after_seq)s AND request_seq <= (
    SELECT coalesce(max(w.seq), %(after_seq)s) FROM (
        SELECT seq FROM messages
        WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
        ORDER BY seq LIMIT %(limit)s) w)
ORDER BY request_seq, position"""

SELECT_CALLS_LAST = f"""
SELECT {_CALL_COLUMNS} FROM tool_calls
WHERE session_id = %(session_id)s AND request_seq < %(before_seq)s AND request_seq >= (
    SELECT coalesce(min(w.seq), %(before_seq)s) FROM (
        SELECT seq FROM messages
        WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
        ORDER BY seq DESC LIMIT %(limit)s) w)
ORDER BY request_seq, position"""

BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
COMMIT = "COMMIT"
SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = %(id)s"
