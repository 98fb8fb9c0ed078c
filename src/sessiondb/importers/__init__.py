"""Importers: one module per transcript format, returning model objects (never SQL).

``import_path`` (what ``Store.import_path`` delegates to) walks a file or a directory,
detects each file's format from its content (or takes the one given), and applies the
records the format's reader yields through the public Store API only:
``create_session``/``update_session`` for sessions and ``append`` in batches of
``BATCH_SIZE`` messages for speed.

Guarantees:

* Idempotent and incremental: every message carries a stable id (the source's own id,
  or a hash of its content), and ``append`` stores an id only once per session, so a
  re-import adds nothing and a grown file adds only its new messages.
* A file fully imported before and unchanged since (same size and modification time,
  recorded in its first session's ``metadata["import"]``) is not read again.
* Source files are opened read-only (SQLite files with ``mode=ro``) and never changed.
* One bad file never stops the others: its error goes to ``ImportReport.errors``; a bad
  line is skipped and reported with file and line in ``ImportReport.skipped``.
* A child whose parent is imported later (or in a later file) is linked at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AlreadyExists, BadTranscript, InvalidInput, NotFound, SessionDBError
from ..model import (
    ImportReport,
    NewMessage,
    Session,
    SkippedLine,
    check_id,
    check_metadata,
)
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
from ._common import Begin, Context, Entry, Record
from ._formats import Format, Head, read_head
from ._sanitize import clean, sanitize

__all__ = [
    "BATCH_SIZE",
    "FORMATS",
    "Begin",
    "Entry",
    "Format",
    "Head",
    "detect_format",
    "discover",
    "import_path",
]

BATCH_SIZE = 500

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


def detect_format(path: str | Path) -> str | None:
    """The name of the format of ``path`` judged from its content, or None."""
    file = Path(path)
    try:
        head = read_head(file)
    except OSError:
        return None
    for fmt in FORMATS.values():
        if fmt.sqlite == (head.tables is not None) and fmt.detect(file, head):
            return fmt.name
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
    if format is not None and format not in FORMATS:
        raise InvalidInput(f"format: {format!r} is not one of {', '.join(FORMATS)}")
    root = Path(path)
    if not root.exists():
        raise InvalidInput(f"path: {root} does not exist")
    report = ImportReport()
    writer = _Writer(store, report, progress)
    explicit = root.is_file()
    own = _own_file(store)
    for file in [root] if explicit else _walk(root):
        if own is not None and _same_file(file, own):
            continue  # never import the store's own database into itself
        try:
            name = format or detect_format(file)
        except Exception as exc:  # a detector bug must not abort the other files
            report.errors[str(file)] = f"internal error: detecting the format: {exc!r}"
            continue
        if name is None:
            if explicit:
                report.errors[str(file)] = "format not recognized"
            else:
                report.skipped.append(SkippedLine(str(file), 0, "format not recognized"))
            continue
        writer.run_file(file, FORMATS[name])
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


def _storable(metadata: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``metadata`` without the entries sessiondb would refuse (NaN, bytes...), each
    reported: a bad token counter in a source must not cost the whole session."""
    kept: dict[str, Any] = {}
    for key, value in metadata.items():
        try:
            check_metadata("metadata", {key: value})
        except InvalidInput as exc:
            ctx.skip(0, f"session metadata {key!r} not imported ({exc})")
            continue
        kept[key] = value
    return kept


@dataclass(slots=True)
class _Open:
    """A session being written by the current file."""

    begin: Begin
    session: Session
    existed: bool
    last_seq: int
    added: int = 0
    pending: list[tuple[NewMessage, int]] = field(default_factory=list)


class _Writer:
    """Applies reader records to the store: sessions, batched appends, lineage."""

    def __init__(
        self, store: Store, report: ImportReport, progress: Callable[[int], None] | None
    ) -> None:
        self.store = store
        self.report = report
        self.progress = progress
        self.links: dict[str, tuple[str, str | None]] = {}
        self.dropped: set[str] = set()

    def run_file(self, path: Path, fmt: Format) -> None:
        """Import one file; its problems go to the report, never out of here."""
        ctx = Context(path)
        opened: dict[str, _Open] = {}
        try:
            stat = path.stat()
            fingerprint = [stat.st_size, stat.st_mtime_ns]
            records = fmt.read(ctx)
            try:
                for record in records:
                    if (
                        not opened
                        and isinstance(record, Begin)
                        and fmt.tag_source
                        and self._unchanged(record, path, fingerprint)
                    ):
                        self.report.files += 1
                        return  # imported completely before, and not touched since
                    self._apply(record, opened, ctx, fmt)
            finally:
                close = getattr(records, "close", None)
                if close is not None:
                    close()  # a reader stopped early closes its file or connection now
            for state in opened.values():
                self._flush(state, ctx)
                self._finish(state)
            if opened and fmt.tag_source:
                first = next(iter(opened.values()))
                self._mark_complete(first, path, fmt, fingerprint)
            self.report.files += 1
        except BadTranscript as exc:
            self.report.errors[str(path)] = f"BadTranscript: {exc}"
        except SessionDBError as exc:
            self.report.errors[str(path)] = f"{type(exc).__name__}: {exc}"
        except (OSError, MemoryError) as exc:
            self.report.errors[str(path)] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a reader bug must not abort the other files
            self.report.errors[str(path)] = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self.report.skipped.extend(ctx.skipped)

    def _unchanged(self, begin: Begin, path: Path, fingerprint: list[int]) -> bool:
        """True when the file that opens with ``begin`` was fully imported before and has
        the same size and modification time now: re-reading it could add nothing.

        A child whose parent was imported since is still linked to it.
        """
        try:
            session = self.store.get_session(begin.id)
        except (NotFound, InvalidInput):
            return False
        mark = session.metadata.get("import")
        unchanged = (
            isinstance(mark, dict)
            and mark.get("file") == str(path)
            and mark.get("fingerprint") == fingerprint
        )
        if unchanged and begin.parent is not None and session.parent_id is None:
            self.links[begin.id] = (begin.parent, begin.relation)
        return unchanged

    def _mark_complete(self, state: _Open, path: Path, fmt: Format, fingerprint: list[int]) -> None:
        """Record on the file's first session that the file was imported to its end."""
        mark = state.session.metadata.get("import")
        if state.existed and isinstance(mark, dict) and mark.get("file") != str(path):
            return  # the session came from another file first: leave that record alone
        done = {"format": fmt.name, "file": str(path), "fingerprint": fingerprint}
        if mark != done:
            self.store.update_session(state.begin.id, metadata={"import": done})

    def _apply(self, record: Record, opened: dict[str, _Open], ctx: Context, fmt: Format) -> None:
        if isinstance(record, Entry):
            state = opened.get(record.session)
            if state is None:
                if record.session in self.dropped:
                    return  # its session was refused and reported
                raise InvalidInput(f"message for session {record.session!r} before it began")
            state.pending.append((record.message, record.line))
            if len(state.pending) >= BATCH_SIZE:
                self._flush(state, ctx)
            return
        record.fields = clean(record.fields)  # NUL/lone surrogates cannot be stored
        if isinstance(record.fields.get("metadata"), dict):
            record.fields["metadata"] = _storable(record.fields["metadata"], ctx)
        current = opened.get(record.id)
        if current is not None:  # a later header: its fields win at the end of the file
            merged = dict(current.begin.fields)
            merged.update({k: v for k, v in record.fields.items() if v is not None})
            old_meta = current.begin.fields.get("metadata") or {}
            meta = {**old_meta, **(record.fields.get("metadata") or {})}
            merged["metadata"] = meta
            current.begin.fields = merged
            current.begin.parent = record.parent or current.begin.parent
            current.begin.relation = record.relation or current.begin.relation
            return
        if record.id in self.dropped:
            return
        try:
            check_id("session id", record.id)
        except InvalidInput as exc:
            self.dropped.add(record.id)
            ctx.skip(0, f"session not imported: its id is unusable ({exc})")
            return
        if record.parent is not None:
            try:
                check_id("parent id", record.parent)
            except InvalidInput:
                record.parent = record.relation = None
        opened[record.id] = self._open(record, ctx, fmt)

    def _open(self, begin: Begin, ctx: Context, fmt: Format) -> _Open:
        fields = {k: v for k, v in begin.fields.items() if v is not None}
        meta = dict(fields.pop("metadata", None) or {})
        if fmt.tag_source:
            meta["import"] = {"format": fmt.name, "file": str(ctx.path)}
        begin.fields["metadata"] = meta
        parent_ok = begin.parent is not None and self._exists(begin.parent)
        try:
            session = self.store.get_session(begin.id)
            existed = True
        except NotFound:
            session = self._create(begin, ctx, parent_ok, meta, fields)
            existed = False
        except AlreadyExists:
            session = self.store.get_session(begin.id)
            existed = True
        if begin.parent is not None and session.parent_id is None:
            self.links[begin.id] = (begin.parent, begin.relation)
        if not existed:
            self.report.sessions_created += 1
        if begin.id not in self.report.session_ids:
            self.report.session_ids.append(begin.id)
        return _Open(begin, session, existed, session.last_seq)

    def _create(
        self,
        begin: Begin,
        ctx: Context,
        parent_ok: bool,
        meta: dict[str, Any],
        fields: dict[str, Any],
    ) -> Session:
        kwargs: dict[str, Any] = {
            "source": begin.source,
            "parent_id": begin.parent if parent_ok else None,
            "relation": begin.relation if parent_ok else None,
        }
        try:
            try:
                return self.store.create_session(begin.id, metadata=meta, **kwargs, **fields)
            except InvalidInput as exc:
                # A field the source got wrong (e.g. an unknown status): keep the session.
                ctx.skip(0, f"session fields not imported ({exc})")
                for name in ("title", "agent", "model", "user_id", "working_dir", "status"):
                    begin.fields.pop(name, None)
                return self.store.create_session(begin.id, metadata=meta, **kwargs)
        except AlreadyExists:
            return self.store.get_session(begin.id)

    def _exists(self, session_id: str) -> bool:
        try:
            self.store.get_session(session_id)
        except NotFound:
            return False
        return True

    def _flush(self, state: _Open, ctx: Context) -> None:
        if not state.pending:
            return
        batch, state.pending = state.pending, []
        try:
            stored = self.store.append(state.begin.id, [m for m, _ in batch])
        except InvalidInput:
            stored = self._append_each(state, batch, ctx)
        added = 0
        for message in stored:
            if message.seq > state.last_seq:
                added += 1
                state.last_seq = message.seq
        state.added += added
        self.report.messages_added += added
        if self.progress is not None and added:
            self.progress(self.report.messages_added)

    def _append_each(
        self, state: _Open, batch: list[tuple[NewMessage, int]], ctx: Context
    ) -> list[Any]:
        """The slow path after a batch was refused: one message at a time, repairing
        text sessiondb cannot store (NUL, lone surrogates) and skipping the rest."""
        stored = []
        for message, line in batch:
            try:
                stored.extend(self.store.append(state.begin.id, message))
                continue
            except InvalidInput as exc:
                first_error = exc
            repaired = sanitize(message)
            try:
                if repaired is None:
                    raise first_error
                stored.extend(self.store.append(state.begin.id, repaired))
            except InvalidInput as exc:
                ctx.skip(line, f"message not storable ({exc})")
        return stored

    def _finish(self, state: _Open) -> None:
        """Apply the file's final session fields; count the session as created/updated."""
        fields = state.begin.fields
        current = self.store.get_session(state.begin.id)
        changes: dict[str, Any] = {}
        for name in ("title", "working_dir", "agent", "user_id", "status"):
            value = fields.get(name)
            if value is not None and value != getattr(current, name):
                changes[name] = value
        model = fields.get("model")
        if model is not None and current.model is None:
            changes["model"] = model
        patch = {
            k: v for k, v in (fields.get("metadata") or {}).items() if current.metadata.get(k) != v
        }
        if state.existed:
            patch.pop("import", None)  # keep where it first came from
        if patch:
            changes["metadata"] = patch
        if changes:
            try:
                self.store.update_session(state.begin.id, **changes)
            except InvalidInput:
                changes = {}  # reported at creation; the session keeps what it has
        if state.existed and (changes or state.added):
            self.report.sessions_updated += 1

    def link_children(self) -> None:
        """Give children imported before their parents their parent_id, now it exists."""
        for child, (parent, relation) in self.links.items():
            try:
                self.store.update_session(child, parent_id=parent, relation=relation)
            except (NotFound, InvalidInput):
                continue  # the parent was never imported: the child stays a root
