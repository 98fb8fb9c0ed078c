"""sessiondb: the session database for AI agents.

>>> import sessiondb
>>> db = sessiondb.connect("agent.db")          # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

from .aio import AsyncStore
from .backends import default_path, open_store
from .errors import (
    AlreadyExists,
    BackendError,
    BadTranscript,
    Conflict,
    ConnectionLost,
    InvalidInput,
    MissingDependency,
    NotFound,
    SchemaTooNew,
    SessionDBError,
    StorageFull,
)
from .model import (
    ImportReport,
    Message,
    NewMessage,
    Page,
    PruneReport,
    SearchHit,
    Session,
    SessionHit,
    SkippedLine,
    Stats,
    Tool,
    ToolCall,
    Totals,
    TreeNode,
    Usage,
    new_id,
)
from .store import Store

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "AsyncStore",
    "BackendError",
    "BadTranscript",
    "Conflict",
    "ConnectionLost",
    "ImportReport",
    "InvalidInput",
    "Message",
    "MissingDependency",
    "NewMessage",
    "NotFound",
    "Page",
    "PruneReport",
    "SchemaTooNew",
    "SearchHit",
    "Session",
    "SessionDBError",
    "SessionHit",
    "SkippedLine",
    "Stats",
    "StorageFull",
    "Store",
    "Tool",
    "ToolCall",
    "Totals",
    "TreeNode",
    "Usage",
    "__version__",
    "connect",
    "connect_async",
    "default_path",
    "new_id",
]


def connect(url: str | os.PathLike[str] | None = None, **options: Any) -> Store:
    """Open a store: a path or ``sqlite:///...``, ``postgresql://...``, or None for
    ``$SESSIONDB_URL`` / the default embedded file.

    SQLite options: ``durability="normal"|"full"`` (synchronous NORMAL survives a killed
    process; FULL also survives power loss, at one fsync per commit), ``busy_timeout``
    (seconds), ``max_message_bytes``, ``migrate``.
    PostgreSQL options: ``durability`` ("normal" keeps the server's own synchronous_commit;
    "full" sets it on, so each commit waits for the WAL flush), ``schema``, the pool's
    (see ``PostgresStore``), ``max_message_bytes``, ``migrate``.
    Raises InvalidInput, MissingDependency, SchemaTooNew, BackendError.
    """
    return open_store(url, **options)


def connect_async(url: str | os.PathLike[str] | None = None, **options: Any) -> AsyncStore:
    """Like ``connect``, returning an ``AsyncStore`` whose methods are coroutines."""
    return AsyncStore(open_store(url, **options))
