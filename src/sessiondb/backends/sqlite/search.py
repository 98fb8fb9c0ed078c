"""SQLite backend, search: FTS5 over messages, ranked by bm25, snippets cut in Python.

The index is contentless (the text lives once, in ``messages``); the MATCH expression
comes from ``textsearch.to_fts5``, so user input never reaches FTS5's own syntax.
"""

from __future__ import annotations

from datetime import datetime

from ...insights import SearchRequest, hits_page, session_hits_page
from ...model import Page, SearchHit, SessionHit
from . import search_queries as sq
from .core import SQLiteCore

_SESSION_WIDTH = 25  # columns of SESSION_COLUMNS
# The unfiltered fast path ranks this many hits per page inside FTS5 before joining;
# hidden messages beyond that make it fall back to the filtered statement.
_PREFETCH_FACTOR = 2


class SQLiteSearch(SQLiteCore):
    """``search`` and ``sessions_matching`` on SQLite."""

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
        params = request.params
        if request.limit == 0:
            return Page([])
        filtered = any(
            params[name] is not None
            for name in ("session_id", "agent", "source", "user_id", "role", "tool", "status")
        ) or (params["since"] is not None or params["until"] is not None)
        # One statement is one consistent snapshot: no explicit transaction needed.
        if not filtered:
            prefetch = params["limit"] * _PREFETCH_FACTOR
            found = self._query(
                "searching messages", sq.SEARCH_MESSAGES_TOP, {**params, "prefetch": prefetch}
            )
            if not found:
                # An empty page proves nothing: the prefetch may have held only hidden
                # messages, or only hits tied at the cursor's rank that earlier pages
                # already showed (the prefetch cannot apply the cursor's tie-break).
                complete = False
            else:
                fetched, floor = found[0][10], found[0][11]
                full = len(found) >= params["limit"]
                complete = fetched < prefetch or (full and found[-1][9] > floor)
                if not complete and full:
                    # The page ends in a tie that the prefetch may have cut: take every
                    # hit ranked at least that, ties included.
                    found = self._query(
                        "searching messages",
                        sq.SEARCH_MESSAGES_FROM_FLOOR,
                        {**params, "floor": floor},
                    )
                    return hits_page(request, found)
            if complete:
                return hits_page(request, found)
        statement = sq.SEARCH_MESSAGES if session_id is None else sq.SEARCH_SESSION_MESSAGES
        found = self._query("searching messages", statement, params)
        return hits_page(request, found)

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
        with self._read("searching sessions") as conn:
            rows = conn.execute(sq.SEARCH_SESSIONS, request.params).fetchall()
        return session_hits_page(request, rows, self._session, _SESSION_WIDTH)
