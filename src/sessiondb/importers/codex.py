"""OpenAI Codex CLI rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``.

All three eras: *bare* (a header line, then un-enveloped items), *wrapped* (every line
``{"timestamp", "type", "payload"}``) and the 2026 drift (several ``session_meta`` in
forked/sub-agent files, ``world_state``...). The conversation comes from
``response_item`` payloads, stored as is (Responses items); ``event_msg`` duplicates are
ignored, except:

* ``token_count``: ``info.total_token_usage`` is cumulative, so each count's *delta*
  from the previous one is put on the last assistant item since the previous count (a
  count with no assistant item since carries over to the next). The per-message usage
  therefore sums to the final total. Items are yielded as they are read and the delta
  follows as an ``Amend``, so memory stays bounded by the longest line whether or not
  the file has counts (the bare era has none); a file imported while a response waited
  for its count gets the delta when it is imported again.
* ``thread_name_updated``: the session title.

Compaction: the last ``compacted`` record replaces the model-visible history, so every
message before it is imported hidden from the model; its ``replacement_history`` items
(or, in older files, its summary ``message``) follow as visible messages.
The first ``session_meta`` names the session; ``parent_thread_id`` links sub-agents
(``relation="subagent"``) and forks (``forked_from_id``, ``relation="fork"``).
Message ids are ``<line>-<hash of the line>``: rollouts are append-only.
"""

from __future__ import annotations

import hashlib
import json
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
    iter_json_lines,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "codex"
_ASSISTANT_TYPES = frozenset(
    {"function_call", "custom_tool_call", "local_shell_call", "web_search_call", "reasoning"}
)
_HIDDEN_TYPES = frozenset({"ghost_snapshot"})


def detect(path: Path, head: Head) -> bool:
    """True for a rollout: a ``session_meta`` line, a bare-era header, or a rollout name."""
    first = head.first
    if first is not None:
        if first.get("type") == "session_meta":
            return True
        if "id" in first and "instructions" in first and "role" not in first:
            return True
    return path.name.startswith("rollout-") and path.suffix == ".jsonl" and first is not None


def _hash(line: dict[str, Any]) -> str:
    text = json.dumps(line, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def _last_compaction(path: Path) -> int:
    """Line number of the last ``compacted`` record (0 when none); a quick byte scan."""
    last = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if b'"compacted"' in raw:
                try:
                    value = json.loads(raw)
                except (ValueError, RecursionError):
                    continue
                if isinstance(value, dict) and value.get("type") == "compacted":
                    last = number
    return last


def _totals(info: object) -> Usage | None:
    total = as_dict(as_dict(info).get("total_token_usage"))
    if not total:
        return None
    return Usage(
        input_tokens=as_int(total.get("input_tokens")),
        output_tokens=as_int(total.get("output_tokens")),
        cache_read_tokens=as_int(total.get("cached_input_tokens")),
        reasoning_tokens=as_int(total.get("reasoning_output_tokens")),
    )


def _minus(now: Usage, before: Usage | None) -> Usage:
    def sub(a: int | None, b: int | None) -> int | None:
        if a is None:
            return None
        value = a - (b or 0)
        return value if value > 0 else None

    if before is None:
        return now
    return Usage(
        input_tokens=sub(now.input_tokens, before.input_tokens),
        output_tokens=sub(now.output_tokens, before.output_tokens),
        cache_read_tokens=sub(now.cache_read_tokens, before.cache_read_tokens),
        reasoning_tokens=sub(now.reasoning_tokens, before.reasoning_tokens),
    )


def _when(line: dict[str, Any]) -> object:
    """A line's time: the envelope's ``timestamp``, else (drifted lines) ``created_at``."""
    return line.get("timestamp") or line.get("created_at")


def _is_assistant(item: dict[str, Any]) -> bool:
    kind = item.get("type")
    if kind == "message" or (kind is None and "role" in item):
        return item.get("role") == "assistant"
    return isinstance(kind, str) and (kind in _ASSISTANT_TYPES or kind.endswith("_call"))


class _Reader:
    """Per-file state: the session, the usage not yet given, the turn's model."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.key: str | None = None
        self.boundary = _last_compaction(ctx.path)
        # The last assistant item since the previous token_count: the next count's delta
        # is its usage. Only its id is kept; the item itself was yielded already.
        self.last_assistant: str | None = None
        self.carry = Usage()
        self.total: Usage | None = None
        self.model: str | None = None
        self.title: str | None = None
        # Bare-era items have no timestamp: the header's time, or the last one stated.
        self.clock = Clock()

    def begin(self, meta: dict[str, Any], at: object) -> Begin:
        sid = as_str(meta.get("id")) or self.ctx.path.stem
        self.key = f"{SOURCE}:{sid}"
        parent_id = as_str(meta.get("parent_thread_id")) or as_str(meta.get("forked_from_id"))
        relation = None
        if parent_id is not None:
            relation = "subagent" if "subagent" in as_dict(meta.get("source")) else "fork"
        extra = {
            k: meta[k]
            for k in ("originator", "cli_version", "source", "model_provider", "git")
            if k in meta
        }
        self.clock.at(at)
        self.clock.at(meta.get("timestamp"))
        return Begin(
            self.key,
            SOURCE,
            {
                "working_dir": as_str(meta.get("cwd")),
                "created_at": self.clock.last,
                "metadata": {"source_id": sid, "codex": extra},
            },
            parent=f"{SOURCE}:{parent_id}" if parent_id else None,
            relation=relation,
        )

    def entry(self, number: int, line: dict[str, Any], item: dict[str, Any], **extra: Any) -> Entry:
        assert self.key is not None
        kind = item.get("type")
        hidden = isinstance(kind, str) and kind in _HIDDEN_TYPES  # a list is unhashable
        assistant = _is_assistant(item)
        message = NewMessage(
            item=item,
            id=extra.pop("id", None) or f"{number}-{_hash(line)}",
            created_at=self.clock.at(_when(line)),
            model=self.model if assistant else None,
            usage=Usage(),
            visible_to_model=not hidden and number >= self.boundary,
            visible_to_user=not hidden,
            metadata=extra.pop("metadata", None),
        )
        if assistant:
            self.last_assistant = message.id
        return Entry(self.key, message, number)

    def count(self, info: object) -> Iterator[Amend]:
        """A token_count: its delta goes to the last assistant item since the last one."""
        totals = _totals(info)
        if totals is None:
            return
        delta = _minus(totals, self.total) + self.carry
        self.total = totals
        yield from self.give(delta)

    def give(self, usage: Usage) -> Iterator[Amend]:
        """``usage`` to the last assistant item since the previous count, else carried."""
        if self.last_assistant is None or self.key is None:
            self.carry = usage
            return
        if usage != Usage():
            yield Amend(self.key, self.last_assistant, usage)
        self.last_assistant = None
        self.carry = Usage()


def read(ctx: Context) -> Iterator[Record]:
    """Records of one Codex rollout (see the module docstring)."""
    reader = _Reader(ctx)
    header: dict[str, Any] | None = None
    for number, line in iter_json_lines(ctx):
        kind = line.get("type")
        payload = line.get("payload")
        if kind == "session_meta":
            if reader.key is None and isinstance(payload, dict):
                yield reader.begin(payload, line.get("timestamp"))
            continue  # later ones describe the parent whose history was copied
        bare_header = (
            reader.key is None
            and header is None
            and "payload" not in line
            and "role" not in line
            and "id" in line
            and ("instructions" in line or "timestamp" in line)
        )
        if bare_header:
            header = line  # bare era: the first line is the session header
            yield reader.begin(line, line.get("timestamp"))
            continue
        if kind == "turn_context":
            model = as_str(as_dict(payload).get("model"))
            reader.model = model or reader.model
            continue
        if kind == "event_msg":
            event = as_dict(payload)
            if event.get("type") == "token_count":
                yield from reader.count(event.get("info"))
            elif event.get("type") == "thread_name_updated":
                reader.title = as_str(event.get("thread_name")) or reader.title
            continue
        if reader.key is None and (kind in ("response_item", "compacted") or "payload" not in line):
            yield reader.begin({}, _when(line))
        if kind == "response_item":
            if not isinstance(payload, dict):
                ctx.skip(number, "response_item payload is not an object")
                continue
            yield reader.entry(number, line, payload)
        elif kind == "compacted":
            body = as_dict(payload)
            history = body.get("replacement_history")
            meta = {"codex": {"compacted": True}}
            summary = as_str(body.get("message"))
            if summary:
                item = {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": summary}],
                }
                yield reader.entry(number, line, item, id=f"{number}-{_hash(line)}", metadata=meta)
            for index, replaced in enumerate(history if isinstance(history, list) else []):
                if isinstance(replaced, dict):
                    entry_id = f"{number}-{_hash(line)}.{index}"
                    yield reader.entry(number, line, replaced, id=entry_id, metadata=meta)
        elif "payload" not in line and kind != "world_state":
            if line.get("record_type") == "state":
                continue
            if isinstance(kind, str) or "role" in line:
                yield reader.entry(number, line, line)  # bare-era item
            else:
                ctx.skip(number, "no record type")
        # Unknown enveloped kinds (world_state, inter_agent_communication...) are skipped.
    if reader.carry != Usage():
        # A count no assistant item had come before: it is the usage of the last one
        # after it (the file ends before their own count).
        yield from reader.give(reader.carry)
    if reader.key is not None and (reader.title or reader.model):
        yield Begin(reader.key, SOURCE, {"title": reader.title, "model": reader.model})


FORMAT = Format("codex", detect, read)
