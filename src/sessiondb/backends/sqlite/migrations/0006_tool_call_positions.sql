-- v6: a message's tool calls are keyed by their position in it, not by call id: two
-- calls of one message with the same id (or none: "") were one row, and the second was
-- silently dropped. Existing rows are numbered in the call-id order they were read in.
--
-- Also a rowid table now: a call's ~1 KB result overflowed the WITHOUT ROWID pages
-- (rows there should stay under ~1/20 of a page), costing pages on every append.
CREATE TABLE tool_calls_v6 (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    request_seq INTEGER NOT NULL,
    position INTEGER NOT NULL,           -- 0, 1, 2... among the message's calls
    call_id TEXT NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT NOT NULL,             -- the raw string as given
    result_seq INTEGER,
    result_text TEXT,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending, ok, error
    requested_at INTEGER NOT NULL,
    completed_at INTEGER,
    UNIQUE (session_id, request_seq, position)
);
INSERT INTO tool_calls_v6 (session_id, request_seq, position, call_id, name, arguments,
                           result_seq, result_text, status, requested_at, completed_at)
SELECT session_id, request_seq,
       row_number() OVER (PARTITION BY session_id, request_seq ORDER BY call_id) - 1,
       call_id, name, arguments, result_seq, result_text, status, requested_at, completed_at
FROM tool_calls;
DROP TABLE tool_calls;
ALTER TABLE tool_calls_v6 RENAME TO tool_calls;
-- A result looks for the newest pending call with its id: (session_id, call_id) equal,
-- newest (request_seq, position) first. With those two columns in the index that is one
-- probe; without them the planner walked the session's calls backwards, O(session).
CREATE INDEX tool_calls_call ON tool_calls (session_id, call_id, request_seq, position);
CREATE INDEX tool_calls_name ON tool_calls (name, session_id);
