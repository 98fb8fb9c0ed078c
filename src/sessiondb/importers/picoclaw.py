"""picoclaw sessions: ``<key>.jsonl`` + ``<key>.meta.json`` (JSONL store), or one
pretty-printed legacy ``<key>.json`` ``{"key", "messages", "summary", "created", "updated"}``.

Messages are OpenAI-chat dicts (``created_at``, ``model_name``, ``reasoning_content``...),
stored as is. The real key is inside the file (``.meta.json`` or the legacy JSON); file
names are sanitised and lossy. ``*.migrated`` copies and ``.meta.json`` files are never
imported on their own (the directory walk leaves them out, and named explicitly they
are skipped). A changed ``.meta.json`` beside an unchanged ``.jsonl`` is read again.

* ``skip`` (logical truncation) in ``.meta.json``: the first ``skip`` lines are no longer
  part of the history, so they are imported with ``visible_to_model=False``.
* ``summary``: kept in the session's metadata (picoclaw feeds it to the model through the
  system prompt, not as a message).
* Ids are content hashes: ``SetHistory``/``Compact`` rewrite the file.
"""

from __future__ import annotations

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
    as_int,
    as_str,
    as_time,
    content_id,
    iter_json_lines,
    load_json_file,
)
from ._formats import Format, Head

__all__ = ["FORMAT", "SOURCE"]

SOURCE = "picoclaw"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + ".meta.json")


def _legacy(document: object) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("messages"), list)
        and ("key" in document or "created" in document or "updated" in document)
        and "model" not in document
    )


def detect(path: Path, head: Head) -> bool:
    """True for a legacy session JSON, or a JSONL of messages beside a ``.meta.json``."""
    if path.name.endswith(".migrated"):
        return False  # picoclaw's own backup of a file it already migrated
    if _legacy(head.document):
        return True
    first = head.first
    return (
        path.suffix == ".jsonl"
        and first is not None
        and isinstance(first.get("role"), str)
        and _meta_path(path).is_file()
    )


def _read_meta(ctx: Context) -> dict[str, Any]:
    meta_path = _meta_path(ctx.path)
    try:
        value = json.loads(meta_path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        ctx.skip(0, f"{meta_path.name} unreadable ({exc}); imported without it")
        return {}
    return value if isinstance(value, dict) else {}


def _message(line: dict[str, Any], hashes: Counter[str], visible: bool, clock: Clock) -> NewMessage:
    return NewMessage(
        item=line,
        id=content_id("h", line, hashes),
        created_at=clock.at(line.get("created_at")),
        model=as_str(line.get("model_name")),
        usage=Usage(),
        visible_to_model=visible,
    )


def read(ctx: Context) -> Iterator[Record]:
    """Records of one picoclaw session (see the module docstring)."""
    if ctx.path.suffix == ".json":
        yield from _read_legacy(ctx)
        return
    meta = _read_meta(ctx)
    source_key = as_str(meta.get("key")) or ctx.path.stem
    key = f"{SOURCE}:{source_key}"
    skip = as_int(meta.get("skip")) or 0
    extra: dict[str, Any] = {"source_id": source_key}
    if as_str(meta.get("summary")):
        extra["summary"] = meta["summary"]
    for name in ("scope", "aliases"):
        if name in meta:
            extra[name] = meta[name]
    yield Begin(key, SOURCE, {"created_at": as_time(meta.get("created_at")), "metadata": extra})
    hashes: Counter[str] = Counter()
    clock = Clock(as_time(meta.get("created_at")))
    # picoclaw's skip counts raw non-empty lines, corrupt ones included: every line
    # before this one was either yielded or reported.
    already_reported = len(ctx.skipped)
    yielded = 0
    for number, line in iter_json_lines(ctx):
        before = yielded + len(ctx.skipped) - already_reported
        if not isinstance(line.get("role"), str):
            ctx.skip(number, "message has no 'role'")
            continue
        yielded += 1
        yield Entry(key, _message(line, hashes, before >= skip, clock), number)


def _read_legacy(ctx: Context) -> Iterator[Record]:
    document = load_json_file(ctx)
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        raise ctx.bad(1, "not a picoclaw session: no 'messages' list")
    source_key = as_str(document.get("key")) or ctx.path.stem
    key = f"{SOURCE}:{source_key}"
    extra: dict[str, Any] = {"source_id": source_key}
    if as_str(document.get("summary")):
        extra["summary"] = document["summary"]
    yield Begin(key, SOURCE, {"created_at": as_time(document.get("created")), "metadata": extra})
    hashes: Counter[str] = Counter()
    clock = Clock(as_time(document.get("created")))
    for index, line in enumerate(document["messages"]):
        if not isinstance(line, dict) or not isinstance(line.get("role"), str):
            ctx.skip(index + 1, f"messages[{index}] is not a message object")
            continue
        yield Entry(key, _message(line, hashes, True, clock), index + 1)


def _companions(path: Path) -> list[Path]:
    """The ``.meta.json`` beside a JSONL session: its ``skip``/``summary`` changes alone
    when picoclaw truncates logically, so it is part of the file's fingerprint."""
    return [_meta_path(path)] if path.suffix == ".jsonl" else []


FORMAT = Format("picoclaw", detect, read, companions=_companions)
