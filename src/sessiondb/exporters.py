"""Exporters: a stored session as JSONL (lossless), Markdown or an OpenAI message list.

* ``jsonl``: a header line ``{"sessiondb_export": 1, "session": {...}}`` (every field of
  the ``Session``, counters included) then one line per message with everything needed
  to re-import it exactly (id, seq, created_at, model, usage, visibility, metadata,
  item). ``import_path`` reads it back (format ``sessiondb``): same ids, items, usage,
  visibility, timestamps, seqs and session fields, ``updated_at``, ``compaction_count``,
  ``compacted_at`` and the usage totals (which keep the usage of deleted messages)
  included. Forks import as plain sessions linked to their parent: their copied
  messages are no longer known as copies, so ``tree_usage`` counts them again.
* ``markdown``: a readable transcript; tool calls and results are folded in
  ``<details>`` blocks.
* ``openai``: a JSON array of chat-completions messages for replay or fine-tuning: the
  model-visible messages, converted from whichever dialect they were stored in.
  Messages already in chat shape pass through (double-encoded ``arguments`` decoded
  once); others are rebuilt from their projection (text, tool calls, tool results);
  what chat has no place for (thinking, images in foreign dialects) is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from . import dialects
from .errors import InvalidInput
from .model import Message, Session
from .store import Store

__all__ = ["FORMATS", "export", "iter_messages"]

FORMATS = ("jsonl", "markdown", "openai")
EXPORT_VERSION = 1
PAGE = 1000
_CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_CHAT_KEYS = (
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "function_call",
    "refusal",
    "audio",
)
_CHAT_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})


def export(store: Store, session_id: str, format: str = "jsonl") -> str:
    """The session in ``format``; see ``Store.export``.

    Raises NotFound for a missing session, InvalidInput for an unknown format.
    """
    if format not in FORMATS:
        raise InvalidInput.about("format", f"{format!r} is not one of {', '.join(FORMATS)}")
    session = store.get_session(session_id)
    messages = iter_messages(store, session_id)
    if format == "jsonl":
        return _jsonl(session, messages)
    if format == "markdown":
        return _markdown(session, messages)
    return json.dumps(to_openai(messages), ensure_ascii=False, indent=2) + "\n"


def iter_messages(store: Store, session_id: str) -> Iterator[Message]:
    """Every message of the session, oldest first, read a page at a time."""
    after = 0
    while True:
        page = store.messages(session_id, after_seq=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].seq


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def session_header(session: Session) -> dict[str, Any]:
    """The export header of ``session``."""
    return {
        "sessiondb_export": EXPORT_VERSION,
        "session": {
            "id": session.id,
            "title": session.title,
            "agent": session.agent,
            "model": session.model,
            "source": session.source,
            "user_id": session.user_id,
            "working_dir": session.working_dir,
            "parent_id": session.parent_id,
            "relation": session.relation,
            "status": session.status,
            "metadata": session.metadata,
            "created_at": _time(session.created_at),
            "updated_at": _time(session.updated_at),
            "last_message_at": _time(session.last_message_at),
            "message_count": session.message_count,
            "last_seq": session.last_seq,
            "usage": session.usage.to_dict(),
            "compaction_count": session.compaction_count,
            "compacted_at": _time(session.compacted_at),
        },
    }


def message_line(message: Message) -> dict[str, Any]:
    """The export line of ``message``."""
    return {
        "id": message.id,
        "seq": message.seq,
        "role": message.role,
        "created_at": _time(message.created_at),
        "model": message.model,
        "usage": None if message.usage is None else message.usage.to_dict() or None,
        "visible_to_model": message.visible_to_model,
        "visible_to_user": message.visible_to_user,
        "metadata": message.metadata,
        "item": message.item,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _jsonl(session: Session, messages: Iterator[Message]) -> str:
    lines = [_dumps(session_header(session))]
    lines.extend(_dumps(message_line(m)) for m in messages)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- markdown


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _pretty_arguments(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, indent=2)
    except (ValueError, RecursionError):
        return arguments


def _markdown(session: Session, messages: Iterator[Message]) -> str:
    out = [f"# {session.title or session.id}", ""]
    facts = [
        ("session", session.id),
        ("source", session.source),
        ("model", session.model),
        ("working dir", session.working_dir),
        ("created", _time(session.created_at)),
        ("parent", session.parent_id and f"{session.parent_id} ({session.relation})"),
    ]
    out.extend(f"- **{name}**: {value}" for name, value in facts if value)
    out.append("")
    for message in messages:
        proj = dialects.project(message.item)
        flags = []
        if not message.visible_to_model:
            flags.append("hidden from the model")
        if not message.visible_to_user:
            flags.append("hidden from the user")
        note = f" _({', '.join(flags)})_" if flags else ""
        out.append(f"## {message.seq}. {message.role} · {_time(message.created_at)}{note}")
        out.append("")
        if message.role != "tool" and proj.text:
            out.extend([proj.text, ""])
        for call in proj.calls:
            out.append(f"<details><summary>tool call: {call.name} ({call.call_id})</summary>")
            out.extend(["", _fence(_pretty_arguments(call.arguments), "json"), "", "</details>"])
            out.append("")
        for result in proj.results:
            label = "error" if result.is_error else "result"
            out.append(f"<details><summary>tool {label} ({result.call_id})</summary>")
            out.extend(["", _fence(result.text), "", "</details>", ""])
        if message.role == "tool" and not proj.results and proj.text:
            out.extend([_fence(proj.text), ""])
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------- openai


def decode_arguments(arguments: object) -> str:
    """Tool-call arguments as one JSON string: objects are serialized and a string that
    was JSON-encoded twice (seen in real data) is decoded once."""
    if not isinstance(arguments, str):
        return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    try:
        inner = json.loads(arguments)
    except (ValueError, RecursionError):
        return arguments
    if isinstance(inner, str):
        try:
            if isinstance(json.loads(inner), dict | list):
                return inner
        except (ValueError, RecursionError):
            return arguments
    return arguments


def _native_chat(item: Mapping[str, Any]) -> bool:
    """True when ``item`` is already a chat-completions message."""
    # Stored items may hold any JSON: a list or object where a name belongs is unhashable,
    # hence _named() before every set lookup.
    if "type" in item or not _named(item.get("role"), _CHAT_ROLES):
        return False
    content = item.get("content")
    if content is None or isinstance(content, str):
        return True
    if isinstance(content, list):
        return all(
            isinstance(p, Mapping) and _named(p.get("type"), _CHAT_PART_TYPES) for p in content
        )
    return False


def _named(value: object, names: frozenset[str]) -> bool:
    """True when ``value`` is one of ``names`` (False for any non-string)."""
    return isinstance(value, str) and value in names


def _from_chat(item: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: item[k] for k in _CHAT_KEYS if k in item}
    calls = out.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        del out["tool_calls"]  # not a list of calls: nothing a chat API could take
    elif isinstance(calls, list):
        fixed = []
        for call in calls:
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                fn = dict(call["function"])
                fn["arguments"] = decode_arguments(fn.get("arguments"))
                call = {**call, "function": fn}
            fixed.append(call)
        out["tool_calls"] = fixed
    return out


def _tool_call(call: dialects.CallSpec) -> dict[str, Any]:
    arguments = decode_arguments(call.arguments)
    try:
        json.loads(arguments or "{}")
    except (ValueError, RecursionError):
        # Free-form input (Codex apply_patch, custom tools): chat's custom tool call.
        return {
            "id": call.call_id,
            "type": "custom",
            "custom": {"name": call.name, "input": arguments},
        }
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments or "{}"},
    }


def to_openai(messages: Iterator[Message]) -> list[dict[str, Any]]:
    """Chat-completions messages for the model-visible ``messages``."""
    out: list[dict[str, Any]] = []
    merge_ok = False  # the last output message was rebuilt, so it may absorb the next
    for message in messages:
        if not message.visible_to_model:
            continue
        item = message.item
        if _native_chat(item):
            out.append(_from_chat(item))
            merge_ok = False
            continue
        proj = dialects.project(item)
        for result in proj.results:
            out.append({"role": "tool", "tool_call_id": result.call_id, "content": result.text})
            merge_ok = False
        if message.role == "tool":
            if not proj.results and proj.text:
                call_id = message.tool_call_id or ""
                out.append({"role": "tool", "tool_call_id": call_id, "content": proj.text})
            continue
        if message.role == "assistant":
            if not proj.text and not proj.calls:
                continue  # reasoning, snapshots...: nothing chat can replay
            calls = [_tool_call(c) for c in proj.calls]
            last = out[-1] if out else None
            if merge_ok and last is not None and last["role"] == "assistant":
                if proj.text:
                    joined = "\n".join(t for t in (last.get("content"), proj.text) if t)
                    last["content"] = joined
                if calls:
                    last.setdefault("tool_calls", []).extend(calls)
                continue
            built: dict[str, Any] = {"role": "assistant", "content": proj.text or None}
            if calls:
                built["tool_calls"] = calls
            out.append(built)
            merge_ok = True
            continue
        if proj.text or not proj.results:
            out.append({"role": message.role, "content": proj.text})
        merge_ok = False
    return _drop_orphan_results(out)


def _drop_orphan_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out tool results that answer no earlier call: a chat API refuses them."""
    declared: set[Any] = set()
    kept = []
    for message in messages:
        if message.get("role") == "assistant":
            calls = message.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, Mapping) and isinstance(call.get("id"), str):
                    declared.add(call.get("id"))
            legacy = message.get("function_call")
            if isinstance(legacy, Mapping):
                declared.add(f"function:{legacy.get('name')}")
        elif message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in declared:
                continue
        kept.append(message)
    return kept
