"""Claude Code transcripts: ``~/.claude/projects/<encoded-cwd>/<sessionId>.jsonl``.

Each ``user``/``assistant``/``system`` line becomes one message; its item is the line's
``message`` (the Anthropic API message, stored as is) and the rest of the line (uuid,
parentUuid, cwd, toolUseResult...) is kept in ``metadata["claude_code"]``.

* Ids: the line's ``uuid`` (a hash of the line's content when it has none).
* Usage: Claude Code splits one API message over several lines sharing ``message.id``,
  each repeating the usage so far (it changes while streaming). The message id's usage
  is its *last* line's, counted once: it is put on the message of the id's first line,
  corrected by an ``Amend`` whenever a later line reports another usage, and the later
  lines carry none. A file cut between two lines of one id and imported again ends
  with the same numbers. Input tokens include cache reads and cache writes
  (sessiondb's convention).
* Compaction: everything before the last ``compact_boundary`` is imported with
  ``visible_to_model=False``; the summary line after it stays visible.
* System lines (boundaries, hooks, notices) are kept, hidden from the model.
* Sub-agents (``<sid>/subagents/agent-<id>.jsonl``, older ``agent-<id>.jsonl``, and
  ``isSidechain`` chains inside a main transcript) become child sessions,
  ``relation="subagent"``.
* Titles: ``custom-title``, else ``ai-title``, else a ``summary`` line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import NewMessage, Usage
from ._common import (
    Amend,
    Begin,
    Clock,
    Context,
    Entry,
    Record,
    as_dict,
    as_int,
    as_str,
    content_id,
    iter_json_lines,
    strip_keys,
    usage_or_none,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "claude-code"
_CONVERSATION = ("user", "assistant")
_AGENT_FILE = re.compile(r"agent-[0-9a-f]{6,}")
_HEADER_KINDS = frozenset({"summary", "file-history-snapshot", "queue-operation", "ai-title"})
# Title lines: kind -> (rank, field); a user's custom title beats the AI's, beats a summary.
_TITLES = {
    "custom-title": (3, "customTitle"),
    "ai-title": (2, "aiTitle"),
    "summary": (1, "summary"),
}


def detect(path: Path, head: Head) -> bool:
    """True for a Claude Code transcript (a line with ``sessionId`` and ``type``/``uuid``)."""
    for line in head.lines:
        if isinstance(line, dict) and "sessionId" in line and ("type" in line or "uuid" in line):
            return True
    first = head.first
    # as_str: a "type" of the wrong type (a list) is no header kind, and is unhashable.
    return first is not None and as_str(first.get("type")) in _HEADER_KINDS and "role" not in first


def _last_boundary(path: Path) -> int:
    """Line number of the last compact_boundary (0 when none); a quick byte scan."""
    last = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if b'"compact_boundary"' in raw and b'"subtype"' in raw:
                last = number
    return last


def _usage(raw: object) -> Usage | None:
    u = as_dict(raw)
    if not u:
        return None
    base = as_int(u.get("input_tokens"))
    write = as_int(u.get("cache_creation_input_tokens"))
    read = as_int(u.get("cache_read_input_tokens"))
    output = as_int(u.get("output_tokens"))
    if base is None and write is None and read is None and output is None:
        return None
    return usage_or_none(
        input_tokens=(base or 0) + (write or 0) + (read or 0),  # past the bound: dropped
        output_tokens=output,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _identity(path: Path, line: dict[str, Any]) -> tuple[str, str | None]:
    """(session id in sessiondb, parent's id or None) for the file holding ``line``."""
    sid = as_str(line.get("sessionId")) or path.stem
    if path.parent.name == "subagents":  # <sid>/subagents/agent-<id>.jsonl
        parent = path.parent.parent.name
        return f"{SOURCE}:{parent}/{path.stem}", f"{SOURCE}:{parent}"
    if _AGENT_FILE.fullmatch(path.stem) and sid != path.stem:  # older agent-<id>.jsonl
        return f"{SOURCE}:{sid}/{path.stem}", f"{SOURCE}:{sid}"
    return f"{SOURCE}:{sid}", None


def _sidechain(
    key: str, line: dict[str, Any], uid: str, chains: dict[str, str]
) -> tuple[str, bool]:
    """(session of a sidechain line inside a main transcript, whether it is new).

    Older Claude Code wrote a Task sub-agent's conversation into the main file with
    ``isSidechain: true``; each chain (a line whose parent is not in a known chain starts
    one) becomes a child session ``<session>/sidechain-<first uuid>``.
    """
    parent = line.get("parentUuid")
    child = chains.get(parent) if isinstance(parent, str) else None
    new = child is None
    if child is None:
        child = f"{key}/sidechain-{uid}"
    chains[uid] = child
    return child, new


def read(ctx: Context) -> Iterator[Record]:
    """Records of one Claude Code transcript (see the module docstring)."""
    boundary = _last_boundary(ctx.path)
    key: str | None = None
    begin: Begin | None = None
    title: tuple[int, str] | None = None
    seen_ids: set[str] = set()
    hashes: Counter[str] = Counter()
    # message.id -> (session, id of its first line's message, the usage given to it)
    holders: dict[str, tuple[str, str, Usage]] = {}
    chains: dict[str, str] = {}  # uuid of a sidechain line -> its child session
    clock = Clock()
    for number, line in iter_json_lines(ctx):
        kind = line.get("type")
        if not isinstance(kind, str):
            ctx.skip(number, "no record type")
            continue
        if kind in _TITLES:
            rank, name = _TITLES[kind]
            text = as_str(line.get(name))
            if text and (title is None or rank >= title[0]):
                title = (rank, text)
            continue
        if kind not in _CONVERSATION and kind != "system":
            continue  # snapshots, queue operations, attachments, progress...: not messages
        if kind == "system":
            item: dict[str, Any] = {"role": "system", "content": line.get("content")}
            if not isinstance(item["content"], str):
                item["content"] = ""
            if isinstance(line.get("subtype"), str):
                item["subtype"] = line["subtype"]
            envelope = strip_keys(line, "content")
        else:
            message = line.get("message")
            if not isinstance(message, dict):
                ctx.skip(number, "'message' is not an object")
                continue
            if "content" not in message:
                ctx.skip(number, "message has no 'content'")
                continue
            item = message if isinstance(message.get("role"), str) else {**message, "role": kind}
            envelope = strip_keys(line, "message")
        at = clock.at(line.get("timestamp"))
        if key is None:
            key, parent = _identity(ctx.path, line)
            meta = {"source_id": as_str(line.get("sessionId")) or ctx.path.stem}
            if as_str(line.get("agentId")):
                meta["agent_id"] = line["agentId"]
            if as_str(line.get("gitBranch")):
                meta["git_branch"] = line["gitBranch"]
            if as_str(line.get("version")):
                meta["version"] = line["version"]
            begin = Begin(
                key,
                SOURCE,
                {
                    "working_dir": as_str(line.get("cwd")),
                    "created_at": at,
                    "metadata": meta,
                },
                parent=parent,
                relation="subagent" if parent else None,
            )
            yield begin
        uid = as_str(line.get("uuid"))
        if uid is not None and uid in seen_ids:
            ctx.skip(number, f"uuid {uid!r} appears again")
            continue
        if uid is None:
            uid = content_id("h", line, hashes)
        seen_ids.add(uid)
        target = key
        if line.get("isSidechain") is True and begin is not None and begin.parent is None:
            target, new_chain = _sidechain(key, line, uid, chains)
            if new_chain:
                yield Begin(
                    target,
                    SOURCE,
                    {
                        "working_dir": as_str(line.get("cwd")),
                        "created_at": at,
                        "metadata": {"source_id": begin.fields["metadata"]["source_id"]},
                    },
                    parent=key,
                    relation="subagent",
                )
        usage = Usage()  # never read usage out of a user/system item
        if kind == "assistant":
            now = _usage(item.get("usage"))
            mid = as_str(item.get("id"))
            held = holders.get(mid) if mid is not None else None
            if held is not None:
                # A later line of an API message: its usage replaces the first line's.
                if now is not None and now != held[2]:
                    yield Amend(held[0], held[1], now)
                    holders[str(mid)] = (held[0], held[1], now)
            else:
                usage = now if now is not None else Usage()
                if mid is not None:
                    holders[mid] = (target, uid, usage)
        # The last compaction boundary is the main conversation's, not a sidechain's.
        hidden = (number < boundary and target == key) or kind == "system"
        yield Entry(
            target,
            NewMessage(
                item=item,
                id=uid,
                created_at=at,
                usage=usage,
                visible_to_model=not hidden,
                metadata={"claude_code": envelope},
            ),
            number,
        )
    # A file with no conversation line (only snapshots or titles) imports nothing.
    if begin is not None and title is not None:
        yield Begin(begin.id, SOURCE, {"title": title[1]})


FORMAT = Format("claude_code", detect, read)
