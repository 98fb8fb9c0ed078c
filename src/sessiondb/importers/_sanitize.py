"""Repair text sessiondb refuses to store (NUL, lone surrogates) in an imported message."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..model import NewMessage

__all__ = ["clean", "sanitize"]

REPLACEMENT = "\ufffd"


def sanitize(message: NewMessage) -> NewMessage | None:
    """A copy of ``message`` with NUL and lone surrogates replaced by U+FFFD (marked in
    its metadata), or None when there was nothing to repair."""
    item = clean(message.item)
    meta = clean(dict(message.metadata or {}))
    if item == message.item and meta == dict(message.metadata or {}):
        return None
    meta["sanitized"] = True
    return dataclasses.replace(message, item=item, metadata=meta)


def clean(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", REPLACEMENT)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value
