"""Realistic agent messages: a user turn, an assistant tool call, a tool result.

Sizes follow the issue: ~300-byte user text, an assistant message with one tool call whose
JSON arguments are ~200 bytes (with usage), and a ~1 KB tool result. Every message carries
a unique marker at the start of its text so concurrent workloads can count what was lost
or duplicated by reading the store back.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

_VOCABULARY = (
    "build failing test module import error config path deploy agent tool result "
    "function refactor database session message query index latency cache retry "
    "timeout branch commit review python sqlite postgres schema migration token "
    "context window summary compaction user assistant request response stream"
)
WORDS = _VOCABULARY.split()

MARKER = re.compile(r"mk-[0-9a-z]+-[0-9]+-[0-9]+")


def _words(rng: random.Random, size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


@dataclass(slots=True)
class Msg:
    """One benchmark message, in OpenAI chat-completions shape plus what peers need."""

    role: str  # user, assistant, tool
    text: str  # the plain text (user text, assistant text, tool output)
    item: dict[str, Any]  # the chat-completions item appended to sessiondb / raw
    marker: str
    call_id: str | None = None
    tool_name: str | None = None
    arguments: str | None = None  # JSON string
    usage: dict[str, Any] | None = field(default=None)


def conversation(n: int, *, tag: str = "a", seed: int = 7) -> list[Msg]:
    """``n`` messages cycling user -> assistant(tool call) -> tool result."""
    rng = random.Random(f"{seed}-{tag}")
    out: list[Msg] = []
    for i in range(n):
        marker = f"mk-{tag}-{i // 3}-{i}"
        kind = i % 3
        call_id = f"call_{tag}_{i // 3}"
        if kind == 0:
            text = f"{marker} " + _words(rng, 290)
            out.append(Msg("user", text, {"role": "user", "content": text}, marker))
        elif kind == 1:
            text = f"{marker} let me look at that"
            args = json.dumps(
                {"path": f"src/module_{i}.py", "pattern": _words(rng, 140), "ref": marker}
            )
            usage = {"input_tokens": 812 + i, "output_tokens": 95, "cost_usd": 0.0031}
            item = {
                "role": "assistant",
                "content": text,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "grep", "arguments": args},
                    }
                ],
            }
            out.append(Msg("assistant", text, item, marker, call_id, "grep", args, usage))
        else:
            text = f"{marker} " + _words(rng, 1000)
            item = {"role": "tool", "tool_call_id": call_id, "content": text}
            out.append(Msg("tool", text, item, marker, call_id, "grep"))
    return out


def sizes(messages: list[Msg]) -> dict[str, int]:
    """Median JSON size in bytes of each role's items (for the report)."""
    by_role: dict[str, list[int]] = {}
    for m in messages:
        by_role.setdefault(m.role, []).append(len(json.dumps(m.item)))
    return {role: sorted(v)[len(v) // 2] for role, v in by_role.items()}
