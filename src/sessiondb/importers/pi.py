"""pi coding-agent sessions: ``~/.pi/agent/sessions/.../*.jsonl``.

Line 1 is ``{"type": "session", "version", "id", "timestamp", "cwd"}``; every other line
is an entry ``{"type", "id", "parentId", "timestamp", ...}`` of a *tree*: the user can
go back and branch. Messages (``type: "message"``) are stored as their ``message``
(pi's dialect: ``toolCall`` blocks, ``role: "toolResult"``), with pi's usage.

Branches become forks: the session itself follows the *first* child at every branch
point (the conversation as first had, which later writes never change, so re-imports
stay stable); every later branch is a child session ``relation="fork"`` holding the
whole path from the root (the shared prefix is copied with empty usage, so the tree's
usage counts each message once). ``compaction`` and ``branch_summary`` entries become
summary messages; entries before a compaction's ``firstKeptEntryId`` are hidden from the
model. The whole tree is held in memory: pi files are small.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import NewMessage, Usage
from ._common import (
    Begin,
    Context,
    Entry,
    Record,
    as_dict,
    as_int,
    as_str,
    as_time,
    iter_json_lines,
    usage_or_none,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "pi"
_NOT_HEADER = "the first line is not pi's session header"
_NO_HEADER = "empty file: no session header"
_SUMMARY_KINDS = ("compaction", "branch_summary")


def detect(path: Path, head: Head) -> bool:
    """True when line 1 is pi's session header."""
    first = head.first
    return (
        first is not None
        and first.get("type") == "session"
        and ("version" in first or ("cwd" in first and "id" in first))
    )


def _item(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The message item of an entry (None for entries that are not messages)."""
    kind = entry.get("type")
    if kind == "message":
        message = entry.get("message")
        if isinstance(message, dict) and isinstance(message.get("role"), str):
            return message
        return None
    if kind in _SUMMARY_KINDS:
        summary = entry.get("summary")
        if isinstance(summary, str):
            return {"role": "user", "content": [{"type": "text", "text": summary}], "kind": kind}
    return None


def _usage(item: dict[str, Any]) -> Usage:
    """pi's usage ``{input, output, cacheRead, cacheWrite, cost: {total}}``; its input
    excludes the cache, sessiondb's includes it (as for Claude Code)."""
    raw = as_dict(item.get("usage"))
    read, write = as_int(raw.get("cacheRead")), as_int(raw.get("cacheWrite"))
    base = as_int(raw.get("input"))
    total_in = None if base is None else base + (read or 0) + (write or 0)
    cost = as_dict(raw.get("cost")).get("total")
    return (
        usage_or_none(
            input_tokens=total_in,
            output_tokens=raw.get("output"),
            cache_read_tokens=read,
            cache_write_tokens=write,
            cost_usd=cost,
        )
        or Usage()
    )


def read(ctx: Context) -> Iterator[Record]:
    """Records of one pi session file (see the module docstring)."""
    header: dict[str, Any] | None = None
    entries: dict[str, tuple[int, dict[str, Any]]] = {}
    children: dict[str | None, list[str]] = {}
    model: str | None = None
    for number, line in iter_json_lines(ctx):
        if header is None:
            if line.get("type") != "session":
                raise ctx.bad_header(number, _NOT_HEADER, empty=_NO_HEADER)
            header = line
            continue
        eid = line.get("id")
        if not isinstance(eid, str) or not eid:
            ctx.skip(number, "entry has no 'id'")
            continue
        if eid in entries:
            ctx.skip(number, f"entry id {eid!r} appears again")
            continue
        parent = line.get("parentId")
        if parent is not None and (not isinstance(parent, str) or parent not in entries):
            ctx.skip(number, f"parentId {parent!r} is not an earlier entry")
            continue
        if line.get("type") == "model_change":
            model = as_str(line.get("modelId")) or model
        if line.get("type") == "message" and _item(line) is None:
            ctx.skip(number, "message entry without a message object")
            continue
        entries[eid] = (number, line)
        children.setdefault(parent, []).append(eid)
    if header is None:
        raise ctx.bad_header(None, _NOT_HEADER, empty=_NO_HEADER)
    sid = as_str(header.get("id")) or ctx.path.stem
    key = f"{SOURCE}:{sid}"
    yield Begin(
        key,
        SOURCE,
        {
            "working_dir": as_str(header.get("cwd")),
            "created_at": as_time(header.get("timestamp")),
            "model": model,
            "metadata": {"source_id": sid, "version": header.get("version")},
        },
    )
    for skey, parent_key, fork_at, path, own_start in _sessions(key, children):
        if parent_key is not None:
            # A branch began when its first own entry was written.
            first_own = entries[path[min(own_start, len(path) - 1)]][1]
            yield Begin(
                skey,
                SOURCE,
                {
                    "created_at": as_time(first_own.get("timestamp")),
                    "metadata": {"source_id": sid, "fork_at": fork_at},
                },
                parent=parent_key,
                relation="fork",
            )
        hide_before = _hidden_prefix(path, entries)
        for index, eid in enumerate(path):
            number, entry = entries[eid]
            item = _item(entry)
            if item is None:
                continue
            yield Entry(
                skey,
                NewMessage(
                    item=item,
                    id=eid,
                    created_at=as_time(entry.get("timestamp")),
                    # The shared prefix of a fork is a copy: its spend is the parent's.
                    usage=Usage() if index < own_start else _usage(item),
                    visible_to_model=index >= hide_before
                    and not (isinstance(item, dict) and item.get("excludeFromContext") is True),
                    metadata={"pi": {k: v for k, v in entry.items() if k != "message"}},
                ),
                number,
            )


def _sessions(
    key: str, children: dict[str | None, list[str]]
) -> list[tuple[str, str | None, str | None, list[str], int]]:
    """(session, parent session, fork point, path of entry ids, index where its own
    entries start) for the main line and every branch, parents first."""
    roots = children.get(None, [])
    if not roots:
        return []
    queue: list[tuple[str, str, str | None, list[str]]] = [(roots[0], key, None, [])]
    queue.extend((later, f"{key}:fork:{later}", key, []) for later in roots[1:])
    found = []
    while queue:
        start, skey, parent_key, prefix = queue.pop(0)
        path = list(prefix)
        current: str | None = start
        while current is not None:
            path.append(current)
            kids = children.get(current, [])
            queue.extend((later, f"{key}:fork:{later}", skey, list(path)) for later in kids[1:])
            current = kids[0] if kids else None
        found.append((skey, parent_key, prefix[-1] if prefix else None, path, len(prefix)))
    return found


def _hidden_prefix(path: list[str], entries: dict[str, tuple[int, dict[str, Any]]]) -> int:
    """How many entries at the start of ``path`` the last compaction on it hid."""
    for index in range(len(path) - 1, -1, -1):
        entry = entries[path[index]][1]
        if entry.get("type") == "compaction":
            kept = entry.get("firstKeptEntryId")
            if isinstance(kept, str) and kept in path[:index]:
                return path.index(kept)
            return index
    return 0


FORMAT = Format("pi", detect, read)
