"""Backend-independent parts of search, lineage and stats.

Backends run the SQL; everything around it is here, once, so both backends check the
same arguments, page with the same cursors and build the same result objects: a search
request (``SearchRequest``), hits with snippets, trees from rows, and ``Stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from ._base import check_limit, decode_cursor, encode_cursor
from .errors import InvalidInput, NotFound
from .model import (
    ROLES,
    STATUSES,
    Page,
    SearchHit,
    Session,
    SessionHit,
    Stats,
    Tool,
    Totals,
    TreeNode,
    check_choice,
    check_text,
    from_micros,
    to_micros,
    to_utc,
)
from .store import GroupBy
from .textsearch import Query, make_snippet, parse_query, to_fts5, to_tsquery

__all__ = [
    "GROUP_BY",
    "SearchRequest",
    "build_stats",
    "build_tree",
    "check_group_by",
    "hits_page",
    "session_hits_page",
]

GROUP_BY: tuple[str, ...] = get_args(GroupBy)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A validated search: the parsed query and the SQL parameters every backend uses."""

    query: Query
    highlight: tuple[str, str]
    limit: int
    params: dict[str, Any]

    @classmethod
    def prepare(
        cls,
        query: str,
        *,
        cursor: str | None,
        cursor_shape: Sequence[type],
        limit: int,
        highlight: tuple[str, str],
        since: datetime | None,
        until: datetime | None,
        include_hidden: bool,
        **filters: str | None,
    ) -> SearchRequest:
        """Check every argument; raise InvalidInput naming the first bad one.

        ``params`` holds ``match`` (FTS5), ``tsquery`` (PostgreSQL), the filters (None
        means "any"), ``since``/``until`` in microseconds, ``include_hidden`` (0/1),
        ``cursor_*`` (None on the first page) and ``limit`` (one more than a page, to
        know whether there is a next one).
        """
        parsed = parse_query(query)
        size = check_limit("limit", limit, allow_none=False) or 0
        if (
            not isinstance(highlight, tuple | list)
            or len(highlight) != 2
            or not all(isinstance(h, str) for h in highlight)
        ):
            raise InvalidInput.about("highlight", "expected a pair of strings, e.g. ('[', ']')")
        for name, value in filters.items():
            check_text(name, value)
        if filters.get("role") is not None:
            check_choice("role", filters["role"], ROLES)
        if filters.get("status") is not None:
            check_choice("status", filters["status"], STATUSES)
        since_dt, until_dt = to_utc("since", since), to_utc("until", until)
        params: dict[str, Any] = {
            "match": to_fts5(parsed),
            "tsquery": to_tsquery(parsed),
            **filters,
            "since": None if since_dt is None else to_micros(since_dt),
            "until": None if until_dt is None else to_micros(until_dt),
            "include_hidden": 1 if include_hidden else 0,
            "limit": size + 1,
        }
        names = ["cursor_rank", "cursor_created", "cursor_session"]
        if len(cursor_shape) == 4:
            names.append("cursor_seq")
        values: list[Any] = [None] * len(names)
        if cursor is not None:
            if not isinstance(cursor, str):
                raise InvalidInput.about("cursor", "expected the next_cursor string of a page")
            values = decode_cursor(cursor, cursor_shape)
        params.update(zip(names, values, strict=True))
        return cls(parsed, (str(highlight[0]), str(highlight[1])), size, params)


def hits_page(request: SearchRequest, rows: Sequence[Sequence[Any]]) -> Page[SearchHit]:
    """Search hits from rows of (session_id, seq, role, text, tool_text, created_at, id,
    title, agent, rank), with snippets; ``rows`` may hold one row more than a page."""
    items = [
        SearchHit(
            session_id=row[0],
            seq=row[1],
            role=row[2],
            snippet=make_snippet(row[3], row[4], request.query, request.highlight),
            rank=float(row[9]),
            created_at=from_micros(row[5]),
            title=row[7],
            agent=row[8],
            message_id=row[6],
        )
        for row in rows[: request.limit]
    ]
    next_cursor = None
    if len(rows) > request.limit and items:
        last = rows[request.limit - 1]
        next_cursor = encode_cursor([float(last[9]), last[5], last[0], last[1]])
    return Page(items, next_cursor)


def session_hits_page(
    request: SearchRequest,
    rows: Sequence[Sequence[Any]],
    to_session: Callable[[Sequence[Any]], Session],
    width: int,
) -> Page[SessionHit]:
    """Session hits from rows of ``width`` session columns followed by (best_seq,
    best_rank, best_created_at, hits, text, tool_text)."""
    items = []
    for row in rows[: request.limit]:
        seq, rank, _created, hits, text, tool_text = row[width : width + 6]
        items.append(
            SessionHit(
                session=to_session(row),
                hits=int(hits),
                best_rank=float(rank),
                best_seq=int(seq),
                snippet=make_snippet(text, tool_text, request.query, request.highlight),
            )
        )
    next_cursor = None
    if len(rows) > request.limit and items:
        last = rows[request.limit - 1]
        next_cursor = encode_cursor([float(last[width + 1]), last[width + 2], last[0]])
    return Page(items, next_cursor)


def build_tree(root_id: str, sessions: Iterable[Session]) -> TreeNode:
    """The TreeNode of ``root_id`` from its subtree's sessions (children in the order
    given). Raises NotFound when ``root_id`` is not among them."""
    nodes: dict[str, TreeNode] = {}
    ordered = list(sessions)
    for session in ordered:
        nodes[session.id] = TreeNode(session, [])
    if root_id not in nodes:
        raise NotFound.session(root_id)
    for session in ordered:
        if session.id != root_id and session.parent_id in nodes:
            nodes[session.parent_id].children.append(nodes[session.id])
    return nodes[root_id]


def check_group_by(group_by: str | None) -> str | None:
    """``group_by`` if it is None or one of GROUP_BY, else raise InvalidInput."""
    if group_by is None:
        return None
    return check_choice("group_by", group_by, GROUP_BY)


def totals(row: Sequence[Any] | None) -> Totals:
    """Totals from a row of (sessions, messages, tool_calls, input, output, cache read,
    cache write, reasoning, cost)."""
    if row is None:
        return Totals()
    ints = [int(v or 0) for v in row[:8]]
    return Totals(
        sessions=ints[0],
        messages=ints[1],
        tool_calls=ints[2],
        input_tokens=ints[3],
        output_tokens=ints[4],
        cache_read_tokens=ints[5],
        cache_write_tokens=ints[6],
        reasoning_tokens=ints[7],
        cost_usd=float(row[8] or 0.0),
    )


def build_stats(
    total: Sequence[Any] | None,
    groups: Iterable[Sequence[Any]],
    tools: Iterable[Sequence[Any]],
) -> Stats:
    """Stats from the totals row, group rows (key + totals columns) and tool rows
    (name, calls, errors, completed, median_ms)."""
    tool_list = [
        Tool(
            name=row[0],
            calls=int(row[1]),
            errors=int(row[2]),
            error_rate=None if not row[3] else int(row[2]) / int(row[3]),
            median_duration_ms=None if row[4] is None else float(row[4]),
        )
        for row in tools
    ]
    return Stats(
        totals=totals(total),
        groups=[("" if row[0] is None else str(row[0]), totals(row[1:])) for row in groups],
        tools=tool_list,
    )
