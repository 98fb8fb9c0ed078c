-- v5: a fork remembers what it was given, so it stays right after later changes.
--
-- The usage a fork inherited with its copies, recorded by fork(). A session's totals are
-- never reduced (money spent), so once a fork's copies are cleared, truncated or popped,
-- only this says which part of the fork's totals is its source's spend: tree_usage is the
-- subtree's totals minus what its sessions inherited.
ALTER TABLE sessions ADD COLUMN inherited_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN inherited_output_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN inherited_cache_read_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN inherited_cache_write_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN inherited_reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN inherited_cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
-- Forks made before v5 recorded nothing: the copies they still hold (forked_from set) are
-- what they inherited, as far as anyone can tell now. (Copies deleted before v5 are lost;
-- such a fork counts its source's spend again, as it did under v4.)
UPDATE sessions SET
    inherited_input_tokens = (SELECT coalesce(sum(m.input_tokens), 0) FROM messages m
        WHERE m.session_id = sessions.id AND m.forked_from IS NOT NULL),
    inherited_output_tokens = (SELECT coalesce(sum(m.output_tokens), 0) FROM messages m
        WHERE m.session_id = sessions.id AND m.forked_from IS NOT NULL),
    inherited_cache_read_tokens = (SELECT coalesce(sum(m.cache_read_tokens), 0) FROM messages m
        WHERE m.session_id = sessions.id AND m.forked_from IS NOT NULL),
    inherited_cache_write_tokens = (SELECT coalesce(sum(m.cache_write_tokens), 0) FROM messages m
        WHERE m.session_id = sessions.id AND m.forked_from IS NOT NULL),
    inherited_reasoning_tokens = (SELECT coalesce(sum(m.reasoning_tokens), 0) FROM messages m
        WHERE m.session_id = sessions.id AND m.forked_from IS NOT NULL),
    inherited_cost_usd = (SELECT coalesce(sum(m.cost_usd), 0.0) FROM messages m
        WHERE m.session_id = sessions.id AND m.forked_from IS NOT NULL)
WHERE id IN (SELECT session_id FROM messages WHERE forked_from IS NOT NULL);
-- tree_usage no longer reads the copies; nothing else looks them up by session.
DROP INDEX IF EXISTS messages_forked;
-- The seq at which compact() or replace_history() hid the message from the model (the
-- summary's or the first replacement's seq); NULL if it is visible or was appended hidden.
-- fork(at_seq=N) shows the copies hidden after N to the model again: at seq N it saw them.
-- (Messages compacted before v5 have none, and stay hidden in forks, as under v4.)
ALTER TABLE messages ADD COLUMN hidden_at_seq BIGINT;
