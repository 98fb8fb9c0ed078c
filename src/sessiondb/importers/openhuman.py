"""openhuman transcripts: ``{workspace}/session_raw/{stem}.jsonl``.

The first non-empty line must be ``{"_meta": {...}}`` (else the file is a BadTranscript);
later ``_meta`` lines refresh it (the last wins: title, model, token totals). Message
lines are ``{"role", "content", ...}``. The native dispatcher hides tool calls *inside*
``content`` as a JSON string (assistant: ``{"content", "tool_calls": [{"id", "name",
"arguments"}]}``, tool: ``{"tool_call_id", "content"}``); those are unpacked into the
OpenAI-chat shape (``content`` text, ``tool_calls`` with ``function``, ``tool_call_id``)
so calls and results pair up, and the original string is kept in
``metadata["openhuman"]["raw_content"]``.

* Lineage: the stem ``{parent_stem}__{child}`` makes a sub-agent of ``{parent_stem}``.
* ``{"kind": "compaction", "replacement": [...]}`` replaces the model's context: every
  message before the last one is hidden from the model; the replacement messages follow.
* ``interrupted: true`` partials are kept for display, hidden from the model.
* Usage ``{input, output, cached_input, cost_usd}`` is on the message that reported it;
  the last ``_meta`` line's totals (which cover the whole session) are the session's
  usage totals, never below what the messages recorded (``openhuman_usage`` in the
  metadata keeps them as written).
* Ids: the line's ``id`` when present, else ``<line>-<content hash>`` (v1 is append-only).
"""

from __future__ import annotations

import dataclasses
import json
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
    as_str,
    as_time,
    content_id,
    iter_json_lines,
    usage_or_none,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "openhuman"
_NOT_HEADER = "the first line is not an openhuman '_meta' header"
_NO_HEADER = "empty file: no '_meta' header"


def detect(path: Path, head: Head) -> bool:
    """True when the first line is an openhuman ``_meta`` header."""
    first = head.first
    return first is not None and isinstance(first.get("_meta"), dict)


def _last_compaction(path: Path) -> int:
    last = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if b'"compaction"' in raw and b'"kind"' in raw:
                try:
                    value = json.loads(raw)
                except (ValueError, RecursionError):
                    continue
                if isinstance(value, dict) and value.get("kind") == "compaction":
                    last = number
    return last


def _session_totals(meta: dict[str, Any]) -> dict[str, Any]:
    """``Begin.restore`` for the ``_meta`` line's own session counters."""
    totals = _meta_usage(meta)
    return {} if totals is None else {"usage": totals}


def _meta_usage(meta: dict[str, Any]) -> Usage | None:
    return usage_or_none(
        input_tokens=meta.get("input_tokens"),
        output_tokens=meta.get("output_tokens"),
        cache_read_tokens=meta.get("cached_input_tokens"),
        cost_usd=meta.get("charged_amount_usd"),
    )


def _session_fields(meta: dict[str, Any], stem: str) -> dict[str, Any]:
    totals = _meta_usage(meta)
    extra: dict[str, Any] = {"source_id": stem}
    for name in ("dispatcher", "thread_id", "agent_type", "provider", "task_id", "turn_count"):
        if meta.get(name) is not None:
            extra[name] = meta[name]
    if totals is not None:
        extra["openhuman_usage"] = totals.to_dict()
    return {
        "agent": as_str(meta.get("agent")) or as_str(meta.get("agent_id")),
        "model": as_str(meta.get("model")),
        "created_at": as_time(meta.get("created")),
        "metadata": extra,
    }


def _unpack(line: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(item in OpenAI-chat shape, the original content string when it was unpacked)."""
    content = line.get("content")
    role = line.get("role")
    if not isinstance(content, str) or not content.startswith("{"):
        return _calls_to_chat(line), None
    try:
        inner = json.loads(content)
    except (ValueError, RecursionError):
        return _calls_to_chat(line), None
    if not isinstance(inner, dict):
        return _calls_to_chat(line), None
    item = dict(line)
    if role == "assistant" and "tool_calls" in inner:
        item["content"] = inner.get("content") if isinstance(inner.get("content"), str) else ""
        item["tool_calls"] = inner.get("tool_calls")
    elif role == "tool" and "tool_call_id" in inner:
        item["tool_call_id"] = inner.get("tool_call_id")
        body = inner.get("content")
        item["content"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    else:
        return _calls_to_chat(line), None
    return _calls_to_chat(item), content


def _calls_to_chat(item: dict[str, Any]) -> dict[str, Any]:
    """openhuman's flat ``{"id", "name", "arguments"}`` calls in OpenAI-chat shape."""
    calls = item.get("tool_calls")
    if not isinstance(calls, list):
        return item
    converted = []
    for call in calls:
        if isinstance(call, dict) and "function" not in call and "name" in call:
            arguments = call.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            converted.append(
                {
                    "id": call.get("id"),
                    "type": "function",
                    "function": {"name": call.get("name"), "arguments": arguments},
                }
            )
        else:
            converted.append(call)
    return {**item, "tool_calls": converted}


def _entry(
    key: str, number: int, line: dict[str, Any], hashes: Counter[str], hidden: bool, clock: Clock
) -> Entry:
    item, raw = _unpack(line)
    usage = as_dict(line.get("usage"))
    meta: dict[str, Any] = {}
    if raw is not None:
        meta["raw_content"] = raw
    source_id = as_str(line.get("id"))
    mid = source_id or content_id(f"{number}-", line, hashes)
    return Entry(
        key,
        NewMessage(
            item=item,
            id=mid,
            created_at=clock.at(line.get("ts")),
            model=as_str(line.get("model")),
            usage=usage_or_none(
                input_tokens=usage.get("input"),
                output_tokens=usage.get("output"),
                cache_read_tokens=usage.get("cached_input"),
                cost_usd=usage.get("cost_usd"),
            )
            or Usage(),
            visible_to_model=not hidden and line.get("interrupted") is not True,
            metadata={"openhuman": meta} if meta else None,
        ),
        number,
    )


def read(ctx: Context) -> Iterator[Record]:
    """Records of one openhuman transcript (see the module docstring)."""
    stem = ctx.path.stem
    key = f"{SOURCE}:{stem}"
    parent = f"{SOURCE}:{stem.rsplit('__', 1)[0]}" if "__" in stem else None
    boundary = _last_compaction(ctx.path)
    started = False
    hashes: Counter[str] = Counter()
    seen_ids: set[str] = set()
    clock = Clock()
    for number, line in iter_json_lines(ctx):
        meta = line.get("_meta")
        if not started:
            if not isinstance(meta, dict):
                raise ctx.bad_header(number, _NOT_HEADER, empty=_NO_HEADER)
            started = True
            fields = _session_fields(meta, stem)
            clock = Clock(fields["created_at"])  # lines without "ts": the header's time
            yield Begin(
                key,
                SOURCE,
                fields,
                parent=parent,
                relation="subagent" if parent else None,
                restore=_session_totals(meta),
            )
            continue
        if isinstance(meta, dict):
            yield Begin(key, SOURCE, _session_fields(meta, stem), restore=_session_totals(meta))
            continue
        if line.get("kind") == "compaction":
            replacement = line.get("replacement")
            for index, replaced in enumerate(replacement if isinstance(replacement, list) else []):
                if isinstance(replaced, dict) and isinstance(replaced.get("role"), str):
                    entry = _entry(key, number, replaced, hashes, number < boundary, clock)
                    entry.message = dataclasses.replace(entry.message, id=f"{number}.r{index}")
                    yield entry
            continue
        if "kind" in line and "role" not in line:
            continue  # future record kinds
        if not isinstance(line.get("role"), str):
            ctx.skip(number, "message has no 'role'")
            continue
        entry = _entry(key, number, line, hashes, number < boundary, clock)
        if entry.message.id in seen_ids:
            ctx.skip(number, f"id {entry.message.id!r} appears again")
            continue
        seen_ids.add(str(entry.message.id))
        yield entry
    if not started:
        raise ctx.bad_header(None, _NOT_HEADER, empty=_NO_HEADER)


FORMAT = Format("openhuman", detect, read)
