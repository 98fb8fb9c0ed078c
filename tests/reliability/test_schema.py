"""Schema changes under failure: a migration killed half-way leaves the old version, usable."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sessiondb
from sessiondb.backends.sqlite import SCHEMA_VERSION, SQLiteStore

V1 = Path(__file__).parent.parent / "backends" / "data" / "v1.db"

# Runs the real migration, but slowed inside its transaction so the parent can kill it
# after the first statements have executed and before COMMIT.
SLOW_MIGRATION = """
import sys, time
from pathlib import Path
from sessiondb.backends.sqlite import core

real = core._statements
def slow(script):
    for statement in real(script):
        yield statement
        Path(sys.argv[2]).touch()
        time.sleep(0.5)
core._statements = slow
core.SQLiteCore(sys.argv[1])
"""


def test_migration_killed_half_way_leaves_the_old_version_usable(
    tmp_path: Path, counts: Counter[str]
) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(V1, path)
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_MIGRATION, str(path), str(started)])
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, "the migrating process ended before it started migrating"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    with SQLiteStore(path, migrate=False) as db:
        assert db.schema_version() == 1
        assert db.pending_migrations() == [
            "0002_compaction.sql",
            "0003_visible_index.sql",
            "0004_search.sql",
        ]
        assert [m.text for m in db.messages("v1-session")] == ["hello from v1", "hi, v1 here"]
    with sessiondb.connect(path) as db:  # the next open finishes the upgrade
        assert db.schema_version() == SCHEMA_VERSION
        assert db.get_session("v1-session").compaction_count == 0
        db.append("v1-session", {"role": "user", "content": "upgraded"})
        assert db.check() == []
    counts["schema: interrupted migrations verified"] += 1
