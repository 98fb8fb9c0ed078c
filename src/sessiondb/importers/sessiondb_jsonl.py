"""sessiondb's own JSONL export (see ``exporters.py``): exact round trip.

Line 1 ``{"sessiondb_export": 1, "session": {...}}``; then one line per message with
its id, timestamps, usage, visibility, metadata and item. The session keeps its id,
fields and metadata; messages keep ids, items, usage, visibility, timestamps and seqs.

The header's ``updated_at``, ``last_message_at``, ``compaction_count``, ``compacted_at``
and usage totals
are restored once the messages are in, and a truncated session's seqs go on from where
its export starts (``update_session`` sets each), so a compacted or truncated session,
or one whose status changed after its last message, imports as it was exported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..model import NewMessage, Usage
from ._common import Begin, Context, Entry, Record, as_dict, as_str, as_time, iter_json_lines
from ._formats import Format, Head

__all__ = ["EXPORT_VERSION", "FORMAT"]
_NOT_HEADER = "not a sessiondb export header"
_NO_HEADER = "empty file: no export header"

EXPORT_VERSION = 1
_SESSION_FIELDS = ("title", "agent", "model", "user_id", "working_dir", "status")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def detect(path: Path, head: Head) -> bool:
    """True when line 1 is a sessiondb export header."""
    first = head.first
    return (
        first is not None and "sessiondb_export" in first and isinstance(first.get("session"), dict)
    )


def read(ctx: Context) -> Iterator[Record]:
    """Records of one exported session."""
    key: str | None = None
    for number, line in iter_json_lines(ctx):
        if key is None:
            session = line.get("session")
            version = line.get("sessiondb_export")
            if not isinstance(session, dict) or not isinstance(session.get("id"), str):
                raise ctx.bad_header(number, _NOT_HEADER, empty=_NO_HEADER)
            if version != EXPORT_VERSION:
                raise ctx.bad(number, f"export version {version!r} is not {EXPORT_VERSION}")
            key = session["id"]
            fields: dict[str, Any] = {name: as_str(session.get(name)) for name in _SESSION_FIELDS}
            fields["created_at"] = as_time(session.get("created_at"))
            fields["metadata"] = as_dict(session.get("metadata"))
            restore: dict[str, Any] = {}
            for name in ("updated_at", "compacted_at", "last_message_at"):
                if session.get(name) is not None:
                    restore[name] = as_time(session.get(name))
            count = session.get("compaction_count")
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                restore["compaction_count"] = count
            # Seqs are contiguous: a truncated session's first exported seq follows this.
            last, held = session.get("last_seq"), session.get("message_count")
            if isinstance(last, int) and isinstance(held, int) and _is_count(held) and last > held:
                restore["last_seq"] = last - held
            # The totals keep the usage of messages deleted before the export.
            if isinstance(session.get("usage"), dict):
                with contextlib.suppress(InvalidInput, TypeError):
                    restore["usage"] = Usage.from_dict(session["usage"])
            yield Begin(
                key,
                as_str(session.get("source")),
                fields,
                parent=as_str(session.get("parent_id")),
                relation=as_str(session.get("relation")),
                restore={k: v for k, v in restore.items() if v is not None},
            )
            continue
        item = line.get("item")
        if not isinstance(item, dict) or not isinstance(line.get("id"), str):
            ctx.skip(number, "not an exported message (no 'id' or 'item')")
            continue
        raw_usage = line.get("usage")
        try:
            usage = Usage.from_dict(raw_usage) if isinstance(raw_usage, dict) else Usage()
        except (InvalidInput, TypeError):
            ctx.skip(number, "usage is not a sessiondb usage object")
            continue
        yield Entry(
            key,
            NewMessage(
                item=item,
                id=line["id"],
                created_at=as_time(line.get("created_at")),
                model=as_str(line.get("model")),
                # An explicit empty Usage: never re-derive usage from the item.
                usage=usage,
                visible_to_model=line.get("visible_to_model") is not False,
                visible_to_user=line.get("visible_to_user") is not False,
                metadata=as_dict(line.get("metadata")),
            ),
            number,
        )
    if key is None:
        raise ctx.bad_header(None, _NOT_HEADER, empty=_NO_HEADER)


FORMAT = Format("sessiondb", detect, read, tag_source=False)
