-- v3: history() reads the newest model-visible messages backwards. After a compaction or
-- replace_history most of a session is hidden; without this index, reaching the start of
-- the visible part walked every hidden row. Partial: only visible rows are indexed.
CREATE INDEX messages_visible ON messages (session_id, seq) WHERE visible_to_model = 1;
