"""The registry entry of a format, the file head its detector looks at, and read-only
access to foreign SQLite files."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import MAX_WHOLE_FILE_BYTES, Context, Record, read_first_json

__all__ = ["Format", "Head", "is_sqlite", "open_readonly", "read_head", "readable_copy"]

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


def no_companions(path: Path) -> Sequence[Path]:
    """The default: a transcript is one file."""
    return ()


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
    # Other files the reader also reads for ``path`` (picoclaw's .meta.json): a change to
    # any of them makes the file "changed" for the driver's unchanged-file check.
    companions: Callable[[Path], Sequence[Path]] = no_companions


def read_head(path: Path, source: Path | None = None) -> Head:
    """The Head of ``path`` (reads only the start, or a small whole JSON document).

    ``source`` is where to read a SQLite file's bytes when not ``path`` (its private
    copy, see ``readable_copy``).
    """
    with path.open("rb") as handle:
        start = handle.read(16)
    if start.startswith(SQLITE_MAGIC):
        return Head([], tables=frozenset(_tables(source or path)))
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
# Reading a foreign database's catalogue, read-only.
SELECT_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


def is_sqlite(path: Path) -> bool:
    """True when ``path`` starts with the SQLite header."""
    with path.open("rb") as handle:
        return handle.read(16) == SQLITE_MAGIC


# Beside a SQLite file: its write-ahead log, or the journal of an unfinished transaction.
_SIDE_FILES = ("-wal", "-journal")
_COPY_ATTEMPTS = 5


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _needs_copy(path: Path) -> bool:
    """True when opening ``path`` in place could create or change files beside it.

    A database in WAL mode (header bytes 18/19 are 2) makes SQLite create ``-wal`` and
    ``-shm`` beside it even for a ``mode=ro`` connection; a ``-journal`` left by a crash
    would be rolled back. Either way the source directory would change.
    """
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) == 20 and 2 in (header[18], header[19]):
        return True
    return any(_side(path, suffix).exists() for suffix in _SIDE_FILES)


def _state(path: Path) -> tuple[object, ...]:
    """What must not change while the file is copied: the database file itself, the WAL's
    header (a checkpoint restarting the log rewrites it; frames appended after it are
    harmless, SQLite ignores an incomplete last transaction) and the journal."""
    found: list[object] = []
    stat = path.stat()
    found.append((stat.st_size, stat.st_mtime_ns))
    try:
        with _side(path, "-wal").open("rb") as handle:
            found.append(handle.read(32))
    except FileNotFoundError:
        found.append(None)
    try:
        journal = _side(path, "-journal").stat()
        found.append((journal.st_size, journal.st_mtime_ns))
    except FileNotFoundError:
        found.append(None)
    return tuple(found)


@contextmanager
def readable_copy(path: Path) -> Iterator[Path]:
    """``path`` itself, or for a SQLite file that reading in place would write beside
    (see ``_needs_copy``), a private copy of it and its ``-wal``/``-journal`` in a
    temporary directory, removed on exit. Source files are never modified.

    Raises OSError when the file kept changing (checkpoints) through every copy attempt.
    """
    if not is_sqlite(path) or not _needs_copy(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="sessiondb-import-") as folder:
        copy = Path(folder) / "source.db"
        for _ in range(_COPY_ATTEMPTS):
            before = _state(path)
            shutil.copyfile(path, copy)
            for suffix in _SIDE_FILES:
                _side(copy, suffix).unlink(missing_ok=True)
                with contextlib.suppress(FileNotFoundError):
                    shutil.copyfile(_side(path, suffix), _side(copy, suffix))
            if _state(path) == before:
                break
        else:
            raise OSError(f"{path} kept changing while it was copied for reading; try again")
        if _side(copy, "-journal").exists():
            # An unfinished transaction: a read-only connection cannot roll it back, so
            # roll it back here, in the copy (a reader would otherwise see no tables).
            with contextlib.suppress(*SQLITE_ERRORS):
                recover = sqlite3.connect(copy)
                try:
                    recover.execute(SELECT_TABLES).fetchall()
                finally:
                    recover.close()
        yield copy


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to a foreign SQLite file (never creates or writes it).

    Give it ``Context.source``: for a file in WAL mode that is a private copy, since
    SQLite would otherwise create ``-wal``/``-shm`` files beside the source.
    """
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
            rows = conn.execute(SELECT_TABLES).fetchall()
        finally:
            conn.close()
    except SQLITE_ERRORS:
        return []
    return [str(r[0]) for r in rows]
