"""SQL of the SQLite backend's core: sessions, messages, tool calls.

Named parameters only; nothing here is ever built from user input. Optional filters use
``(:x IS NULL OR col = :x)`` so one statement serves every combination.
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
    applied_at INTEGER NOT NULL
)"""
SELECT_SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM _sessiondb_migrations"
HAS_MIGRATIONS_TABLE = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sessiondb_migrations'"
)
RECORD_MIGRATION = (
    "INSERT INTO _sessiondb_migrations (version, name, applied_at) "
    "VALUES (:version, :name, :applied_at)"
)

# -- sessions -----------------------------------------------------------------------

INSERT_SESSION = """
INSERT INTO sessions (id, title, agent, model, source, user_id, working_dir, parent_id,
                      relation, status, metadata, created_at, updated_at)
VALUES (:id, :title, :agent, :model, :source, :user_id, :working_dir, :parent_id,
        :relation, :status, :metadata, :created_at, :created_at)"""

SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = :id"

SELECT_SESSION = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = :id"
# BEGIN IMMEDIATE already holds the write lock: the plain read is the locked one.
SELECT_SESSION_FOR_UPDATE = SELECT_SESSION

UPDATE_SESSION = """
UPDATE sessions SET
    title = :title, agent = :agent, model = :model, source = :source, user_id = :user_id,
    working_dir = :working_dir, parent_id = :parent_id, relation = :relation,
    status = :status, metadata = :metadata,
    compaction_count = :compaction_count, compacted_at = :compacted_at,
    last_message_at = :last_message_at,
    last_seq = coalesce(:restore_last_seq, last_seq),
    input_tokens = coalesce(:restore_input_tokens, input_tokens),
    output_tokens = coalesce(:restore_output_tokens, output_tokens),
    cache_read_tokens = coalesce(:restore_cache_read_tokens, cache_read_tokens),
    cache_write_tokens = coalesce(:restore_cache_write_tokens, cache_write_tokens),
    reasoning_tokens = coalesce(:restore_reasoning_tokens, reasoning_tokens),
    cost_usd = coalesce(:restore_cost_usd, cost_usd),
    -- Only a status change is activity; edits of title or metadata (an importer filling
    -- them in) must not move the session to the top of the list. An importer restoring
    -- an export gives the time itself.
    updated_at = CASE
        WHEN :restore_updated_at IS NOT NULL THEN :restore_updated_at
        WHEN status != :status THEN max(updated_at, :now)
        ELSE updated_at END
WHERE id = :id"""

SELECT_DESCENDANT_IDS = """
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM sessions WHERE id = :id
    UNION
    SELECT s.id FROM sessions s JOIN subtree t ON s.parent_id = t.id
)
SELECT id FROM subtree"""

DETACH_CHILDREN = "UPDATE sessions SET parent_id = NULL WHERE parent_id = :id"

DELETE_SESSION = "DELETE FROM sessions WHERE id = :id"

LIST_SESSIONS = f"""
SELECT {SESSION_COLUMNS} FROM sessions
WHERE (:status IS NULL OR status = :status)
  AND (:agent IS NULL OR agent = :agent)
  AND (:source IS NULL OR source = :source)
  AND (:user_id IS NULL OR user_id = :user_id)
  AND (:parent_id IS NULL OR parent_id = :parent_id)
  AND (:roots_only = 0 OR parent_id IS NULL)
  AND (:since IS NULL OR updated_at >= :since)
  AND (:until IS NULL OR updated_at < :until)
  AND (:cursor_updated IS NULL OR (updated_at, id) < (:cursor_updated, :cursor_id))
ORDER BY updated_at DESC, id DESC
LIMIT :limit"""

RECOVER_INTERRUPTED = """
UPDATE sessions SET status = 'interrupted', updated_at = max(updated_at, :now)
WHERE status = 'active' AND updated_at < :idle_before
RETURNING id"""

# -- append -------------------------------------------------------------------------

# Positional: values in the order of _base.message_rows' keys (binding 21 named values
# costs twice as much, on every append).
INSERT_MESSAGE = """
INSERT INTO messages (session_id, seq, id, role, item, text, tool_text, search_text,
                      tool_call_id, has_tool_calls, created_at, model, input_tokens,
                      output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
                      cost_usd, visible_to_model, visible_to_user, metadata)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""

# A batch of messages goes through a per-connection TEMP table and one INSERT ... SELECT:
# FTS5 (fed by the messages_fts_insert trigger) writes its pending index data at every
# statement, so executemany's one INSERT per row wrote one index segment per message.
_STAGED_COLUMNS = """session_id, seq, id, role, item, text, tool_text, search_text,
    tool_call_id, has_tool_calls, created_at, model, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, visible_to_model,
    visible_to_user, metadata"""
CREATE_STAGED_MESSAGES = f"CREATE TEMP TABLE IF NOT EXISTS staged_messages ({_STAGED_COLUMNS})"
STAGE_MESSAGE = INSERT_MESSAGE.replace("INSERT INTO messages", "INSERT INTO temp.staged_messages")
INSERT_STAGED_MESSAGES = f"""
INSERT INTO main.messages ({_STAGED_COLUMNS})
SELECT {_STAGED_COLUMNS} FROM temp.staged_messages ORDER BY rowid"""
CLEAR_STAGED_MESSAGES = "DELETE FROM temp.staged_messages"

# A call answered later in the same batch arrives completed (see _base.message_rows).
INSERT_TOOL_CALL = """
INSERT INTO tool_calls (session_id, call_id, name, arguments, request_seq, position,
                        requested_at, result_seq, result_text, status, completed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""

# The newest still-pending call with that id stored before this batch gets the result
# (ids can repeat; calls of the batch itself were matched in Python).
COMPLETE_TOOL_CALL = """
UPDATE tool_calls SET result_seq = :result_seq, result_text = :result_text,
                      status = :status, completed_at = :completed_at
WHERE rowid = (
    SELECT rowid FROM tool_calls
    WHERE session_id = :session_id AND call_id = :call_id AND result_seq IS NULL
      AND request_seq < :first_seq
    ORDER BY request_seq DESC, position DESC
    LIMIT 1)"""

# Reserves ?6 seqs and updates the counters in one statement; returns the new last_seq.
# Whether a session's token totals are still integers: SQLite turns an integer sum
# past 2**63 - 1 into a float instead of failing (PostgreSQL raises), so the writes that
# add to them return this and the caller refuses the change. (Costs need no check: at
# most MAX_COST_USD a message, a float total cannot reach infinity.)
TOTALS_FIT = """(typeof(input_tokens) = 'integer' AND typeof(output_tokens) = 'integer'
    AND typeof(cache_read_tokens) = 'integer' AND typeof(cache_write_tokens) = 'integer'
    AND typeof(reasoning_tokens) = 'integer')"""

# Positional, values in the order of RESERVE_ORDER.
RESERVE_SEQS = (
    f"""
UPDATE sessions SET
    last_seq = last_seq + ?1,
    message_count = message_count + ?1,
    updated_at = max(updated_at, ?2),
    last_message_at = max(coalesce(last_message_at, 0), ?2),
    model = coalesce(?3, model),
    preview = coalesce(preview, ?4),
    input_tokens = input_tokens + ?5,
    output_tokens = output_tokens + ?6,
    cache_read_tokens = cache_read_tokens + ?7,
    cache_write_tokens = cache_write_tokens + ?8,
    reasoning_tokens = reasoning_tokens + ?9,
    cost_usd = cost_usd + ?10
WHERE id = ?11
RETURNING last_seq, {TOTALS_FIT}"""
    ""
)
RESERVE_ORDER = (
    "added",
    "latest",
    "model",
    "preview",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "id",
)

# BEGIN IMMEDIATE already holds the database's write lock: this only checks existence.
LOCK_SESSION = "SELECT 1 FROM sessions WHERE id = :id"

SELECT_METADATA = "SELECT metadata FROM sessions WHERE id = :id"
UPDATE_METADATA = "UPDATE sessions SET metadata = :metadata WHERE id = :id"

# The sessions an append's other_metadata names, with its own, in id order (on PostgreSQL
# the lock order; here BEGIN IMMEDIATE already holds the database's write lock).
LOCK_SESSIONS = """
SELECT id, metadata FROM sessions WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id"""
UPDATE_OTHER_METADATA = """
UPDATE sessions SET metadata = :metadata, updated_at = max(updated_at, :now) WHERE id = :id"""

# -- update_message -----------------------------------------------------------------

SELECT_MESSAGE = f"""
SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = :session_id AND id = :id"""

UPDATE_MESSAGE = """
UPDATE messages SET
    input_tokens = :input_tokens, output_tokens = :output_tokens,
    cache_read_tokens = :cache_read_tokens, cache_write_tokens = :cache_write_tokens,
    reasoning_tokens = :reasoning_tokens, cost_usd = :cost_usd,
    visible_to_model = :visible_to_model, visible_to_user = :visible_to_user,
    metadata = :metadata
WHERE session_id = :session_id AND id = :id"""

# A message's usage changed: the session's totals move by the difference (the totals
# include that message's old usage, so tokens cannot go below zero; cost is a float). A
# fork's copy (copy = 1) is spend the fork inherited: its inherited_* move too, so
# tree_usage still counts that spend once, in the session that first stored it.
ADD_SESSION_USAGE = (
    f"""
UPDATE sessions SET
    input_tokens = input_tokens + :input_tokens,
    output_tokens = output_tokens + :output_tokens,
    cache_read_tokens = cache_read_tokens + :cache_read_tokens,
    cache_write_tokens = cache_write_tokens + :cache_write_tokens,
    reasoning_tokens = reasoning_tokens + :reasoning_tokens,
    cost_usd = max(0.0, cost_usd + :cost_usd),
    inherited_input_tokens = inherited_input_tokens + :copy * :input_tokens,
    inherited_output_tokens = inherited_output_tokens + :copy * :output_tokens,
    inherited_cache_read_tokens = inherited_cache_read_tokens + :copy * :cache_read_tokens,
    inherited_cache_write_tokens = inherited_cache_write_tokens + :copy * :cache_write_tokens,
    inherited_reasoning_tokens = inherited_reasoning_tokens + :copy * :reasoning_tokens,
    inherited_cost_usd = max(0.0, inherited_cost_usd + :copy * :cost_usd)
WHERE id = :id
RETURNING {TOTALS_FIT}"""
    ""
)

IS_FORK_COPY = """
SELECT forked_from IS NOT NULL FROM messages WHERE session_id = :session_id AND id = :id"""

# -- reads --------------------------------------------------------------------------

SELECT_MESSAGES_BY_IDS = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND id IN (SELECT value FROM json_each(:ids))"""

SELECT_MESSAGES_FIRST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
ORDER BY seq
LIMIT :limit"""

# The newest :limit of the range, read backwards from the end (the caller reverses).
SELECT_MESSAGES_LAST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
ORDER BY seq DESC
LIMIT :limit"""

# Time-bounded (and time-ordered) windows of Store.messages/items. Separate statements,
# so the seq windows above keep their plan: these filter and sort the session's rows
# (there is no per-session created_at index; appends would pay for one on every write).
# The unary + keeps the global messages_created index out of these plans: walking it
# for the ORDER BY would read every newer message of every session to find this one's.
SELECT_MESSAGES_TIMED_FIRST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY seq
LIMIT :limit"""

SELECT_MESSAGES_TIMED_LAST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY seq DESC
LIMIT :limit"""

SELECT_MESSAGES_BY_TIME_FIRST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY +created_at, seq
LIMIT :limit"""

SELECT_MESSAGES_BY_TIME_LAST = f"""
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY +created_at DESC, seq DESC
LIMIT :limit"""

# Store.items: the same windows, item column only (no Message mapping, no tool calls).
SELECT_ITEMS_FIRST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
ORDER BY seq
LIMIT :limit"""

SELECT_ITEMS_LAST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
ORDER BY seq DESC
LIMIT :limit"""

SELECT_ITEMS_TIMED_FIRST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY seq
LIMIT :limit"""

SELECT_ITEMS_TIMED_LAST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY seq DESC
LIMIT :limit"""

SELECT_ITEMS_BY_TIME_FIRST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY +created_at, seq
LIMIT :limit"""

SELECT_ITEMS_BY_TIME_LAST = """
SELECT item FROM messages
WHERE session_id = :session_id AND seq > :after_seq AND seq < :before_seq
  AND +created_at >= :since AND +created_at < :until
ORDER BY +created_at DESC, seq DESC
LIMIT :limit"""

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
WHERE session_id = :session_id AND request_seq BETWEEN :first_seq AND :last_seq
ORDER BY request_seq, position"""

SELECT_TOOL_CALLS = f"""
SELECT {TOOL_CALL_COLUMNS} FROM tool_calls
WHERE (:session_id IS NULL OR session_id = :session_id)
  AND (:name IS NULL OR name = :name)
  AND (:status IS NULL OR status = :status)
ORDER BY requested_at, session_id, request_seq, position
LIMIT :limit"""

# -- maintenance --------------------------------------------------------------------

# Frees one page per step and yields a column-less row for each, which
# Connection.execute() takes for "done" after the first step: run it with
# executescript(), which steps to the end (the whole freelist).
INCREMENTAL_VACUUM = "PRAGMA incremental_vacuum;"
# Copies the WAL into the file (which only then shrinks) and empties the WAL.
CHECKPOINT_TRUNCATE = "PRAGMA wal_checkpoint(TRUNCATE)"

INTEGRITY_CHECK = "PRAGMA integrity_check"
FOREIGN_KEY_CHECK = "PRAGMA foreign_key_check"

# Sessions whose stored counters disagree with a recount of their messages.
SELECT_COUNTER_MISMATCHES = """
SELECT s.id FROM sessions s
LEFT JOIN (SELECT session_id, count(*) AS n, max(seq) AS last FROM messages
           GROUP BY session_id) m ON m.session_id = s.id
WHERE s.message_count != coalesce(m.n, 0) OR s.last_seq < coalesce(m.last, 0)"""

COUNT_SESSIONS = "SELECT count(*) FROM sessions"
COUNT_MESSAGES = "SELECT count(*) FROM messages"
COUNT_TOOL_CALLS = "SELECT count(*) FROM tool_calls"
PAGE_COUNT = "PRAGMA page_count"
PAGE_SIZE = "PRAGMA page_size"
