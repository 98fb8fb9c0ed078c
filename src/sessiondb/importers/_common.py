"""What importers share: the records a reader yields, line reading, stable ids, helpers.

A reader turns one source file into a stream of records and never touches the store:

* ``Begin`` opens (or re-opens) a session: its id in sessiondb, the fields to create it
  with, and its parent. A reader may yield ``Begin`` again for the same session later in
  the file; the last value of each field wins (e.g. openhuman's ``_meta`` refresh lines).
* ``Entry`` is one message for a session opened before.
* ``Amend`` corrects the usage of a message an earlier ``Entry`` of the same file gave,
  once the reader learns it (a Codex ``token_count`` comes after the response it counts,
  a Claude Code API message's last line comes after its first). Readers stay streaming:
  they never hold messages back waiting for what a later line will say.

Readers report unusable lines through ``Context.skip`` (file and line are kept) and
raise ``BadTranscript`` only when the file's required header is unusable; the driver
in ``importers/__init__.py`` turns records into Store calls.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..dialects import parse_time
from ..errors import BadTranscript
from ..model import MAX_COST_USD, MAX_TOKENS, NewMessage, SkippedLine, Usage

__all__ = [
    "Amend",
    "Begin",
    "Clock",
    "Context",
    "Entry",
    "Record",
    "as_dict",
    "as_str",
    "content_id",
    "iter_json_lines",
    "parse_time",
    "read_first_json",
    "usage_or_none",
]

# Files above this size are not loaded whole: only the line-oriented readers see them.
MAX_WHOLE_FILE_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Begin:
    """Open session ``id`` (sessiondb's id), creating it with ``fields`` if it is new.

    ``fields`` are ``create_session`` keyword arguments (title, model, working_dir,
    status, agent, user_id, created_at, metadata...); ``parent`` is the parent's
    sessiondb id, linked when (or once) that session exists.
    """

    id: str
    source: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    relation: str | None = None
    #: fields sessiondb maintains itself, set once the file's messages are in
    #: (``update_session``'s updated_at, compaction_count, compacted_at): an export's
    restore: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Entry:
    """One message of session ``session`` (opened by an earlier ``Begin``)."""

    session: str
    message: NewMessage
    line: int = 0  # where it came from, for the report when it cannot be stored


@dataclass(slots=True)
class Amend:
    """Message ``message_id`` of session ``session``, yielded earlier in this file, has
    ``usage`` after all: the driver applies it as if the ``Entry`` had said so."""

    session: str
    message_id: str
    usage: Usage


Record = Begin | Entry | Amend


@dataclass(slots=True)
class Context:
    """What a reader may ask of the driver: where it is, and a place to report lines."""

    path: Path
    skipped: list[SkippedLine] = field(default_factory=list)
    on_skip: Callable[[SkippedLine], None] | None = None
    # Where to read the bytes when not ``path`` itself: a private copy of a SQLite file
    # whose in-place reading would create files beside it (see _formats.readable_copy).
    read_from: Path | None = None

    @property
    def source(self) -> Path:
        """The file to open for reading (``path``, or its private copy)."""
        return self.read_from or self.path

    def skip(self, line: int, reason: str) -> None:
        """Report line ``line`` (1-based; 0 for the whole file) as not imported."""
        entry = SkippedLine(str(self.path), line, reason)
        self.skipped.append(entry)
        if self.on_skip is not None:
            self.on_skip(entry)

    def bad(self, line: int, reason: str) -> BadTranscript:
        """The BadTranscript to raise when the required header at ``line`` is unusable."""
        return BadTranscript(
            f"{self.path}:{line}: {reason}", path=str(self.path), line=line, reason=reason
        )

    def bad_header(self, line: int | None, reason: str, *, empty: str) -> BadTranscript:
        """The BadTranscript to raise when a file's first line is not its header.

        ``line`` is the first JSON object ``iter_json_lines`` gave (None: the file has
        none); ``reason`` says what it is not, ``empty`` what a file without any line
        lacks. A line skipped before ``line`` (not JSON, not an object) is the file's
        real first line: that one is named, with why it did not parse, and it is no
        longer reported as skipped (the error says it all).
        """
        earlier = next(
            (s for s in self.skipped if s.line > 0 and (line is None or s.line < line)), None
        )
        if earlier is not None:
            self.skipped.remove(earlier)
            return self.bad(earlier.line, f"{reason}: {earlier.reason}")
        return self.bad(1, empty) if line is None else self.bad(line, reason)


def iter_json_lines(ctx: Context) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every JSON-object line of ``ctx.path``.

    Reads line by line in binary, so memory is bounded by the longest line. Blank lines
    are passed over; lines that are not UTF-8, not JSON or not an object are reported
    through ``ctx.skip`` and passed over (a crash-truncated last line is one of them).
    """
    with ctx.path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except UnicodeDecodeError:
                ctx.skip(number, "not UTF-8 text")
                continue
            except ValueError as exc:
                ctx.skip(number, f"not JSON ({_short(exc)})")
                continue
            except RecursionError:
                ctx.skip(number, "JSON nested too deeply")
                continue
            if not isinstance(value, dict):
                ctx.skip(number, f"not a JSON object (a {type(value).__name__})")
                continue
            yield number, value


def read_first_json(path: Path, max_lines: int = 5) -> list[Any]:
    """The first ``max_lines`` non-blank lines of ``path`` parsed as JSON (None when a line
    does not parse); reads at most a few MB, for format detection."""
    found: list[Any] = []
    budget = 8 * 1024 * 1024
    with path.open("rb") as handle:
        for raw in handle:
            budget -= len(raw)
            if raw.strip():
                try:
                    found.append(json.loads(raw))
                except (ValueError, RecursionError):
                    found.append(None)
                if len(found) >= max_lines:
                    break
            if budget <= 0:
                break
    return found


def load_json_file(ctx: Context) -> Any:
    """The whole file as one JSON value (for the small whole-file formats).

    Raises BadTranscript when it is too large, not UTF-8 or not JSON.
    """
    size = ctx.path.stat().st_size
    if size > MAX_WHOLE_FILE_BYTES:
        raise ctx.bad(0, f"{size} bytes is too large for a whole-file JSON format")
    try:
        return json.loads(ctx.path.read_bytes())
    except UnicodeDecodeError:
        raise ctx.bad(0, "not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise ctx.bad(getattr(exc, "lineno", 0) or 0, f"not JSON ({_short(exc)})") from None


def content_id(prefix: str, value: object, seen: Counter[str]) -> str:
    """A stable id for a message that has none: a hash of its content.

    The n-th identical message of a file gets ``.n`` appended, so repeated messages
    ("ok", "continue") stay distinct while a re-read of the same file gives the same ids.
    Position is deliberately not hashed: whole-file rewrites (nanobot, picoclaw) may
    drop older messages, which would shift every position.
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()
    seen[digest] += 1
    count = seen[digest]
    return f"{prefix}{digest}" if count == 1 else f"{prefix}{digest}.{count}"


class Clock:
    """The time of the last record of a file that had one, for records that have none
    (a trimmed or older line): they get the time before them, not the time of the
    import, so every import of the file gives them the same time."""

    __slots__ = ("last",)

    def __init__(self, start: datetime | None = None) -> None:
        self.last = start

    def at(self, value: object) -> datetime | None:
        """``value`` as a time when it is one (it becomes the last), else the last."""
        found = as_time(value)
        if found is not None:
            self.last = found
        return self.last


def as_dict(value: object) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty dict (for wrong types in fields)."""
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_int(value: object) -> int | None:
    """``value`` when it is a count: an int from 0 to ``MAX_TOKENS`` (not a bool), else
    None. A source's count past what a Usage holds is damage, not a count."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        return None
    return value


def as_time(value: object) -> datetime | None:
    """A timestamp (ISO string or Unix seconds/ms) as an aware datetime, else None."""
    if value is None or isinstance(value, bool):
        return None
    return parse_time(value)


def usage_or_none(**counters: object) -> Usage | None:
    """A Usage from the counters that are valid numbers; None when none is."""
    clean: dict[str, Any] = {}
    for name, value in counters.items():
        if name == "cost_usd":
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and 0 <= value <= MAX_COST_USD
            ):
                clean[name] = float(value)
        elif (number := as_int(value)) is not None:
            clean[name] = number
    return Usage(**clean) if clean else None


def strip_keys(value: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``value`` without ``keys``."""
    return {k: v for k, v in value.items() if k not in keys}


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."
