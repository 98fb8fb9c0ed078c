"""goose sessions: ``sessions.db`` (read-only), legacy ``sessions/<id>.jsonl`` and the
pretty JSON of ``goose session export``.

Messages are goose ``Message`` objects (``toolRequest``/``toolResponse`` content, tool
results in ``user`` messages), stored as is; ``created`` is Unix seconds or
milliseconds. A legacy file's session begins at its first message (its metadata line
has no time). goose compacts by visibility, never by deletion, so
``metadata.agentVisible``/``userVisible`` become ``visible_to_model``/``visible_to_user``.
Token counters are per session in goose: they become the session's usage totals (its
accumulated spend; ``goose_usage`` in the metadata keeps them as goose wrote them)
rather than being invented per message.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..model import NewMessage, Usage
from ._common import (
    Begin,
    Context,
    Entry,
    Record,
    as_dict,
    as_str,
    as_time,
    content_id,
    iter_json_lines,
    load_json_file,
    usage_or_none,
)
from ._formats import SQLITE_ERRORS, Format, Head, open_readonly

__all__ = ["FORMAT", "FORMAT_DB", "SOURCE"]

SOURCE = "goose"
_NOT_HEADER = "the first line is not goose's session metadata"
_NO_HEADER = "empty file: no metadata line"
_META_KEYS = frozenset({"working_dir", "description", "message_count", "total_tokens"})
_USAGE_KEYS = (
    "total_tokens",
    "input_tokens",
    "output_tokens",
    "accumulated_total_tokens",
    "accumulated_input_tokens",
    "accumulated_output_tokens",
    "accumulated_cost",
    "usage",
    "accumulated_usage",
)
# Reading a foreign goose database, read-only; columns vary by schema version, hence *.
SELECT_GOOSE_SESSIONS = "SELECT * FROM sessions ORDER BY created_at, id"
SELECT_GOOSE_MESSAGES = "SELECT * FROM messages WHERE session_id = :session_id ORDER BY id"


def detect(path: Path, head: Head) -> bool:
    """True for a legacy JSONL (metadata line first) or an exported session JSON."""
    document = head.document
    if isinstance(document, dict) and isinstance(document.get("conversation"), list):
        return "working_dir" in document or "workingDir" in document
    first = head.first
    return first is not None and "role" not in first and len(_META_KEYS & first.keys()) >= 2


def detect_db(path: Path, head: Head) -> bool:
    """True for goose's sessions.db."""
    return head.tables is not None and {"sessions", "messages", "schema_version"} <= head.tables


def _session_totals(meta: dict[str, Any]) -> dict[str, Any]:
    """``Begin.restore`` for goose's own session counters: its accumulated spend (flat
    fields before v17, ``accumulated_usage`` after), else the last reported totals."""
    nested = as_dict(meta.get("accumulated_usage")) or as_dict(meta.get("usage")) or {}

    def first(*values: object) -> object:
        return next((v for v in values if v is not None), None)

    totals = usage_or_none(
        input_tokens=first(
            meta.get("accumulated_input_tokens"),
            nested.get("input_tokens"),
            meta.get("input_tokens"),
        ),
        output_tokens=first(
            meta.get("accumulated_output_tokens"),
            nested.get("output_tokens"),
            meta.get("output_tokens"),
        ),
        cache_read_tokens=first(
            meta.get("accumulated_cache_read_tokens"), nested.get("cache_read_input_tokens")
        ),
        cache_write_tokens=first(
            meta.get("accumulated_cache_write_tokens"), nested.get("cache_write_input_tokens")
        ),
        cost_usd=meta.get("accumulated_cost"),
    )
    return {} if totals is None else {"usage": totals}


def _session_fields(meta: dict[str, Any]) -> dict[str, Any]:
    title = as_str(meta.get("name")) or as_str(meta.get("description"))
    usage = {k: meta[k] for k in _USAGE_KEYS if meta.get(k) is not None}
    extra: dict[str, Any] = {}
    if usage:
        extra["goose_usage"] = usage
    for name in ("session_type", "schedule_id", "provider_name", "extension_data"):
        if meta.get(name) not in (None, {}, ""):
            extra[name] = meta[name]
    return {
        "title": " ".join(title.split()) if title else None,
        "working_dir": as_str(meta.get("working_dir")) or as_str(meta.get("workingDir")),
        "created_at": as_time(meta.get("created_at")),
        "metadata": extra,
    }


def _message(item: dict[str, Any], hashes: Counter[str]) -> NewMessage:
    visibility = as_dict(item.get("metadata"))
    return NewMessage(
        item=item,
        id=as_str(item.get("id")) or content_id("h", item, hashes),
        created_at=as_time(item.get("created")),
        usage=Usage(),
        visible_to_model=visibility.get("agentVisible") is not False,
        visible_to_user=visibility.get("userVisible") is not False,
    )


def _valid(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("role"), str)


def _file_time(path: Path) -> datetime | None:
    """When a legacy file's session began, by the file itself: the ``YYYYMMDD_HHMMSS``
    of its name (goose's session id; read as UTC, the zone is not recorded), else its
    modification time."""
    try:
        return datetime.strptime(path.stem[:15], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def read(ctx: Context) -> Iterator[Record]:
    """Records of a legacy goose JSONL or an exported session JSON.

    A legacy file's metadata line has no creation time: the session is begun at its
    first message's ``created`` (else the time in the file name, else the file's
    modification time), so the ``Begin`` waits for that message.
    """
    if ctx.path.suffix == ".json":
        yield from _read_export(ctx)
        return
    key: str | None = None
    waiting: Begin | None = None
    hashes: Counter[str] = Counter()
    for number, line in iter_json_lines(ctx):
        if key is None:
            if "role" in line:
                raise ctx.bad_header(number, _NOT_HEADER, empty=_NO_HEADER)
            source_id = ctx.path.stem  # goose forces the id to the file stem
            key = f"{SOURCE}:{source_id}"
            fields = _session_fields(line)
            fields["metadata"]["source_id"] = source_id
            waiting = Begin(key, SOURCE, fields, restore=_session_totals(line))
            continue
        if not _valid(line):
            ctx.skip(number, "message has no 'role'")
            continue
        message = _message(line, hashes)
        if waiting is not None:
            if waiting.fields.get("created_at") is None:
                waiting.fields["created_at"] = message.created_at or _file_time(ctx.path)
            yield waiting
            waiting = None
        yield Entry(key, message, number)
    if key is None:
        raise ctx.bad_header(None, _NOT_HEADER, empty=_NO_HEADER)
    if waiting is not None:  # no message at all
        if waiting.fields.get("created_at") is None:
            waiting.fields["created_at"] = _file_time(ctx.path)
        yield waiting


def _read_export(ctx: Context) -> Iterator[Record]:
    document = load_json_file(ctx)
    if not isinstance(document, dict) or not isinstance(document.get("conversation"), list):
        raise ctx.bad(1, "not a goose session export: no 'conversation' list")
    source_id = as_str(document.get("id")) or ctx.path.stem
    key = f"{SOURCE}:{source_id}"
    fields = _session_fields(document)
    fields["metadata"]["source_id"] = source_id
    yield Begin(key, SOURCE, fields, restore=_session_totals(document))
    hashes: Counter[str] = Counter()
    for index, item in enumerate(document["conversation"]):
        if not _valid(item):
            ctx.skip(index + 1, f"conversation[{index}] is not a message object")
            continue
        yield Entry(key, _message(item, hashes), index + 1)


def read_db(ctx: Context) -> Iterator[Record]:
    """Records of every session in a goose sessions.db (opened read-only)."""
    try:
        conn = open_readonly(ctx.source)
    except SQLITE_ERRORS as exc:
        raise ctx.bad(0, f"cannot open the database read-only ({exc})") from None
    conn.row_factory = sqlite3.Row
    try:
        try:
            sessions = [dict(row) for row in conn.execute(SELECT_GOOSE_SESSIONS)]
        except SQLITE_ERRORS as exc:
            raise ctx.bad(0, f"not a goose database ({exc})") from None
        for number, row in enumerate(sessions, 1):
            source_id = str(row.get("id"))
            key = f"{SOURCE}:{source_id}"
            fields = _session_fields(row)
            fields["metadata"]["source_id"] = source_id
            if isinstance(fields["metadata"].get("extension_data"), str):
                fields["metadata"]["extension_data"] = _loads(
                    fields["metadata"]["extension_data"], {}
                )
            parent = as_str(row.get("parent_session_id"))
            try:
                # A whole session is read before any of it is written (see openai_agents).
                params = {"session_id": row.get("id")}
                rows = [dict(r) for r in conn.execute(SELECT_GOOSE_MESSAGES, params)]
            except SQLITE_ERRORS as exc:
                ctx.skip(number, f"session {source_id}: messages unreadable ({exc})")
                continue
            yield Begin(
                key,
                SOURCE,
                fields,
                parent=f"{SOURCE}:{parent}" if parent else None,
                relation="subagent" if parent else None,
                restore=_session_totals(row),
            )
            hashes: Counter[str] = Counter()
            for message_row in rows:
                entry = _db_message(message_row, hashes)
                if entry is None:
                    ctx.skip(number, f"session {source_id}: a message row is unreadable")
                    continue
                yield Entry(key, entry, number)
    finally:
        conn.close()


def _loads(text: object, default: Any) -> Any:
    if not isinstance(text, str):
        return default
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return default


def _db_message(row: dict[str, Any], hashes: Counter[str]) -> NewMessage | None:
    content = _loads(row.get("content_json"), None)
    role = row.get("role")
    if not isinstance(content, list) or not isinstance(role, str):
        return None
    item: dict[str, Any] = {"id": row.get("message_id"), "role": role}
    item["created"] = row.get("created_timestamp")
    item["content"] = content
    metadata = _loads(row.get("metadata_json"), None)
    if isinstance(metadata, dict):
        item["metadata"] = metadata
    if item["id"] is None:
        item["id"] = f"row-{row.get('id')}"
    return _message(item, hashes)


FORMAT = Format("goose", detect, read)
FORMAT_DB = Format("goose_db", detect_db, read_db, sqlite=True)
