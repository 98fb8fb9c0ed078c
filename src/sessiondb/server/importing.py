"""Importing an uploaded file, with tenant isolation.

An unscoped caller imports straight into the store (``Store.import_path``). A tenant's
upload could name session ids that belong to another tenant, and importing appends to
existing sessions, so a tenant's file is first imported into a throwaway SQLite store and
then copied, session by session, into the real one, each under its id in the tenant's
namespace (``Scoped.imported_id``: ``<tenant>:<id in the file>``). So a file naming
another tenant's session id makes a new session of the caller's and cannot touch or
reveal the other one; new sessions get ``user_id`` = tenant, and messages keep their ids
so importing the same file again adds nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import NotFound, SessionDBError
from ..model import ImportReport, Message, NewMessage, Session, Usage
from ..store import Store
from .deps import Scoped

__all__ = ["import_upload"]

_BATCH = 500


async def import_upload(db: Scoped, path: Path, *, format: str | None) -> ImportReport:
    """Import ``path`` (a file the server wrote) for the caller; return the report."""
    if db.tenant is None:
        return await db.db.import_path(path, format=format)
    return await asyncio.to_thread(
        _import_for_tenant, db.db.store, path, format, db.tenant, db.imported_id
    )


Rename = Callable[[str], str]


def _import_for_tenant(
    store: Store, path: Path, format: str | None, tenant: str, rename: Rename
) -> ImportReport:
    from .. import connect  # the package root imports nothing from server: no cycle

    with tempfile.TemporaryDirectory(prefix="sessiondb-scratch-") as tmp:
        scratch = connect(Path(tmp) / "scratch.db")
        try:
            report = scratch.import_path(path, format=format)
            result = ImportReport(files=report.files, skipped=report.skipped)
            result.errors.update(report.errors)
            sessions = {sid: scratch.get_session(sid) for sid in report.session_ids}
            for sid in _parents_first(sessions):
                try:
                    _copy_session(scratch, store, sessions[sid], tenant, rename, result)
                except SessionDBError as exc:
                    result.errors[rename(sid)] = f"{type(exc).__name__}: {exc}"
            return result
        finally:
            scratch.close()


def _parents_first(sessions: dict[str, Session]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()

    def visit(sid: str, depth: int) -> None:
        if sid in done or depth > len(sessions):
            return
        parent = sessions[sid].parent_id
        if parent in sessions:
            visit(parent, depth + 1)
        done.add(sid)
        order.append(sid)

    for sid in sessions:
        visit(sid, 0)
    return order


def _copy_session(
    scratch: Store, store: Store, src: Session, tenant: str, rename: Rename, result: ImportReport
) -> None:
    target = rename(src.id)
    try:
        existing = store.get_session(target)
    except NotFound:
        existing = None
    if existing is not None and existing.user_id != tenant:
        # Only an admin can have put another tenant's session in this namespace.
        result.errors[target] = "the session id is taken; not imported"
        return
    if existing is None:
        parent_id = None if src.parent_id is None else rename(src.parent_id)
        if parent_id is not None:
            try:
                if store.get_session(parent_id).user_id != tenant:
                    parent_id = None
            except NotFound:
                parent_id = None
        store.create_session(
            target,
            title=src.title,
            agent=src.agent,
            model=src.model,
            source=src.source,
            user_id=tenant,
            working_dir=src.working_dir,
            parent_id=parent_id,
            relation=src.relation if parent_id else None,
            status=src.status,
            metadata=src.metadata,
            created_at=src.created_at,
        )
        result.sessions_created += 1
        last_seq = 0
    else:
        result.sessions_updated += 1
        last_seq = existing.last_seq
    after = 0
    while batch := scratch.messages(src.id, after_seq=after, limit=_BATCH):
        stored = store.append(
            target,
            [
                NewMessage(
                    item=m.item,
                    id=m.id,
                    created_at=m.created_at,
                    model=m.model,
                    usage=m.usage,
                    visible_to_model=m.visible_to_model,
                    visible_to_user=m.visible_to_user,
                    metadata=m.metadata,
                )
                for m in batch
            ],
        )
        result.messages_added += sum(1 for m in stored if m.seq > last_seq)
        # Stored by an earlier upload: correct it where this one says otherwise (as
        # Store.import_path does), so a re-upload ends where a fresh one would.
        for old, new in zip(stored, batch, strict=True):
            if old.seq <= last_seq and _corrected(store, target, old, new):
                result.messages_updated += 1
        after = batch[-1].seq
    result.session_ids.append(target)


def _corrected(store: Store, session_id: str, stored: Message, wanted: Message) -> bool:
    """Give ``stored`` the usage, visibility and metadata of ``wanted``; True if changed."""
    changes: dict[str, Any] = {}
    if stored.visible_to_model != wanted.visible_to_model:
        changes["visible_to_model"] = wanted.visible_to_model
    if stored.visible_to_user != wanted.visible_to_user:
        changes["visible_to_user"] = wanted.visible_to_user
    if (stored.usage or Usage()) != (wanted.usage or Usage()):
        changes["usage"] = wanted.usage
    if stored.metadata != wanted.metadata:
        changes["metadata"] = wanted.metadata
    if changes:
        store.update_message(session_id, stored.id, **changes)
    return bool(changes)
