"""Item dict -> normalized projection, for every message dialect sessiondb accepts.

sessiondb stores each appended item exactly as given; this module only *reads* it to
derive what queries need: the normalized role, plain text, tool calls, tool results,
usage and a timestamp. Recognized shapes:

* OpenAI chat completions: ``role/content/tool_calls/tool_call_id/name``, content as a
  string or parts, ``refusal`` (its text is the message's text), legacy
  ``function_call`` and ``role: "function"`` results;
* OpenAI Responses / Agents SDK items: ``{"type": "message" | "function_call" |
  "function_call_output" | "reasoning" | "*_call" | "*_call_output", ...}`` and easy input
  ``{"role", "content"}``;
* Anthropic messages: content blocks ``text``, ``tool_use``, ``tool_result``, ``thinking``,
  ``image``;
* goose (``toolRequest``/``toolResponse`` blocks) and pi (``toolCall`` blocks,
  ``role: "toolResult"``, and ``role: "bashExecution"``: a command the *user* ran with
  ``!``, projected as a user message whose text is the command and its output, as pi
  itself shows it to the model), which importers store as they are;
* openhuman (a tool message's ``failure: true`` makes its result an error);
* plain ``{"role", "content"}`` with any extra keys (kept untouched).

A user message made only of tool results (Anthropic, goose) is normalized to role
``tool``: for history windowing it is a tool result, whatever the provider calls it.
Unknown roles are normalized to ``assistant`` (the item keeps the original): the roles
seen in the wild beyond these (``critic``, ``chatbot``, an agent's name...) are other
models speaking. Their text is what their ``content`` carries; a role whose words live
elsewhere must be recognized here, as ``bashExecution`` is, or it projects empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidInput
from .model import Role, Usage

__all__ = ["CallSpec", "Projection", "ResultSpec", "project"]

_ROLE_MAP: dict[str, Role] = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "toolresult": "tool",
    "tool_result": "tool",
    "ipython": "tool",
}

_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text", "summary_text"})


@dataclass(slots=True)
class CallSpec:
    """A tool call found in an item."""

    call_id: str
    name: str
    arguments: str


@dataclass(slots=True)
class ResultSpec:
    """A tool result found in an item."""

    call_id: str
    text: str
    is_error: bool = False


@dataclass(slots=True)
class Projection:
    """What sessiondb derives from one item."""

    role: Role
    text: str = ""
    calls: list[CallSpec] = field(default_factory=list)
    results: list[ResultSpec] = field(default_factory=list)
    usage: Usage | None = None
    created_at: datetime | None = None
    model: str | None = None

    @property
    def tool_call_id(self) -> str | None:
        """The call id this message answers (the first, when it answers several)."""
        return self.results[0].call_id if self.results else None

    def search_extra(self) -> str:
        """Tool names and arguments, indexed for search beside the text."""
        return "\n".join(f"{c.name} {c.arguments}" for c in self.calls)


def project(item: Mapping[str, Any], *, with_usage: bool = True) -> Projection:
    """Return the normalized projection of ``item``.

    ``with_usage=False`` skips reading usage out of the item (the caller has its own).

    Raises InvalidInput when ``item`` is not a dict or has neither a role nor a type.
    """
    if type(item) is dict and len(item) == 2:
        # Fast path for the commonest item, {"role": ..., "content": "text"}: the same
        # projection as below, without the general walk.
        role_value, content = item.get("role"), item.get("content")
        if type(role_value) is str and role_value and type(content) is str:
            return Projection(role=_ROLE_MAP.get(role_value.lower(), "assistant"), text=content)
    if not isinstance(item, Mapping):
        raise InvalidInput.about("item", f"expected a JSON object, got {type(item).__name__}")
    kind = item.get("type")
    role_value = item.get("role")
    if isinstance(kind, str) and kind and kind != "message" and not isinstance(role_value, str):
        proj = _project_typed(kind, item)
    elif isinstance(role_value, str) and role_value:
        proj = _project_role(role_value, item)
    elif kind == "message":
        proj = _project_role("assistant", item)
    else:
        raise InvalidInput.about(
            "item", "has no recognizable 'role' or 'type' (expected a message dict)"
        )
    if with_usage:
        proj.usage = _usage(item.get("usage"))
    proj.created_at = _timestamp(item)
    model = item.get("model")
    proj.model = model if isinstance(model, str) and model else None
    return proj


# ---------------------------------------------------------------------------- typed items


def _project_typed(kind: str, item: Mapping[str, Any]) -> Projection:
    """Responses/Agents SDK items (and other typed shapes without a role)."""
    if kind == "function_call" or kind == "custom_tool_call":
        raw = item.get("arguments", item.get("input", ""))
        return Projection(
            role="assistant",
            calls=[
                CallSpec(
                    _str(item.get("call_id") or item.get("id")),
                    _str(item.get("name")),
                    _arguments(raw),
                )
            ],
        )
    if kind.endswith("_call_output") or kind == "tool_result":
        call_id = _str(item.get("call_id") or item.get("tool_use_id") or item.get("id"))
        text = _content_text(item.get("output", item.get("content")))
        is_error = item.get("status") == "failed" or bool(item.get("is_error"))
        return Projection(role="tool", text=text, results=[ResultSpec(call_id, text, is_error)])
    if kind.endswith("_call"):
        args = item.get("arguments", item.get("action", item.get("input")))
        name = item.get("name") or kind
        return Projection(
            role="assistant",
            calls=[
                CallSpec(_str(item.get("call_id") or item.get("id")), _str(name), _arguments(args))
            ],
        )
    if kind == "reasoning":
        return Projection(role="assistant", text=_content_text(item.get("summary")))
    # Anything else typed (compaction, item_reference, a bare content block...): keep it.
    return Projection(role="assistant", text=_content_text(item.get("content", item.get("text"))))


# ---------------------------------------------------------------------------- role items


def _project_role(role_value: str, item: Mapping[str, Any]) -> Projection:
    if role_value == "bashExecution" and "content" not in item:
        return Projection(role="user", text=_bash_execution_text(item))
    role: Role = _ROLE_MAP.get(role_value.lower(), "assistant")
    texts: list[str] = []
    calls: list[CallSpec] = []
    results: list[ResultSpec] = []
    other_parts = 0

    content = item.get("content")
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                texts.append(part)
                continue
            if not isinstance(part, Mapping):
                continue
            if not _collect_part(part, texts, calls, results):
                other_parts += 1
    elif isinstance(content, Mapping) and not _collect_part(content, texts, calls, results):
        other_parts += 1

    refusal = item.get("refusal")  # OpenAI chat: the model declined, with content null
    if isinstance(refusal, str) and refusal:
        texts.append(refusal)

    for call in _list(item.get("tool_calls")):  # OpenAI chat completions
        if isinstance(call, Mapping):
            fn = call.get("function")
            if not isinstance(fn, Mapping) and isinstance(call.get("custom"), Mapping):
                # Custom tools: {"type": "custom", "custom": {"name", "input"}}.
                fn = {"name": call["custom"].get("name"), "arguments": call["custom"].get("input")}
            fn = fn if isinstance(fn, Mapping) else {}
            calls.append(
                CallSpec(
                    _str(call.get("id")), _str(fn.get("name")), _arguments(fn.get("arguments"))
                )
            )
    legacy = item.get("function_call")
    if isinstance(legacy, Mapping):  # OpenAI legacy functions: no call id, match by name
        name = _str(legacy.get("name"))
        calls.append(CallSpec(f"function:{name}", name, _arguments(legacy.get("arguments"))))

    # Tool results carried inside content blocks (Anthropic, goose) are the message's
    # text too: that is what a search for the tool's output must find.
    text = "\n".join(t for t in [*texts, *(r.text for r in results)] if t)
    if role == "tool":
        call_id = item.get("tool_call_id") or item.get("toolCallId")
        if not call_id and role_value.lower() == "function":
            call_id = f"function:{_str(item.get('name'))}"
        if call_id and not results:
            # pi/goose ``isError``, sessiondb's ``is_error``, openhuman's ``failure``.
            is_error = bool(
                item.get("isError") or item.get("is_error") or item.get("failure") is True
            )
            results.append(ResultSpec(_str(call_id), text, is_error))
    elif results and not texts and not calls and role == "user":
        role = "tool"  # Anthropic/goose: a user message carrying only tool results
    del other_parts
    return Projection(role=role, text=text, calls=calls, results=results)


def _bash_execution_text(item: Mapping[str, Any]) -> str:
    """pi's ``{"role": "bashExecution", "command", "output", "exitCode", "cancelled",
    "truncated", "fullOutputPath"}`` as text: the command, then what it printed."""
    lines = [f"$ {_str(item.get('command'))}"]
    output = item.get("output")
    if isinstance(output, str) and output:
        lines.append(output.rstrip("\n"))
    exit_code = item.get("exitCode")
    if item.get("cancelled") is True:
        lines.append("(command cancelled)")
    elif isinstance(exit_code, int) and not isinstance(exit_code, bool) and exit_code != 0:
        lines.append(f"(exit code {exit_code})")
    if item.get("truncated") is True:
        full = item.get("fullOutputPath")
        where = f": full output in {full}" if isinstance(full, str) and full else ""
        lines.append(f"(output truncated{where})")
    return "\n".join(lines)


def _collect_part(
    part: Mapping[str, Any],
    texts: list[str],
    calls: list[CallSpec],
    results: list[ResultSpec],
) -> bool:
    """Add what a content part carries; return False for parts with nothing to derive."""
    ptype = part.get("type")
    if not isinstance(ptype, str | None):
        return False  # a list or object as the type (unhashable): no part we know
    if ptype in _TEXT_PART_TYPES or (ptype is None and isinstance(part.get("text"), str)):
        value = part.get("text")
        if isinstance(value, str):
            texts.append(value)
            return True
        return False
    if ptype == "refusal":
        texts.append(_str(part.get("refusal")))
        return True
    if ptype == "tool_use" or ptype == "toolCall" or ptype == "server_tool_use":
        raw = part.get("input", part.get("arguments"))
        calls.append(CallSpec(_str(part.get("id")), _str(part.get("name")), _arguments(raw)))
        return True
    if ptype == "tool_result":
        text = _content_text(part.get("content"))
        results.append(ResultSpec(_str(part.get("tool_use_id")), text, bool(part.get("is_error"))))
        return True
    if ptype == "toolRequest" or ptype == "frontendToolRequest":  # goose
        wrapper = part.get("toolCall")
        value = wrapper.get("value") if isinstance(wrapper, Mapping) else None
        value = value if isinstance(value, Mapping) else {}
        calls.append(
            CallSpec(
                _str(part.get("id")), _str(value.get("name")), _arguments(value.get("arguments"))
            )
        )
        return True
    if ptype == "toolResponse":  # goose: {"status": "success", "value": ...} or an error
        wrapper = part.get("toolResult")
        wrapper = wrapper if isinstance(wrapper, Mapping) else {}
        value = wrapper.get("value")
        if isinstance(value, Mapping):
            is_error = bool(value.get("isError"))
            value = value.get("content")
        else:
            is_error = False
        if wrapper.get("status") == "error":
            is_error = True
            value = wrapper.get("error")
        results.append(ResultSpec(_str(part.get("id")), _content_text(value), is_error))
        return True
    return False


# ---------------------------------------------------------------------------- helpers


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _arguments(raw: object) -> str:
    """Tool arguments as the raw string given; objects are serialized."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False)


def _content_text(value: object) -> str:
    """Plain text of a string, a list of parts, or a dict with text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        out = []
        for part in value:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    out.append(text)
                elif part.get("type") == "tool_result":
                    out.append(_content_text(part.get("content")))
        return "\n".join(t for t in out if t)
    if isinstance(value, Mapping):
        text = value.get("text")
        if isinstance(text, str):
            return text
        if "content" in value:
            return _content_text(value.get("content"))
        if "output" in value:
            return _content_text(value.get("output"))
    return _str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _usage(raw: object) -> Usage | None:
    """Usage from OpenAI chat, Responses, Anthropic or sessiondb's own field names."""
    if not isinstance(raw, Mapping):
        return None

    def pick(*keys: str) -> int | None:
        for key in keys:
            if "." in key:
                outer, inner = key.split(".", 1)
                sub = raw.get(outer)
                value = sub.get(inner) if isinstance(sub, Mapping) else None
            else:
                value = raw.get(key)
            got = _int(value)
            if got is not None:
                return got
        return None

    cost = raw.get("cost_usd", raw.get("cost"))
    if isinstance(cost, Mapping):
        cost = cost.get("total")
    cost_value = (
        float(cost)
        if isinstance(cost, int | float)
        and not isinstance(cost, bool)
        and cost >= 0
        and cost == cost
        and cost != float("inf")
        else None
    )
    usage = Usage(
        input_tokens=pick("input_tokens", "prompt_tokens", "input"),
        output_tokens=pick("output_tokens", "completion_tokens", "output"),
        cache_read_tokens=pick(
            "cache_read_tokens",
            "cache_read_input_tokens",
            "prompt_tokens_details.cached_tokens",
            "input_tokens_details.cached_tokens",
            "cacheRead",
        ),
        cache_write_tokens=pick("cache_write_tokens", "cache_creation_input_tokens", "cacheWrite"),
        reasoning_tokens=pick(
            "reasoning_tokens",
            "completion_tokens_details.reasoning_tokens",
            "output_tokens_details.reasoning_tokens",
        ),
        cost_usd=cost_value,
    )
    return None if usage.is_empty() else usage


_TIME_KEYS = ("created_at", "timestamp", "created", "createdAt", "time")


def _timestamp(item: Mapping[str, Any]) -> datetime | None:
    """A timestamp carried by the item, when one parses; never raises."""
    for key in _TIME_KEYS:
        value = item.get(key)
        if value is None or isinstance(value, bool):
            continue
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None


def parse_time(value: object) -> datetime | None:
    """Parse an ISO-8601 string or Unix seconds/milliseconds; None when it does not parse.

    Naive ISO strings are taken as UTC. Numbers above 1e11 are milliseconds (goose
    wrote both).
    """
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str) and value:
            try:  # the common case, fast: Python 3.11 reads Z and 1-9 fraction digits
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None:
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)
                return parsed.astimezone(UTC)
            text = value.strip()
            if text.endswith("Z") or text.endswith("z"):
                text = text[:-1] + "+00:00"
            # RFC3339Nano: Python parses at most 6 fractional digits.
            if "." in text:
                head, _, rest = text.partition(".")
                digits = ""
                i = 0
                while i < len(rest) and rest[i].isdigit():
                    digits += rest[i]
                    i += 1
                text = f"{head}.{digits[:6].ljust(6, '0')}{rest[i:]}" if digits else text
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
