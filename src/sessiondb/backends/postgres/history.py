"""PostgreSQL backend: prompt-ready history, compaction, truncate/replace/pop/clear, fork.

The algorithm is shared with SQLite (``backends/_sql_history.py``); this module supplies
PostgreSQL's statements (``history_queries.py``). Writers lock the session row first, so
an operation and a concurrent append to the same session never interleave.
"""

from __future__ import annotations

from .._sql_history import SQLHistory
from . import history_queries
from .core import PostgresCore


class PostgresHistory(PostgresCore, SQLHistory):
    """History features of the Store contract on PostgreSQL."""

    history_queries = history_queries
