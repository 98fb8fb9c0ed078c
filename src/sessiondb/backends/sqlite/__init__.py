"""The embedded SQLite backend (WAL, FTS5): one file, zero setup."""

from __future__ import annotations

from .core import SCHEMA_VERSION
from .history import SQLiteHistory
from .items import SQLiteItems
from .lineage import SQLiteLineage
from .search import SQLiteSearch
from .stats import SQLiteStats


class SQLiteStore(SQLiteHistory, SQLiteItems, SQLiteSearch, SQLiteLineage, SQLiteStats):
    """A sessiondb Store on one SQLite file. See ``sessiondb.store.Store``."""


__all__ = ["SCHEMA_VERSION", "SQLiteStore"]
