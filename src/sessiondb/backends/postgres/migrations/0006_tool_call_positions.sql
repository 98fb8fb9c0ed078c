-- v6: a message's tool calls are keyed by their position in it, not by call id: two
-- calls of one message with the same id (or none: "") were one row, and the second was
-- silently dropped. Existing rows are numbered in the call-id order they were read in.
ALTER TABLE tool_calls ADD COLUMN position INTEGER;
UPDATE tool_calls t SET position = r.n
FROM (
    SELECT session_id, request_seq, call_id,
           row_number() OVER (PARTITION BY session_id, request_seq ORDER BY call_id) - 1 AS n
    FROM tool_calls
) r
WHERE t.session_id = r.session_id AND t.request_seq = r.request_seq AND t.call_id = r.call_id;
ALTER TABLE tool_calls ALTER COLUMN position SET NOT NULL;
ALTER TABLE tool_calls DROP CONSTRAINT tool_calls_pkey;
ALTER TABLE tool_calls ADD PRIMARY KEY (session_id, request_seq, position);
-- A result looks for the newest pending call with its id: (session_id, call_id) equal,
-- newest (request_seq, position) first. With those two columns in the index that is one
-- probe; without them the planner walked the session's calls backwards, O(session).
DROP INDEX tool_calls_call;
CREATE INDEX tool_calls_call ON tool_calls (session_id, call_id, request_seq, position);
