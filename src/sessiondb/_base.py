"""Backend-independent parts of a store: input preparation, cursors, shared defaults.

Everything here is plain Python over the public model; backends subclass ``BaseStore``
and add SQL. Preparation happens *before* a backend opens its write transaction, so bad
input is refused without touching the database and the lock is held only for writes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import dialects
from .errors import AlreadyExists, InvalidInput, NotFound
from .model import (
    DEFAULT_MAX_MESSAGE_BYTES,
    RELATIONS,
    STATUSES,
    ImportReport,
    Message,
    NewMessage,
    PruneReport,
    Session,
    ToolCall,
    Usage,
    check_choice,
    check_id,
    check_metadata,
    check_text,
    dump_json,
    from_micros,
    new_id,
    now_micros,
    to_micros,
    to_utc,
)
from .store import AppendInput

if TYPE_CHECKING:
    from .store import Store
from .textsearch import index_document

__all__ = [
    "BaseStore",
    "PreparedMessage",
    "decode_cursor",
    "encode_cursor",
    "message_rows",
    "new_message",
    "summarize_batch",
]

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)

PREVIEW_LENGTH = 120
MAX_INT = 1 << 62
_WS = re.compile(r"\s+")


@dataclass(slots=True)
class PreparedMessage:
    """One validated message, ready for a backend to insert."""

    id: str
    explicit_id: bool
    role: str
    item: Mapping[str, Any]
    item_json: str
    text: str
    tool_text: str | None
    search_text: str | None
    tool_call_id: str | None
    projection: dialects.Projection
    created_at: int  # microseconds since the epoch
    model: str | None
    usage: Usage | None
    visible_to_model: bool
    visible_to_user: bool
    metadata: dict[str, Any]
    metadata_json: str


@dataclass(slots=True)
class SessionFields:
    """Validated fields of a new session."""

    id: str
    title: str | None
    agent: str | None
    model: str | None
    source: str | None
    user_id: str | None
    working_dir: str | None
    parent_id: str | None
    relation: str | None
    status: str
    metadata_json: str
    created_at: int


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for keyset pagination."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: Sequence[type]) -> list[Any]:
    """Decode a cursor made by ``encode_cursor``; raise InvalidInput if it is not one."""
    if not isinstance(cursor, str):
        raise InvalidInput(f"cursor: expected a string, got {type(cursor).__name__}")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, UnicodeError):
        raise InvalidInput(f"cursor: {cursor[:40]!r} is not a cursor sessiondb made") from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise InvalidInput(f"cursor: {cursor[:40]!r} is not a cursor for this listing")
    for value, kind in zip(values, shape, strict=True):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidInput(f"cursor: {cursor[:40]!r} is not a cursor for this listing")
    return values


def make_preview(text: str) -> str | None:
    """First user text, whitespace collapsed, at most 120 characters."""
    collapsed = _WS.sub(" ", text).strip()
    if not collapsed:
        return None
    if len(collapsed) > PREVIEW_LENGTH:
        return collapsed[: PREVIEW_LENGTH - 1] + "…"
    return collapsed


def summarize_batch(batch: Sequence[PreparedMessage]) -> dict[str, Any]:
    """What a batch adds to its session's row: usage sums, newest time/model, preview.

    Keys match the parameters of each backend's RESERVE_SEQS statement.
    """
    totals: dict[str, Any] = dict.fromkeys(USAGE_FIELDS, 0)
    cost = 0.0
    model = None
    preview = None
    latest = 0
    for p in batch:
        u = p.usage
        if u is not None:
            for name in USAGE_FIELDS:
                totals[name] += getattr(u, name) or 0
            cost += u.cost_usd or 0.0
        if p.model:
            model = p.model
        if preview is None and p.role == "user" and p.text:
            preview = make_preview(p.text)
        if p.created_at > latest:
            latest = p.created_at
    totals.update(cost_usd=cost, model=model, preview=preview, latest=latest)
    return totals


def message_rows(
    session_id: str, batch: Sequence[PreparedMessage], first_seq: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Parameter dicts for INSERT_MESSAGE, INSERT_TOOL_CALL and COMPLETE_TOOL_CALL.

    Seqs are assigned in batch order from ``first_seq``; the names match every backend's
    statements, so the append algorithm is written once.
    """
    rows: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    seq = first_seq
    for p in batch:
        u = p.usage
        proj = p.projection
        rows.append(
            {
                "session_id": session_id,
                "seq": seq,
                "id": p.id,
                "role": p.role,
                "item": p.item_json,
                "text": p.text,
                "tool_text": p.tool_text,
                "search_text": p.search_text,
                "tool_call_id": p.tool_call_id,
                "has_tool_calls": 1 if proj.calls else 0,
                "created_at": p.created_at,
                "model": p.model,
                "input_tokens": u and u.input_tokens,
                "output_tokens": u and u.output_tokens,
                "cache_read_tokens": u and u.cache_read_tokens,
                "cache_write_tokens": u and u.cache_write_tokens,
                "reasoning_tokens": u and u.reasoning_tokens,
                "cost_usd": u and u.cost_usd,
                "visible_to_model": int(p.visible_to_model),
                "visible_to_user": int(p.visible_to_user),
                "metadata": p.metadata_json,
            }
        )
        for c in proj.calls:
            calls.append(
                {
                    "session_id": session_id,
                    "call_id": c.call_id,
                    "name": c.name,
                    "arguments": c.arguments,
                    "request_seq": seq,
                    "requested_at": p.created_at,
                }
            )
        for r in proj.results:
            results.append(
                {
                    "session_id": session_id,
                    "call_id": r.call_id,
                    "result_seq": seq,
                    "result_text": r.text,
                    "status": "error" if r.is_error else "ok",
                    "completed_at": p.created_at,
                }
            )
        seq += 1
    return rows, calls, results


def new_message(session_id: str, p: PreparedMessage, row: Mapping[str, Any]) -> Message:
    """The Message just stored from ``p`` (its item is the caller's own dict)."""
    seq = row["seq"]
    return Message(
        session_id=session_id,
        seq=seq,
        id=p.id,
        role=p.role,  # type: ignore[arg-type]
        item=p.item,  # type: ignore[arg-type]
        text=p.text,
        created_at=from_micros(p.created_at),
        tool_calls=[
            ToolCall(session_id, c.call_id, c.name, c.arguments, seq) for c in p.projection.calls
        ],
        tool_call_id=p.tool_call_id,
        model=p.model,
        usage=p.usage,
        visible_to_model=p.visible_to_model,
        visible_to_user=p.visible_to_user,
        metadata=p.metadata,
    )


def merge_metadata(current: Mapping[str, Any], patch: Mapping[str, Any]) -> str:
    """JSON of ``current`` with ``patch`` merged in (top level; None deletes a key)."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return dump_json("metadata", merged)


def check_limit(name: str, value: int | None, *, allow_none: bool = True) -> int | None:
    """Return ``value`` if it is an int from 0 to 2**62 (or None when allowed).

    The upper bound keeps every such value inside a signed 64-bit SQL integer on both
    backends, so a huge limit or seq is InvalidInput rather than a driver overflow.
    """
    if value is None:
        if allow_none:
            return None
        raise InvalidInput(f"{name}: a value is required")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInput(f"{name}: expected an integer from 0 to 2**62, got {value!r}")
    return value


class BaseStore:
    """Shared logic; subclasses implement the SQL parts of the ``Store`` contract."""

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    # ------------------------------------------------------------------ preparation

    def _session_fields(
        self,
        id: str | None,
        *,
        title: str | None,
        agent: str | None,
        model: str | None,
        source: str | None,
        user_id: str | None,
        working_dir: str | None,
        parent_id: str | None,
        relation: str | None,
        status: str,
        metadata: Mapping[str, Any] | None,
        created_at: Any,
    ) -> SessionFields:
        """Validate create_session's arguments; raise InvalidInput naming the field."""
        sid = new_id() if id is None else check_id("id", id)
        created = to_utc("created_at", created_at)
        meta = check_metadata("metadata", metadata)
        return SessionFields(
            id=sid,
            title=check_text("title", title),
            agent=check_text("agent", agent),
            model=check_text("model", model),
            source=check_text("source", source),
            user_id=check_text("user_id", user_id),
            working_dir=check_text("working_dir", working_dir),
            parent_id=None if parent_id is None else check_id("parent_id", parent_id),
            relation=None if relation is None else check_choice("relation", relation, RELATIONS),
            status=check_choice("status", status, STATUSES),
            metadata_json=dump_json("metadata", meta),
            created_at=now_micros() if created is None else to_micros(created),
        )

    def _prepare(
        self,
        items: AppendInput,
        ids: Sequence[str] | None,
        usage: Usage | None,
        model: str | None,
    ) -> list[PreparedMessage]:
        """Validate and project a batch; raise InvalidInput naming the bad field."""
        if type(items) is dict or isinstance(items, Mapping | NewMessage):
            batch: list[Mapping[str, Any] | NewMessage] = [items]
        elif isinstance(items, str | bytes):
            raise InvalidInput("items: expected an item dict or a list of them, got a string")
        else:
            try:
                batch = list(items)
            except TypeError:
                raise InvalidInput(
                    f"items: expected an item dict or a list of them, got {type(items).__name__}"
                ) from None
        if ids is not None and (isinstance(ids, str) or len(ids) != len(batch)):
            raise InvalidInput(f"ids: expected {len(batch)} ids, one per item")
        if usage is not None and not isinstance(usage, Usage):
            raise InvalidInput(f"usage: expected sessiondb.Usage, got {type(usage).__name__}")
        model = check_text("model", model)

        now = now_micros()
        prepared: list[PreparedMessage] = []
        seen: set[str] = set()
        for index, entry in enumerate(batch):
            where = f"items[{index}]"
            new = entry if isinstance(entry, NewMessage) else None
            item = new.item if new is not None else entry
            if type(item) is not dict and not isinstance(item, Mapping):
                raise InvalidInput(f"{where}: expected a dict, got {type(item).__name__}")
            item_json = dump_json(where, item, max_bytes=self.max_message_bytes)
            # Usage given with the message wins, so the item's own is not even read.
            given_usage = new is not None and new.usage is not None
            proj = dialects.project(item, with_usage=not given_usage)
            explicit = ids[index] if ids is not None else (new.id if new is not None else None)
            mid = new_id() if explicit is None else check_id(f"ids[{index}]", explicit)
            if mid in seen:
                raise InvalidInput(f"ids[{index}]: {mid!r} appears twice in one batch")
            seen.add(mid)
            created = to_utc(f"{where}.created_at", new.created_at) if new is not None else None
            if created is None:
                created = proj.created_at
            msg_usage = new.usage if new is not None and new.usage is not None else proj.usage
            if msg_usage is not None and not isinstance(msg_usage, Usage):
                raise InvalidInput(f"{where}.usage: expected sessiondb.Usage")
            msg_model = check_text(f"{where}.model", new.model) if new is not None else None
            raw_meta = new.metadata if new is not None else None
            if raw_meta:
                # Validated by serializing it once (check_metadata would serialize twice).
                if not isinstance(raw_meta, Mapping):
                    kind = type(raw_meta).__name__
                    raise InvalidInput(f"{where}.metadata: expected a JSON object, got {kind}")
                meta = dict(raw_meta)
                metadata_json = dump_json(f"{where}.metadata", meta)
            else:
                meta, metadata_json = {}, "{}"
            tool_text = proj.search_extra() or None
            prepared.append(
                PreparedMessage(
                    id=mid,
                    explicit_id=explicit is not None,
                    role=proj.role,
                    item=item,
                    item_json=item_json,
                    text=proj.text,
                    tool_text=tool_text,
                    search_text=index_document(proj.text, tool_text),
                    tool_call_id=proj.tool_call_id,
                    projection=proj,
                    created_at=now if created is None else to_micros(created),
                    model=msg_model or proj.model,
                    usage=msg_usage,
                    visible_to_model=bool(new.visible_to_model) if new is not None else True,
                    visible_to_user=bool(new.visible_to_user) if new is not None else True,
                    metadata=meta,
                    metadata_json=metadata_json,
                )
            )
        for text in (p.text for p in prepared):
            check_text("text", text)
        if prepared and (usage is not None or model is not None):
            target = next((p for p in prepared if p.role == "assistant"), prepared[0])
            if usage is not None:
                target.usage = usage
            if model is not None:
                target.model = model
        return prepared

    # ------------------------------------------------------------------ shared defaults

    def items(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        last: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """See ``Store.items``; backends override it with a query of the item column."""
        found = cast("Store", self).messages(
            session_id, after_seq=after_seq, before_seq=before_seq, last=last, limit=limit
        )
        return [m.item for m in found]

    def ensure_session(self, id: str, **fields: Any) -> Session:
        """See ``Store.ensure_session``."""
        store = cast("Store", self)
        try:
            return store.get_session(id)
        except NotFound:
            pass
        try:
            return store.create_session(id, **fields)
        except AlreadyExists:
            return store.get_session(id)  # another writer created it between our two calls

    def import_path(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """See ``Store.import_path``."""
        from .importers import import_path

        return import_path(cast("Store", self), path, format=format, progress=progress)

    def export(self, session_id: str, format: str = "jsonl") -> str:
        """See ``Store.export``."""
        from .exporters import export

        return export(cast("Store", self), session_id, format)

    def prune(
        self,
        *,
        older_than: timedelta,
        status: str | None = None,
        archive_dir: str | Path | None = None,
        dry_run: bool = False,
    ) -> PruneReport:
        """See ``Store.prune``."""
        from .retention import prune

        return prune(
            cast("Store", self),
            older_than=older_than,
            status=status,
            archive_dir=archive_dir,
            dry_run=dry_run,
        )
