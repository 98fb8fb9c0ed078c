"""SQL of the SQLite backend's search, lineage and stats.

Named parameters only; the MATCH expression is a parameter too, built by
``textsearch.to_fts5`` from tokens (letters and digits), never from raw user text.
Optional filters use ``(:x IS NULL OR col = :x)`` so one statement serves every
combination. Ranks: ``-bm25()`` so that higher is better; ties go to the newest message.
"""

from .queries import SESSION_COLUMNS

S_SESSION_COLUMNS = ", ".join("s." + c.strip() for c in SESSION_COLUMNS.split(","))

# -- search -------------------------------------------------------------------------

# Which messages a search considers, given the filters (m = messages, s = sessions).
_MESSAGE_FILTERS = """
      (:session_id IS NULL OR m.session_id = :session_id)
  AND (:role IS NULL OR m.role = :role)
  AND (:since IS NULL OR m.created_at >= :since)
  AND (:until IS NULL OR m.created_at < :until)
  AND (:include_hidden = 1 OR m.visible_to_user = 1)
  AND (:agent IS NULL OR s.agent = :agent)
  AND (:source IS NULL OR s.source = :source)
  AND (:user_id IS NULL OR s.user_id = :user_id)
  AND (:status IS NULL OR s.status = :status)
  AND (:tool IS NULL OR EXISTS (
        SELECT 1 FROM tool_calls t
        WHERE t.session_id = m.session_id AND t.name = :tool
          AND (t.request_seq = m.seq OR t.result_seq = m.seq)))"""

SEARCH_MESSAGES = f"""
WITH hits AS (
    SELECT rowid AS rid, -bm25(messages_fts) AS rank
    FROM messages_fts WHERE messages_fts MATCH :match
)
SELECT m.session_id, m.seq, m.role, m.text, m.tool_text, m.created_at, m.id,
       s.title, s.agent, hits.rank
FROM hits
JOIN messages m ON m.rowid = hits.rid
JOIN sessions s ON s.id = m.session_id
WHERE {_MESSAGE_FILTERS}
  AND (:cursor_rank IS NULL OR hits.rank < :cursor_rank OR (hits.rank = :cursor_rank
       AND (m.created_at, m.session_id, m.seq)
           < (:cursor_created, :cursor_session, :cursor_seq)))
ORDER BY hits.rank DESC, m.created_at DESC, m.session_id DESC, m.seq DESC
LIMIT :limit"""

# One session's hits: FTS5 reads only the rowid range the session's messages span
# (one cursor, so bm25's statistics are computed once), rather than every match in the
# database.
SEARCH_SESSION_MESSAGES = f"""
WITH hits AS (
    SELECT rowid AS rid, -bm25(messages_fts) AS rank
    FROM messages_fts
    WHERE messages_fts MATCH :match
      AND rowid >= (SELECT min(rowid) FROM messages WHERE session_id = :session_id)
      AND rowid <= (SELECT max(rowid) FROM messages WHERE session_id = :session_id)
)
SELECT m.session_id, m.seq, m.role, m.text, m.tool_text, m.created_at, m.id,
       s.title, s.agent, hits.rank
FROM hits
JOIN messages m ON m.rowid = hits.rid
JOIN sessions s ON s.id = m.session_id
WHERE {_MESSAGE_FILTERS}
  AND (:cursor_rank IS NULL OR hits.rank < :cursor_rank OR (hits.rank = :cursor_rank
       AND (m.created_at, m.session_id, m.seq)
           < (:cursor_created, :cursor_session, :cursor_seq)))
ORDER BY hits.rank DESC, m.created_at DESC, m.session_id DESC, m.seq DESC
LIMIT :limit"""

# The fast path for an unfiltered search: rank inside FTS5 alone, keep the best
# :prefetch (as the raw FTS5 query would), then join only those. ``fetched`` and
# ``floor`` (the lowest rank kept) tell the caller whether the page is surely right; it
# falls back to SEARCH_MESSAGES when hidden messages left less than a page of a full
# prefetch, or when the page reaches ``floor``: rows tied with it may have been cut
# (and ties go to the newest message, which FTS5 does not know).
SEARCH_MESSAGES_TOP = f"""
WITH hits AS (
    SELECT rid, rank FROM (
        SELECT rowid AS rid, -bm25(messages_fts) AS rank
        FROM messages_fts WHERE messages_fts MATCH :match
    )
    WHERE :cursor_rank IS NULL OR rank <= :cursor_rank
    ORDER BY rank DESC
    LIMIT :prefetch
)
SELECT m.session_id, m.seq, m.role, m.text, m.tool_text, m.created_at, m.id,
       s.title, s.agent, hits.rank,
       (SELECT count(*) FROM hits) AS fetched, (SELECT min(rank) FROM hits) AS floor
FROM hits
JOIN messages m ON m.rowid = hits.rid
JOIN sessions s ON s.id = m.session_id
WHERE {_MESSAGE_FILTERS}
  AND (:cursor_rank IS NULL OR hits.rank < :cursor_rank OR (hits.rank = :cursor_rank
       AND (m.created_at, m.session_id, m.seq)
           < (:cursor_created, :cursor_session, :cursor_seq)))
ORDER BY hits.rank DESC, m.created_at DESC, m.session_id DESC, m.seq DESC
LIMIT :limit"""

# When the fast path's page ends in a tie with its lowest rank: every hit ranked at
# least that (ties included), so the tie-break by time is applied to all of them.
SEARCH_MESSAGES_FROM_FLOOR = f"""
WITH hits AS (
    SELECT rid, rank FROM (
        SELECT rowid AS rid, -bm25(messages_fts) AS rank
        FROM messages_fts WHERE messages_fts MATCH :match
    )
    WHERE rank >= :floor AND (:cursor_rank IS NULL OR rank <= :cursor_rank)
)
SELECT m.session_id, m.seq, m.role, m.text, m.tool_text, m.created_at, m.id,
       s.title, s.agent, hits.rank
FROM hits
JOIN messages m ON m.rowid = hits.rid
JOIN sessions s ON s.id = m.session_id
WHERE {_MESSAGE_FILTERS}
  AND (:cursor_rank IS NULL OR hits.rank < :cursor_rank OR (hits.rank = :cursor_rank
       AND (m.created_at, m.session_id, m.seq)
           < (:cursor_created, :cursor_session, :cursor_seq)))
ORDER BY hits.rank DESC, m.created_at DESC, m.session_id DESC, m.seq DESC
LIMIT :limit"""

# Sessions by their best hit: rows are the session's columns, then best_seq, best_rank,
# best_created_at, hits, and the best message's text and tool_text.
SEARCH_SESSIONS = f"""
WITH hits AS (
    SELECT rowid AS rid, -bm25(messages_fts) AS rank
    FROM messages_fts WHERE messages_fts MATCH :match
),
ranked AS (
    SELECT m.session_id, m.seq, m.created_at, hits.rank,
           row_number() OVER (PARTITION BY m.session_id
                              ORDER BY hits.rank DESC, m.created_at DESC, m.seq DESC) AS pos,
           count(*) OVER (PARTITION BY m.session_id) AS hits
    FROM hits
    JOIN messages m ON m.rowid = hits.rid
    JOIN sessions s ON s.id = m.session_id
    WHERE {_MESSAGE_FILTERS}
)
SELECT {S_SESSION_COLUMNS}, r.seq, r.rank, r.created_at, r.hits, b.text, b.tool_text
FROM ranked r
JOIN sessions s ON s.id = r.session_id
JOIN messages b ON b.session_id = r.session_id AND b.seq = r.seq
WHERE r.pos = 1
  AND (:cursor_rank IS NULL OR r.rank < :cursor_rank OR (r.rank = :cursor_rank
       AND (r.created_at, r.session_id) < (:cursor_created, :cursor_session)))
ORDER BY r.rank DESC, r.created_at DESC, r.session_id DESC
LIMIT :limit"""

# -- lineage ------------------------------------------------------------------------

SELECT_CHILDREN = f"""
SELECT {SESSION_COLUMNS} FROM sessions WHERE parent_id = :id ORDER BY created_at, id"""

# The session (depth 0) and its ancestors; UNION stops at a cycle, should one exist.
SELECT_ANCESTORS = f"""
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM sessions WHERE id = :id
    UNION
    SELECT s.id, s.parent_id, up.depth + 1
    FROM sessions s JOIN up ON s.id = up.parent_id
    WHERE up.depth < 100000
)
SELECT {S_SESSION_COLUMNS} FROM up JOIN sessions s ON s.id = up.id ORDER BY up.depth"""

SELECT_SUBTREE = f"""
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM sessions WHERE id = :id
    UNION
    SELECT s.id FROM sessions s JOIN subtree t ON s.parent_id = t.id
)
SELECT {S_SESSION_COLUMNS} FROM subtree JOIN sessions s ON s.id = subtree.id
ORDER BY s.created_at, s.id"""

# What the subtree's sessions spent, each message's usage counted once: the sessions'
# own totals (which are never reduced when messages are deleted, the money being spent)
# minus what forks inherited with their copies (recorded at fork time, so deleting the
# copies later changes nothing). Without forks it is the sum of the sessions' usage.
SUM_SUBTREE_USAGE = """
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM sessions WHERE id = :id
    UNION
    SELECT s.id FROM sessions s JOIN subtree t ON s.parent_id = t.id
)
SELECT count(*),
       max(0, coalesce(sum(s.input_tokens - s.inherited_input_tokens), 0)),
       max(0, coalesce(sum(s.output_tokens - s.inherited_output_tokens), 0)),
       max(0, coalesce(sum(s.cache_read_tokens - s.inherited_cache_read_tokens), 0)),
       max(0, coalesce(sum(s.cache_write_tokens - s.inherited_cache_write_tokens), 0)),
       max(0, coalesce(sum(s.reasoning_tokens - s.inherited_reasoning_tokens), 0)),
       max(0.0, coalesce(sum(s.cost_usd - s.inherited_cost_usd), 0.0))
FROM subtree JOIN sessions s ON s.id = subtree.id"""

# -- stats --------------------------------------------------------------------------

# Stats count activity once: messages copied by fork (forked_from set) are left out.
_STATS_FILTERS = """
      m.forked_from IS NULL
  AND (:since IS NULL OR m.created_at >= :since)
  AND (:until IS NULL OR m.created_at < :until)
  AND (:agent IS NULL OR s.agent = :agent)
  AND (:source IS NULL OR s.source = :source)
  AND (:user_id IS NULL OR s.user_id = :user_id)"""

_TOTAL_COLUMNS = """
       count(DISTINCT m.session_id), count(*),
       coalesce(sum(CASE WHEN m.has_tool_calls = 1 THEN (
           SELECT count(*) FROM tool_calls t
           WHERE t.session_id = m.session_id AND t.request_seq = m.seq) END), 0),
       coalesce(sum(m.input_tokens), 0), coalesce(sum(m.output_tokens), 0),
       coalesce(sum(m.cache_read_tokens), 0), coalesce(sum(m.cache_write_tokens), 0),
       coalesce(sum(m.reasoning_tokens), 0), coalesce(sum(m.cost_usd), 0.0)"""

STATS_TOTALS = f"""
SELECT {_TOTAL_COLUMNS}
FROM messages m JOIN sessions s ON s.id = m.session_id
WHERE {_STATS_FILTERS}"""

# The ISO week's Thursday decides its year: date(x, '-3 days', 'weekday 4').
_ISO_THURSDAY = "date(m.created_at / 1000000, 'unixepoch', '-3 days', 'weekday 4')"

_GROUP_KEYS = {
    "day": "strftime('%Y-%m-%d', m.created_at / 1000000, 'unixepoch')",
    "week": f"strftime('%Y', {_ISO_THURSDAY}) || '-W' || "
    f"printf('%02d', (strftime('%j', {_ISO_THURSDAY}) + 6) / 7)",
    "month": "strftime('%Y-%m', m.created_at / 1000000, 'unixepoch')",
    "model": "coalesce(m.model, s.model)",
    "agent": "s.agent",
    "source": "s.source",
    "status": "s.status",
}

# One statement per grouping; the key expressions are fixed here, never user input.
# A missing key (no model, no agent...) is the group "".
STATS_GROUPS = {
    name: f"""
SELECT coalesce({key}, '') AS key, {_TOTAL_COLUMNS}
FROM messages m JOIN sessions s ON s.id = m.session_id
WHERE {_STATS_FILTERS}
GROUP BY key ORDER BY key"""
    for name, key in _GROUP_KEYS.items()
}

# By tool: the messages that call the tool, their calls of it and their usage.
STATS_GROUPS["tool"] = f"""
WITH calls AS (
    SELECT name, session_id, request_seq, count(*) AS n
    FROM tool_calls GROUP BY name, session_id, request_seq
)
SELECT c.name AS key, count(DISTINCT m.session_id), count(*), sum(c.n),
       coalesce(sum(m.input_tokens), 0), coalesce(sum(m.output_tokens), 0),
       coalesce(sum(m.cache_read_tokens), 0), coalesce(sum(m.cache_write_tokens), 0),
       coalesce(sum(m.reasoning_tokens), 0), coalesce(sum(m.cost_usd), 0.0)
FROM calls c
JOIN messages m ON m.session_id = c.session_id AND m.seq = c.request_seq
JOIN sessions s ON s.id = m.session_id
WHERE {_STATS_FILTERS}
GROUP BY c.name ORDER BY c.name"""

# Per tool: calls, errors, completed calls and the median duration in whole ms (as
# ToolCall.duration_ms), the mean of the middle one or two completed durations.
STATS_TOOLS = f"""
WITH calls AS (
    SELECT t.name, t.status, t.requested_at, t.completed_at
    FROM tool_calls t
    JOIN messages m ON m.session_id = t.session_id AND m.seq = t.request_seq
    JOIN sessions s ON s.id = m.session_id
    WHERE {_STATS_FILTERS}
),
durations AS (
    SELECT name, max(0, (completed_at - requested_at) / 1000) AS ms,
           row_number() OVER (PARTITION BY name
                              ORDER BY max(0, (completed_at - requested_at) / 1000)) AS pos,
           count(*) OVER (PARTITION BY name) AS n
    FROM calls WHERE completed_at IS NOT NULL
),
medians AS (
    SELECT name, avg(ms) AS median FROM durations
    WHERE pos IN ((n + 1) / 2, (n + 2) / 2) GROUP BY name
)
SELECT c.name, count(*), sum(c.status = 'error'), sum(c.status != 'pending'), md.median
FROM calls c LEFT JOIN medians md ON md.name = c.name
GROUP BY c.name
ORDER BY count(*) DESC, c.name"""
