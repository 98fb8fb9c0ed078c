"""Request and response bodies of the HTTP API (pydantic models -> /openapi.json).

Responses are built from the store's dataclasses by the ``*_out`` functions, so the
JSON shape is exactly the model's field names. Request models forbid unknown fields:
a typo is a 422, not a silently ignored option.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from ..model import (
    ImportReport,
    Message,
    SearchHit,
    Session,
    SessionHit,
    Stats,
    ToolCall,
    TreeNode,
    Usage,
)

Status = Literal["active", "completed", "failed", "interrupted", "archived"]
Relation = Literal["subagent", "fork", "compaction", "continuation"]
Role = Literal["system", "developer", "user", "assistant", "tool"]
ToolStatus = Literal["pending", "ok", "error"]
ExportFormat = Literal["jsonl", "markdown", "openai"]
GroupByName = Literal["day", "week", "month", "model", "agent", "source", "tool", "status"]

_FORBID = ConfigDict(extra="forbid")
# Integers the API accepts stay well inside SQLite INTEGER and PostgreSQL BIGINT.
MAX_INT = 2**62


_ID_TEXT = (
    "The new session's id; generated when omitted. With a tenant token it must start "
    "with `<tenant>:` (the tenant's id namespace; any other id is a 422, taken or not), "
    "and a generated id gets that prefix."
)


class ErrorOut(BaseModel):
    """Every error: the exception class name and a human-readable detail."""

    error: str
    detail: Any = None


class UsageModel(BaseModel):
    """Token and cost counters; unset counters are null."""

    model_config = _FORBID
    input_tokens: int | None = Field(default=None, ge=0, le=MAX_INT)
    output_tokens: int | None = Field(default=None, ge=0, le=MAX_INT)
    cache_read_tokens: int | None = Field(default=None, ge=0, le=MAX_INT)
    cache_write_tokens: int | None = Field(default=None, ge=0, le=MAX_INT)
    reasoning_tokens: int | None = Field(default=None, ge=0, le=MAX_INT)
    cost_usd: float | None = Field(default=None, ge=0)


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
    title: str | None
    agent: str | None
    model: str | None
    source: str | None
    user_id: str | None
    working_dir: str | None
    parent_id: str | None
    relation: str | None
    status: str
    metadata: dict[str, Any]
    last_message_at: datetime | None
    message_count: int
    last_seq: int
    usage: UsageModel
    preview: str | None
    compaction_count: int
    compacted_at: datetime | None


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


class SessionCreate(BaseModel):
    """A new session; ``id`` is generated when omitted."""

    model_config = _FORBID
    id: str | None = Field(default=None, description=_ID_TEXT)
    title: str | None = None
    agent: str | None = None
    model: str | None = None
    source: str | None = None
    user_id: str | None = None
    working_dir: str | None = None
    parent_id: str | None = None
    relation: Relation | None = None
    status: Status = "active"
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None


class SessionPatch(BaseModel):
    """Fields to change; omitted fields stay, null clears. ``metadata`` merges."""

    model_config = _FORBID
    title: str | None = None
    agent: str | None = None
    model: str | None = None
    source: str | None = None
    user_id: str | None = None
    working_dir: str | None = None
    parent_id: str | None = None
    relation: Relation | None = None
    status: Status | None = None
    metadata: dict[str, Any] | None = None


class DeletedOut(BaseModel):
    deleted: int


class ToolCallOut(BaseModel):
    session_id: str
    call_id: str
    name: str
    arguments: str
    request_seq: int
    result_seq: int | None
    result_text: str | None
    status: str
    duration_ms: int | None


class MessageOut(BaseModel):
    session_id: str
    seq: int
    id: str
    role: str
    item: dict[str, Any]
    text: str
    created_at: datetime
    tool_calls: list[ToolCallOut]
    tool_call_id: str | None
    model: str | None
    usage: UsageModel | None
    visible_to_model: bool
    visible_to_user: bool
    metadata: dict[str, Any]


class MessageList(BaseModel):
    messages: list[MessageOut]


class AppendIn(BaseModel):
    """Items to append in one transaction (any dialect ``append`` accepts).

    ``ids`` makes the append idempotent: a message whose id is stored is not written
    again. ``expect_last_seq`` makes it conditional (409 Conflict when another writer
    appended first).
    """

    model_config = _FORBID
    items: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    ids: list[str] | None = None
    usage: UsageModel | None = None
    model: str | None = None
    expect_last_seq: int | None = Field(default=None, ge=0, le=MAX_INT)
    session_metadata: dict[str, Any] | None = None
    #: session id -> metadata to merge into that (other) session in the same transaction
    other_metadata: dict[str, dict[str, Any]] | None = None


class MessagePatch(BaseModel):
    """Fields of a stored message to change; omitted fields stay. ``usage`` null clears
    it (the session's totals follow), ``metadata`` replaces (null empties it). The item,
    seq and timestamps never change."""

    model_config = _FORBID
    usage: UsageModel | None = None
    visible_to_model: bool | None = None
    visible_to_user: bool | None = None
    metadata: dict[str, Any] | None = None


class HistoryOut(BaseModel):
    items: list[dict[str, Any]]


class CompactIn(BaseModel):
    model_config = _FORBID
    summary: str | dict[str, Any]
    keep_last: int = Field(default=0, ge=0, le=MAX_INT)
    summary_role: Literal["user", "assistant", "system", "developer"] = "user"


class ForkIn(BaseModel):
    model_config = _FORBID
    at_seq: int | None = Field(default=None, ge=0, le=MAX_INT)
    title: str | None = None
    id: str | None = Field(default=None, description=_ID_TEXT)


class TreeNodeOut(BaseModel):
    session: SessionOut
    children: list[TreeNodeOut]


class SearchHitOut(BaseModel):
    session_id: str
    seq: int
    role: str
    snippet: str
    rank: float
    created_at: datetime
    title: str | None
    agent: str | None
    message_id: str | None


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None


class SessionHitOut(BaseModel):
    session: SessionOut
    hits: int
    best_rank: float
    best_seq: int
    snippet: str


class SessionHitPage(BaseModel):
    items: list[SessionHitOut]
    next_cursor: str | None


class TotalsOut(BaseModel):
    sessions: int
    messages: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float


class GroupOut(TotalsOut):
    key: str


class ToolStatsOut(BaseModel):
    name: str
    calls: int
    errors: int
    error_rate: float | None
    median_duration_ms: float | None


class StatsOut(BaseModel):
    totals: TotalsOut
    groups: list[GroupOut]
    tools: list[ToolStatsOut]


class SkippedLineOut(BaseModel):
    path: str
    line: int
    reason: str


class ImportReportOut(BaseModel):
    files: int
    sessions_created: int
    sessions_updated: int
    messages_added: int
    messages_updated: int
    skipped: list[SkippedLineOut]
    errors: dict[str, str]
    session_ids: list[str]


# ---------------------------------------------------------------------------- builders


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class FastJSON(Response):
    """A JSON response serialized straight from dicts (no pydantic round trip).

    Handlers return it with the same shape as their ``response_model`` (which still
    documents the schema; the schemathesis tests check the two agree): re-validating
    50 messages per request cost more than the query.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, default=_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")


def usage_in(model: UsageModel | None) -> Usage | None:
    """The store's Usage for a request's usage (None stays None)."""
    return None if model is None else Usage(**model.model_dump())


# dataclasses.asdict deep-copies every item dict: 5 ms for 50 messages. These build the
# same shapes shallowly (the values are serialized at once and never mutated).
_USAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Usage))
_CALL_FIELDS = tuple(f.name for f in dataclasses.fields(ToolCall))
_SESSION_FIELDS = tuple(f.name for f in dataclasses.fields(Session) if f.name != "usage")
_MESSAGE_FIELDS = tuple(
    f.name for f in dataclasses.fields(Message) if f.name not in ("usage", "tool_calls")
)


def usage_out(usage: Usage) -> dict[str, Any]:
    """A Usage as the JSON object of ``UsageModel`` (every counter, null when unset)."""
    return {name: getattr(usage, name) for name in _USAGE_FIELDS}


def session_out(session: Session) -> dict[str, Any]:
    """A Session as the JSON object of ``SessionOut``."""
    out = {name: getattr(session, name) for name in _SESSION_FIELDS}
    out["usage"] = usage_out(session.usage)
    return out


def tool_call_out(call: ToolCall) -> dict[str, Any]:
    """A ToolCall as the JSON object of ``ToolCallOut``."""
    return {name: getattr(call, name) for name in _CALL_FIELDS}


def message_out(message: Message) -> dict[str, Any]:
    """A Message as the JSON object of ``MessageOut``."""
    out = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    out["tool_calls"] = [tool_call_out(c) for c in message.tool_calls]
    out["usage"] = None if message.usage is None else usage_out(message.usage)
    return out


def tree_out(node: TreeNode) -> dict[str, Any]:
    return {"session": session_out(node.session), "children": [tree_out(c) for c in node.children]}


def hit_out(hit: SearchHit) -> dict[str, Any]:
    return dataclasses.asdict(hit)


def session_hit_out(hit: SessionHit) -> dict[str, Any]:
    return {
        "session": session_out(hit.session),
        "hits": hit.hits,
        "best_rank": hit.best_rank,
        "best_seq": hit.best_seq,
        "snippet": hit.snippet,
    }


def stats_out(stats: Stats) -> dict[str, Any]:
    """Stats with each group flattened to ``{"key": ..., <totals>}``."""
    return {
        "totals": dataclasses.asdict(stats.totals),
        "groups": [{"key": key, **dataclasses.asdict(t)} for key, t in stats.groups],
        "tools": [dataclasses.asdict(t) for t in stats.tools],
    }


def import_report_out(report: ImportReport) -> dict[str, Any]:
    return dataclasses.asdict(report)
