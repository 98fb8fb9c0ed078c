"""The versioned REST API under ``/v1``: thin handlers over the tenant-scoped store.

Each handler parses, calls one store method through ``Scoped`` (which enforces tenant
isolation) and shapes the result with ``schemas``. Errors are raised, never returned:
the app's one exception handler turns them into ``{"error", "detail"}`` responses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse

from ..errors import InvalidInput, NotFound, SessionDBError
from ..model import Message, Page, Stats, Totals
from . import paths  # noqa: F401  (registers the {name:segment} path convertor)
from . import schemas as s
from .app import error_body
from .deps import Caller
from .importing import import_upload

__all__ = ["router"]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorOut, "description": text}
    for code, text in {
        401: "No or unknown bearer token",
        403: "The token's scope does not allow this",
        404: "No such session (or not visible to this token)",
        409: "Already exists, or another writer got there first",
        413: "Request body too large",
        422: "Invalid input",
    }.items()
}

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

SessionId = Annotated[str, Query(min_length=1, max_length=255)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=1000)]

_EXPORT_TYPES = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "openai": ("application/json", "json"),
}


def _page(page: Page[Any], out: Any) -> s.FastJSON:
    return s.FastJSON(
        {"items": [out(item) for item in page.items], "next_cursor": page.next_cursor}
    )


EMPTY_PAGE: dict[str, Any] = {"items": [], "next_cursor": None}


# ---------------------------------------------------------------------------- sessions


@router.post("/sessions", status_code=201, response_model=s.SessionOut, tags=["sessions"])
async def create_session(body: s.SessionCreate, db: Caller) -> dict[str, Any]:
    """Create a session (201). A tenant's sessions always get `user_id` = tenant, and
    live in its id namespace: an `id` given by a tenant token must start with
    `<tenant>:` (422 otherwise, whether or not the id is taken), and a generated one does."""
    fields = body.model_dump()
    fields["id"] = db.id_for_new(body.id)
    fields["user_id"] = db.owner_for_new(body.user_id)
    if body.parent_id is not None:
        await db.check(body.parent_id)
    session = await db.db.create_session(**fields)
    return s.session_out(session)


@router.get("/sessions", response_model=s.SessionPage, tags=["sessions"])
async def list_sessions(
    db: Caller,
    status: s.Status | None = None,
    agent: str | None = None,
    source: str | None = None,
    user_id: str | None = None,
    parent_id: str | None = None,
    roots_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Sessions newest-updated first; pass `next_cursor` back as `cursor`."""
    possible, user_id = db.user_filter(user_id)
    if not possible:
        return s.FastJSON(EMPTY_PAGE)
    page = await db.db.list_sessions(
        status=status,
        agent=agent,
        source=source,
        user_id=user_id,
        parent_id=parent_id,
        roots_only=roots_only,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return _page(page, s.session_out)


@router.get("/sessions/{session_id:segment}", response_model=s.SessionOut, tags=["sessions"])
async def get_session(session_id: str, db: Caller) -> Response:
    """One session with its counters and usage."""
    return s.FastJSON(s.session_out(await db.session(session_id)))


@router.patch("/sessions/{session_id:segment}", response_model=s.SessionOut, tags=["sessions"])
async def update_session(session_id: str, body: s.SessionPatch, db: Caller) -> dict[str, Any]:
    """Change the fields present in the body (null clears; `metadata` merges)."""
    await db.check(session_id)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "user_id" in changes:
        changes["user_id"] = db.owner_for_new(changes["user_id"])
    if changes.get("parent_id") is not None:
        await db.check(changes["parent_id"])
    if "status" in changes and changes["status"] is None:
        raise InvalidInput.about("status", "cannot be null")
    return s.session_out(await db.db.update_session(session_id, **changes))


@router.delete("/sessions/{session_id:segment}", response_model=s.DeletedOut, tags=["sessions"])
async def delete_session(session_id: str, db: Caller, recursive: bool = False) -> dict[str, int]:
    """Delete a session (and its subtree with `recursive`); returns how many."""
    await db.check(session_id)
    if recursive and db.tenant is not None:
        # A subtree can hold another tenant's sessions (linked by an admin): never delete
        # what the caller cannot see.
        tree = await db.db.tree(session_id)
        if any(not db.visible(node.session) for node in tree.walk()):
            raise InvalidInput.about("recursive", "the subtree has sessions of another tenant")
    return {"deleted": await db.db.delete_session(session_id, recursive=recursive)}


# ---------------------------------------------------------------------------- messages


@router.post(
    "/sessions/{session_id:segment}/messages",
    status_code=201,
    response_model=s.MessageList,
    tags=["messages"],
)
async def append(session_id: str, body: s.AppendIn, db: Caller) -> Response:
    """Append items in one transaction; returns the stored messages (already stored ids
    come back as stored). 409 when `expect_last_seq` is stale."""
    await db.check(session_id)
    for other in body.other_metadata or ():
        await db.check(other)  # a tenant writes only into its own sessions
    stored = await db.db.append(
        session_id,
        body.items,
        ids=body.ids,
        usage=s.usage_in(body.usage),
        model=body.model,
        expect_last_seq=body.expect_last_seq,
        session_metadata=body.session_metadata,
        other_metadata=body.other_metadata,
    )
    return s.FastJSON({"messages": [s.message_out(m) for m in stored]}, status_code=201)


@router.patch(
    "/sessions/{session_id:segment}/messages/{message_id:segment}",
    response_model=s.MessageOut,
    tags=["messages"],
)
async def update_message(
    session_id: str, message_id: str, body: s.MessagePatch, db: Caller
) -> Response:
    """Change the fields present in the body of one stored message; returns it."""
    await db.check(session_id)
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name.startswith("visible_to_") and value is None:
            raise InvalidInput.about(name, "cannot be null")
        changes[name] = s.usage_in(value) if name == "usage" else value
    message = await db.db.update_message(session_id, message_id, **changes)
    return s.FastJSON(s.message_out(message))


@router.get(
    "/sessions/{session_id:segment}/messages", response_model=s.MessageList, tags=["messages"]
)
async def messages(
    session_id: str,
    db: Caller,
    after_seq: Annotated[int | None, Query(ge=0, le=s.MAX_INT)] = None,
    before_seq: Annotated[int | None, Query(ge=0, le=s.MAX_INT)] = None,
    last: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    limit: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> Response:
    """Messages oldest first; `last=K` gives the K newest, `limit=N` the N oldest."""
    await db.check(session_id)
    found = await db.db.messages(
        session_id, after_seq=after_seq, before_seq=before_seq, last=last, limit=limit
    )
    return s.FastJSON({"messages": [s.message_out(m) for m in found]})


def _sse(event: str, data: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


_BATCH = 500
_REMEMBERED = 1000  # ids of the newest messages sent, to find what a rewrite left intact
log = logging.getLogger(__name__)


def _last_event_id(request: Request) -> int | None:
    """The ``Last-Event-ID`` header as a seq (None when absent). Raises InvalidInput for
    anything but an integer in 0..2**62, the range of the ``after_seq`` parameter."""
    header = request.headers.get("last-event-id", "").strip()
    if not header:
        return None
    if not (header.isascii() and header.isdigit()) or int(header) > s.MAX_INT:
        raise InvalidInput.about("Last-Event-ID", f"must be an integer from 0 to {s.MAX_INT}")
    return int(header)


class _Follower:
    """What one event stream has sent: the seq it is at and the ids of the newest
    messages it sent, so a history rewritten under it (``Store.pop`` then an append
    reusing the seq, ``Store.clear``, the session deleted and created again) is noticed
    and the stream resumes from the last seq both still agree on."""

    def __init__(self, db: Caller, session_id: str, seen: int) -> None:
        self.db, self.session_id, self.seen = db, session_id, seen
        self.sent: dict[int, str] = {}  # seq -> id, oldest first, at most _REMEMBERED
        self.stale = False  # the history was rewritten: the next poll sends a reset

    async def open(self, last_seq: int) -> None:
        """Remember the message the client says it has (the one at ``seen``)."""
        if self.seen == 0:
            return
        if self.seen > last_seq:
            self.stale = True  # the client has more than the session holds now
            return
        found = await self.db.db.messages(self.session_id, after_seq=self.seen - 1, limit=1)
        if found and found[0].seq == self.seen:
            self.sent[self.seen] = found[0].id

    def remember(self, message: Message) -> None:
        self.sent[message.seq] = message.id
        self.seen = message.seq
        if len(self.sent) > _REMEMBERED:
            del self.sent[next(iter(self.sent))]

    async def poll(self) -> list[Message]:
        """The messages after ``seen``; sets ``stale`` instead when the history was
        rewritten. One query when the message at ``seen`` is known and still there (the
        common case): it is read along with the new ones and its id compared."""
        known = self.sent.get(self.seen)
        if known is None:
            batch = await self.db.db.messages(self.session_id, after_seq=self.seen, limit=_BATCH)
            if not batch and self.seen > 0:
                await self._check_last_seq()
            return batch
        batch = await self.db.db.messages(
            self.session_id, after_seq=self.seen - 1, limit=_BATCH + 1
        )
        if batch and batch[0].seq == self.seen:
            if batch[0].id != known:
                self.stale = True  # another message took the seq
                return []
            return batch[1:]
        # The message at seen is gone. Newer ones after it mean it was deleted
        # (``truncate``) and the history goes on; none, that it may have been popped.
        self.sent.pop(self.seen, None)
        if not batch:
            await self._check_last_seq()
        return batch

    async def _check_last_seq(self) -> None:
        session = await self.db.db.get_session(self.session_id)
        if session.last_seq < self.seen:
            self.stale = True

    async def reset(self) -> tuple[int, int]:
        """Go back to the newest seq whose message is still the one sent (0 if none is
        known); returns (that seq, the session's last_seq)."""
        kept = 0
        if self.sent:
            low = next(iter(self.sent))
            stored = await self.db.db.messages(
                self.session_id, after_seq=low - 1, before_seq=self.seen + 1
            )
            ids = {m.seq: m.id for m in stored}
            for seq, message_id in self.sent.items():
                if ids.get(seq) != message_id:
                    break
                kept = seq
        session = await self.db.db.get_session(self.session_id)
        kept = min(kept, session.last_seq)
        self.sent = {seq: i for seq, i in self.sent.items() if seq <= kept}
        self.seen, self.stale = kept, False
        return kept, session.last_seq


@router.get(
    "/sessions/{session_id:segment}/events",
    tags=["messages"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
)
async def events(
    session_id: str,
    request: Request,
    db: Caller,
    after_seq: Annotated[int | None, Query(ge=0, le=s.MAX_INT)] = None,
    max_seconds: Annotated[
        float, Query(alias="timeout", gt=0, le=3600, description="Seconds until the stream ends")
    ] = 300.0,
) -> StreamingResponse:
    """Server-Sent Events: each new message of the session as `event: message` (id =
    seq), starting after `after_seq` (or the `Last-Event-ID` header, an integer like
    `after_seq`, else now).

    When the history is rewritten under the stream (`pop` then an append that reuses
    the seq, `clear`, the session deleted and created again), the stream sends
    `event: reset` with data `{"after_seq": k, "last_seq": n}` (id = k): drop what you
    hold after seq `k`; the messages after `k` follow as `event: message`. `k` is the
    newest seq the stream sent whose message is still stored (0 when none is).

    The stream ends with `event: timeout` (data `{"last_seq"}`) after `timeout` seconds,
    `event: deleted` (data `{"last_seq"}`) when the session is deleted, or
    `event: error` (data `{"error", "detail"}`) when the store fails; or when the client
    goes away. Reconnect (with `Last-Event-ID`) to go on."""
    header = _last_event_id(request)
    session = await db.session(session_id)
    start = after_seq if after_seq is not None else header
    follower = _Follower(db, session_id, session.last_seq if start is None else start)
    await follower.open(session.last_seq)
    interval: float = request.app.state.sse_interval
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds

    async def stream() -> AsyncIterator[str]:
        last_sent = loop.time()
        yield ": sessiondb events\nretry: 1000\n\n"
        try:
            while loop.time() < deadline:
                if await request.is_disconnected():
                    return
                batch = await follower.poll()
                if follower.stale:
                    kept, last_seq = await follower.reset()
                    yield _sse("reset", json.dumps({"after_seq": kept, "last_seq": last_seq}), kept)
                    last_sent = loop.time()
                    continue
                for message in batch:
                    data = json.dumps(jsonable_encoder(s.message_out(message)), ensure_ascii=False)
                    yield _sse("message", data, message.seq)
                    follower.remember(message)
                if batch:
                    last_sent = loop.time()
                elif loop.time() - last_sent > 15:
                    yield ": keep-alive\n\n"  # proxies close idle connections
                    last_sent = loop.time()
                if len(batch) < _BATCH:
                    await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
        except NotFound:
            # Deleted (or no longer visible) while followed: say so, and end the response
            # properly rather than breaking it off.
            yield _sse("deleted", json.dumps({"last_seq": follower.seen}))
            return
        except Exception as exc:
            # Headers are sent: an error can only be an event now, never a status.
            if not isinstance(exc, SessionDBError):
                log.exception("event stream of session %r failed", session_id)
            yield _sse("error", json.dumps(jsonable_encoder(error_body(exc))))
            return
        yield _sse("timeout", json.dumps({"last_seq": follower.seen}))

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------------------- history


@router.get("/sessions/{session_id:segment}/history", response_model=s.HistoryOut, tags=["history"])
async def history(
    session_id: str,
    db: Caller,
    max_messages: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    max_tokens: Annotated[int | None, Query(ge=1, le=s.MAX_INT)] = None,
) -> dict[str, Any]:
    """The prompt-ready items (newest model-visible messages that fit), oldest first."""
    await db.check(session_id)
    items = await db.db.history(session_id, max_messages=max_messages, max_tokens=max_tokens)
    return {"items": items}


@router.post(
    "/sessions/{session_id:segment}/compact", response_model=s.MessageOut, tags=["history"]
)
async def compact(session_id: str, body: s.CompactIn, db: Caller) -> dict[str, Any]:
    """Hide everything before the last `keep_last` messages behind `summary`."""
    await db.check(session_id)
    message = await db.db.compact(
        session_id, body.summary, keep_last=body.keep_last, summary_role=body.summary_role
    )
    return s.message_out(message)


@router.post(
    "/sessions/{session_id:segment}/fork",
    status_code=201,
    response_model=s.SessionOut,
    tags=["history"],
)
async def fork(session_id: str, body: s.ForkIn, db: Caller) -> dict[str, Any]:
    """Copy the session up to `at_seq` into a new child session (201). For a tenant
    token the child's `id` follows the rule of creating a session: it starts with
    `<tenant>:`."""
    await db.check(session_id)
    child_id = db.id_for_new(body.id)
    child = await db.db.fork(session_id, at_seq=body.at_seq, title=body.title, id=child_id)
    if db.tenant is not None and child.user_id != db.tenant:
        child = await db.db.update_session(child.id, user_id=db.tenant)
    return s.session_out(child)


@router.get("/sessions/{session_id:segment}/tree", response_model=s.TreeNodeOut, tags=["lineage"])
async def tree(session_id: str, db: Caller) -> dict[str, Any]:
    """The session and its whole subtree (sessions of other tenants left out)."""
    await db.check(session_id)
    return s.tree_out(db.prune(await db.db.tree(session_id)))


@router.get(
    "/sessions/{session_id:segment}/ancestors", response_model=list[s.SessionOut], tags=["lineage"]
)
async def ancestors(session_id: str, db: Caller) -> list[dict[str, Any]]:
    """Parent, grandparent, ... root (only those the caller may see)."""
    await db.check(session_id)
    found = await db.db.ancestors(session_id)
    return [s.session_out(a) for a in found if db.visible(a)]


# ---------------------------------------------------------------------------- search & stats

Query_ = Annotated[str, Query(min_length=1, max_length=1000, description="Search words")]


@router.get("/search", response_model=s.SearchPage, tags=["search"])
async def search(
    db: Caller,
    q: Query_,
    session_id: str | None = None,
    agent: str | None = None,
    source: str | None = None,
    user_id: str | None = None,
    role: s.Role | None = None,
    tool: str | None = None,
    status: s.Status | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_hidden: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Cursor = None,
) -> Response:
    """Full-text search over messages, best first; snippets mark hits with `[...]`."""
    possible, user_id = db.user_filter(user_id)
    if not possible:
        return s.FastJSON(EMPTY_PAGE)
    if session_id is not None:
        await db.check(session_id)
    page = await db.db.search(
        q,
        session_id=session_id,
        agent=agent,
        source=source,
        user_id=user_id,
        role=role,
        tool=tool,
        status=status,
        since=since,
        until=until,
        include_hidden=include_hidden,
        limit=limit,
        cursor=cursor,
    )
    return _page(page, s.hit_out)


@router.get("/search/sessions", response_model=s.SessionHitPage, tags=["search"])
async def search_sessions(
    db: Caller,
    q: Query_,
    agent: str | None = None,
    source: str | None = None,
    user_id: str | None = None,
    status: s.Status | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_hidden: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Cursor = None,
) -> Response:
    """Sessions ranked by their best hit, with hit counts."""
    possible, user_id = db.user_filter(user_id)
    if not possible:
        return s.FastJSON(EMPTY_PAGE)
    page = await db.db.sessions_matching(
        q,
        agent=agent,
        source=source,
        user_id=user_id,
        status=status,
        since=since,
        until=until,
        include_hidden=include_hidden,
        limit=limit,
        cursor=cursor,
    )
    return _page(page, s.session_hit_out)


@router.get("/stats", response_model=s.StatsOut, tags=["stats"])
async def stats(
    db: Caller,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: s.GroupByName | None = None,
    agent: str | None = None,
    source: str | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """Totals, optional groups (by day/week/month/model/agent/...) and per-tool figures."""
    possible, user_id = db.user_filter(user_id)
    if not possible:
        return s.stats_out(Stats(totals=Totals()))
    result = await db.db.stats(
        since=since, until=until, group_by=group_by, agent=agent, source=source, user_id=user_id
    )
    return s.stats_out(result)


# ---------------------------------------------------------------------------- import/export


@router.post("/import", response_model=s.ImportReportOut, tags=["import/export"])
async def import_file(
    request: Request,
    db: Caller,
    file: Annotated[UploadFile, File(description="A transcript file (any supported format)")],
    format: Annotated[str | None, Form(max_length=50)] = None,
) -> dict[str, Any]:
    """Import an uploaded transcript. The server writes it to a temporary file of its
    own; no client-given path is ever read or written. For a tenant token, each session
    of the file is stored as `<tenant>:<id in the file>` (ids already starting with
    `<tenant>:` are kept) and belongs to the tenant."""
    # Keep only a harmless suffix of the client's name: some formats are detected by it.
    suffix = PurePath(file.filename or "upload").suffix[:16]
    if not suffix.replace(".", "").isalnum():
        suffix = ""
    with tempfile.TemporaryDirectory(prefix="sessiondb-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                out.write(chunk)
        # Reports and errors name files: show the client its own file name, not our path.
        shown = PurePath(file.filename or "upload").name or "upload"
        try:
            report = await import_upload(db, path, format=format or None)
        except SessionDBError as exc:
            raise type(exc)(str(exc).replace(str(path), shown)) from exc
    result = s.import_report_out(report)
    for line in result["skipped"]:
        line["path"] = line["path"].replace(str(path), shown)
    result["errors"] = {k.replace(str(path), shown): v for k, v in result["errors"].items()}
    return result


@router.get(
    "/sessions/{session_id:segment}/export",
    tags=["import/export"],
    response_class=Response,
    responses={
        200: {
            "description": "The session as a file",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/markdown": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def export(session_id: str, db: Caller, format: s.ExportFormat = "jsonl") -> Response:
    """Download the session as `jsonl` (lossless, re-importable), `markdown` or
    `openai` (a JSON message list)."""
    await db.check(session_id)
    text = await db.db.export(session_id, format)
    media_type, ext = _EXPORT_TYPES[format]
    # ASCII only: header values are latin-1, and a name must not carry a path.
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in session_id)
    safe = safe[:100]
    return Response(
        text,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}.{ext}"'},
    )
