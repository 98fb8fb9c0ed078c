"""SQLite backend: WAL checkpoints in a background thread, off the writers' path.

In WAL mode every commit appends pages to the ``-wal`` file, and a checkpoint copies them
back into the database (then fsyncs it). SQLite's default runs that checkpoint inside the
commit that pushes the log past 1,000 pages: one append in a thousand, or a fork or an
import batch, then pays for copying and syncing everything the others wrote (tens of
milliseconds). Here the store's connections do not checkpoint (``wal_autocheckpoint=0``);
after a commit the writer only looks at the log's size, and past the threshold wakes a
daemon thread of this process that runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection
of its own. PASSIVE never blocks readers or writers. Durability is unchanged: a committed
transaction is in the log whether or not it has been copied yet.

``journal_size_limit`` truncates the log back to the threshold once it restarts, so its
size on disk says how much is waiting. Should the thread fall behind (long readers pin the
log), a writer that finds the log far past the threshold checkpoints inline, as SQLite
would have: the log stays bounded in every case.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

__all__ = ["Checkpointer"]

THRESHOLD_BYTES = 4 * 1024 * 1024  # about SQLite's default of 1,000 pages
INLINE_FACTOR = 16  # past 16x the threshold, the writer checkpoints itself


class Checkpointer:
    """Wakes a checkpoint thread when the WAL of ``path`` grows past the threshold."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.busy_timeout = busy_timeout
        self.threshold = THRESHOLD_BYTES
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.runs = 0  # checkpoints the thread has run (for tests and diagnostics)

    def configure(self, conn: sqlite3.Connection) -> None:
        """Set up one of the store's connections: no checkpoint at commit."""
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute(f"PRAGMA journal_size_limit = {self.threshold}")

    def after_commit(self, conn: sqlite3.Connection) -> None:
        """Called after each committed write transaction (about a microsecond)."""
        try:
            size = os.stat(self.wal).st_size
        except OSError:
            return
        if size <= self.threshold:
            return
        if size > self.threshold * INLINE_FACTOR:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (it finishes the checkpoint it is running)."""
        with self._lock:
            self._stopping = True
            thread = self._thread if self._pid == os.getpid() else None
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.busy_timeout)

    def _start(self) -> None:
        with self._lock:
            if os.getpid() != self._pid:
                # A forked child has no thread of its parent's: it starts its own.
                self._pid = os.getpid()
                self._thread = None
                self._wake = threading.Event()
            if self._stopping or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name=f"sessiondb-checkpoint {self.path.name}", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    if conn is None:
                        conn = sqlite3.connect(
                            self.path, timeout=self.busy_timeout, isolation_level=None
                        )
                        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                except sqlite3.Error:
                    # Busy or failing: the next commit wakes us again, and a log far past
                    # the threshold is checkpointed by its writer.
                    if conn is not None:
                        with contextlib.suppress(sqlite3.Error):
                            conn.close()
                    conn = None
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
