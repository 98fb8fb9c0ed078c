"""Every error sessiondb raises on purpose.

* SessionDBError            - base class; catch this to catch everything below
  x NotFound                - no session (or message) with that id
  x AlreadyExists           - a session with that id is already stored
  x InvalidInput            - the caller passed something we will not store or run
    + BadTranscript         - an import file is malformed (names file and line)
  x Conflict                - optimistic concurrency: another writer got there first
  x SchemaTooNew            - the database was written by a newer sessiondb; nothing changed
  x BackendError            - the database itself failed (disk full, I/O, connection lost)
    + ConnectionLost        - the connection to the server broke mid-operation
    + StorageFull           - the disk (or the database's size limit) is full
  x MissingDependency       - an optional extra is not installed (names the extra)

Backends translate driver errors where they happen and keep the cause
(``raise ... from exc``), so callers never see a raw sqlite3 or psycopg exception.

``str(error)`` is one readable sentence that names the session, file or argument.
Where the raiser knows them, the same comes in two parts for one-line reports (the
CLI prints ``Error: <reason> (<subject>)``): ``error.reason``, what went wrong
(``"no such session"``), and ``error.subject``, which session id, file (``path:line``),
query, argument or database it is about (``"nope"``). Both are None when not given.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "BackendError",
    "BadTranscript",
    "Conflict",
    "ConnectionLost",
    "InvalidInput",
    "MissingDependency",
    "NotFound",
    "SchemaTooNew",
    "SessionDBError",
    "StorageFull",
]


class SessionDBError(Exception):
    """Base class of every error sessiondb raises on purpose.

    ``reason`` and ``subject`` (keyword-only, optional) are kept as attributes of the
    same names; see the module docstring.
    """

    def __init__(
        self, message: str = "", *, reason: str | None = None, subject: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.subject = subject


class NotFound(SessionDBError, LookupError):
    """No session (or message) with the given id."""

    @classmethod
    def session(cls, session_id: str) -> NotFound:
        """The error for a missing session: ``no session 'x'`` (subject: the id)."""
        return cls(f"no session {session_id!r}", reason="no such session", subject=session_id)


class AlreadyExists(SessionDBError):
    """A session with that id is already stored."""

    @classmethod
    def session(cls, session_id: str) -> AlreadyExists:
        """The error for a taken id: ``session 'x' already exists`` (subject: the id)."""
        return cls(
            f"session {session_id!r} already exists",
            reason="session already exists",
            subject=session_id,
        )


class InvalidInput(SessionDBError, ValueError):
    """The caller passed something sessiondb will not store; nothing was written."""

    @classmethod
    def about(cls, name: str, reason: str, *, subject: str | None = None) -> InvalidInput:
        """The error for a bad argument ``name``: message ``<name>: <reason>``; the
        subject is ``name`` unless given (e.g. the query text itself)."""
        return cls(f"{name}: {reason}", reason=reason, subject=subject or name)


class BadTranscript(InvalidInput):
    """An import file is malformed; the message names the file and line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        reason: str | None = None,
    ) -> None:
        where = None if path is None else (path if line is None else f"{path}:{line}")
        super().__init__(message, reason=reason, subject=where)
        self.path = path
        self.line = line


class Conflict(SessionDBError):
    """``expect_last_seq`` did not match: another writer appended first."""

    def __init__(
        self,
        message: str,
        *,
        expected: int | None = None,
        actual: int | None = None,
        reason: str | None = None,
        subject: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason, subject=subject)
        self.expected = expected
        self.actual = actual


class SchemaTooNew(SessionDBError):
    """The database was written by a newer sessiondb; it was left unchanged."""

    @classmethod
    def database(
        cls, database: str, version: int, known: int, *, subject: str | None = None
    ) -> SchemaTooNew:
        """The error for ``database`` (a path or redacted URL) at schema ``version`` when
        this sessiondb knows up to ``known``; the subject is ``database`` unless given."""
        return cls(
            f"{database} has schema version {version}; this sessiondb knows up to {known}. "
            "Upgrade sessiondb; the database was not changed.",
            reason=f"schema version {version} is newer than this sessiondb knows ({known}); "
            "upgrade sessiondb, nothing was changed",
            subject=subject or database,
        )


class BackendError(SessionDBError):
    """The database failed underneath us (I/O, corruption, lost connection)."""


class ConnectionLost(BackendError):
    """The connection to the database server broke; the operation did not commit."""


class StorageFull(BackendError):
    """The disk or the database's size limit is full; the operation did not commit."""


class MissingDependency(SessionDBError, ImportError):
    """An optional extra is needed: the message says which one to install."""
