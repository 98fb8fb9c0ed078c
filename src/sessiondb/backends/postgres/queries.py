"""SQL of the PostgreSQL backend's core: sessions, messages, tool calls.

The same statement names and parameters as ``backends/sqlite/queries.py``, so the shared
append algorithm (``backends/_sql.py``) runs on both. Named parameters only; nothing here
is ever built from user input. Optional filters use ``(%(x)s::text IS NULL OR col = %(x)s)``
so one statement serves every combination (the cast tells PostgreSQL the parameter's type,
which ``IS NULL`` alone cannot); ``LIMIT NULL`` means no limit.
"""

SESSION_COLUMNS = """
    id, title, agent, model, source, user_id, working_dir, parent_id, relation, status,
    metadata, created_at, updated_at, last_message_at, message_count, last_seq,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost_usd, preview, compaction_count, compacted_at"""

# What a Message is built from (SQLCore._message). The session id is not read back (the
# caller knows it) and the three flags travel as one integer: each column read costs,
# and a last-50 read is mostly column reads.
MESSAGE_COLUMNS = """
    seq, id, role, item, text, tool_call_id, created_at, model,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost_usd, visible_to_model + 2 * visible_to_user + 4 * has_tool_calls, metadata"""

TOOL_CALL_COLUMNS = """
    session_id, call_id, name, arguments, request_seq, result_seq, result_text, status,
    requested_at, completed_at"""

# The calls of a range of one session's messages (session_id left out: the caller has it).
_CALL_COLUMNS = """
    call_id, name, arguments, request_seq, result_seq, result_text, status, requested_at,
    completed_at"""

# -- migrations ---------------------------------------------------------------------

CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS _sessiondb_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)"""

# Composed with psycopg.sql.Identifier, never with string formatting.
CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS {schema}"

# Concurrent first starts migrate one at a time (CREATE TABLE IF NOT EXISTS alone can
# still collide on the catalog's unique index). Held until the transaction ends.
TRY_LOCK_MIGRATIONS = "SELECT pg_try_advisory_xact_lock(%(key)s)"
LOCK_MIGRATIONS = "SELECT pg_advisory_xact_lock(%(key)s)"
SELECT_SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM _sessiondb_migrations"
# Reads the catalogs rather than to_regclass(): locking pg_class makes the backend apply
# catalog changes other sessions committed (a schema another process just created), and
# the scan sees them, so the answer is current even mid-transaction.
HAS_MIGRATIONS_TABLE = """
SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = '_sessiondb_migrations'
      AND n.nspname = coalesce(%(schema)s::text, current_schema()))"""
RECORD_MIGRATION = (
    "INSERT INTO _sessiondb_migrations (version, name, applied_at) "
    "VALUES (%(version)s, %(name)s, %(applied_at)s)"
)

# -- sessions -----------------------------------------------------------------------

INSERT_SESSION = """
INSERT INTO sessions (id, title, agent, model, source, user_id, working_dir, parent_id,
                      relation, status, metadata, created_at, updated_at)
VALUES (%(id)s, %(title)s, %(agent)s, %(model)s, %(source)s, %(user_id)s, %(working_dir)s,
        %(parent_id)s, %(relation)s, %(status)s, %(metadata)s, %(created_at)s, %(created_at)s)"""

SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = %(id)s"

SELECT_SESSION = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = %(id)s"

# update_session reads, merges and writes back: the row lock keeps merges from racing.
SELECT_SESSION_FOR_UPDATE = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = %(id)s FOR UPDATE"

UPDATE_SESSION = """
UPDATE sessions SET
    title = %(title)s, agent = %(agent)s, model = %(model)s, source = %(source)s,
    user_id = %(user_id)s, working_dir = %(working_dir)s, parent_id = %(parent_id)s,
    relation = %(relation)s,
    status = %(status)s, metadata = %(metadata)s,
    compaction_count = %(compaction_count)s, compacted_at = %(compacted_at)s,
    last_message_at = %(last_message_at)s,
    last_seq = coalesce(%(restore_last_seq)s::bigint, last_seq),
    input_tokens = coalesce(%(restore_input_tokens)s::bigint, input_tokens),
    output_tokens = coalesce(%(restore_output_tokens)s::bigint, output_tokens),
    cache_read_tokens = coalesce(%(restore_cache_read_tokens)s::bigint, cache_read_tokens),
    cache_write_tokens = coalesce(%(restore_cache_write_tokens)s::bigint, cache_write_tokens),
    reasoning_tokens = coalesce(%(restore_reasoning_tokens)s::bigint, reasoning_tokens),
    cost_usd = coalesce(%(restore_cost_usd)s::double precision, cost_usd),
    -- Only a status change is activity; edits of title or metadata (an importer filling
    -- them in) must not move the session to the top of the list. An importer restoring
    -- an export gives the time itself.
    updated_at = CASE
        WHEN %(restore_updated_at)s::bigint IS NOT NULL THEN %(restore_updated_at)s
        WHEN status <> %(status)s THEN GREATEST(updated_at, %(now)s)
        ELSE updated_at END
WHERE id = %(id)s"""

SELECT_DESCENDANT_IDS = """
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM sessions WHERE id = %(id)s
    UNION
    SELECT s.id FROM sessions s JOIN subtree t ON s.parent_id = t.id
)
SELECT id FROM subtree"""

# Serialises changes to the session tree (held until commit): re-parenting, creating a
# child, deleting a subtree. See PostgresCore.update_session.
LOCK_LINEAGE = "SELECT pg_advisory_xact_lock(%(key)s)"

DETACH_CHILDREN = "UPDATE sessions SET parent_id = NULL WHERE parent_id = %(id)s"

DELETE_SESSION = "DELETE FROM sessions WHERE id = %(id)s"

# Ties of updated_at go by id in byte order (COLLATE "C"), as on SQLite, whatever the
# database's collation; the sessions_updated index is in that order too (migration 0008).
LIST_SESSIONS = f"""
SELECT {SESSION_COLUMNS} FROM sessions
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(agent)s::text IS NULL OR agent = %(agent)s)
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
  AND (%(parent_id)s::text IS NULL OR parent_id = %(parent_id)s)
  AND (NOT %(roots_only)s OR parent_id IS NULL)
  AND (%(since)s::bigint IS NULL OR updated_at >= %(since)s)
  AND (%(until)s::bigint IS NULL OR updated_at < %(until)s)
  AND (%(cursor_updated)s::bigint IS NULL
       OR (updated_at, id COLLATE "C") < (%(cursor_updated)s, %(cursor_id)s::text))
ORDER BY updated_at DESC, id COLLATE "C" DESC
LIMIT %(limit)s"""

RECOVER_INTERRUPTED = """
UPDATE sessions SET status = 'interrupted', updated_at = GREATEST(updated_at, %(now)s)
WHERE status = 'active' AND updated_at < %(idle_before)s
RETURNING id"""

# -- append -------------------------------------------------------------------------

INSERT_MESSAGE = """
INSERT INTO messages (session_id, seq, id, role, item, text, tool_text, search_text,
                      tool_call_id, has_tool_calls, created_at, model, input_tokens,
                      output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
                      cost_usd, visible_to_model, visible_to_user, metadata)
VALUES (%(session_id)s, %(seq)s, %(id)s, %(role)s, %(item)s, %(text)s, %(tool_text)s,
        %(search_text)s, %(tool_call_id)s, %(has_tool_calls)s, %(created_at)s, %(model)s,
        %(input_tokens)s, %(output_tokens)s, %(cache_read_tokens)s, %(cache_write_tokens)s,
        %(reasoning_tokens)s, %(cost_usd)s, %(visible_to_model)s, %(visible_to_user)s,
        %(metadata)s)"""

# A call answered later in the same batch arrives completed (see _base.message_rows).
INSERT_TOOL_CALL = """
INSERT INTO tool_calls (session_id, call_id, name, arguments, request_seq, position,
                        result_seq, result_text, status, requested_at, completed_at)
VALUES (%(session_id)s, %(call_id)s, %(name)s, %(arguments)s, %(request_seq)s,
        %(position)s, %(result_seq)s, %(result_text)s, %(status)s, %(requested_at)s,
        %(completed_at)s)"""

# The newest still-pending call with that id stored before this batch gets the result
# (ids can repeat; calls of the batch itself were matched in Python).
COMPLETE_TOOL_CALL = """
UPDATE tool_calls SET result_seq = %(result_seq)s, result_text = %(result_text)s,
                      status = %(status)s, completed_at = %(completed_at)s
WHERE session_id = %(session_id)s AND call_id = %(call_id)s
  AND (session_id, request_seq, position) = (
    SELECT session_id, request_seq, position FROM tool_calls
    WHERE session_id = %(session_id)s AND call_id = %(call_id)s AND result_seq IS NULL
      AND request_seq < %(first_seq)s
    ORDER BY request_seq DESC, position DESC
    LIMIT 1)"""

# Reserves %(added)s seqs and updates the counters in one statement; returns the new last_seq.
RESERVE_SEQS = """
UPDATE sessions SET
    last_seq = last_seq + %(added)s,
    message_count = message_count + %(added)s,
    updated_at = GREATEST(updated_at, %(latest)s),
    last_message_at = GREATEST(coalesce(last_message_at, 0), %(latest)s),
    model = coalesce(%(model)s, model),
    preview = coalesce(preview, %(preview)s),
    input_tokens = input_tokens + %(input_tokens)s,
    output_tokens = output_tokens + %(output_tokens)s,
    cache_read_tokens = cache_read_tokens + %(cache_read_tokens)s,
    cache_write_tokens = cache_write_tokens + %(cache_write_tokens)s,
    reasoning_tokens = reasoning_tokens + %(reasoning_tokens)s,
    cost_usd = cost_usd + %(cost_usd)s
WHERE id = %(id)s
RETURNING last_seq"""

# Row-locks the session until commit: writers of one session queue here, others don't.
LOCK_SESSION = "SELECT 1 FROM sessions WHERE id = %(id)s FOR UPDATE"

SELECT_METADATA = "SELECT metadata FROM sessions WHERE id = %(id)s"
UPDATE_METADATA = "UPDATE sessions SET metadata = %(metadata)s WHERE id = %(id)s"

# Row-locks the sessions an append's other_metadata names, with its own, in id order:
# two appends naming overlapping sessions lock them in the same order, so one waits for
# the other instead of deadlocking (the sort runs below the row locking).
LOCK_SESSIONS = """
SELECT id, metadata FROM sessions WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE"""
UPDATE_OTHER_METADATA = """
UPDATE sessions SET metadata = %(metadata)s, updated_at = GREATEST(updated_at, %(now)s)
WHERE id = %(id)s"""

# -- update_message -----------------------------------------------------------------

SELECT_MESSAGE = f"""
SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = %(session_id)s AND id = %(id)s"""

UPDATE_MESSAGE = """
UPDATE messages SET
    input_tokens = %(input_tokens)s, output_tokens = %(output_tokens)s,
    cache_read_tokens = %(cache_read_tokens)s, cache_write_tokens = %(cache_write_tokens)s,
    reasoning_tokens = %(reasoning_tokens)s, cost_usd = %(cost_usd)s,
    visible_to_model = %(visible_to_model)s, visible_to_user = %(visible_to_user)s,
    metadata = %(metadata)s
WHERE session_id = %(session_id)s AND id = %(id)s"""

# A message's usage changed: the session's totals move by the difference (the totals
# include that message's old usage, so tokens cannot go below zero; cost is a float). A
# fork's copy (copy = 1) is spend the fork inherited: its inherited_* move too, so
# tree_usage still counts that spend once, in the session that first stored it.
ADD_SESSION_USAGE = (
    """
UPDATE sessions SET
    input_tokens = input_tokens + %(input_tokens)s,
    output_tokens = output_tokens + %(output_tokens)s,
    cache_read_tokens = cache_read_tokens + %(cache_read_tokens)s,
    cache_write_tokens = cache_write_tokens + %(cache_write_tokens)s,
    reasoning_tokens = reasoning_tokens + %(reasoning_tokens)s,
    cost_usd = GREATEST(0.0, cost_usd + %(cost_usd)s),
    inherited_input_tokens = inherited_input_tokens + %(copy)s * %(input_tokens)s,
    inherited_output_tokens = inherited_output_tokens + %(copy)s * %(output_tokens)s,
    inherited_cache_read_tokens = inherited_cache_read_tokens + %(copy)s * %(cache_read_tokens)s,
    inherited_cache_write_tokens = inherited_cache_write_tokens + %(copy)s * %(cache_write_tokens)s,
    inherited_reasoning_tokens = inherited_reasoning_tokens + %(copy)s * %(reasoning_tokens)s,
    inherited_cost_usd = GREATEST(0.0, inherited_cost_usd + %(copy)s * %(cost_usd)s)
WHERE id = %(id)s
RETURNING true"""
    ""
)

IS_FORK_COPY = """
SELECT forked_from IS NOT NULL FROM messages WHERE session_id = %(session_id)s AND id = %(id)s"""

# -- reads --------------------------------------------------------------------------

SELECT_MESSAGES_BY_IDS = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND id = ANY(%(ids)s)"""

SELECT_MESSAGES_FIRST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
ORDER BY seq
LIMIT %(limit)s"""

# The newest LIMIT of the range, read backwards from the end (the caller reverses).
SELECT_MESSAGES_LAST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
ORDER BY seq DESC
LIMIT %(limit)s"""

# Time-bounded (and time-ordered) windows of Store.messages/items. Separate statements,
# so the seq windows above keep their plan: these filter and sort the session's rows
# (there is no per-session created_at index; appends would pay for one on every write).
# Ordering by created_at + 0 keeps the planner from walking the global messages_created
# index backwards for the ORDER BY ... LIMIT: it did (EXPLAIN, 50 sessions), which reads
# every newer message of every session to find this one's. The range may still use it.
SELECT_MESSAGES_TIMED_FIRST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY seq
LIMIT %(limit)s"""

SELECT_MESSAGES_TIMED_LAST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY seq DESC
LIMIT %(limit)s"""

SELECT_MESSAGES_BY_TIME_FIRST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY created_at + 0, seq
LIMIT %(limit)s"""

SELECT_MESSAGES_BY_TIME_LAST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY created_at + 0 DESC, seq DESC
LIMIT %(limit)s"""

# Store.items: the same windows, item column only (no Message mapping, no tool calls).
SELECT_ITEMS_FIRST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
ORDER BY seq
LIMIT %(limit)s"""

SELECT_ITEMS_LAST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
ORDER BY seq DESC
LIMIT %(limit)s"""

SELECT_ITEMS_TIMED_FIRST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY seq
LIMIT %(limit)s"""

SELECT_ITEMS_TIMED_LAST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY seq DESC
LIMIT %(limit)s"""

SELECT_ITEMS_BY_TIME_FIRST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY created_at + 0, seq
LIMIT %(limit)s"""

SELECT_ITEMS_BY_TIME_LAST = """
SELECT item FROM messages
WHERE session_id = %(session_id)s AND seq > %(after_seq)s AND seq < %(before_seq)s
  AND created_at >= %(since)s AND created_at < %(until)s
ORDER BY created_at + 0 DESC, seq DESC
LIMIT %(limit)s"""

# Which statement reads a window: (Window.kind, Window.newest) -> SQL.
MESSAGE_WINDOWS = {
    ("seq", False): SELECT_MESSAGES_FIRST,
    ("seq", True): SELECT_MESSAGES_LAST,
    ("timed", False): SELECT_MESSAGES_TIMED_FIRST,
    ("timed", True): SELECT_MESSAGES_TIMED_LAST,
    ("time", False): SELECT_MESSAGES_BY_TIME_FIRST,
    ("time", True): SELECT_MESSAGES_BY_TIME_LAST,
}
ITEM_WINDOWS = {
    ("seq", False): SELECT_ITEMS_FIRST,
    ("seq", True): SELECT_ITEMS_LAST,
    ("timed", False): SELECT_ITEMS_TIMED_FIRST,
    ("timed", True): SELECT_ITEMS_TIMED_LAST,
    ("time", False): SELECT_ITEMS_BY_TIME_FIRST,
    ("time", True): SELECT_ITEMS_BY_TIME_LAST,
}

SELECT_TOOL_CALLS_FOR_SEQS = f"""
SELECT {_CALL_COLUMNS} FROM tool_calls
WHERE session_id = %(session_id)s AND request_seq BETWEEN %(first_seq)s AND %(last_seq)s
ORDER BY request_seq, position"""

# Session ids in byte order (COLLATE "C"), as on SQLite, whatever the database's collation.
SELECT_TOOL_CALLS = f"""
SELECT {TOOL_CALL_COLUMNS} FROM tool_calls
WHERE (%(session_id)s::text IS NULL OR session_id = %(session_id)s)
  AND (%(name)s::text IS NULL OR name = %(name)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY requested_at, session_id COLLATE "C", request_seq, position
LIMIT %(limit)s"""

# -- maintenance --------------------------------------------------------------------

# Sessions whose stored counters disagree with a recount of their messages.
SELECT_COUNTER_MISMATCHES = """
SELECT s.id FROM sessions s
LEFT JOIN (SELECT session_id, count(*) AS n, max(seq) AS last FROM messages
           GROUP BY session_id) m ON m.session_id = s.id
WHERE s.message_count != coalesce(m.n, 0) OR s.last_seq < coalesce(m.last, 0)"""

COUNT_SESSIONS = "SELECT count(*) FROM sessions"
COUNT_MESSAGES = "SELECT count(*) FROM messages"
COUNT_TOOL_CALLS = "SELECT count(*) FROM tool_calls"
# Bytes used by this schema's tables with their indexes and TOAST.
SELECT_SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r'"""

SELECT_SERVER_VERSION = "SHOW server_version"
SELECT_CURRENT_SCHEMA = "SELECT current_schema()"

# VACUUM cannot run inside a transaction: run on an autocommit connection.
VACUUM_TABLES = "VACUUM (ANALYZE) sessions, messages, tool_calls"
