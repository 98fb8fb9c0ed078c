"""OpenAI chat-completions message lists: a JSON array of messages, a request body
``{"model", "messages", "tools"?}``, or JSONL (fine-tuning/batch style, one
``{"messages": [...]}`` conversation per line; or one message per line).

Messages are stored as given (OpenAI chat is sessiondb's native dialect), including
``arguments`` strings that real data sometimes double-encodes (the ``openai`` exporter
decodes those once). Ids are content hashes (these files carry none); sessions are
``openai-chat:<file stem>`` (``:<line>`` for each conversation of a JSONL file).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import NewMessage
from ._common import (
    Begin,
    Context,
    Entry,
    Record,
    as_str,
    content_id,
    iter_json_lines,
    load_json_file,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "openai-chat"


def _is_message(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def detect(path: Path, head: Head) -> bool:
    """True for a message array, a request body, or JSONL of conversations/messages."""
    document = head.document
    if isinstance(document, list):
        return bool(document) and all(_is_message(m) for m in document[:5])
    if isinstance(document, dict):
        return isinstance(document.get("messages"), list)
    first = head.first
    if first is None:
        return False
    return isinstance(first.get("messages"), list) or (
        isinstance(first.get("role"), str) and ("content" in first or "tool_calls" in first)
    )


def _messages(
    key: str, messages: list[Any], line: int, ctx: Context, where: str
) -> Iterator[Entry]:
    hashes: Counter[str] = Counter()
    for index, message in enumerate(messages):
        if not _is_message(message):
            ctx.skip(line or index + 1, f"{where}[{index}] is not a message object")
            continue
        yield Entry(
            key,
            NewMessage(item=message, id=content_id("h", message, hashes), usage=None),
            line or index + 1,
        )


def _extra(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "messages"}


def read(ctx: Context) -> Iterator[Record]:
    """Records of one chat file (see the module docstring)."""
    stem = ctx.path.stem
    if ctx.path.suffix == ".json":
        document = load_json_file(ctx)
        key = f"{SOURCE}:{stem}"
        if isinstance(document, list):
            yield Begin(key, SOURCE, {"metadata": {"source_id": stem}})
            yield from _messages(key, document, 0, ctx, "messages")
            return
        if isinstance(document, dict) and isinstance(document.get("messages"), list):
            extra = _extra(document)
            meta: dict[str, Any] = {"source_id": stem}
            if extra:
                meta["request"] = extra
            fields = {"model": as_str(document.get("model")), "metadata": meta}
            yield Begin(key, SOURCE, fields)
            yield from _messages(key, document["messages"], 0, ctx, "messages")
            return
        raise ctx.bad(1, "not a chat message list or a request body with 'messages'")
    single: str | None = None
    hashes: Counter[str] = Counter()
    for number, line in iter_json_lines(ctx):
        if isinstance(line.get("messages"), list):
            key = f"{SOURCE}:{stem}:{number}"
            extra = _extra(line)
            meta = {"source_id": f"{stem}:{number}"}
            if extra:
                meta["request"] = extra
            yield Begin(key, SOURCE, {"model": as_str(line.get("model")), "metadata": meta})
            yield from _messages(key, line["messages"], number, ctx, f"line {number} messages")
        elif _is_message(line):
            if single is None:
                single = f"{SOURCE}:{stem}"
                yield Begin(single, SOURCE, {"metadata": {"source_id": stem}})
            message = NewMessage(item=line, id=content_id("h", line, hashes), usage=None)
            yield Entry(single, message, number)
        else:
            ctx.skip(number, "neither a conversation ('messages') nor a message ('role')")


FORMAT = Format("openai_chat", detect, read)
