"""The registry entry of a format and the file head its detector looks at."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import MAX_WHOLE_FILE_BYTES, Context, Record, read_first_json

__all__ = ["Format", "Head", "open_readonly", "read_head"]

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class Head:
    """What detection sees of a file.

    ``lines``: the first non-blank lines parsed as JSON (None where a line is not JSON);
    ``document``: the whole file parsed as JSON when it is one small JSON value;
    ``tables``: the table names when the file is a SQLite database (else None).
    """

    lines: list[Any]
    document: Any = None
    tables: frozenset[str] | None = None

    @property
    def first(self) -> dict[str, Any] | None:
        """The first line when it is a JSON object."""
        value = self.lines[0] if self.lines else None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Format:
    """A transcript format: a detector and a reader (see ``_common`` for records)."""

    name: str
    detect: Callable[[Path, Head], bool]
    read: Callable[[Context], Iterator[Record]]
    sqlite: bool = False
    # Whether the driver records where a session came from in its metadata ("import");
    # off for sessiondb's own export, whose round trip must be exact.
    tag_source: bool = True


def read_head(path: Path) -> Head:
    """The Head of ``path`` (reads only the start, or a small whole JSON document)."""
    with path.open("rb") as handle:
        start = handle.read(16)
    if start.startswith(SQLITE_MAGIC):
        return Head([], tables=frozenset(_tables(path)))
    lines = read_first_json(path)
    document = None
    stripped = start.lstrip()
    if (
        stripped[:1] in (b"{", b"[")
        and (not lines or lines[0] is None or isinstance(lines[0], list))
        and path.stat().st_size <= MAX_WHOLE_FILE_BYTES
    ):
        # Pretty-printed JSON (picoclaw legacy, goose export, chat lists) spans lines.
        with contextlib.suppress(ValueError, RecursionError):
            document = json.loads(path.read_bytes())
    return Head(lines, document)


# A damaged file can make sqlite3 fail while decoding its own error message.
SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to a foreign SQLite file (never creates or writes it)."""
    uri = "file:" + str(path.resolve()).replace("?", "%3f").replace("#", "%23") + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    conn.text_factory = _strict_text
    return conn


def _strict_text(raw: bytes) -> str:
    """Decode a TEXT value; invalid UTF-8 (a damaged file) becomes a sqlite3.Error, which
    the importers already report per session or row, instead of a UnicodeDecodeError."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise sqlite3.DataError(f"invalid UTF-8 in a text column ({exc.reason})") from None


def _tables(path: Path) -> list[str]:
    try:
        conn = open_readonly(path)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except SQLITE_ERRORS:
        return []
    return [str(r[0]) for r in rows]
