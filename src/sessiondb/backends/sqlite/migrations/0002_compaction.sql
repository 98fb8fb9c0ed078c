-- v2: sessions record their compactions (history.compact) and lineage queries get an index.
ALTER TABLE sessions ADD COLUMN compaction_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN compacted_at INTEGER;
CREATE INDEX messages_created ON messages (created_at);
