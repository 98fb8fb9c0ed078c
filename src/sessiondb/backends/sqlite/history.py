"""SQLite backend: prompt-ready history, compaction, truncate/replace/pop/clear, fork.

The algorithm is shared with PostgreSQL (``backends/_sql_history.py``); this module
supplies SQLite's statements (``history_queries.py``).
"""

from __future__ import annotations

from .._sql_history import SQLHistory
from . import history_queries
from .core import SQLiteCore


class SQLiteHistory(SQLiteCore, SQLHistory):
    """History features of the Store contract on SQLite."""

    history_queries = history_queries
