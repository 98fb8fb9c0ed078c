"""SQL of the PostgreSQL backend's history features: windowing, compaction, deletes, fork.

The same statement names and parameters as ``backends/sqlite/history_queries.py``, so the
shared algorithm (``backends/_sql_history.py``) runs on both. Named parameters only;
nothing here is ever built from user input. Metadata is JSON text; it is read as jsonb
only on the rows that may be summaries.
"""

from . import queries as _core

MESSAGE_COLUMNS = _core.MESSAGE_COLUMNS
# Core statements the history features use too.
SESSION_EXISTS = _core.SESSION_EXISTS
SELECT_SESSION = _core.SELECT_SESSION
SELECT_MESSAGES_BY_IDS = _core.SELECT_MESSAGES_BY_IDS

# -- reading the window -------------------------------------------------------------

# The newest %(limit)s model-visible messages below %(before_seq)s; read repeatedly, from
# the end of the session backwards, until the window has what it needs.
SELECT_VISIBLE_BEFORE = """
SELECT seq, item, metadata FROM messages
WHERE session_id = %(session_id)s AND visible_to_model = 1 AND seq < %(before_seq)s
ORDER BY seq DESC
LIMIT %(limit)s"""

SELECT_LAST_SEQ = "SELECT last_seq FROM sessions WHERE id = %(id)s"
# Writers lock the session row first: appends to it wait until the change commits.
LOCK_SESSION_LAST_SEQ = "SELECT last_seq FROM sessions WHERE id = %(id)s FOR UPDATE"
SELECT_PREVIEW = "SELECT preview FROM sessions WHERE id = %(id)s"

# -- compaction and replacement -----------------------------------------------------

_IS_SUMMARY = "(metadata <> '{}' AND (metadata::jsonb -> 'summary') = 'true'::jsonb)"

# Everything before the kept tail, and every earlier summary (the new one replaces it).
# hidden_at_seq records the compaction (the summary's seq) for fork.
HIDE_BEFORE_TAIL = f"""
UPDATE messages SET visible_to_model = 0, hidden_at_seq = %(hidden_at)s
WHERE session_id = %(session_id)s AND visible_to_model = 1
  AND (seq < %(first_kept)s OR {_IS_SUMMARY})"""

# hidden_at_seq: the seq the replacement starts at.
HIDE_VISIBLE = """
UPDATE messages SET visible_to_model = 0, hidden_at_seq = %(hidden_at)s
WHERE session_id = %(session_id)s AND visible_to_model = 1"""

RECORD_COMPACTION = """
UPDATE sessions SET compaction_count = compaction_count + 1, compacted_at = %(now)s,
                    updated_at = GREATEST(updated_at, %(now)s)
WHERE id = %(id)s"""

# -- deletes ------------------------------------------------------------------------

DELETE_VISIBLE = "DELETE FROM messages WHERE session_id = %(session_id)s AND visible_to_model = 1"

# The seq of the keep-th newest message: everything below it goes.
SELECT_NTH_NEWEST_SEQ = """
SELECT seq FROM messages WHERE session_id = %(session_id)s
ORDER BY seq DESC LIMIT 1 OFFSET %(offset)s"""

DELETE_MESSAGES_BEFORE = "DELETE FROM messages WHERE session_id = %(session_id)s AND seq < %(seq)s"

DELETE_ALL_MESSAGES = "DELETE FROM messages WHERE session_id = %(session_id)s"

SELECT_LAST_MESSAGE = f"""
SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = %(session_id)s
ORDER BY seq DESC LIMIT 1"""

DELETE_MESSAGE = "DELETE FROM messages WHERE session_id = %(session_id)s AND seq = %(seq)s"

# Calls whose request message is gone go with it.
DELETE_ORPHAN_CALLS = """
DELETE FROM tool_calls t
WHERE t.session_id = %(session_id)s
  AND NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.session_id = t.session_id AND m.seq = t.request_seq)"""

# Calls whose result message is gone are pending again.
REOPEN_ORPHAN_RESULTS = """
UPDATE tool_calls t SET result_seq = NULL, result_text = NULL, status = 'pending',
                        completed_at = NULL
WHERE t.session_id = %(session_id)s AND t.result_seq IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.session_id = t.session_id AND m.seq = t.result_seq)"""

DELETE_ALL_CALLS = "DELETE FROM tool_calls WHERE session_id = %(session_id)s"

# Candidates for the preview (first user text), oldest first; the caller stops early.
SELECT_USER_TEXTS = """
SELECT text FROM messages
WHERE session_id = %(session_id)s AND role = 'user' AND text <> ''
ORDER BY seq"""

# Usage totals are deliberately not touched: they are money already spent.
UPDATE_AFTER_DELETE = """
UPDATE sessions SET message_count = message_count - %(deleted)s, last_seq = %(last_seq)s,
                    preview = %(preview)s, updated_at = GREATEST(updated_at, %(now)s)
WHERE id = %(id)s"""

# -- fork ---------------------------------------------------------------------------

INSERT_FORK_SESSION = """
INSERT INTO sessions (id, title, agent, model, source, user_id, working_dir, parent_id,
                      relation, status, metadata, created_at, updated_at,
                      compaction_count, compacted_at)
SELECT %(id)s, coalesce(%(title)s::text, title), agent, model, source, user_id,
       working_dir, id, 'fork', 'active', metadata, %(now)s, %(now)s, compaction_count,
       compacted_at
FROM sessions WHERE id = %(source_id)s"""

# What the fork will hold, in one pass: its counters and usage totals, and whether the
# range is contiguous (count = last - first + 1, the usual case: new seqs are then old
# seqs minus first - 1 and the copies need no seq mapping). Columns in the order of
# _sql_history._RANGE_COLUMNS.
SELECT_COPY_RANGE = """
SELECT count(*), coalesce(min(seq), 1), coalesce(max(seq), 0), max(created_at),
       coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint,
       coalesce(sum(cache_read_tokens), 0)::bigint,
       coalesce(sum(cache_write_tokens), 0)::bigint,
       coalesce(sum(reasoning_tokens), 0)::bigint, coalesce(sum(cost_usd), 0)
FROM messages
WHERE session_id = %(source_id)s AND seq <= %(at_seq)s"""

_COPY_COLUMNS = """session_id, seq, id, role, item, text, tool_text, search_text,
                      tool_call_id, has_tool_calls, created_at, model, input_tokens,
                      output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
                      cost_usd, visible_to_model, visible_to_user, metadata, forked_from,
                      hidden_at_seq"""

_COPY_VALUES = """m.id, m.role, m.item, m.text, m.tool_text,
       m.search_text, m.tool_call_id, m.has_tool_calls, m.created_at, m.model,
       m.input_tokens, m.output_tokens, m.cache_read_tokens, m.cache_write_tokens,
       m.reasoning_tokens, m.cost_usd,
       CASE WHEN m.hidden_at_seq > %(as_of)s THEN 1 ELSE m.visible_to_model END,
       m.visible_to_user"""

# One statement copies the messages with new seqs 1..n; forked_from names the session
# that first stored each message (its usage is that session's spend). A copy hidden by a
# compaction or replacement after %(as_of)s (fork's at_seq; the far future when the fork
# copies the session as it is) is visible: at that seq the model saw it. A copy hidden at
# or before it keeps its hidden_at_seq, renumbered as the seqs are.
COPY_MESSAGES_SHIFTED = f"""
INSERT INTO messages ({_COPY_COLUMNS})
SELECT %(id)s, m.seq - %(offset)s, {_COPY_VALUES}, m.metadata,
       coalesce(m.forked_from, %(source_id)s),
       CASE WHEN m.hidden_at_seq <= %(as_of)s THEN m.hidden_at_seq - %(offset)s END
FROM messages m
WHERE m.session_id = %(source_id)s AND m.seq <= %(at_seq)s
ORDER BY m.seq"""

# After a shifted copy, summaries' replaces_through shift too (only when offset > 0).
SHIFT_SUMMARIES = f"""
UPDATE messages
SET metadata = jsonb_set(
        metadata::jsonb, '{{replaces_through}}',
        to_jsonb(GREATEST(0, (metadata::jsonb ->> 'replaces_through')::bigint - %(offset)s))
    )::text
WHERE session_id = %(id)s AND {_IS_SUMMARY}"""

# The same when the range has gaps (hard deletes): seqs renumbered by row_number(),
# and a summary's replaces_through with them (copied messages at or below it).
# Each compaction or replacement hid its messages at one seq, so only those few seqs are
# renumbered (to where the mark falls among the copies: one past the copies before it).
COPY_MESSAGES_RENUMBERED = f"""
WITH marks AS (
    SELECT DISTINCT hidden_at_seq AS old_seq FROM messages
    WHERE session_id = %(source_id)s AND seq <= %(at_seq)s AND hidden_at_seq <= %(as_of)s
),
renumbered_marks AS (
    SELECT marks.old_seq,
           (SELECT count(*) FROM messages s
            WHERE s.session_id = %(source_id)s AND s.seq < marks.old_seq) + 1 AS new_seq
    FROM marks
)
INSERT INTO messages ({_COPY_COLUMNS})
SELECT %(id)s, row_number() OVER (ORDER BY m.seq), {_COPY_VALUES},
       CASE WHEN m.metadata = '{{}}'
                 OR (m.metadata::jsonb -> 'summary') IS DISTINCT FROM 'true'::jsonb
            THEN m.metadata
            ELSE jsonb_set(
                     m.metadata::jsonb, '{{replaces_through}}',
                     to_jsonb((SELECT count(*) FROM messages s
                               WHERE s.session_id = %(source_id)s
                                 AND s.seq <= (m.metadata::jsonb ->> 'replaces_through')::bigint))
                 )::text
       END,
       coalesce(m.forked_from, %(source_id)s), r.new_seq
FROM messages m
LEFT JOIN renumbered_marks r ON r.old_seq = m.hidden_at_seq
WHERE m.session_id = %(source_id)s AND m.seq <= %(at_seq)s
ORDER BY m.seq"""

# Results after at_seq were not copied: those calls are pending in the fork.
COPY_TOOL_CALLS_SHIFTED = """
INSERT INTO tool_calls (session_id, call_id, name, arguments, request_seq, position,
                        result_seq, result_text, status, requested_at, completed_at)
SELECT %(id)s, call_id, name, arguments, request_seq - %(offset)s, position,
       CASE WHEN result_seq <= %(at_seq)s THEN result_seq - %(offset)s END,
       CASE WHEN result_seq <= %(at_seq)s THEN result_text END,
       CASE WHEN result_seq <= %(at_seq)s THEN status ELSE 'pending' END,
       requested_at,
       CASE WHEN result_seq <= %(at_seq)s THEN completed_at END
FROM tool_calls
WHERE session_id = %(source_id)s AND request_seq <= %(at_seq)s"""

# With gaps: copied messages keep their ids, so new seqs are found through (session, id).
COPY_TOOL_CALLS_RENUMBERED = """
INSERT INTO tool_calls (session_id, call_id, name, arguments, request_seq, position,
                        result_seq, result_text, status, requested_at, completed_at)
SELECT %(id)s, t.call_id, t.name, t.arguments, nq.seq, t.position, nr.seq,
       CASE WHEN nr.seq IS NULL THEN NULL ELSE t.result_text END,
       CASE WHEN nr.seq IS NULL THEN 'pending' ELSE t.status END,
       t.requested_at,
       CASE WHEN nr.seq IS NULL THEN NULL ELSE t.completed_at END
FROM tool_calls t
JOIN messages oq ON oq.session_id = %(source_id)s AND oq.seq = t.request_seq
JOIN messages nq ON nq.session_id = %(id)s AND nq.id = oq.id
LEFT JOIN messages orr ON orr.session_id = %(source_id)s AND orr.seq = t.result_seq
                      AND orr.seq <= %(at_seq)s
LEFT JOIN messages nr ON nr.session_id = %(id)s AND nr.id = orr.id
WHERE t.session_id = %(source_id)s AND t.request_seq <= %(at_seq)s"""

# The fork's counters and usage totals: those of the messages it holds, which are also
# what it inherited (tree_usage subtracts that, however many copies are deleted later).
UPDATE_FORK_COUNTERS = """
UPDATE sessions SET message_count = %(message_count)s, last_seq = %(message_count)s,
    last_message_at = %(last_message_at)s, input_tokens = %(input_tokens)s,
    output_tokens = %(output_tokens)s, cache_read_tokens = %(cache_read_tokens)s,
    cache_write_tokens = %(cache_write_tokens)s, reasoning_tokens = %(reasoning_tokens)s,
    cost_usd = %(cost_usd)s, preview = %(preview)s,
    inherited_input_tokens = %(input_tokens)s, inherited_output_tokens = %(output_tokens)s,
    inherited_cache_read_tokens = %(cache_read_tokens)s,
    inherited_cache_write_tokens = %(cache_write_tokens)s,
    inherited_reasoning_tokens = %(reasoning_tokens)s, inherited_cost_usd = %(cost_usd)s
WHERE id = %(id)s"""
