-- v8: list_sessions sorts ties of updated_at by id in byte order (COLLATE "C"), as SQLite
-- does, instead of by the database's collation (an ICU en-US database put 'Z1' before
-- 'a'). The index must be in the same order, or the newest-first listing would sort the
-- whole table instead of reading the index's first rows.
DROP INDEX IF EXISTS sessions_updated;
CREATE INDEX sessions_updated ON sessions (updated_at DESC, id COLLATE "C" DESC);
