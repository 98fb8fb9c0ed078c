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
from typing import Any

from . import dialects
from .errors import AlreadyExists, InvalidInput, NotFound
from .model import (
    DEFAULT_MAX_MESSAGE_BYTES,
    RELATIONS,
    STATUSES,
    ImportReport,
    NewMessage,
    PruneReport,
    Session,
    Usage,
    check_choice,
    check_id,
    check_metadata,
    check_text,
    dump_json,
    new_id,
    now_micros,
    to_micros,
    to_utc,
)
from .store import AppendInput
from .textsearch import index_document

__all__ = ["BaseStore", "PreparedMessage", "decode_cursor", "encode_cursor"]

PREVIEW_LENGTH = 120
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


def check_limit(name: str, value: int | None, *, allow_none: bool = True) -> int | None:
    """Return ``value`` if it is a non-negative int (or None when allowed)."""
    if value is None:
        if allow_none:
            return None
        raise InvalidInput(f"{name}: a value is required")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name}: expected an integer >= 0, got {value!r}")
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
        if isinstance(items, Mapping | NewMessage):
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
        if ids is not None:
            if isinstance(ids, str) or len(ids) != len(batch):
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
            if not isinstance(item, Mapping):
                raise InvalidInput(f"{where}: expected a dict, got {type(item).__name__}")
            item_json = dump_json(where, item, max_bytes=self.max_message_bytes)
            proj = dialects.project(item)
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
            meta = check_metadata(f"{where}.metadata", new.metadata if new is not None else None)
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
                    metadata_json=dump_json(f"{where}.metadata", meta) if meta else "{}",
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

    def ensure_session(self, id: str, **fields: Any) -> Session:
        """See ``Store.ensure_session``."""
        try:
            return self.get_session(id)
        except NotFound:
            pass
        try:
            return self.create_session(id, **fields)
        except AlreadyExists:
            return self.get_session(id)  # another writer created it between our two calls

    def get_session(self, session_id: str) -> Session:  # pragma: no cover - abstract
        raise NotImplementedError

    def create_session(self, id: str | None = None, **fields: Any) -> Session:  # pragma: no cover
        raise NotImplementedError

    def import_path(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """See ``Store.import_path``."""
        from .importers import import_path

        return import_path(self, path, format=format, progress=progress)  # type: ignore[arg-type]

    def export(self, session_id: str, format: str = "jsonl") -> str:
        """See ``Store.export``."""
        from .exporters import export

        return export(self, session_id, format)  # type: ignore[arg-type]

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
            self,  # type: ignore[arg-type]
            older_than=older_than,
            status=status,
            archive_dir=archive_dir,
            dry_run=dry_run,
        )
