"""Importers: one module per transcript format, returning model objects (never SQL).

``import_path`` (what ``Store.import_path`` delegates to) walks a file or a directory
with ``plan``, which detects each file's format from its content (or takes the one
given), and hands each file to the writer (``_writer.py``), which applies the records
the format's reader yields through the public Store API only.

Guarantees:

* Idempotent and incremental: every message carries a stable id (the source's own id,
  or a hash of its content), and ``append`` stores an id only once per session, so a
  re-import adds nothing and a grown file adds only its new messages. Messages stored
  before are corrected where the source now says otherwise (visibility after a
  compaction, usage that arrived later), so a re-import ends where a fresh import would.
* A file fully imported before and unchanged since (same size and modification time,
  with its companion files, recorded in its first session's ``metadata["import"]``
  under its resolved path) is not read again.
* Source files are never changed: text files are only read; SQLite files are opened
  read-only, and one in WAL mode (where SQLite would create ``-wal``/``-shm`` files
  beside it even read-only) is read from a private copy.
* What is not imported is reported: lines with file and line in
  ``ImportReport.skipped``; files of no known format, companion or leftover files named
  explicitly (``*.migrated``, ``*.meta.json``...) and files that are not regular files
  (a FIFO would block the import) in ``skipped`` with line 0. One bad file never stops
  the others: its error goes to ``ImportReport.errors``.
* A child whose parent is imported later (or in a later file) is linked at the end.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..model import ImportReport, SkippedLine
from ..store import Store
from . import (
    claude_code,
    codex,
    goose,
    langchain,
    nanobot,
    openai_agents,
    openai_chat,
    openhuman,
    pi,
    picoclaw,
    sessiondb_jsonl,
)
from ._common import Amend, Begin, Entry
from ._formats import Format, Head, read_head, readable_copy
from ._writer import BATCH_SIZE, Writer

__all__ = [
    "BATCH_SIZE",
    "FORMATS",
    "Amend",
    "Begin",
    "Entry",
    "Format",
    "Head",
    "PlannedFile",
    "detect_format",
    "discover",
    "import_path",
    "plan",
]

# Detection order matters: the most specific signatures first.
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        sessiondb_jsonl.FORMAT,
        goose.FORMAT_DB,
        openai_agents.FORMAT,
        langchain.FORMAT,
        nanobot.FORMAT,
        openhuman.FORMAT,
        codex.FORMAT,
        pi.FORMAT,
        claude_code.FORMAT,
        goose.FORMAT,
        picoclaw.FORMAT,
        openai_chat.FORMAT,
    )
}

_SUFFIXES = (".jsonl", ".json", ".db", ".sqlite", ".sqlite3")
# Companion and leftover files of the tools above: never transcripts themselves.
_IGNORED_ENDINGS = (".meta.json", ".migrated", ".tmp", ".backup", "-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file ``plan`` found: the format it will be imported as, or why it will not be.

    ``read_from`` is where its bytes are read (a private copy of a SQLite file in WAL
    mode, else the file itself); it is valid until ``plan`` is asked for the next file.
    """

    path: Path
    format: str | None
    reason: str | None = None
    read_from: Path | None = None


def _detect(path: Path, source: Path) -> str | None:
    try:
        head = read_head(path, source)
    except OSError:
        return None
    for fmt in FORMATS.values():
        if fmt.sqlite == (head.tables is not None) and fmt.detect(path, head):
            return fmt.name
    return None


def detect_format(path: str | Path) -> str | None:
    """The name of the format of ``path`` judged from its content, or None.

    Never changes the file or its directory, and never blocks on a FIFO.
    """
    file = Path(path)
    try:
        if not stat.S_ISREG(file.stat().st_mode):
            return None
        with readable_copy(file) as source:
            return _detect(file, source)
    except OSError:
        return None


def plan(
    path: str | Path, format: str | None = None, *, exclude: Path | None = None
) -> Iterator[PlannedFile]:
    """Every file importing ``path`` would consider, in import order, with its format
    (given, or detected from its content) or the reason it is skipped.

    This is the walk ``import_path`` itself does (``sessiondb import --dry-run`` lists
    it): a directory is walked recursively (hidden entries, companion and leftover
    files such as ``*.meta.json`` and ``*.migrated`` left out, parents before their
    children), a file is taken as it is. ``exclude`` (the store's own database) is
    passed over. Raises InvalidInput for an unknown ``format`` or a missing ``path``.
    """
    if format is not None and format not in FORMATS:
        raise InvalidInput.about("format", f"{format!r} is not one of {', '.join(FORMATS)}")
    root = Path(path)
    if not root.exists():
        raise InvalidInput.about("path", f"{root} does not exist")
    explicit = not root.is_dir()
    for file in [root] if explicit else _walk(root):
        if exclude is not None and _same_file(file, exclude):
            continue  # never import the store's own database into itself
        reason = _not_importable(file, explicit)
        if reason is not None:
            yield PlannedFile(file, None, reason)
            continue
        try:
            with readable_copy(file) as source:
                try:
                    name = format or _detect(file, source)
                except OSError:
                    raise
                except Exception as exc:  # a detector bug must not abort the other files
                    yield PlannedFile(file, None, f"{_DETECTOR_ERROR}: {exc!r}")
                    continue
                yield PlannedFile(file, name, None if name else "format not recognized", source)
        except OSError as exc:
            yield PlannedFile(file, None, f"not readable ({exc})")


_DETECTOR_ERROR = "internal error: detecting the format"


def _not_importable(file: Path, explicit: bool) -> str | None:
    """Why ``file`` is not read at all, or None."""
    try:
        mode = file.stat().st_mode
    except OSError as exc:
        return f"not readable ({exc})"
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        return f"not imported: {kind} (reading it could block)"
    if explicit and file.name.endswith(_IGNORED_ENDINGS):
        return "not imported: a companion or leftover file of an agent tool, not a transcript"
    return None


def discover(home: str | Path | None = None) -> list[tuple[str, Path]]:
    """(format, path) for every default transcript location that exists on this machine.

    ``home`` replaces the user's home directory (tests); environment overrides such as
    ``CLAUDE_CONFIG_DIR`` and ``CODEX_HOME`` are honoured when ``home`` is None. The
    format is a hint: ``import_path`` still detects each file's own format.
    """
    base = Path(home) if home is not None else Path.home()
    env = os.environ if home is None else {}
    claude = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else base / ".claude"
    codex_home = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else base / ".codex"
    xdg = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else base / ".local" / "share"
    candidates = [
        ("claude_code", claude / "projects"),
        ("codex", codex_home / "sessions"),
        ("codex", codex_home / "archived_sessions"),
        ("nanobot", base / ".nanobot" / "sessions"),
        ("nanobot", base / ".nanobot" / "workspace" / "sessions"),
        ("picoclaw", base / ".picoclaw" / "workspace" / "sessions"),
        ("goose", xdg / "goose" / "sessions"),
        ("openhuman", base / ".openhuman" / "workspace" / "session_raw"),
        ("pi", base / ".pi" / "agent" / "sessions"),
    ]
    return [(name, path) for name, path in candidates if path.is_dir()]


def import_path(
    store: Store,
    path: str | Path,
    *,
    format: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file or directory into ``store``; see ``Store.import_path``.

    Raises InvalidInput for an unknown ``format`` or a path that does not exist; every
    problem inside a file is reported in the returned ``ImportReport`` instead.
    """
    files = plan(path, format, exclude=_own_file(store))
    report = ImportReport()
    writer = Writer(store, report, progress)
    explicit = not Path(path).is_dir()
    for planned in files:
        if planned.format is None:
            reason = planned.reason or "format not recognized"
            if (explicit and reason == "format not recognized") or reason.startswith(
                _DETECTOR_ERROR
            ):
                report.errors[str(planned.path)] = reason
            else:
                report.skipped.append(SkippedLine(str(planned.path), 0, reason))
            continue
        writer.run_file(planned.path, FORMATS[planned.format], planned.read_from)
    writer.link_children()
    return report


def _own_file(store: Store) -> Path | None:
    """The store's own database file, when it is a local SQLite file."""
    url = store.url
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _walk(root: Path) -> Iterator[Path]:
    """Candidate transcript files under ``root``, parents before their children."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or name.endswith(_IGNORED_ENDINGS):
                continue
            if name.endswith(_SUFFIXES):
                found.append(Path(dirpath) / name)
    # "<id>.jsonl" sorts before "<id>/subagents/..." and "<stem>__child.jsonl".
    yield from sorted(found, key=str)
