"""The PostgreSQL backend (psycopg 3 + psycopg_pool): the same contract as SQLite, for
fleets of agents on many machines. Needs the ``postgres`` extra."""

from __future__ import annotations

from .core import SCHEMA_VERSION
from .history import PostgresHistory
from .items import PostgresItems
from .lineage import PostgresLineage
from .messages import PostgresMessages
from .search import PostgresSearch
from .stats import PostgresStats


class PostgresStore(
    PostgresMessages,
    PostgresHistory,
    PostgresItems,
    PostgresSearch,
    PostgresLineage,
    PostgresStats,
):
    """A sessiondb Store on a PostgreSQL database. See ``sessiondb.store.Store``.

    Options: ``schema`` (tables live there, created if missing; default: the server's
    search_path), ``durability`` ("normal", the default, keeps the server's own
    synchronous_commit; "full" sets synchronous_commit = on, so each commit waits for its
    WAL flush), ``pool_min_size``/``pool_max_size``/``pool_timeout`` (the connection
    pool), ``prepare_threshold`` (psycopg's; None behind pgbouncer in transaction mode
    before 1.21), ``max_message_bytes``, ``migrate`` (False opens without migrating).
    """


__all__ = ["SCHEMA_VERSION", "PostgresStore"]
