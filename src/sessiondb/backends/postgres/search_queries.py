"""SQL of the PostgreSQL backend's search, lineage and stats (mirrors SQLite's).

Named parameters only; the tsquery text is a parameter too, built by
``textsearch.to_tsquery`` from tokens (letters and digits) and parsed by
``to_tsquery('simple', ...)``, never raw user text. Ranks: ``ts_rank_cd`` (higher is
better); ties go to the newest message. Text keys sort with COLLATE "C", as SQLite's.
"""

from .queries import SESSION_COLUMNS

S_SESSION_COLUMNS = ", ".join("s." + c.strip() for c in SESSION_COLUMNS.split(","))

# -- search -------------------------------------------------------------------------

# What the message itself decides (session filters are in _MESSAGE_FILTERS).
_MESSAGE_ONLY_FILTERS = """
      (%(session_id)s::text IS NULL OR m.session_id = %(session_id)s::text)
  AND (%(role)s::text IS NULL OR m.role = %(role)s::text)
  AND (%(since)s::bigint IS NULL OR m.created_at >= %(since)s::bigint)
  AND (%(until)s::bigint IS NULL OR m.created_at < %(until)s::bigint)
  AND (%(include_hidden)s::int = 1 OR m.visible_to_user = 1)
  AND (%(tool)s::text IS NULL OR EXISTS (
        SELECT 1 FROM tool_calls t
        WHERE t.session_id = m.session_id AND t.name = %(tool)s::text
          AND (t.request_seq = m.seq OR t.result_seq = m.seq)))"""

_MESSAGE_FILTERS = """
      (%(session_id)s::text IS NULL OR m.session_id = %(session_id)s::text)
  AND (%(role)s::text IS NULL OR m.role = %(role)s::text)
  AND (%(since)s::bigint IS NULL OR m.created_at >= %(since)s::bigint)
  AND (%(until)s::bigint IS NULL OR m.created_at < %(until)s::bigint)
  AND (%(include_hidden)s::int = 1 OR m.visible_to_user = 1)
  AND (%(agent)s::text IS NULL OR s.agent = %(agent)s::text)
  AND (%(source)s::text IS NULL OR s.source = %(source)s::text)
  AND (%(user_id)s::text IS NULL OR s.user_id = %(user_id)s::text)
  AND (%(status)s::text IS NULL OR s.status = %(status)s::text)
  AND (%(tool)s::text IS NULL OR EXISTS (
        SELECT 1 FROM tool_calls t
        WHERE t.session_id = m.session_id AND t.name = %(tool)s::text
          AND (t.request_seq = m.seq OR t.result_seq = m.seq)))"""

# Ranks every match on narrow rows, then reads the text of the page's rows only.
SEARCH_MESSAGES = f"""
WITH hits AS (
    SELECT m.session_id, m.seq, m.created_at,
           ts_rank_cd(m.search_vector, q.query)::float8 AS rank
    FROM (SELECT to_tsquery('simple', %(tsquery)s::text) AS query) q
    JOIN messages m ON m.search_vector @@ q.query
    JOIN sessions s ON s.id = m.session_id
    WHERE {_MESSAGE_FILTERS}
),
page AS (
    SELECT * FROM hits
    WHERE %(cursor_rank)s::float8 IS NULL OR rank < %(cursor_rank)s::float8
       OR (rank = %(cursor_rank)s::float8
           AND (created_at, session_id COLLATE "C", seq)
               < (%(cursor_created)s::bigint, %(cursor_session)s::text, %(cursor_seq)s::bigint))
    ORDER BY rank DESC, created_at DESC, session_id COLLATE "C" DESC, seq DESC
    LIMIT %(limit)s
)
SELECT p.session_id, p.seq, m.role, m.text, m.tool_text, p.created_at, m.id,
       s.title, s.agent, p.rank
FROM page p
JOIN messages m ON m.session_id = p.session_id AND m.seq = p.seq
JOIN sessions s ON s.id = p.session_id
ORDER BY p.rank DESC, p.created_at DESC, p.session_id COLLATE "C" DESC, p.seq DESC"""

# The same without session filters: matches are ranked without reading sessions.
SEARCH_MESSAGES_ANY_SESSION = f"""
WITH hits AS (
    SELECT m.session_id, m.seq, m.created_at,
           ts_rank_cd(m.search_vector, q.query)::float8 AS rank
    FROM (SELECT to_tsquery('simple', %(tsquery)s::text) AS query) q
    JOIN messages m ON m.search_vector @@ q.query
    WHERE {_MESSAGE_ONLY_FILTERS}
),
page AS (
    SELECT * FROM hits
    WHERE %(cursor_rank)s::float8 IS NULL OR rank < %(cursor_rank)s::float8
       OR (rank = %(cursor_rank)s::float8
           AND (created_at, session_id COLLATE "C", seq)
               < (%(cursor_created)s::bigint, %(cursor_session)s::text, %(cursor_seq)s::bigint))
    ORDER BY rank DESC, created_at DESC, session_id COLLATE "C" DESC, seq DESC
    LIMIT %(limit)s
)
SELECT p.session_id, p.seq, m.role, m.text, m.tool_text, p.created_at, m.id,
       s.title, s.agent, p.rank
FROM page p
JOIN messages m ON m.session_id = p.session_id AND m.seq = p.seq
JOIN sessions s ON s.id = p.session_id
ORDER BY p.rank DESC, p.created_at DESC, p.session_id COLLATE "C" DESC, p.seq DESC"""

SEARCH_SESSIONS = f"""
WITH ranked AS (
    SELECT m.session_id, m.seq, m.created_at, h.rank,
           row_number() OVER (PARTITION BY m.session_id
                              ORDER BY h.rank DESC, m.created_at DESC, m.seq DESC) AS pos,
           count(*) OVER (PARTITION BY m.session_id) AS hits
    FROM (SELECT to_tsquery('simple', %(tsquery)s::text) AS query) q
    JOIN messages m ON m.search_vector @@ q.query
    JOIN sessions s ON s.id = m.session_id
    CROSS JOIN LATERAL (SELECT ts_rank_cd(m.search_vector, q.query)::float8 AS rank) h
    WHERE {_MESSAGE_FILTERS}
)
SELECT {S_SESSION_COLUMNS}, r.seq, r.rank, r.created_at, r.hits, b.text, b.tool_text
FROM ranked r
JOIN sessions s ON s.id = r.session_id
JOIN messages b ON b.session_id = r.session_id AND b.seq = r.seq
WHERE r.pos = 1
  AND (%(cursor_rank)s::float8 IS NULL OR r.rank < %(cursor_rank)s::float8
       OR (r.rank = %(cursor_rank)s::float8
           AND (r.created_at, r.session_id COLLATE "C")
               < (%(cursor_created)s::bigint, %(cursor_session)s::text)))
ORDER BY r.rank DESC, r.created_at DESC, r.session_id COLLATE "C" DESC
LIMIT %(limit)s"""

# -- lineage ------------------------------------------------------------------------

SELECT_CHILDREN = f"""
SELECT {SESSION_COLUMNS} FROM sessions WHERE parent_id = %(id)s
ORDER BY created_at, id COLLATE "C\""""

SELECT_ANCESTORS = f"""
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM sessions WHERE id = %(id)s
    UNION
    SELECT s.id, s.parent_id, up.depth + 1
    FROM sessions s JOIN up ON s.id = up.parent_id
    WHERE up.depth < 100000
)
SELECT {S_SESSION_COLUMNS} FROM up JOIN sessions s ON s.id = up.id ORDER BY up.depth"""

SELECT_SUBTREE = f"""
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM sessions WHERE id = %(id)s
    UNION
    SELECT s.id FROM sessions s JOIN subtree t ON s.parent_id = t.id
)
SELECT {S_SESSION_COLUMNS} FROM subtree JOIN sessions s ON s.id = subtree.id
ORDER BY s.created_at, s.id COLLATE "C\""""

# See the SQLite statement: the sessions' own totals minus what forks inherited.
SUM_SUBTREE_USAGE = """
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM sessions WHERE id = %(id)s
    UNION
    SELECT s.id FROM sessions s JOIN subtree t ON s.parent_id = t.id
)
SELECT count(*),
       GREATEST(0, coalesce(sum(s.input_tokens - s.inherited_input_tokens), 0)),
       GREATEST(0, coalesce(sum(s.output_tokens - s.inherited_output_tokens), 0)),
       GREATEST(0, coalesce(sum(s.cache_read_tokens - s.inherited_cache_read_tokens), 0)),
       GREATEST(0, coalesce(sum(s.cache_write_tokens - s.inherited_cache_write_tokens), 0)),
       GREATEST(0, coalesce(sum(s.reasoning_tokens - s.inherited_reasoning_tokens), 0)),
       GREATEST(0.0, coalesce(sum(s.cost_usd - s.inherited_cost_usd), 0.0))
FROM subtree JOIN sessions s ON s.id = subtree.id"""

# -- stats --------------------------------------------------------------------------

_STATS_FILTERS = """
      m.forked_from IS NULL
  AND (%(since)s::bigint IS NULL OR m.created_at >= %(since)s::bigint)
  AND (%(until)s::bigint IS NULL OR m.created_at < %(until)s::bigint)
  AND (%(agent)s::text IS NULL OR s.agent = %(agent)s::text)
  AND (%(source)s::text IS NULL OR s.source = %(source)s::text)
  AND (%(user_id)s::text IS NULL OR s.user_id = %(user_id)s::text)"""

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

_UTC = "(to_timestamp(m.created_at / 1000000) AT TIME ZONE 'UTC')"

_GROUP_KEYS = {
    "day": f"to_char({_UTC}, 'YYYY-MM-DD')",
    "week": f"to_char({_UTC}, 'IYYY-\"W\"IW')",
    "month": f"to_char({_UTC}, 'YYYY-MM')",
    "model": "coalesce(m.model, s.model)",
    "agent": "s.agent",
    "source": "s.source",
    "status": "s.status",
}

STATS_GROUPS = {
    name: f"""
SELECT coalesce({key}, '') AS key, {_TOTAL_COLUMNS}
FROM messages m JOIN sessions s ON s.id = m.session_id
WHERE {_STATS_FILTERS}
GROUP BY 1 ORDER BY coalesce({key}, '') COLLATE "C\""""
    for name, key in _GROUP_KEYS.items()
}

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
GROUP BY c.name ORDER BY c.name COLLATE "C\""""

# Per tool: calls, errors, completed calls and the median duration in whole ms.
STATS_TOOLS = f"""
WITH calls AS (
    SELECT t.name, t.status, t.requested_at, t.completed_at
    FROM tool_calls t
    JOIN messages m ON m.session_id = t.session_id AND m.seq = t.request_seq
    JOIN sessions s ON s.id = m.session_id
    WHERE {_STATS_FILTERS}
)
SELECT name, count(*), count(*) FILTER (WHERE status = 'error'),
       count(*) FILTER (WHERE status != 'pending'),
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY GREATEST(0, (completed_at - requested_at) / 1000))
           FILTER (WHERE completed_at IS NOT NULL)
FROM calls
GROUP BY name
ORDER BY count(*) DESC, name COLLATE "C\""""
