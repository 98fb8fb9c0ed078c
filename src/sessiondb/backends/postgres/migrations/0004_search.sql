-- v4: search with exactly SQLite's tokens; indexes for search filters, lineage and stats.
--
-- The document is cut into tokens the way textsearch.tokenize (and SQLite's unicode61)
-- does: search_text, when set, already is the token stream (non-ASCII or huge text);
-- otherwise the text is plain ASCII, and a token is a run of [a-z0-9] after lower-casing
-- (translate, not lower(): independent of the database's locale). The 'simple' parser
-- then sees only words and numbers separated by spaces, and keeps each as one lexeme;
-- its own rules (paths, e-mail addresses, hyphenated words, tags) never come into play.
DROP INDEX IF EXISTS messages_search;
ALTER TABLE messages DROP COLUMN IF EXISTS search_vector;
ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, coalesce(
        search_text,
        regexp_replace(
            translate(text || E'\n' || coalesce(tool_text, ''),
                      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
            '[^a-z0-9]+', ' ', 'g')))
) STORED;
CREATE INDEX messages_search ON messages USING gin (search_vector);
-- Time filters of search and stats, and stats' time groups, read messages by time.
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
-- Children of a session, oldest first (lineage).
CREATE INDEX IF NOT EXISTS sessions_parent_created ON sessions (parent_id, created_at, id)
    WHERE parent_id IS NOT NULL;
-- tree_usage subtracts the usage of fork copies: find them without reading every message.
CREATE INDEX IF NOT EXISTS messages_forked ON messages (session_id) WHERE forked_from IS NOT NULL;
