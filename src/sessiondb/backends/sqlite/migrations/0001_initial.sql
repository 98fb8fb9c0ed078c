-- sessiondb schema v1 (SQLite). Times are INTEGER microseconds since the Unix epoch (UTC).
-- Every table is keyed by session_id first, so a session's rows sit together.

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
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_message_at INTEGER,
    message_count INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0, -- seq of the newest message; next append gets +1
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    preview TEXT                         -- first user text, collapsed, <= 120 chars
);

-- list_sessions: newest-updated first with a keyset cursor.
CREATE INDEX sessions_updated ON sessions (updated_at DESC, id DESC);
CREATE INDEX sessions_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE messages (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                -- 1, 2, 3... within one session, contiguous
    id TEXT NOT NULL,                    -- client message id, unique within the session
    role TEXT NOT NULL,                  -- normalized: system developer user assistant tool
    item TEXT NOT NULL,                  -- the item exactly as appended (JSON)
    text TEXT NOT NULL DEFAULT '',       -- plain text, for search and previews
    tool_text TEXT,                      -- tool names and arguments, indexed beside text
    search_text TEXT,                    -- the indexed document when it differs (CJK)
    tool_call_id TEXT,                   -- for tool results: the call answered
    has_tool_calls INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    model TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost_usd REAL,
    visible_to_model INTEGER NOT NULL DEFAULT 1,
    visible_to_user INTEGER NOT NULL DEFAULT 1,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (session_id, seq),
    UNIQUE (session_id, id)
);

CREATE TABLE tool_calls (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    call_id TEXT NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT NOT NULL,             -- the raw string as given
    request_seq INTEGER NOT NULL,
    result_seq INTEGER,
    result_text TEXT,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending, ok, error
    requested_at INTEGER NOT NULL,
    completed_at INTEGER,
    PRIMARY KEY (session_id, request_seq, call_id)
) WITHOUT ROWID;

CREATE INDEX tool_calls_call ON tool_calls (session_id, call_id);
CREATE INDEX tool_calls_name ON tool_calls (name, session_id);

-- Contentless: the text lives once, in messages; snippets are cut in Python.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    doc,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, doc)
    VALUES (new.rowid, coalesce(new.search_text, new.text || char(10) || coalesce(new.tool_text, '')));
END;

-- A contentless FTS5 row is deleted by repeating exactly what was indexed.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, doc)
    VALUES ('delete', old.rowid, coalesce(old.search_text, old.text || char(10) || coalesce(old.tool_text, '')));
END;
