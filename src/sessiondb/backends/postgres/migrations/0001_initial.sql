-- sessiondb schema v1 (PostgreSQL). The same columns, order and meaning as on SQLite, so
-- both backends share their row mappers: times are BIGINT microseconds since the Unix
-- epoch (UTC), items and metadata are JSON text (kept as written: TEXT, not jsonb, which
-- would reorder keys), flags are 0/1 SMALLINTs.
-- Every table is keyed by session_id first, so it can be distributed or partitioned by
-- session (see docs/scaling.md).

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,                 -- caller's id (telegram:123) or a generated UUIDv7
    title TEXT,
    agent TEXT,
    model TEXT,                          -- the latest model seen in the session
    source TEXT,                         -- channel/tool: cli, telegram, claude-code, ...
    user_id TEXT,
    working_dir TEXT,
    parent_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    relation TEXT,                       -- why it has a parent: subagent, fork, ...
    status TEXT NOT NULL DEFAULT 'active',
    metadata TEXT NOT NULL DEFAULT '{}', -- JSON object
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_message_at BIGINT,
    message_count BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0,  -- seq of the newest message; next append gets +1
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
    preview TEXT                         -- first user text, collapsed, <= 120 chars
);

-- list_sessions: newest-updated first with a keyset cursor.
CREATE INDEX sessions_updated ON sessions (updated_at DESC, id DESC);
CREATE INDEX sessions_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE messages (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,                 -- 1, 2, 3... within one session, contiguous
    id TEXT NOT NULL,                    -- client message id, unique within the session
    role TEXT NOT NULL,                  -- normalized: system developer user assistant tool
    item TEXT NOT NULL,                  -- the item exactly as appended (JSON)
    text TEXT NOT NULL DEFAULT '',       -- plain text, for search and previews
    tool_text TEXT,                      -- tool names and arguments, indexed beside text
    search_text TEXT,                    -- the indexed document when it differs (CJK)
    tool_call_id TEXT,                   -- for tool results: the call answered
    has_tool_calls SMALLINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    model TEXT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_write_tokens BIGINT,
    reasoning_tokens BIGINT,
    cost_usd DOUBLE PRECISION,
    visible_to_model SMALLINT NOT NULL DEFAULT 1,
    visible_to_user SMALLINT NOT NULL DEFAULT 1,
    metadata TEXT NOT NULL DEFAULT '{}',
    -- The full-text document, the same one SQLite's FTS5 trigger indexes; 'simple' keeps
    -- it language-agnostic (no stemming, no stop words).
    search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(search_text, text || E'\n' || coalesce(tool_text, '')))
    ) STORED,
    PRIMARY KEY (session_id, seq),
    UNIQUE (session_id, id)
);

CREATE INDEX messages_search ON messages USING gin (search_vector);

CREATE TABLE tool_calls (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    call_id TEXT NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT NOT NULL,             -- the raw string as given
    request_seq BIGINT NOT NULL,
    result_seq BIGINT,
    result_text TEXT,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending, ok, error
    requested_at BIGINT NOT NULL,
    completed_at BIGINT,
    PRIMARY KEY (session_id, request_seq, call_id)
);

CREATE INDEX tool_calls_call ON tool_calls (session_id, call_id);
CREATE INDEX tool_calls_name ON tool_calls (name, session_id);
