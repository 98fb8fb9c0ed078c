"""PostgreSQL backend, core: the pool, transactions, migrations, sessions and append.

Concurrency model: a ``psycopg_pool.ConnectionPool`` hands each call its own connection,
so one store is safe to share between threads; many processes on many hosts may write
the same database. Connections run in autocommit mode and every write is an explicit
transaction. Appends to one session are serialised by the session row's lock (taken by
the ``RESERVE_SEQS`` UPDATE, or first by ``LOCK_SESSION``): seqs come from the row, never
from a sequence object, so a rolled-back append leaves no gap. Writers of different
sessions never wait for each other.

Every psycopg error is translated into the sessiondb error tree where it happens.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import select
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ..._base import (
    check_limit,
    decode_cursor,
    encode_cursor,
)
from ...errors import (
    AlreadyExists,
    BackendError,
    ConnectionLost,
    InvalidInput,
    NotFound,
    SchemaTooNew,
    SessionDBError,
    StorageFull,
)
from ...model import (
    DEFAULT_MAX_MESSAGE_BYTES,
    STATUSES,
    Page,
    Session,
    ToolCall,
    check_choice,
    check_text,
    now_micros,
    to_micros,
    to_utc,
)
from .. import redact as _redact
from .. import with_schema as _with_schema
from .._sql import SQLCore
from . import queries as q

# "full": every commit waits for its WAL flush (synchronous_commit = on); "normal": the
# server's own synchronous_commit, whatever it is (the same names as SQLite's modes).
Durability = Literal["normal", "full"]

# Unquoted PostgreSQL identifiers: what search_path and CREATE SCHEMA accept as written.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file, in order."""
    folder = resources.files(__package__).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text("utf-8")))
    return sorted(found)


MIGRATIONS = _migrations()
SCHEMA_VERSION = MIGRATIONS[-1][0]


# SQLSTATEs after which the session is gone: connection exceptions (class 08), the
# server shutting down or terminating us (57P01/02/03/05), an idle-in-transaction timeout,
# too many connections. Client-side failures (socket closed, pool timeout) carry none.
_CONNECTION_GONE = ("57P01", "57P02", "57P03", "57P05", "25P03", "53300")


def translate(exc: psycopg.Error, what: str) -> SessionDBError:
    """The sessiondb error for a driver error raised while doing ``what``."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    state = exc.sqlstate
    if isinstance(exc, pg_errors.UniqueViolation):
        return AlreadyExists(f"{what}: already stored ({message})")
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return NotFound(f"{what}: a referenced session does not exist ({message})")
    if isinstance(exc, pg_errors.DiskFull):
        return StorageFull(f"{what}: the server's disk is full ({message})")
    if isinstance(exc, pg_errors.DataError):
        return InvalidInput.about(f"{what}", f"the database refused a value ({message})")
    if isinstance(exc, PoolTimeout):
        # Every pooled connection stayed busy (or none could be opened) for pool_timeout:
        # nothing was sent, so this is not a connection lost mid-operation.
        return BackendError(
            f"{what}: no free connection in the pool in time; raise pool_max_size or "
            f"pool_timeout, or check that the server is reachable ({message})"
        )
    if isinstance(exc, psycopg.InterfaceError) or (
        isinstance(exc, psycopg.OperationalError)
        and (state is None or state.startswith("08") or state in _CONNECTION_GONE)
    ):
        return ConnectionLost(f"{what}: lost the connection to PostgreSQL ({message})")
    # Deadlocks, serialization failures, lock or statement timeouts, read-only
    # transactions...: the server is there, this operation failed and did not commit.
    return BackendError(f"{what}: {message}")


def _advisory_key(label: str) -> int:
    """A stable signed 64-bit key for pg_advisory_*lock, derived from ``label``."""
    digest = hashlib.blake2b(label.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _scalar(
    conn: psycopg.Connection[Any], sql: str, params: Mapping[str, Any] | None = None
) -> Any:
    """The first column of the first row of ``sql`` (a statement that returns one row)."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise BackendError(f"expected one row from: {sql.strip()[:80]}")
    return row[0]


def _check_idle(conn: psycopg.Connection[Any]) -> None:
    """Pool check run on every checkout; raises if ``conn`` is dead, so the pool replaces it.

    An idle connection has nothing to read unless the server sent something unasked —
    typically its goodbye after a restart or pg_terminate_backend. Only then do we pay a
    round trip to find out, so the common path costs one poll() and no network.
    """
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


class PostgresCore(SQLCore):
    """The pool, transactions and the core of the Store contract on PostgreSQL."""

    queries = q

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        durability: Durability = "normal",
        pool_min_size: int = 1,
        pool_max_size: int = 10,
        pool_timeout: float = 30.0,
        prepare_threshold: int | None = 5,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        migrate: bool = True,
    ) -> None:
        if schema is not None and not (isinstance(schema, str) and _SCHEMA_NAME.fullmatch(schema)):
            raise InvalidInput.about(
                "schema", f"{schema!r} is not a lowercase identifier (letters, digits, _)"
            )
        if durability not in ("normal", "full"):
            raise InvalidInput.about("durability", f"{durability!r} is not one of normal, full")
        if isinstance(pool_min_size, bool) or not isinstance(pool_min_size, int):
            raise InvalidInput.about("pool_min_size", f"expected an integer, got {pool_min_size!r}")
        if not isinstance(pool_max_size, int) or not 1 <= pool_min_size <= pool_max_size:
            raise InvalidInput(
                f"pool sizes: expected 1 <= pool_min_size <= pool_max_size, got "
                f"{pool_min_size}, {pool_max_size}",
                reason="expected 1 <= pool_min_size <= pool_max_size",
                subject=f"pool_min_size={pool_min_size}, pool_max_size={pool_max_size}",
            )
        self._url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._given_url = url
        self.schema = schema
        self.durability: Durability = durability
        self.pool_min_size = pool_min_size
        self.pool_max_size = pool_max_size
        self.pool_timeout = pool_timeout
        self.prepare_threshold = prepare_threshold
        self.max_message_bytes = max_message_bytes
        self._closed = False
        # Advisory-lock keys per schema: stores of different schemas never queue.
        self._lock_key = _advisory_key(f"sessiondb:{schema or ''}")
        self._lineage_key = _advisory_key(f"sessiondb-lineage:{schema or ''}")
        self._pid = os.getpid()
        self._abandoned: list[ConnectionPool[Any]] = []
        self._pool = self._open_pool()
        try:
            if migrate:
                self.migrate()
            else:
                self._check_not_too_new()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    @property
    def url(self) -> str:
        # With the schema as ?schema=NAME, so connect(store.url) opens the same tables
        # (the password stays, as given: reopening needs it; repr and info redact it).
        if self.schema is None:
            return self._given_url
        return _with_schema(self._given_url, self.schema)

    def __enter__(self) -> PostgresCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        schema = f", schema={self.schema!r}" if self.schema else ""
        return f"{type(self).__name__}({_redact(self._given_url)!r}{schema})"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if os.getpid() == self._pid:
            with contextlib.suppress(Exception):
                self._pool.close()

    def _open_pool(self) -> ConnectionPool[Any]:
        # prepare_threshold=None turns server-side prepared statements off, for poolers
        # that cannot keep them (pgbouncer in transaction mode before 1.21).
        kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": self.prepare_threshold}
        try:
            conninfo = conninfo_to_dict(self._url)
        except psycopg.Error as exc:
            raise InvalidInput.about("url", f"{_redact(self._url)!r} is not valid ({exc})") from exc
        settings = []
        if self.schema is not None:
            # Only our schema: tables resolve there and nowhere else, so two apps sharing
            # a database with different schemas never see each other's rows.
            settings.append(f"-c search_path={self.schema}")
        if self.durability == "full":
            # Set at connection start, so every pooled connection has it (a SET would be
            # lost with a replaced connection); it overrides the server's and the URL's.
            settings.append("-c synchronous_commit=on")
        if settings:
            # Appended to any options the URL gives (e.g. ?options=-c%20statement_timeout%3D5s):
            # a later -c wins.
            given = str(conninfo.get("options") or "")
            kwargs["options"] = " ".join([given, *settings]).strip()
        self._connect_once(kwargs, given_timeout="connect_timeout" in conninfo)
        try:
            pool: ConnectionPool[Any] = ConnectionPool(
                self._url,
                kwargs=kwargs,
                min_size=self.pool_min_size,
                max_size=self.pool_max_size,
                timeout=self.pool_timeout,
                check=_check_idle,
                name="sessiondb",
                open=True,
            )
            # Wait for the first connections: a request queued meanwhile would make the
            # pool grow at once, and a single-threaded caller would then alternate
            # between connections (and their prepared statements) for nothing.
            pool.wait(timeout=self.pool_timeout)
        except PoolTimeout as exc:
            # The pool only says it timed out (the cause went to its log): one direct
            # attempt gives the caller the server's or the network's actual reason.
            why = self._connect_error() or str(exc)
            raise ConnectionLost(
                f"cannot connect to {_redact(self._url)} within {self.pool_timeout:g} s: {why}",
                reason=f"cannot connect to PostgreSQL within {self.pool_timeout:g} s: {why}",
                subject=_redact(self._url),
            ) from exc
        except psycopg.Error as exc:
            raise translate(exc, f"connecting to {_redact(self._url)}") from exc
        return pool

    def _connect_once(self, kwargs: dict[str, Any], *, given_timeout: bool) -> None:
        """Fail fast: one direct connection before the pool opens.

        A server that refuses us (nothing listening, bad password, no such database) would
        otherwise keep the pool retrying in the background for ``pool_timeout`` seconds,
        logging a warning per attempt, only to time out without saying why. Raises
        ConnectionLost with the server's or the network's reason. Costs one extra
        connection per store opened.
        """
        options = dict(kwargs)
        if not given_timeout:  # a connect_timeout in the URL wins
            options["connect_timeout"] = max(1, round(self.pool_timeout))
        try:
            psycopg.connect(self._url, **options).close()
        except psycopg.Error as exc:
            where = _redact(self._url)
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ConnectionLost(
                f"cannot connect to {where}: {reason}",
                reason=f"cannot connect to PostgreSQL: {reason}",
                subject=where,
            ) from exc

    def _connect_error(self) -> str | None:
        """Why a direct connection fails now (None if it succeeds)."""
        try:
            psycopg.connect(self._url, connect_timeout=max(1, int(self.pool_timeout))).close()
        except psycopg.Error as exc:
            return " ".join(str(exc).split())
        return None

    def _get_pool(self) -> ConnectionPool[Any]:
        if self._closed:
            raise SessionDBError(f"the store for {_redact(self._given_url)} is closed")
        if os.getpid() != self._pid:
            # A forked child must not use (or close) the parent's sockets: keep the old
            # pool referenced so it is never finalised here, and open a fresh one.
            self._pid = os.getpid()
            self._abandoned.append(self._pool)
            self._pool = self._open_pool()
        return self._pool

    @contextmanager
    def _connection(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection; driver errors become sessiondb errors."""
        pool = self._get_pool()
        try:
            with pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise translate(exc, what) from exc

    @contextmanager
    def _write(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        """One read-committed write transaction, committed when the block ends."""
        with self._connection(what) as conn, conn.transaction():
            yield conn

    @contextmanager
    def _read(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        """A read-only snapshot: every statement inside sees the same committed state."""
        with self._connection(what) as conn:
            # Client-side settings, sent with the BEGIN: no extra round trip.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            try:
                with conn.transaction():
                    yield conn
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.isolation_level = None
                    conn.read_only = None

    def _query(
        self, what: str, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()
    ) -> list[Any]:
        """Run one read statement outside any explicit transaction."""
        with self._connection(what) as conn:
            return conn.execute(sql, params or None).fetchall()

    def _id_list(self, ids: list[str]) -> Any:
        return ids  # a text[] for "= ANY(%(ids)s)"

    # ------------------------------------------------------------------ migrations

    def _where(self) -> str:
        return f"{_redact(self._url)} (schema {self.schema or 'default'})"

    def _stored_version(self, conn: psycopg.Connection[Any]) -> int:
        if not _scalar(conn, q.HAS_MIGRATIONS_TABLE, {"schema": self.schema}):
            return 0
        return int(_scalar(conn, q.SELECT_SCHEMA_VERSION))

    def _too_new(self, version: int) -> SchemaTooNew:
        # The subject names the database the way --db does: the URL with ?schema=.
        named = _redact(self._url)
        if self.schema:
            named += f"{'&' if '?' in named else '?'}schema={self.schema}"
        return SchemaTooNew.database(self._where(), version, SCHEMA_VERSION, subject=named)

    def _check_not_too_new(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise self._too_new(version)

    def schema_version(self) -> int:
        with self._connection(f"reading the schema version of {self._where()}") as conn:
            return self._stored_version(conn)

    def pending_migrations(self) -> list[str]:
        version = self.schema_version()
        return [name for number, name, _ in MIGRATIONS if number > version]

    def migrate(self) -> list[str]:
        if self.schema_version() == SCHEMA_VERSION:
            return []  # the common case: no lock taken
        what = f"migrating {self._where()}"
        with self._connection(what) as conn:
            while True:
                with conn.transaction():
                    if _scalar(conn, q.TRY_LOCK_MIGRATIONS, {"key": self._lock_key}):
                        return self._migrate_locked(conn)
                # Another process is migrating. Wait for it in a throwaway transaction,
                # then retry in a new one: only a new transaction sees the catalog as
                # that process left it (a schema created meanwhile stays invisible to a
                # transaction that was already waiting). Transaction-scoped locks only,
                # so this also works through a transaction-mode pooler.
                with conn.transaction():
                    conn.execute(q.LOCK_MIGRATIONS, {"key": self._lock_key})

    def _migrate_locked(self, conn: psycopg.Connection[Any]) -> list[str]:
        """Apply what is pending, inside the migration lock and a transaction."""
        # Checked again under the lock: another process may have migrated meanwhile.
        version = self._stored_version(conn)
        if version > SCHEMA_VERSION:
            raise self._too_new(version)
        if self.schema is not None:
            conn.execute(sql.SQL(q.CREATE_SCHEMA).format(schema=sql.Identifier(self.schema)))
        conn.execute(q.CREATE_MIGRATIONS_TABLE)
        applied: list[str] = []
        for number, name, script in MIGRATIONS:
            if number <= version:
                continue
            # No parameters: psycopg sends the whole file as one simple query.
            conn.execute(script.encode())
            conn.execute(
                q.RECORD_MIGRATION, {"version": number, "name": name, "applied_at": now_micros()}
            )
            applied.append(name)
        return applied

    # ------------------------------------------------------------------ sessions

    def create_session(
        self,
        id: str | None = None,
        *,
        title: str | None = None,
        agent: str | None = None,
        model: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        working_dir: str | None = None,
        parent_id: str | None = None,
        relation: str | None = None,
        status: str = "active",
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> Session:
        fields = self._session_fields(
            id,
            title=title,
            agent=agent,
            model=model,
            source=source,
            user_id=user_id,
            working_dir=working_dir,
            parent_id=parent_id,
            relation=relation,
            status=status,
            metadata=metadata,
            created_at=created_at,
        )
        params = {
            "id": fields.id,
            "title": fields.title,
            "agent": fields.agent,
            "model": fields.model,
            "source": fields.source,
            "user_id": fields.user_id,
            "working_dir": fields.working_dir,
            "parent_id": fields.parent_id,
            "relation": fields.relation,
            "status": fields.status,
            "metadata": fields.metadata_json,
            "created_at": fields.created_at,
        }
        what = f"creating session {fields.id!r}"
        try:
            with self._write(what) as conn:
                if fields.parent_id is not None:
                    # A recursive delete of the parent's tree must see this child or
                    # make it fail; both take the lineage lock (see update_session).
                    conn.execute(q.LOCK_LINEAGE, {"key": self._lineage_key})
                if conn.execute(q.SESSION_EXISTS, {"id": fields.id}).fetchone():
                    raise AlreadyExists.session(fields.id)
                if (
                    fields.parent_id is not None
                    and not conn.execute(q.SESSION_EXISTS, {"id": fields.parent_id}).fetchone()
                ):
                    raise NotFound(
                        f"parent session {fields.parent_id!r} does not exist",
                        reason="no such parent session",
                        subject=fields.parent_id,
                    )
                conn.execute(q.INSERT_SESSION, params)
                row = conn.execute(q.SELECT_SESSION, {"id": fields.id}).fetchone()
        except AlreadyExists as exc:
            # A concurrent create of the same id loses on the primary key.
            raise AlreadyExists.session(fields.id) from exc
        except NotFound as exc:
            # The parent was deleted by another writer between our check and insert.
            raise NotFound(
                f"parent session {fields.parent_id!r} does not exist",
                reason="no such parent session",
                subject=fields.parent_id,
            ) from exc
        return self._session(row)  # type: ignore[arg-type]

    def get_session(self, session_id: str) -> Session:
        rows = self._query(f"reading session {session_id!r}", q.SELECT_SESSION, {"id": session_id})
        if not rows:
            raise NotFound.session(session_id)
        return self._session(rows[0])

    def _lock_lineage(self, conn: Any) -> None:
        # Re-parentings queue on one lock, taken before any row lock: two of them
        # checking for cycles at once could each pass and close a loop (a -> b, b -> a),
        # or deadlock on each other's rows.
        conn.execute(q.LOCK_LINEAGE, {"key": self._lineage_key})

    def delete_session(self, session_id: str, *, recursive: bool = False) -> int:
        with self._write(f"deleting session {session_id!r}") as conn:
            if recursive:
                conn.execute(q.LOCK_LINEAGE, {"key": self._lineage_key})
            if not conn.execute(q.LOCK_SESSION, {"id": session_id}).fetchone():
                raise NotFound.session(session_id)
            if recursive:
                ids = [r[0] for r in conn.execute(q.SELECT_DESCENDANT_IDS, {"id": session_id})]
            else:
                conn.execute(q.DETACH_CHILDREN, {"id": session_id})
                ids = [session_id]
            for sid in ids:
                conn.execute(q.DELETE_SESSION, {"id": sid})
        return len(ids)

    def list_sessions(
        self,
        *,
        status: str | None = None,
        agent: str | None = None,
        source: str | None = None,
        user_id: str | None = None,
        parent_id: str | None = None,
        roots_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Session]:
        if status is not None:
            check_choice("status", status, STATUSES)
        for name, value in (("agent", agent), ("source", source), ("user_id", user_id)):
            check_text(name, value)
        size = check_limit("limit", limit, allow_none=False) or 0
        since_dt, until_dt = to_utc("since", since), to_utc("until", until)
        cursor_updated = cursor_id = None
        if cursor is not None:
            cursor_updated, cursor_id = decode_cursor(cursor, (int, str))
        params = {
            "status": status,
            "agent": agent,
            "source": source,
            "user_id": user_id,
            "parent_id": parent_id,
            "roots_only": bool(roots_only),
            "since": None if since_dt is None else to_micros(since_dt),
            "until": None if until_dt is None else to_micros(until_dt),
            "cursor_updated": cursor_updated,
            "cursor_id": cursor_id,
            "limit": size + 1,
        }
        rows = self._query("listing sessions", q.LIST_SESSIONS, params)
        items = [self._session(row) for row in rows[:size]]
        next_cursor = None
        if len(rows) > size and items:
            last = rows[size - 1]
            next_cursor = encode_cursor([last[12], last[0]])
        return Page(items, next_cursor)

    def recover_interrupted(self, idle_for: timedelta) -> list[str]:
        if not isinstance(idle_for, timedelta):
            raise InvalidInput.about(
                "idle_for", f"expected a timedelta, got {type(idle_for).__name__}"
            )
        now = now_micros()
        idle_before = now - int(idle_for.total_seconds() * 1_000_000)
        with self._write("recovering interrupted sessions") as conn:
            rows = conn.execute(q.RECOVER_INTERRUPTED, {"now": now, "idle_before": idle_before})
            return sorted(r[0] for r in rows.fetchall())

    # ------------------------------------------------------------------ reads

    def tool_calls(
        self,
        session_id: str | None = None,
        *,
        name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[ToolCall]:
        check_text("name", name)
        if status is not None:
            check_choice("status", status, ("pending", "ok", "error"))
        check_limit("limit", limit)
        params = {"session_id": session_id, "name": name, "status": status, "limit": limit}
        rows = self._query("reading tool calls", q.SELECT_TOOL_CALLS, params)
        if not rows and session_id is not None:
            self.get_session(session_id)
        return [self._tool_call(row) for row in rows]

    # ------------------------------------------------------------------ maintenance

    def vacuum(self) -> None:
        # The pool's connections are in autocommit mode, which VACUUM requires.
        with self._connection(f"vacuuming {self._where()}") as conn:
            conn.execute(q.VACUUM_TABLES)

    def check(self) -> list[str]:
        problems: list[str] = []
        with self._read(f"checking {self._where()}") as conn:
            for row in conn.execute(q.SELECT_COUNTER_MISMATCHES):
                problems.append(f"session {row[0]!r}: counters disagree with its messages")
        return problems

    def info(self) -> dict[str, Any]:
        with self._read(f"reading {self._where()}") as conn:
            sessions = _scalar(conn, q.COUNT_SESSIONS)
            messages = _scalar(conn, q.COUNT_MESSAGES)
            tool_calls = _scalar(conn, q.COUNT_TOOL_CALLS)
            size = _scalar(conn, q.SELECT_SIZE)
            version = _scalar(conn, q.SELECT_SERVER_VERSION)
            schema = _scalar(conn, q.SELECT_CURRENT_SCHEMA)
        pool = self._get_pool().get_stats()
        return {
            "backend": "postgresql",
            "url": _redact(self._given_url),
            "schema": schema,
            "schema_version": self.schema_version(),
            "sessions": sessions,
            "messages": messages,
            "tool_calls": tool_calls,
            "size_bytes": size,
            "server_version": version,
            "durability": self.durability,
            "pool_size": pool.get("pool_size", 0),
            "pool_max_size": self.pool_max_size,
        }
