"""SQLite backend, core: connections, transactions, migrations, sessions and append.

Concurrency model: every thread gets its own connection (a sqlite3 connection must not be
used by two threads at once), all in WAL mode so readers never block the writer. Every
write runs in ``BEGIN IMMEDIATE``: it takes the write lock up front, so two writers queue
on the busy timeout instead of failing mid-transaction with SQLITE_BUSY, which a deferred
transaction that reads first and then writes can do at once.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..._base import (
    check_limit,
    check_other_metadata,
    decode_cursor,
    encode_cursor,
    read_window,
)
from ...errors import (
    AlreadyExists,
    BackendError,
    InvalidInput,
    NotFound,
    SchemaTooNew,
    SessionDBError,
    StorageFull,
)
from ...model import (
    DEFAULT_MAX_MESSAGE_BYTES,
    STATUSES,
    Message,
    Page,
    Session,
    ToolCall,
    Usage,
    check_choice,
    check_metadata,
    check_text,
    now_micros,
    to_micros,
    to_utc,
)
from ...store import AppendInput, MessageOrder
from .._sql import SQLCore
from . import queries as q

Durability = Literal["normal", "full"]


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


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (executescript() would COMMIT our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement:
                yield statement
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def translate(exc: sqlite3.Error, what: str) -> SessionDBError:
    """The sessiondb error for a driver error raised while doing ``what``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = str(exc)
    if primary == 13 or "disk is full" in message or "database or disk is full" in message:
        return StorageFull(f"{what}: the disk or the database's size limit is full ({message})")
    if primary in (5, 6) or "locked" in message:
        return BackendError(f"{what}: the database stayed locked by another writer ({message})")
    return BackendError(f"{what}: {message}")


class SQLiteCore(SQLCore):
    """Connections, transactions and the core of the Store contract on SQLite."""

    queries = q

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "normal",
        busy_timeout: float = 30.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        migrate: bool = True,
    ) -> None:
        if durability not in ("normal", "full"):
            raise InvalidInput.about("durability", f"{durability!r} is not one of normal, full")
        self.path = Path(path)
        self.durability: Durability = durability
        self.busy_timeout = busy_timeout
        self.max_message_bytes = max_message_bytes
        self._local = threading.local()
        # Every connection opened, with the thread it belongs to: close() closes them all,
        # and opening a new one closes those of threads that have ended (a server that
        # starts a thread per request would otherwise hold one file per past request).
        self._all: dict[sqlite3.Connection, threading.Thread] = {}
        self._all_lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if migrate:
                self.migrate()
            else:
                self._check_not_too_new()
        except BaseException:
            self.close()  # SchemaTooNew or an unreadable file: leave no connection open
            raise

    # ------------------------------------------------------------------ plumbing

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def __enter__(self) -> SQLiteCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def close(self) -> None:
        with self._all_lock:
            self._closed = True
            connections, self._all = list(self._all), {}
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if self._closed:
            raise SessionDBError(f"the store for {self.path} is closed")
        if os.getpid() != self._pid:
            # A forked child must not touch the parent's connections: start afresh.
            self._pid = os.getpid()
            self._local = threading.local()
            self._all = {}
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._all_lock:
                ended = [c for c, thread in self._all.items() if not thread.is_alive()]
                for old in ended:
                    del self._all[old]
                self._all[conn] = threading.current_thread()
            for old in ended:
                # Safe: a thread that has ended is using none of its connections.
                with contextlib.suppress(sqlite3.Error):
                    old.close()
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            # Only takes effect on a brand-new file, before WAL mode writes the header:
            # prune can then hand deleted pages back with PRAGMA incremental_vacuum. Only
            # set then: on an existing file the pragma rewrites the header (page 1) at
            # every open, even with the same value.
            if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute(
                "PRAGMA synchronous = " + ("FULL" if self.durability == "full" else "NORMAL")
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.Error as exc:
            raise translate(exc, f"opening {self.path}") from exc
        return conn

    def _retry_busy(self, action: Any) -> Any:
        """Run ``action`` retrying SQLITE_BUSY with jittered backoff, bounded by busy_timeout.

        The busy handler covers most waits; this covers the cases where SQLite returns
        BUSY at once (a WAL reset or a journal-mode change racing another process).
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or getattr(exc, "sqlite_errorcode", 0) & 0xFF in (5, 6)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.05)

    def _begin(self, conn: sqlite3.Connection, what: str) -> None:
        """BEGIN IMMEDIATE (retried while busy); driver errors become sessiondb errors."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            try:
                self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            except sqlite3.Error as exc:
                raise translate(exc, what) from exc
        except sqlite3.Error as exc:
            raise translate(exc, what) from exc

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); driver errors become sessiondb errors."""
        conn = self._conn()
        self._begin(conn, what)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc, what) from exc
            if isinstance(exc, OverflowError):
                # sqlite3 refuses to bind an int past 64 bits; the model bounds what it
                # validates, so this is a value that slipped past it: still bad input.
                raise InvalidInput(
                    f"{what}: a number is too large for the database ({exc})",
                    reason="a number is too large for the database",
                ) from exc
            raise

    @contextmanager
    def _read(self, what: str) -> Iterator[sqlite3.Connection]:
        """A read snapshot: every statement inside sees the same committed state."""
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            yield conn
        except sqlite3.Error as exc:
            raise translate(exc, what) from exc
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _query(
        self, what: str, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()
    ) -> list[Any]:
        """Run one read statement outside any explicit transaction."""
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, what) from exc

    # ------------------------------------------------------------------ migrations

    def _stored_version(self, conn: sqlite3.Connection) -> int:
        if conn.execute(q.HAS_MIGRATIONS_TABLE).fetchone() is None:
            return 0
        return int(conn.execute(q.SELECT_SCHEMA_VERSION).fetchone()[0])

    def _check_not_too_new(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise SchemaTooNew.database(str(self.path), version, SCHEMA_VERSION)

    def pending_migrations(self) -> list[str]:
        """Names of the migrations this database still needs (nothing is changed)."""
        version = self.schema_version()
        return [name for number, name, _ in MIGRATIONS if number > version]

    def migrate(self) -> list[str]:
        """Upgrade the schema in place, in one transaction; return the migrations applied.

        Raises SchemaTooNew, leaving the database untouched, when it is newer than us.
        """
        conn = self._conn()
        try:
            if self._stored_version(conn) == SCHEMA_VERSION:
                return []  # the common case: no lock taken
        except sqlite3.Error as exc:
            raise translate(exc, f"reading the schema of {self.path}") from exc
        applied: list[str] = []
        with self._write(f"migrating {self.path}") as conn:
            # Checked again under the write lock: another process may have migrated.
            version = self._stored_version(conn)
            if version > SCHEMA_VERSION:
                raise SchemaTooNew.database(str(self.path), version, SCHEMA_VERSION)
            conn.execute(q.CREATE_MIGRATIONS_TABLE)
            for number, name, sql in MIGRATIONS:
                if number <= version:
                    continue
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(
                    q.RECORD_MIGRATION,
                    {"version": number, "name": name, "applied_at": now_micros()},
                )
                applied.append(name)
        return applied

    def schema_version(self) -> int:
        try:
            return self._stored_version(self._conn())
        except sqlite3.Error as exc:
            raise translate(exc, f"reading the schema version of {self.path}") from exc

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
        with self._write(f"creating session {fields.id!r}") as conn:
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
        return self._session(row)

    def get_session(self, session_id: str) -> Session:
        rows = self._query(f"reading session {session_id!r}", q.SELECT_SESSION, {"id": session_id})
        if not rows:
            raise NotFound.session(session_id)
        return self._session(rows[0])

    def delete_session(self, session_id: str, *, recursive: bool = False) -> int:
        with self._write(f"deleting session {session_id!r}") as conn:
            if not conn.execute(q.SESSION_EXISTS, {"id": session_id}).fetchone():
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
            "roots_only": 1 if roots_only else 0,
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

    # ------------------------------------------------------------------ append

    def append(
        self,
        session_id: str,
        items: AppendInput,
        *,
        ids: Sequence[str] | None = None,
        usage: Usage | None = None,
        model: str | None = None,
        expect_last_seq: int | None = None,
        session_metadata: Mapping[str, Any] | None = None,
        other_metadata: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[Message]:
        prepared = self._prepare(items, ids, usage, model)
        patch = check_metadata("session_metadata", session_metadata) if session_metadata else None
        others = check_other_metadata(session_id, other_metadata) if other_metadata else None
        if not prepared:
            self.get_session(session_id)  # still NotFound for a missing session
            return []
        # _write spelled out: the generator-based context manager is measurable at this
        # rate, and the description of the operation is only formatted for an error.
        conn = self._conn()
        self._begin(conn, f"appending to session {session_id!r}")
        try:
            stored = self._append_locked(conn, session_id, prepared, expect_last_seq, patch, others)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc, f"appending to session {session_id!r}") from exc
            raise
        return stored

    # The hot statements take their values positionally, in the order message_rows and
    # summarize_batch build them: binding by name costs twice as much in sqlite3.

    def _insert_messages(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        if len(rows) < 2:
            conn.execute(q.INSERT_MESSAGE, tuple(rows[0].values()))
            return
        # One INSERT ... SELECT fires the FTS trigger for the whole batch inside a single
        # statement (see queries.STAGE_MESSAGE): a 500-message batch took 25 ms, now 12.
        # The TEMP table is this connection's own and is emptied inside the transaction.
        conn.execute(q.CREATE_STAGED_MESSAGES)
        conn.executemany(q.STAGE_MESSAGE, [tuple(row.values()) for row in rows])
        conn.execute(q.INSERT_STAGED_MESSAGES)
        conn.execute(q.CLEAR_STAGED_MESSAGES)

    def _insert_calls(self, conn: Any, calls: list[dict[str, Any]]) -> None:
        if len(calls) == 1:
            conn.execute(q.INSERT_TOOL_CALL, tuple(calls[0].values()))
        else:
            conn.executemany(q.INSERT_TOOL_CALL, [tuple(c.values()) for c in calls])

    def _reserve(self, conn: Any, params: dict[str, Any]) -> Any:
        values = tuple([params[name] for name in q.RESERVE_ORDER])
        return conn.execute(q.RESERVE_SEQS, values).fetchone()

    # ------------------------------------------------------------------ reads

    def messages(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        last: int | None = None,
        limit: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        order: MessageOrder = "seq",
    ) -> list[Message]:
        window = read_window(
            "messages",
            session_id,
            after_seq=after_seq,
            before_seq=before_seq,
            last=last,
            limit=limit,
            since=since,
            until=until,
            order=order,
        )
        if window.count == 0:
            self.get_session(session_id)
            return []
        params = {**window.params, "limit": -1 if window.count is None else window.count}
        sql = q.MESSAGE_WINDOWS[window.kind, window.newest]
        with self._read(f"reading messages of session {session_id!r}") as conn:
            rows = conn.execute(sql, params).fetchall()
            if window.newest:
                rows.reverse()
            if not rows:
                if not conn.execute(q.SESSION_EXISTS, {"id": session_id}).fetchone():
                    raise NotFound.session(session_id)
                return []
            return self._messages_from_rows(conn, session_id, rows)

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
        params = {
            "session_id": session_id,
            "name": name,
            "status": status,
            "limit": -1 if limit is None else limit,
        }
        rows = self._query("reading tool calls", q.SELECT_TOOL_CALLS, params)
        if not rows and session_id is not None:
            self.get_session(session_id)
        return [self._tool_call(row) for row in rows]

    # ------------------------------------------------------------------ maintenance

    def vacuum(self) -> None:
        try:
            conn = self._conn()
            # Not execute(): it would stop after one step, i.e. one page (see queries.py).
            # executescript() would COMMIT an open transaction, but none is open here.
            conn.executescript(q.INCREMENTAL_VACUUM)
            conn.execute(q.CHECKPOINT_TRUNCATE).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, f"vacuuming {self.path}") from exc

    def check(self) -> list[str]:
        problems: list[str] = []
        with self._read(f"checking {self.path}") as conn:
            result = [r[0] for r in conn.execute(q.INTEGRITY_CHECK)]
            if result != ["ok"]:
                problems.extend(f"integrity_check: {line}" for line in result)
            for row in conn.execute(q.FOREIGN_KEY_CHECK):
                problems.append(f"foreign key: {row[0]} rowid {row[1]} -> {row[2]}")
            for row in conn.execute(q.SELECT_COUNTER_MISMATCHES):
                problems.append(f"session {row[0]!r}: counters disagree with its messages")
        return problems

    def info(self) -> dict[str, Any]:
        with self._read(f"reading {self.path}") as conn:
            sessions = conn.execute(q.COUNT_SESSIONS).fetchone()[0]
            messages = conn.execute(q.COUNT_MESSAGES).fetchone()[0]
            tool_calls = conn.execute(q.COUNT_TOOL_CALLS).fetchone()[0]
            pages = conn.execute(q.PAGE_COUNT).fetchone()[0]
            page_size = conn.execute(q.PAGE_SIZE).fetchone()[0]
        return {
            "backend": "sqlite",
            "url": self.url,
            "path": str(self.path),
            "schema_version": self.schema_version(),
            "sessions": sessions,
            "messages": messages,
            "tool_calls": tool_calls,
            "size_bytes": pages * page_size,
            "durability": self.durability,
            "sqlite_version": sqlite3.sqlite_version,
        }
