"""Retention: prune old sessions (after archiving them), backend-independent.

Uses only the public Store API, so every backend prunes the same way:

* a session is *idle* when its last activity, ``updated_at`` (its creation, its newest
  message's timestamp or a status change), is older than the cutoff. Not
  ``last_message_at``: a fork, or a new session given old items, holds only old
  timestamps, yet was made just now. Importers create a session at its source's time
  and keep each message's, so imported transcripts still age by their own timestamps,
  not by when they were imported;
* an idle session goes with its whole sub-agent subtree (children would otherwise be
  orphaned halves of one conversation), whatever the children's own age or status;
* with ``archive_dir`` every doomed session is exported as JSONL first, one new file
  each (collision-free names, nothing overwritten: see ``files``), and nothing is
  deleted unless every archive file was written and read back intact;
* right before a subtree is deleted it is read again: one that was written to since it
  was listed (a new message, a new child, any update) is kept, with its archive files
  removed, and reported in ``PruneReport.kept``: an agent that resumed a session while
  the archives were being written must not lose it;
* then the space is reclaimed (``Store.vacuum``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .errors import InvalidInput, NotFound
from .files import write_new_file
from .model import STATUSES, PruneReport, Session, check_choice
from .store import Store

__all__ = ["idle_sessions", "prune"]

_PAGE = 500


def _all_sessions(store: Store, **filters: object) -> Iterator[Session]:
    """Every session matching ``filters``, page by page (bounded memory)."""
    cursor: str | None = None
    while True:
        page = store.list_sessions(limit=_PAGE, cursor=cursor, **filters)  # type: ignore[arg-type]
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _last_activity(session: Session) -> datetime:
    # updated_at is never before created_at nor last_message_at (see Session).
    return session.updated_at


def idle_sessions(store: Store, cutoff: datetime, status: str | None = None) -> list[Session]:
    """Sessions whose last activity is before ``cutoff`` (and with ``status``), newest first."""
    return [s for s in _all_sessions(store, status=status) if _last_activity(s) < cutoff]


def _subtree(store: Store, root: Session) -> list[Session]:
    """``root`` and all its descendants, parents before children (one ``tree`` call)."""
    try:
        return [node.session for node in store.tree(root.id).walk()]
    except NotFound:
        return []  # deleted by someone else since it was listed


def _archive(store: Store, sessions: list[Session], archive_dir: Path) -> dict[str, str]:
    """Write one JSONL file per session (names as in ``files``); return id -> path.

    Each file is read back and compared with what was exported: nothing is deleted
    unless every session has a complete archive. Raises InvalidInput (naming the file)
    otherwise, after removing the files this call wrote (their sessions are all kept,
    so a later run starts from a clean directory).
    """
    try:
        archive_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"archive_dir: cannot create {archive_dir} ({exc.strerror})",
            reason=f"cannot create the archive directory ({exc.strerror})",
            subject=str(archive_dir),
        ) from exc
    written: dict[str, str] = {}
    try:
        for session in sessions:
            written[session.id] = str(_archive_one(store, session.id, archive_dir))
    except BaseException:
        for path in written.values():
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise
    return written


def _archive_one(store: Store, session_id: str, archive_dir: Path) -> Path:
    """Write and read back one session's archive; raise InvalidInput if that fails."""
    text = store.export(session_id, "jsonl")
    try:
        path = write_new_file(archive_dir, session_id, ".jsonl", text)
    except OSError as exc:
        where = exc.filename or archive_dir
        raise InvalidInput(
            f"archive_dir: cannot write {where} ({exc.strerror}); nothing was deleted",
            reason=f"cannot write the archive, nothing was deleted ({exc.strerror})",
            subject=str(where),
        ) from exc
    try:
        intact = path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        intact = False
    if not intact:
        with contextlib.suppress(OSError):
            path.unlink()  # ours, and useless
        raise InvalidInput(
            f"archive_dir: {path} does not read back as written; nothing was deleted",
            reason="the archive does not read back as written, nothing was deleted",
            subject=str(path),
        )
    return path


def prune(
    store: Store,
    *,
    older_than: timedelta,
    status: str | None = None,
    archive_dir: str | Path | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """See ``Store.prune``. Returns the ids removed (or, with ``dry_run``, to be removed).

    Raises InvalidInput for a bad argument or an archive that cannot be written (then
    nothing is deleted).
    """
    if not isinstance(older_than, timedelta) or older_than < timedelta(0):
        raise InvalidInput.about("older_than", f"expected a timedelta >= 0, got {older_than!r}")
    if status is not None:
        check_choice("status", status, STATUSES)
    cutoff = datetime.now(UTC) - older_than
    doomed: dict[str, Session] = {}
    roots: list[str] = []
    for session in idle_sessions(store, cutoff, status):
        if session.id in doomed:
            continue  # already inside an earlier idle session's subtree
        roots.append(session.id)
        for member in _subtree(store, session):
            if member.id in doomed and member.id in roots:
                roots.remove(member.id)  # an idle ancestor's subtree swallows it
            doomed[member.id] = member
    sessions = list(doomed.values())
    messages = sum(s.message_count for s in sessions)
    archived_to = None if archive_dir is None else str(Path(archive_dir))
    report = PruneReport(
        session_ids=[s.id for s in sessions],
        messages=messages,
        archived_to=archived_to,
        dry_run=dry_run,
    )
    if dry_run or not sessions:
        return report
    if archive_dir is not None:
        report = replace(report, archives=_archive(store, sessions, Path(archive_dir)))
    kept: list[str] = []
    for root in roots:
        current = _subtree(store, doomed[root])
        if any(_changed(member, doomed.get(member.id)) for member in current):
            kept.extend(member.id for member in current if member.id in doomed)
            continue
        with contextlib.suppress(NotFound):  # a concurrent delete got there first
            store.delete_session(root, recursive=True)
    if kept:
        report = _without(report, set(kept), doomed)
    store.vacuum()
    return report


def _changed(now: Session, listed: Session | None) -> bool:
    """Whether a session was created (``listed`` is None) or written to since it was listed."""
    return (
        listed is None
        or now.updated_at != listed.updated_at
        or now.message_count != listed.message_count
    )


def _without(report: PruneReport, kept: set[str], doomed: dict[str, Session]) -> PruneReport:
    """``report`` less the sessions ``kept``, whose archive files are removed (the
    sessions are still in the store, so those files are stale copies)."""
    for sid in kept:
        path = report.archives.get(sid)
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return replace(
        report,
        session_ids=[sid for sid in report.session_ids if sid not in kept],
        messages=report.messages - sum(doomed[sid].message_count for sid in kept),
        archives={sid: p for sid, p in report.archives.items() if sid not in kept},
        kept=sorted(kept),
    )
