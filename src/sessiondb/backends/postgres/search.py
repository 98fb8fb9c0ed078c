"""PostgreSQL backend, search: a GIN-indexed tsvector, ranked by ts_rank_cd, snippets cut
in Python (the same ones SQLite gives). The tsquery comes from ``textsearch.to_tsquery``,
so user input never reaches PostgreSQL's query syntax."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...insights import SearchRequest, hits_page, session_hits_page
from ...model import Page, SearchHit, SessionHit
from . import search_queries as sq
from .core import PostgresCore

_SESSION_WIDTH = 25  # columns of SESSION_COLUMNS


class PostgresSearch(PostgresCore):
    """``search`` and ``sessions_matching`` on PostgreSQL."""

    def _search(self, what: str, statement: str, params: Mapping[str, Any]) -> list[Any]:
        """Run a search statement, planned for its own parameters every time.

        A prepared statement's generic plan cannot see which filters are NULL nor how
        common the searched words are (measured 2.5x slower), so never prepare it.
        """
        with self._connection(what) as conn:
            return conn.execute(statement, params, prepare=False).fetchall()

    def search(
        self,
        query: str,
        *,
        session_id: str | None = None,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        role: str | None = None,
        tool: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_hidden: bool = False,
        highlight: tuple[str, str] = ("[", "]"),
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[SearchHit]:
        request = SearchRequest.prepare(
            query,
            cursor=cursor,
            cursor_shape=(float, int, str, int),
            limit=limit,
            highlight=highlight,
            since=since,
            until=until,
            include_hidden=include_hidden,
            session_id=session_id,
            agent=agent,
            source=source,
            user_id=user_id,
            role=role,
            tool=tool,
            status=status,
        )
        if request.limit == 0:
            return Page([])
        by_session = any(v is not None for v in (agent, source, user_id, status))
        statement = sq.SEARCH_MESSAGES if by_session else sq.SEARCH_MESSAGES_ANY_SESSION
        rows = self._search("searching messages", statement, request.params)
        return hits_page(request, rows)

    def sessions_matching(
        self,
        query: str,
        *,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_hidden: bool = False,
        highlight: tuple[str, str] = ("[", "]"),
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[SessionHit]:
        request = SearchRequest.prepare(
            query,
            cursor=cursor,
            cursor_shape=(float, int, str),
            limit=limit,
            highlight=highlight,
            since=since,
            until=until,
            include_hidden=include_hidden,
            session_id=None,
            agent=agent,
            source=source,
            user_id=user_id,
            role=None,
            tool=None,
            status=status,
        )
        if request.limit == 0:
            return Page([])
        rows = self._search("searching sessions", sq.SEARCH_SESSIONS, request.params)
        return session_hits_page(request, rows, self._session, _SESSION_WIDTH)
