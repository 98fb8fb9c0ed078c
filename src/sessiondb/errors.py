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
    """Base class of every error sessiondb raises on purpose."""


class NotFound(SessionDBError, LookupError):
    """No session (or message) with the given id."""


class AlreadyExists(SessionDBError):
    """A session with that id is already stored."""


class InvalidInput(SessionDBError, ValueError):
    """The caller passed something sessiondb will not store; nothing was written."""


class BadTranscript(InvalidInput):
    """An import file is malformed; the message names the file and line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class Conflict(SessionDBError):
    """``expect_last_seq`` did not match: another writer appended first."""

    def __init__(self, message: str, *, expected: int | None = None, actual: int | None = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class SchemaTooNew(SessionDBError):
    """The database was written by a newer sessiondb; it was left unchanged."""


class BackendError(SessionDBError):
    """The database failed underneath us (I/O, corruption, lost connection)."""


class ConnectionLost(BackendError):
    """The connection to the database server broke; the operation did not commit."""


class StorageFull(BackendError):
    """The disk or the database's size limit is full; the operation did not commit."""


class MissingDependency(SessionDBError, ImportError):
    """An optional extra is needed: the message says which one to install."""
