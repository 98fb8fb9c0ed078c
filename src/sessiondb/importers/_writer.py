"""The import driver's writer: applies a reader's records to a store, file by file.

Records become public Store calls only: ``create_session``/``update_session`` for
sessions, ``append`` in batches of ``BATCH_SIZE`` for messages, and ``update_message``
to correct a message already stored. Invariants:

* Re-importing converges on a fresh import. A message already stored (same id) is
  compared with what the reader says of it now, and its usage, visibility and metadata
  are corrected when they differ: a compaction written since hides earlier messages, a
  usage count that arrived after the response is given to it. Items are never changed
  (ids come from the source or from the content, so an id's item does not change).
* ``Amend`` records correct a message yielded earlier: in the batch still waiting when
  it is there, else with ``update_message``. Readers therefore never hold messages back.
* A file fully imported before whose bytes (and companion files) have the same size and
  modification time since is not read again (``metadata["import"]``, on its first
  session, records the file's resolved path and that fingerprint).
* A file's problems go to the report, never out of ``run_file``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AlreadyExists, BadTranscript, InvalidInput, NotFound, SessionDBError
from ..model import (
    USAGE_FIELDS,
    ImportReport,
    Message,
    NewMessage,
    Session,
    Usage,
    check_id,
    check_metadata,
)
from ..store import Store
from ._common import Amend, Begin, Context, Entry, Record
from ._formats import Format
from ._sanitize import clean, sanitize

__all__ = ["BATCH_SIZE", "Writer"]

BATCH_SIZE = 500


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
    updated: int = 0
    pending: list[tuple[NewMessage, int]] = field(default_factory=list)
    # Where each message id waits in ``pending``, for an Amend to find it.
    waiting: dict[str, int] = field(default_factory=dict)
    # The stored state of the last batch written: an Amend usually follows its message
    # closely, and can then be compared with it instead of being written blindly.
    recent: dict[str, Message] = field(default_factory=dict)


def _usage(value: Usage | None) -> Usage:
    return Usage() if value is None else value


def fingerprint(path: Path, fmt: Format) -> list[int]:
    """Size and modification time of ``path`` and of its companion files (-1 when one
    is missing): what the unchanged-file check compares.

    A SQLite file's ``-wal`` is one: in WAL mode new commits change only the log.
    """
    companions = list(fmt.companions(path))
    if fmt.sqlite:
        companions.append(path.with_name(path.name + "-wal"))
    found: list[int] = []
    for file in (path, *companions):
        try:
            stat = file.stat()
        except FileNotFoundError:
            found.extend((-1, -1))
        else:
            found.extend((stat.st_size, stat.st_mtime_ns))
    return found


class Writer:
    """Applies reader records to the store: sessions, batched appends, corrections,
    lineage."""

    def __init__(
        self, store: Store, report: ImportReport, progress: Callable[[int], None] | None
    ) -> None:
        self.store = store
        self.report = report
        self.progress = progress
        self.links: dict[str, tuple[str, str | None]] = {}
        self.dropped: set[str] = set()

    def run_file(self, path: Path, fmt: Format, read_from: Path | None = None) -> None:
        """Import one file (its bytes read from ``read_from`` when given); its problems
        go to the report, never out of here."""
        ctx = Context(path, read_from=read_from)
        opened: dict[str, _Open] = {}
        try:
            where = str(path.resolve())
            printed = fingerprint(path, fmt)
            records = fmt.read(ctx)
            try:
                for record in records:
                    if (
                        not opened
                        and isinstance(record, Begin)
                        and fmt.tag_source
                        and self._unchanged(record, where, printed)
                    ):
                        self.report.files += 1
                        return  # imported completely before, and not touched since
                    self._apply(record, opened, ctx, fmt, where)
            finally:
                close = getattr(records, "close", None)
                if close is not None:
                    close()  # a reader stopped early closes its file or connection now
            for state in opened.values():
                self._flush(state, ctx)
                self._finish(state)
            if opened and fmt.tag_source:
                first = next(iter(opened.values()))
                self._mark_complete(first, where, fmt, printed)
            self.report.files += 1
        except BadTranscript as exc:
            self.report.errors[str(path)] = f"BadTranscript: {_in_file(exc, path)}"
        except SessionDBError as exc:
            self.report.errors[str(path)] = f"{type(exc).__name__}: {exc}"
        except (OSError, MemoryError) as exc:
            self.report.errors[str(path)] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a reader bug must not abort the other files
            self.report.errors[str(path)] = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self.report.skipped.extend(ctx.skipped)

    def _unchanged(self, begin: Begin, where: str, printed: list[int]) -> bool:
        """True when the file that opens with ``begin`` was fully imported before and has
        the same fingerprint now: re-reading it could change nothing.

        A child whose parent was imported since is still linked to it.
        """
        try:
            session = self.store.get_session(begin.id)
        except (NotFound, InvalidInput):
            return False
        mark = session.metadata.get("import")
        unchanged = (
            isinstance(mark, dict)
            and mark.get("file") == where
            and mark.get("fingerprint") == printed
        )
        if unchanged and begin.parent is not None and session.parent_id is None:
            self.links[begin.id] = (begin.parent, begin.relation)
        return unchanged

    def _mark_complete(self, state: _Open, where: str, fmt: Format, printed: list[int]) -> None:
        """Record on the file's first session that the file was imported to its end."""
        mark = state.session.metadata.get("import")
        recorded = mark.get("file") if isinstance(mark, dict) else None
        # A record of another file (an older sessiondb recorded the path as given, maybe
        # relative: such a record cannot be compared, and is replaced).
        if (
            state.existed
            and isinstance(recorded, str)
            and Path(recorded).is_absolute()
            and recorded != where
        ):
            return  # the session came from another file first: leave that record alone
        done = {"format": fmt.name, "file": where, "fingerprint": printed}
        if mark != done:
            self.store.update_session(state.begin.id, metadata={"import": done})

    def _apply(
        self, record: Record, opened: dict[str, _Open], ctx: Context, fmt: Format, where: str
    ) -> None:
        if isinstance(record, Entry):
            state = opened.get(record.session)
            if state is None:
                if record.session in self.dropped:
                    return  # its session was refused and reported
                raise InvalidInput(
                    f"message for session {record.session!r} before it began",
                    reason="a message before its session began",
                    subject=record.session,
                )
            if record.message.id is not None:
                state.waiting[record.message.id] = len(state.pending)
            state.pending.append((record.message, record.line))
            if len(state.pending) >= BATCH_SIZE:
                self._flush(state, ctx)
            return
        if isinstance(record, Amend):
            state = opened.get(record.session)
            if state is not None:
                self._amend(state, record, ctx)
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
            current.begin.restore.update(record.restore)
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
        opened[record.id] = self._open(record, ctx, fmt, where)

    def _amend(self, state: _Open, amend: Amend, ctx: Context) -> None:
        """Give message ``amend.message_id`` its corrected usage, wherever it is now."""
        index = state.waiting.get(amend.message_id)
        if index is not None:
            message, line = state.pending[index]
            state.pending[index] = (dataclasses.replace(message, usage=amend.usage), line)
            return
        stored = state.recent.get(amend.message_id)
        if stored is not None and _usage(stored.usage) == _usage(amend.usage):
            return
        try:
            updated = self.store.update_message(state.begin.id, amend.message_id, usage=amend.usage)
        except NotFound:
            return  # never stored: it was refused, and reported, when it came
        except InvalidInput as exc:
            ctx.skip(0, f"usage of message {amend.message_id!r} not corrected ({exc})")
            return
        state.recent[amend.message_id] = updated
        state.updated += 1
        self.report.messages_updated += 1

    def _open(self, begin: Begin, ctx: Context, fmt: Format, where: str) -> _Open:
        fields = {k: v for k, v in begin.fields.items() if v is not None}
        meta = dict(fields.pop("metadata", None) or {})
        if fmt.tag_source:
            meta["import"] = {"format": fmt.name, "file": where}
        begin.fields["metadata"] = meta
        parent_ok = begin.parent is not None and self._exists(begin.parent)
        try:
            session = self.store.get_session(begin.id)
            existed = True
        except NotFound:
            session = self._create(begin, ctx, parent_ok, meta, fields)
            existed = False
            seq_before = begin.restore.get("last_seq")
            if seq_before and not session.message_count:
                # An export of a truncated session: its seqs go on from where they were.
                with contextlib.suppress(InvalidInput):
                    session = self.store.update_session(begin.id, last_seq=seq_before)
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
        batch, state.pending, state.waiting = state.pending, [], {}
        try:
            stored = self.store.append(state.begin.id, [m for m, _ in batch])
        except InvalidInput:
            stored = self._append_each(state, batch, ctx)
        parsed = {m.id: (m, line) for m, line in batch if m.id is not None}
        before = state.last_seq
        added = 0
        state.recent = {}
        new_seqs: set[int] = set()
        for message in stored:
            if message.seq > before:
                # A source that repeats an id gets the first message back for the second
                # (appended one by one): it was added once.
                if message.seq not in new_seqs:
                    new_seqs.add(message.seq)
                    added += 1
                state.last_seq = max(state.last_seq, message.seq)
            elif message.id in parsed:
                message = self._reconcile(state, message, *parsed[message.id], ctx)
            state.recent[message.id] = message
        state.added += added
        self.report.messages_added += added
        if self.progress is not None and added:
            self.progress(self.report.messages_added)

    def _reconcile(
        self, state: _Open, stored: Message, parsed: NewMessage, line: int, ctx: Context
    ) -> Message:
        """Correct a message stored by an earlier import where the source now says
        otherwise; return its stored state."""
        changes: dict[str, Any] = {}
        if stored.visible_to_model != parsed.visible_to_model:
            changes["visible_to_model"] = parsed.visible_to_model
        if stored.visible_to_user != parsed.visible_to_user:
            changes["visible_to_user"] = parsed.visible_to_user
        # No usage given: the store derives it from the item, which has not changed.
        if parsed.usage is not None and _usage(stored.usage) != parsed.usage:
            changes["usage"] = parsed.usage
        expected = dict(parsed.metadata or {})
        if expected != stored.metadata:
            # Stored as repaired (see _append_each): compare with the repaired version.
            expected = clean(expected)
            if stored.metadata.get("sanitized") is True:
                expected["sanitized"] = True
            if expected != stored.metadata:
                changes["metadata"] = expected
        if not changes:
            return stored
        try:
            updated = self.store.update_message(state.begin.id, stored.id, **changes)
        except (NotFound, InvalidInput) as exc:
            ctx.skip(line, f"stored message not corrected ({exc})")
            return stored
        state.updated += 1
        self.report.messages_updated += 1
        return updated

    def _append_each(
        self, state: _Open, batch: list[tuple[NewMessage, int]], ctx: Context
    ) -> list[Message]:
        """The slow path after a batch was refused: one message at a time, repairing
        text sessiondb cannot store (NUL, lone surrogates) and skipping the rest."""
        stored: list[Message] = []
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
                current = self.store.update_session(state.begin.id, **changes)
            except InvalidInput:
                changes = {}  # reported at creation; the session keeps what it has
        # Last: a status change above would have moved updated_at.
        restore = dict(state.begin.restore)
        restore.pop("last_seq", None)  # applied when the session was created
        # A source's own session totals (an export's, goose's, openhuman's) are what the
        # session spent: they replace the sum of what its messages recorded, the same
        # whether the file was imported in one go or as it grew, but never go below it
        # (a damaged or edited header must not hide recorded spend).
        if isinstance(restore.get("usage"), Usage):
            if state.existed:  # an earlier import may have raised its totals already
                messages = self.store.messages(state.begin.id)
                spent = sum((m.usage for m in messages if m.usage), Usage())
            else:  # created by this import: its totals are its messages' sum
                spent = current.usage
            restore["usage"] = _at_least(restore["usage"], spent)
        restore = {k: v for k, v in restore.items() if v != getattr(current, k, None)}
        if restore:
            try:
                self.store.update_session(state.begin.id, **restore)
                changes.update(restore)
            except InvalidInput:
                pass  # a header with a bad time: the session keeps what it has
        if state.existed and (changes or state.added or state.updated):
            self.report.sessions_updated += 1

    def link_children(self) -> None:
        """Give children imported before their parents their parent_id, now it exists."""
        for child, (parent, relation) in self.links.items():
            try:
                self.store.update_session(child, parent_id=parent, relation=relation)
            except (NotFound, InvalidInput):
                continue  # the parent was never imported: the child stays a root


def _in_file(exc: BadTranscript, path: Path) -> str:
    """What is wrong, and where, within ``path``: the report is keyed by the file, so it
    is not named again ("line 1: the first line is not ...")."""
    if exc.reason is None or exc.path != str(path):
        return str(exc)
    return f"line {exc.line}: {exc.reason}" if exc.line else exc.reason


def _at_least(totals: Usage, spent: Usage) -> Usage:
    """``totals``, each counter raised to ``spent``'s where that is higher."""
    return Usage(*(max(getattr(totals, n) or 0, getattr(spent, n) or 0) for n in USAGE_FIELDS))
