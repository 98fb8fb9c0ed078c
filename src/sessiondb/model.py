"""The data model: what sessiondb stores and returns.

Every value object is a frozen dataclass. Input that crosses into storage is validated
here, once, so every backend accepts and refuses exactly the same values:

* strings may not contain NUL (PostgreSQL TEXT cannot hold it) or lone surrogates
  (they cannot be encoded as UTF-8);
* JSON values must be plain JSON: string keys, finite numbers, no cycles;
* statuses, relations and roles come from the closed sets below.

Datetimes returned by sessiondb are always UTC-aware. Naive datetimes given as input are
taken to be UTC.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from .errors import InvalidInput

__all__ = [
    "RELATIONS",
    "ROLES",
    "STATUSES",
    "ImportReport",
    "Message",
    "NewMessage",
    "Page",
    "PruneReport",
    "SearchHit",
    "Session",
    "SessionHit",
    "SkippedLine",
    "Stats",
    "Tool",
    "ToolCall",
    "Totals",
    "TreeNode",
    "Usage",
    "new_id",
]

JSON = Any
T = TypeVar("T")

Status = Literal["active", "completed", "failed", "interrupted", "archived"]
Relation = Literal["subagent", "fork", "compaction", "continuation"]
Role = Literal["system", "developer", "user", "assistant", "tool"]
ToolStatus = Literal["pending", "ok", "error"]

STATUSES: tuple[str, ...] = ("active", "completed", "failed", "interrupted", "archived")
RELATIONS: tuple[str, ...] = ("subagent", "fork", "compaction", "continuation")
ROLES: tuple[str, ...] = ("system", "developer", "user", "assistant", "tool")

MAX_ID_LENGTH = 255
DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024

# ---------------------------------------------------------------------------- ids

_id_lock = threading.Lock()
_last_ms = 0
_counter = 0
# Random bits for ids come from os.urandom, read 4 KB at a time (one system call per 512
# ids instead of one per id). A forked child must not reuse the parent's unread bytes.
_random = b""
_random_at = 0


def _forget_random() -> None:
    global _random, _random_at
    _random, _random_at = b"", 0


os.register_at_fork(after_in_child=_forget_random)


def new_id() -> str:
    """Return a new time-sortable id (UUIDv7 layout: 48-bit ms time, then randomness).

    Ids made by one process are strictly increasing, even within one millisecond.
    """
    global _last_ms, _counter, _random, _random_at
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter >= 0xFFF:  # 12 bits exhausted: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
        if _random_at >= len(_random):
            _random, _random_at = os.urandom(4096), 0
        rand = int.from_bytes(_random[_random_at : _random_at + 8], "big") & 0x3FFFFFFFFFFFFFFF
        _random_at += 8
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ---------------------------------------------------------------------------- checks


def check_text(name: str, value: object, *, allow_none: bool = True) -> str | None:
    """Return ``value`` if it is a storable string (or None when allowed), else raise."""
    if value is None:
        if allow_none:
            return None
        raise InvalidInput.about(f"{name}", "a value is required")
    if not isinstance(value, str):
        raise InvalidInput.about(f"{name}", f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        # PostgreSQL TEXT cannot hold NUL; refuse it here so every backend agrees.
        raise InvalidInput.about(f"{name}", "contains a NUL character (\\x00)")
    if not value.isascii():  # O(1): an ASCII string cannot hold a surrogate
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput.about(
                f"{name}", f"contains a lone surrogate ({exc.reason})"
            ) from None
    return value


def check_id(name: str, value: object) -> str:
    """Return ``value`` if it is a valid session or message id, else raise InvalidInput."""
    text = check_text(name, value, allow_none=False)
    assert text is not None
    if not text:
        raise InvalidInput.about(f"{name}", "must not be empty")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidInput.about(f"{name}", f"longer than {MAX_ID_LENGTH} characters")
    return text


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise InvalidInput."""
    if value not in choices:
        raise InvalidInput.about(f"{name}", f"{value!r} is not one of {', '.join(choices)}")
    return str(value)


def _has_cycle(value: object) -> bool:
    """True when a list or dict in ``value`` contains itself (walks without recursion)."""
    stack: list[tuple[object, frozenset[int]]] = [(value, frozenset())]
    while stack:
        current, above = stack.pop()
        if isinstance(current, Mapping):
            children: Iterable[object] = current.values()
        elif isinstance(current, list | tuple):
            children = current
        else:
            continue
        if id(current) in above:
            return True
        path = above | {id(current)}
        stack.extend((child, path) for child in children)
    return False


def _check_json_tree(name: str, value: object, depth: int = 0) -> None:
    """Walk a JSON value and raise InvalidInput naming the first bad part."""
    if depth > 500:
        where = name if len(name) <= 120 else name[:120] + "…"
        raise InvalidInput.about(where, "nested deeper than 500 levels")
    if isinstance(value, str):
        check_text(name, value)
    elif isinstance(value, bool) or value is None or isinstance(value, int):
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput.about(
                f"{name}", f"{value!r} is not a finite number (JSON has no NaN/Inf)"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput.about(f"{name}", f"object key {key!r} is not a string")
            check_text(f"{name} key", key)
            _check_json_tree(f"{name}.{key}", item, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_tree(f"{name}[{index}]", item, depth + 1)
    else:
        raise InvalidInput.about(f"{name}", f"{type(value).__name__} is not JSON-serializable")


def _make_encoder() -> Callable[[object], str]:
    """json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
    made once: json.dumps with arguments builds a new JSONEncoder (and its C encoder) per
    call, a third of the cost of encoding a message. No circular-reference markers (they
    would be shared state between threads): a cycle ends in RecursionError, which
    dump_json reports as InvalidInput like any other unserializable value.
    """
    from json import encoder

    def default(value: object) -> object:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    c_make_encoder = getattr(encoder, "c_make_encoder", None)  # absent from the stubs
    if c_make_encoder is None:  # pragma: no cover - CPython always has _json
        slow = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return slow.encode
    make = c_make_encoder(
        None, default, encoder.encode_basestring, None, ":", ",", False, False, False
    )
    join = "".join

    def encode(value: object) -> str:
        if type(value) is str:
            return encoder.encode_basestring(value)  # the C encoder wants a container
        return join(make(value, 0))

    return encode


_encode = _make_encoder()


def dump_json(name: str, value: object, *, max_bytes: int | None = None) -> str:
    """Serialize ``value`` to JSON text, or raise InvalidInput naming ``name``.

    The fast path is one ``json.dumps``; only when that fails, or the text hints at
    something we refuse (NUL, surrogates, NaN), is the value walked to name the culprit.
    """
    try:
        text = _encode(value)
    except RecursionError:
        if _has_cycle(value):
            raise InvalidInput.about(name, "contains itself (a circular reference)") from None
        _check_json_tree(name, value)  # raises: nested too deep
        raise InvalidInput.about(name, "nested too deeply to serialize") from None
    except (TypeError, ValueError) as exc:
        _check_json_tree(name, value)  # raises with a precise message
        raise InvalidInput.about(f"{name}", f"not JSON-serializable ({exc})") from None
    if "\\u0000" in text:
        _check_json_tree(name, value)
    if isinstance(value, Mapping | list | tuple) and not _keys_are_strings(value):
        _check_json_tree(name, value)
    if text.isascii():  # O(1); ensure_ascii=False keeps non-ASCII text as it is
        encoded_len = len(text)
    else:
        try:
            encoded_len = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            _check_json_tree(name, value)
            raise InvalidInput.about(f"{name}", "contains a lone surrogate") from None
    if max_bytes is not None and encoded_len > max_bytes:
        raise InvalidInput.about(
            f"{name}", f"{encoded_len} bytes is over the maximum of {max_bytes}"
        )
    return text


# Stored JSON text is what dump_json wrote: one value, no whitespace around it. The C
# scanner reads it directly, skipping json.loads' Python layers (and their two regular
# expression matches): decoding an item read back costs half as much.
_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def load_json(text: str) -> Any:
    """Decode JSON text that sessiondb stored (raises ValueError if it is not JSON)."""
    try:
        return _scan_json(text, 0)[0]
    except StopIteration:
        return json.loads(text)  # not JSON after all: raises a JSONDecodeError


_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})


def _keys_are_strings(value: object) -> bool:
    """True when every object key in ``value`` is a string (json.dumps coerces others).

    Exact-type checks first: JSON parsed from text holds only dict/list/str/int/float/
    bool/None, and ``isinstance`` against the Mapping ABC is slow on large imports.
    """
    containers, scalars, nested = _CONTAINERS, _SCALARS, Mapping | list | tuple
    stack = [value]
    items: Iterable[Any]
    while stack:
        current = stack.pop()
        if type(current) is dict or isinstance(current, Mapping):
            items = current.values()
            for key in current:
                if type(key) is not str and not isinstance(key, str):
                    return False
        elif isinstance(current, list | tuple):
            items = current
        else:
            continue
        for item in items:
            kind = type(item)
            if kind in containers or (kind not in scalars and isinstance(item, nested)):
                stack.append(item)
    return True


def check_metadata(name: str, value: object) -> dict[str, Any]:
    """Return ``value`` as a dict if it is a JSON object with valid contents."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput.about(f"{name}", f"expected a JSON object, got {type(value).__name__}")
    dump_json(name, value)
    return dict(value)


def to_utc(name: str, value: object) -> datetime | None:
    """Return ``value`` as an aware UTC datetime (naive is taken as UTC); None passes."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise InvalidInput.about(f"{name}", f"expected a datetime, got {type(value).__name__}")


def to_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch for an aware datetime."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """The aware UTC datetime for microseconds since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)  # exact, and twice as fast as fromtimestamp


def now_micros() -> int:
    """The current time in microseconds since the Unix epoch."""
    return time.time_ns() // 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------- values


_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_USAGE_FIELDS = (*_TOKEN_FIELDS, "cost_usd")
#: Usage's counters, in field order: also the names of the usage columns of both backends.
USAGE_FIELDS = _USAGE_FIELDS


#: Upper bounds of one Usage's counters: a token count stays exact in every JSON parser
#: (2**53 - 1) and session totals, sums of many such counts, stay within both backends'
#: 64-bit integers; a cost beyond a trillion dollars is a unit error, not a bill.
MAX_TOKENS = 2**53 - 1
MAX_COST_USD = 1e12


@dataclass(frozen=True, slots=True)
class Usage:
    """Token and cost counters; every field is optional (None means "not reported")."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None

    def __post_init__(self) -> None:
        # Names spelled out rather than dataclasses.fields(): this runs once per message
        # on large imports, and fields() is slow.
        for name in _TOKEN_FIELDS:
            value = getattr(self, name)
            if value is None or (type(value) is int and 0 <= value <= MAX_TOKENS):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput.about(
                    f"usage.{name}", f"expected an integer >= 0, got {value!r}"
                )
            raise InvalidInput.about(f"usage.{name}", f"{value} is more than {MAX_TOKENS}")
        value = self.cost_usd
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput.about("usage.cost_usd", f"expected a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise InvalidInput.about("usage.cost_usd", f"{value!r} is not a finite number >= 0")
            if value > MAX_COST_USD:
                raise InvalidInput.about(
                    "usage.cost_usd", f"{value!r} is more than {MAX_COST_USD:g}"
                )
            object.__setattr__(self, "cost_usd", float(value))

    def __add__(self, other: Usage) -> Usage:
        def add(a: float | None, b: float | None) -> Any:
            if a is None:
                return b
            if b is None:
                return a
            return a + b

        return Usage(*(add(getattr(self, n), getattr(other, n)) for n in _USAGE_FIELDS))

    def is_empty(self) -> bool:
        """True when no counter is set."""
        return all(getattr(self, n) is None for n in _USAGE_FIELDS)

    @property
    def total_tokens(self) -> int:
        """input + output tokens (cache and reasoning tokens are counted inside those)."""
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def to_dict(self) -> dict[str, int | float]:
        """The set counters as a dict (unset ones left out)."""
        return {n: getattr(self, n) for n in _USAGE_FIELDS if getattr(self, n) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Build from a dict with Usage's field names; unknown keys raise InvalidInput."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InvalidInput.about("usage", f"unknown field(s) {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call of an assistant message, matched to its result by ``call_id``."""

    session_id: str
    call_id: str
    name: str
    arguments: str
    request_seq: int
    result_seq: int | None = None
    result_text: str | None = None
    status: ToolStatus = "pending"
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append, with what the bare item dict cannot say.

    ``append`` accepts plain item dicts too; use this when a message needs its own id,
    timestamp, model, usage, visibility or metadata (importers and adapters do).
    """

    item: Mapping[str, Any]
    id: str | None = None
    created_at: datetime | None = None
    model: str | None = None
    usage: Usage | None = None
    visible_to_model: bool = True
    visible_to_user: bool = True
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message. ``item`` is the dict exactly as appended (JSON-equal)."""

    session_id: str
    seq: int
    id: str
    role: Role
    item: dict[str, Any]
    text: str
    created_at: datetime
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    model: str | None = None
    usage: Usage | None = None
    visible_to_model: bool = True
    visible_to_user: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """A stored session with its counters and usage totals.

    ``updated_at`` is the time of the last activity: creation, the newest appended
    message's timestamp, or a status change (editing title or metadata does not count),
    so imported transcripts sort by when they happened, not when they were imported.
    """

    id: str
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    agent: str | None = None
    model: str | None = None
    source: str | None = None
    user_id: str | None = None
    working_dir: str | None = None
    parent_id: str | None = None
    relation: Relation | None = None
    status: Status = "active"
    metadata: dict[str, Any] = field(default_factory=dict)
    last_message_at: datetime | None = None
    message_count: int = 0
    last_seq: int = 0
    usage: Usage = field(default_factory=Usage)
    preview: str | None = None
    compaction_count: int = 0
    compacted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass ``next_cursor`` back to get the next (None: no more)."""

    items: list[T]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching message."""

    session_id: str
    seq: int
    role: Role
    snippet: str
    rank: float
    created_at: datetime
    title: str | None = None
    agent: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionHit:
    """A session with matches, ranked by its best hit."""

    session: Session
    hits: int
    best_rank: float
    best_seq: int
    snippet: str


@dataclass(frozen=True, slots=True)
class TreeNode:
    """A session and its descendants."""

    session: Session
    children: list[TreeNode] = field(default_factory=list)

    def walk(self) -> Iterator[TreeNode]:
        """This node, then every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Totals:
    """Counters summed over a set of sessions/messages."""

    sessions: int = 0
    messages: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Tool:
    """Per-tool statistics."""

    name: str
    calls: int
    errors: int
    error_rate: float | None
    median_duration_ms: float | None


@dataclass(frozen=True, slots=True)
class Stats:
    """Result of ``Store.stats``: totals, optional groups and per-tool figures."""

    totals: Totals
    groups: list[tuple[str, Totals]] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line an importer could not use, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts, skipped lines and per-file errors.

    ``messages_updated`` counts messages stored before whose usage, visibility or
    metadata a re-import corrected (e.g. hidden by a compaction the source wrote since).
    """

    files: int = 0
    sessions_created: int = 0
    sessions_updated: int = 0
    messages_added: int = 0
    messages_updated: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    session_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What ``prune`` removed (or would remove, with ``dry_run``)."""

    session_ids: list[str]
    messages: int
    archived_to: str | None = None
    dry_run: bool = False
    #: session id -> the archive file written for it (empty without archive_dir or dry_run)
    archives: dict[str, str] = field(default_factory=dict)
    #: idle when listed but written to before they could be deleted: left in place
    kept: list[str] = field(default_factory=list)


def random_suffix() -> str:
    """A short random token (for names of throwaway objects)."""
    return secrets.token_hex(4)


# ---------------------------------------------------------------------------- stored values


def _builder(cls: type[T]) -> Any:
    """A positional constructor of ``cls`` for values read back from the database.

    The values were validated when they were written, so neither ``__post_init__`` nor
    the frozen ``__init__`` runs: that ``__init__`` sets each field through
    ``object.__setattr__``, which made building a ``Message`` cost about 1.3 µs, and a
    read of 50 messages builds dozens of objects. This sets the slots directly (0.7 µs).
    Every field must be given, in declaration order. The object is the same frozen
    dataclass instance ``cls(...)`` makes.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    body = []
    for index, name in enumerate(names):
        scope[f"_set{index}"] = getattr(cls, name).__set__
        body.append(f"    _set{index}(o, {name})")
    source = (
        f"def build_{cls.__name__}({', '.join(names)}):\n"
        "    o = _new(_cls)\n" + "\n".join(body) + "\n    return o\n"
    )
    exec(source, scope)  # the dataclasses module builds __init__ the same way
    return scope[f"build_{cls.__name__}"]


stored_usage: Callable[..., Usage] = _builder(Usage)
stored_tool_call: Callable[..., ToolCall] = _builder(ToolCall)
stored_message: Callable[..., Message] = _builder(Message)
stored_session: Callable[..., Session] = _builder(Session)
