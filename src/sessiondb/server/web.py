"""The web UI: server-rendered pages (Jinja2) plus one small script for infinite scroll
and the theme toggle. Pages read through ``Scoped`` like the API, so tenant isolation is
the same; they never write (a login cookie grants read access only).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ..errors import InvalidInput, NotFound
from ..model import Message, Session, Stats, Totals
from . import charts
from .auth import COOKIE_NAME
from .deps import Caller
from .paths import quote_segment

__all__ = ["router", "setup_templates"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TRANSCRIPT_PAGE = 500
_MARK = ("\ue000", "\ue001")  # private-use code points: cannot clash with escaped text
_HTML = HTMLResponse


def setup_templates(templates: Jinja2Templates) -> None:
    """Register the filters the templates use."""
    env = templates.env
    env.filters["ago"] = _ago
    env.filters["segment"] = quote_segment  # ids in links: "/" encoded too
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else ""
    env.filters["num"] = lambda n: f"{n or 0:,}"
    env.filters["usd"] = lambda v: "" if v is None else f"${v:,.4f}" if v < 1 else f"${v:,.2f}"
    env.filters["pretty_json"] = _pretty_json
    env.filters["marked"] = _marked
    env.filters["code_spans"] = _code_spans
    env.filters["clip"] = lambda t, n=20_000: t if t is None or len(t) <= n else t[:n] + "\n…"
    env.globals["query"] = lambda **kw: urlencode({k: v for k, v in kw.items() if v})


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = (datetime.now(UTC) - value).total_seconds()
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def _pretty_json(text: str | None) -> str:
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _marked(snippet: str) -> Markup:
    """A snippet with the private-use hit markers turned into <mark>, everything escaped."""
    return Markup(escape(snippet).replace(_MARK[0], "<mark>").replace(_MARK[1], "</mark>"))


def _code_spans(text: str) -> Markup:
    """Escaped text with Markdown `code` spans as <code> (OpenAPI descriptions)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _render(request: Request, name: str, db: Caller | None, **context: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("who", db.who if db else None)
    context["auth"] = bool(request.app.state.tokens)
    return templates.TemplateResponse(request, name, context)


# ---------------------------------------------------------------------------- sessions


async def _session_page(
    db: Caller, filters: dict[str, Any], cursor: str | None
) -> tuple[list[Session], str | None]:
    possible, user_id = db.user_filter(filters.get("user_id") or None)
    if not possible:
        return [], None
    page = await db.db.list_sessions(
        status=filters.get("status") or None,
        agent=filters.get("agent") or None,
        source=filters.get("source") or None,
        user_id=user_id,
        roots_only=bool(filters.get("roots_only")),
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    return page.items, page.next_cursor


def _filters(status: str, agent: str, source: str, roots_only: bool) -> dict[str, Any]:
    return {"status": status, "agent": agent, "source": source, "roots_only": roots_only}


Text = Annotated[str, Query(max_length=255)]


@router.get("/", response_class=_HTML)
async def sessions_page(
    request: Request,
    db: Caller,
    status: Text = "",
    agent: Text = "",
    source: Text = "",
    roots_only: bool = False,
) -> HTMLResponse:
    filters = _filters(status, agent, source, roots_only)
    sessions, next_cursor = await _session_page(db, filters, None)
    return _render(
        request,
        "sessions.html",
        db,
        sessions=sessions,
        next_cursor=next_cursor,
        filters=filters,
        statuses=("active", "completed", "failed", "interrupted", "archived"),
    )


@router.get("/ui/sessions", response_class=_HTML)
async def session_rows(
    request: Request,
    db: Caller,
    cursor: Annotated[str, Query(max_length=1000)],
    status: Text = "",
    agent: Text = "",
    source: Text = "",
    roots_only: bool = False,
) -> HTMLResponse:
    """The next rows of the session list (fetched by app.js for infinite scroll)."""
    filters = _filters(status, agent, source, roots_only)
    sessions, next_cursor = await _session_page(db, filters, cursor)
    return _render(request, "_session_rows.html", db, sessions=sessions, next_cursor=next_cursor)


Seq = Annotated[int | None, Query(ge=0, le=2**62)]


@router.get("/sessions/{session_id:segment}", response_class=_HTML)
async def transcript_page(
    request: Request,
    session_id: str,
    db: Caller,
    around: Seq = None,
    before: Seq = None,
    after: Seq = None,
) -> HTMLResponse:
    """One window of at most ``TRANSCRIPT_PAGE`` messages: from the start, the window
    ``around`` a seq (what search hits link to), the messages ``before`` a seq or those
    ``after`` one, with links to the older and newer windows."""
    if sum(x is not None for x in (around, before, after)) > 1:
        raise InvalidInput("give at most one of around, before and after")
    session = await db.session(session_id)
    messages = await _transcript_window(db, session_id, around=around, before=before, after=after)
    # Asked, not guessed from seq arithmetic: seqs of deleted messages leave gaps.
    older = newer = False
    if messages:
        first, last = messages[0].seq, messages[-1].seq
        older = bool(await db.db.messages(session_id, before_seq=first, last=1))
        newer = bool(await db.db.messages(session_id, after_seq=last, limit=1))
    shown = {m.seq for m in messages}
    messages.sort(key=_logical_position)
    calls = {c.call_id: c for m in messages for c in m.tool_calls}
    hidden = sum(1 for m in messages if not (m.visible_to_model and m.visible_to_user))
    parent = None
    if session.parent_id:
        try:
            parent = await db.session(session.parent_id)
        except NotFound:  # deleted, or of another tenant: simply not shown
            parent = None
    return _render(
        request,
        "transcript.html",
        db,
        session=session,
        messages=messages,
        shown=shown,
        first_seq=min(shown, default=0),
        last_seq=max(shown, default=0),
        calls=calls,
        hidden=hidden,
        older=older,
        newer=newer,
        around=around,
        parent=parent,
        turn_usage=_turn_usage,
    )


async def _transcript_window(
    db: Caller, session_id: str, *, around: int | None, before: int | None, after: int | None
) -> list[Message]:
    """The messages of one transcript window, oldest first."""
    if before is not None:
        return await db.db.messages(session_id, before_seq=before, last=TRANSCRIPT_PAGE)
    if after is not None:
        return await db.db.messages(session_id, after_seq=after, limit=TRANSCRIPT_PAGE)
    if around is None:
        return await db.db.messages(session_id, limit=TRANSCRIPT_PAGE)
    # Half a page of older messages, the message itself and newer ones for the rest;
    # near either end of the session the other side fills up, so the page stays full.
    tail = await db.db.messages(session_id, after_seq=max(around - 1, 0), limit=TRANSCRIPT_PAGE)
    half = TRANSCRIPT_PAGE // 2
    head = await db.db.messages(
        session_id, before_seq=max(around, 1), last=TRANSCRIPT_PAGE - min(len(tail), half)
    )
    return head + tail[: TRANSCRIPT_PAGE - len(head)]


def _logical_position(message: Message) -> float:
    """A compaction summary is appended after the tail it precedes; its metadata says
    which seq it follows (``replaces_through``), so show it there."""
    meta = message.metadata
    through = meta.get("replaces_through")
    if meta.get("summary") is True and isinstance(through, int) and through < message.seq:
        return through + 0.5
    return float(message.seq)


def _turn_usage(message: Message) -> str:
    u = message.usage
    if u is None or u.is_empty():
        return ""
    parts = []
    if u.input_tokens is not None:
        parts.append(f"in {u.input_tokens:,}")
    if u.output_tokens is not None:
        parts.append(f"out {u.output_tokens:,}")
    if u.cache_read_tokens:
        parts.append(f"cache read {u.cache_read_tokens:,}")
    if u.cache_write_tokens:
        parts.append(f"cache write {u.cache_write_tokens:,}")
    if u.reasoning_tokens:
        parts.append(f"reasoning {u.reasoning_tokens:,}")
    if u.cost_usd is not None:
        parts.append(f"${u.cost_usd:,.4f}")
    return " · ".join(parts)


@router.get("/sessions/{session_id:segment}/tree", response_class=_HTML)
async def tree_page(request: Request, session_id: str, db: Caller) -> HTMLResponse:
    session = await db.session(session_id)
    ancestors = [a for a in await db.db.ancestors(session_id) if db.visible(a)]
    root_id = ancestors[-1].id if ancestors else session.id
    root = db.prune(await db.db.tree(root_id))
    total = await db.db.tree_usage(root_id)
    return _render(
        request,
        "tree.html",
        db,
        session=session,
        root=root,
        count=sum(1 for _ in root.walk()),
        total=total,
    )


# ---------------------------------------------------------------------------- search


@router.get("/search", response_class=_HTML)
async def search_page(
    request: Request,
    db: Caller,
    q: Annotated[str, Query(max_length=1000)] = "",
    by: Annotated[str, Query(pattern="^(messages|sessions)$")] = "messages",
    role: Annotated[str, Query(max_length=20)] = "",
    session: Annotated[str, Query(max_length=255)] = "",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> HTMLResponse:
    hits: list[Any] = []
    next_cursor = None
    error = None
    possible, user_id = db.user_filter(None)
    within = await db.session(session) if session else None
    if within is not None:
        by = "messages"
    if q.strip() and possible:
        try:
            if by == "sessions":
                page: Any = await db.db.sessions_matching(
                    q, user_id=user_id, highlight=_MARK, limit=30, cursor=cursor
                )
            else:
                page = await db.db.search(
                    q,
                    session_id=within.id if within else None,
                    user_id=user_id,
                    role=role or None,
                    highlight=_MARK,
                    include_hidden=True,
                    limit=30,
                    cursor=cursor,
                )
            hits, next_cursor = page.items, page.next_cursor
        except InvalidInput as exc:
            error = str(exc)
    return _render(
        request,
        "search.html",
        db,
        q=q,
        by=by,
        role=role,
        within=within,
        hits=hits,
        next_cursor=next_cursor,
        error=error,
    )


# ---------------------------------------------------------------------------- usage


@router.get("/usage", response_class=_HTML)
async def usage_page(
    request: Request, db: Caller, days: Annotated[int, Query(ge=0, le=3650)] = 30
) -> HTMLResponse:
    possible, user_id = db.user_filter(None)
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    if possible:
        per_day = await db.db.stats(since=since, group_by="day", user_id=user_id)
        per_model = await db.db.stats(since=since, group_by="model", user_id=user_id)
        per_agent = await db.db.stats(since=since, group_by="agent", user_id=user_id)
    else:
        per_day = per_model = per_agent = Stats(totals=Totals())
    day_rows = _fill_days(per_day.groups, since)
    labels = [key for key, _ in day_rows]
    token_chart = charts.column_chart(
        labels,
        [
            ("input", [t.input_tokens for _, t in day_rows]),
            ("output", [t.output_tokens for _, t in day_rows]),
        ],
        title="Tokens per day",
    )
    cost_chart = charts.line_chart(
        labels,
        [("cost (USD)", [t.cost_usd for _, t in day_rows])],
        title="Cost per day (USD)",
        fmt=lambda v: f"${v:,.2f}",
    )
    model_chart = charts.hbar_chart(
        [(k or "(none)", t.input_tokens + t.output_tokens) for k, t in per_model.groups],
        title="Tokens per model",
    )
    model_cost_chart = charts.hbar_chart(
        [(k or "(none)", t.cost_usd) for k, t in per_model.groups],
        title="Cost per model (USD)",
        fmt=lambda v: f"${v:,.2f}",
    )
    agent_chart = charts.hbar_chart(
        [(k or "(none)", t.cost_usd) for k, t in per_agent.groups],
        title="Cost per agent (USD)",
        fmt=lambda v: f"${v:,.2f}",
    )
    agent_tokens_chart = charts.hbar_chart(
        [(k or "(none)", t.input_tokens + t.output_tokens) for k, t in per_agent.groups],
        title="Tokens per agent",
    )
    return _render(
        request,
        "usage.html",
        db,
        days=days,
        totals=per_day.totals,
        tools=per_day.tools,
        charts=[
            ("Tokens per day", token_chart),
            ("Cost per day", cost_chart),
            ("Tokens per model", model_chart),
            ("Cost per model", model_cost_chart),
            ("Tokens per agent", agent_tokens_chart),
            ("Cost per agent", agent_chart),
        ],
    )


def _fill_days(
    groups: list[tuple[str, Totals]], since: datetime | None
) -> list[tuple[str, Totals]]:
    """Day groups with the missing days in between as zeros (a gap is a real zero)."""
    found: dict[date, Totals] = {}
    for key, totals in groups:
        try:
            found[date.fromisoformat(key[:10])] = totals
        except ValueError:
            return sorted(groups)
    if not found:
        return []
    first = min(found)
    if since is not None:
        first = max(min(first, since.date()), min(found))
    last = max(found)
    if (last - first).days > 400:
        return sorted((d.isoformat(), t) for d, t in found.items())
    rows = []
    day = first
    while day <= last:
        rows.append((day.isoformat(), found.get(day, Totals())))
        day += timedelta(days=1)
    return rows


# ---------------------------------------------------------------------------- docs & login


@router.get("/docs", response_class=_HTML)
async def docs_page(request: Request) -> HTMLResponse:
    """The API reference, rendered from the app's own OpenAPI document (works offline)."""
    spec = request.app.openapi()
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tag": (op.get("tags") or ["other"])[0],
                    "params": [
                        (p["name"], p["in"], p.get("required", False))
                        for p in op.get("parameters", [])
                    ],
                    "body": bool(op.get("requestBody")),
                }
            )
    return _render(request, "docs.html", None, operations=operations, spec=spec)


@router.get("/login", response_class=_HTML)
async def login_page(
    request: Request, next: Annotated[str, Query(max_length=500)] = "/"
) -> HTMLResponse:
    return _render(request, "login.html", None, next=_local(next), error=None)


@router.post("/login", response_class=_HTML, response_model=None)
async def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> HTMLResponse | RedirectResponse:
    if request.app.state.tokens.lookup(token) is None:
        response = _render(request, "login.html", None, next=_local(next), error="Unknown token")
        response.status_code = 401
        return response
    redirect = RedirectResponse(_local(next), status_code=303)
    redirect.set_cookie(
        COOKIE_NAME, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return redirect


@router.get("/logout")
async def logout() -> RedirectResponse:
    redirect = RedirectResponse("/login", status_code=303)
    redirect.delete_cookie(COOKIE_NAME)
    return redirect


def _local(target: str) -> str:
    # Only same-site paths: an open redirect would make the login page a phishing tool.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
