-- v2: compaction bookkeeping (history.compact) and fork provenance.
ALTER TABLE sessions ADD COLUMN compaction_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN compacted_at BIGINT;
-- Set on messages copied by fork: the session whose spend this message's usage is.
-- tree_usage counts each message's usage once, in the session it was first written to.
ALTER TABLE messages ADD COLUMN forked_from TEXT;
