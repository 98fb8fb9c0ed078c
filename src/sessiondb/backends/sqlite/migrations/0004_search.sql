-- v4: search, lineage and stats. (IF NOT EXISTS: safe on databases from before a renumbering.)
-- Time filters of search and stats, and stats' time groups, read messages by time.
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
-- Children of a session, oldest first (lineage); the partial index of v1 has no order.
CREATE INDEX IF NOT EXISTS sessions_parent_created ON sessions (parent_id, created_at, id)
    WHERE parent_id IS NOT NULL;
-- tree_usage subtracts the usage of fork copies: find them without reading every message.
CREATE INDEX IF NOT EXISTS messages_forked ON messages (session_id) WHERE forked_from IS NOT NULL;
