"""nanobot sessions: ``<sessions dir>/<base64url key>.jsonl`` (older: ``<key with _>.jsonl``).

Line 1 is a metadata record ``{"_type": "metadata", "key", "created_at", "updated_at",
"metadata", "last_consolidated"|"last_archived"}``; other ``_type`` records
(``provider_state``) are skipped; every other line is an OpenAI-chat message with
nanobot extras (``timestamp``, ``reasoning_content``...), stored as is.

* Session: ``nanobot:<key>``; the key comes from the record, else the base64url file
  name, else the file stem (v1 files, lossy ``_`` for ``:``).
* Consolidation: the first ``last_consolidated`` messages were summarised by nanobot and
  are no longer replayed, so they are imported with ``visible_to_model=False``.
* Corrupt lines are skipped and reported (nanobot's own repair does the same).
* Ids are content hashes: nanobot rewrites the whole file on every save.
* Timestamps are naive local time in the file; they are read as UTC.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import NewMessage, Usage
from ._common import (
    Begin,
    Clock,
    Context,
    Entry,
    Record,
    as_dict,
    as_int,
    as_str,
    as_time,
    content_id,
    iter_json_lines,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "nanobot"
_NOT_HEADER = "the first record is not nanobot's metadata record"
_NO_HEADER = "empty file: no metadata record"


def detect(path: Path, head: Head) -> bool:
    """True when the first line is nanobot's metadata record."""
    first = head.first
    return first is not None and first.get("_type") == "metadata"


def _key_from_name(stem: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(stem + "=" * (-len(stem) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return stem
    if decoded.isprintable() and ":" in decoded:
        return decoded
    return stem


def read(ctx: Context) -> Iterator[Record]:
    """Records of one nanobot session file (see the module docstring)."""
    key: str | None = None
    consolidated = 0
    hashes: Counter[str] = Counter()
    position = 0
    clock = Clock()
    for number, line in iter_json_lines(ctx):
        if key is None:
            if line.get("_type") != "metadata":
                raise ctx.bad_header(number, _NOT_HEADER, empty=_NO_HEADER)
            source_key = as_str(line.get("key")) or _key_from_name(ctx.path.stem)
            key = f"{SOURCE}:{source_key}"
            meta = as_dict(line.get("metadata"))
            last = line.get("last_archived", line.get("last_consolidated"))
            consolidated = as_int(last) or 0
            extra: dict[str, Any] = {"source_id": source_key}
            if meta:
                extra["nanobot"] = meta
            extra["last_consolidated"] = consolidated
            clock = Clock(as_time(line.get("created_at")))
            yield Begin(
                key,
                SOURCE,
                {
                    "title": as_str(meta.get("title")),
                    "created_at": as_time(line.get("created_at")),
                    "metadata": extra,
                },
            )
            continue
        if "_type" in line:
            continue  # provider_state and future private records
        if not isinstance(line.get("role"), str):
            ctx.skip(number, "message has no 'role'")
            continue
        position += 1
        yield Entry(
            key,
            NewMessage(
                item=line,
                id=content_id("h", line, hashes),
                created_at=clock.at(line.get("timestamp")),
                usage=Usage(),
                visible_to_model=position > consolidated,
            ),
            number,
        )
    if key is None:
        raise ctx.bad_header(None, _NOT_HEADER, empty=_NO_HEADER)


FORMAT = Format("nanobot", detect, read)
