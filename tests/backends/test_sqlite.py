"""What only the SQLite backend does: pragmas, migrations from old files, URLs, locking."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import sessiondb
from sessiondb import InvalidInput, SchemaTooNew
from sessiondb.backends import default_path, resolve_url
from sessiondb.backends.sqlite import SCHEMA_VERSION, SQLiteStore
from sessiondb.backends.sqlite.core import MIGRATIONS as SQLITE_MIGRATIONS

DATA = Path(__file__).parent / "data"


def test_new_database_uses_wal_foreign_keys_and_incremental_vacuum(tmp_path: Path) -> None:
    with sessiondb.connect(tmp_path / "a.db") as db:
        db.create_session("x")
        # Foreign keys are per connection, so they are checked on the store's own.
        assert db._conn().execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn = sqlite3.connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL
    conn.close()


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")
def test_connections_of_threads_that_ended_are_closed(tmp_path: Path) -> None:
    # A server starting a thread per request must not hold a file per past request.
    with sessiondb.connect(tmp_path / "t.db") as db:
        sid = db.create_session().id
        before = _open_files()
        for i in range(300):
            thread = threading.Thread(
                target=lambda i=i: db.append(sid, {"role": "user", "content": str(i)})
            )
            thread.start()
            thread.join()
        assert _open_files() <= before + 6  # the last thread's connection, at most
        assert db.get_session(sid).message_count == 300
    assert _open_files() < before


def test_a_database_too_new_leaves_no_connection_open(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    sessiondb.connect(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sessiondb_migrations VALUES (999, '0999_future.sql', 0)")
    conn.commit()
    conn.close()
    before = _open_files()
    for _ in range(20):
        with pytest.raises(SchemaTooNew):
            sessiondb.connect(path)
    assert _open_files() <= before


@pytest.mark.parametrize(("durability", "level"), [("normal", 1), ("full", 2)])
def test_durability_maps_to_synchronous(tmp_path: Path, durability: str, level: int) -> None:
    with SQLiteStore(tmp_path / "d.db", durability=durability) as db:  # type: ignore[arg-type]
        assert db._conn().execute("PRAGMA synchronous").fetchone()[0] == level


def test_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="durability"):
        SQLiteStore(tmp_path / "d.db", durability="paranoid")  # type: ignore[arg-type]


def test_v1_database_is_upgraded_in_place_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(DATA / "v1.db", path)
    with SQLiteStore(path, migrate=False) as db:
        assert db.schema_version() == 1
        assert db.pending_migrations() == [name for n, name, _ in SQLITE_MIGRATIONS if n > 1]
    with sessiondb.connect(path) as db:
        assert db.schema_version() == SCHEMA_VERSION
        assert db.pending_migrations() == []
        s = db.get_session("v1-session")
        assert (s.title, s.message_count, s.usage.output_tokens, s.compaction_count) == (
            "Written by sessiondb v1",
            2,
            5,
            0,
        )
        assert [m.item["content"] for m in db.messages("v1-session")] == [
            "hello from v1",
            "hi, v1 here",
        ]
        db.append("v1-session", {"role": "user", "content": "after upgrade"})
        assert db.messages("v1-session", last=1)[0].seq == 3
        assert db.check() == []
        assert db.migrate() == []


def test_database_from_a_newer_sessiondb_raises_and_is_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with sessiondb.connect(path) as db:
        db.create_session("x")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sessiondb_migrations VALUES (999, '0999_future.sql', 0)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="999"):
        sessiondb.connect(path)
    with pytest.raises(SchemaTooNew):
        SQLiteStore(path, migrate=False)
    assert path.read_bytes() == before


def _open_and_write(path: str, worker: int, out: Any) -> None:
    try:
        with sessiondb.connect(path) as db:
            db.ensure_session("shared")
            db.append("shared", {"role": "user", "content": str(worker)})
        out.put(None)
    except Exception as exc:
        out.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_fresh_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = str(tmp_path / "fresh.db")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_open_and_write, args=(path, w, out)) for w in range(5)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert results == [None] * 5
    with sessiondb.connect(path) as db:
        assert db.schema_version() == SCHEMA_VERSION
        assert db.get_session("shared").message_count == 5
    conn = sqlite3.connect(path)
    assert (
        conn.execute("SELECT count(*) FROM _sessiondb_migrations").fetchone()[0] == SCHEMA_VERSION
    )
    conn.close()


def test_migration_numbers_have_no_gaps() -> None:
    from sessiondb.backends.sqlite.core import MIGRATIONS

    assert [number for number, _, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_urls_and_paths_open_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with sessiondb.connect("sqlite:///rel.db") as db:
        assert Path(db.url.removeprefix("sqlite:///")).name == "rel.db"
    assert (tmp_path / "rel.db").exists()
    with sessiondb.connect(f"sqlite:///{tmp_path / 'abs.db'}") as db:
        db.create_session("x")
    assert (tmp_path / "abs.db").exists()
    monkeypatch.setenv("SESSIONDB_URL", str(tmp_path / "env.db"))
    with sessiondb.connect() as db:
        db.create_session("from-env")
    assert (tmp_path / "env.db").exists()
    with pytest.raises(InvalidInput, match="scheme"):
        sessiondb.connect("mysql://nope")


def test_default_path_is_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONDB_URL", raising=False)
    assert resolve_url(None) == str(default_path())
    assert default_path().name == "sessions.db" and "sessiondb" in str(default_path())


def test_full_database_raises_storage_full_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "small.db"
    with SQLiteStore(path) as db:
        s = db.create_session()
        db.append(s.id, {"role": "user", "content": "kept"})
        conn = db._conn()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(sessiondb.StorageFull):  # noqa: PT012 - fill until full
            for _ in range(100):
                db.append(s.id, {"role": "user", "content": "x" * 20000})
        count = db.get_session(s.id).message_count
        assert [m.seq for m in db.messages(s.id)] == list(range(1, count + 1))
        assert db.check() == []


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    db = sessiondb.connect(tmp_path / "c.db")
    db.close()
    with pytest.raises(sessiondb.SessionDBError, match="closed"):
        db.create_session()


def _idle_sessions(db: Any, count: int, *, prefix: str = "old") -> None:
    """``count`` sessions of 20 one-kilobyte messages, last active 200 days ago."""
    old = datetime.now(UTC) - timedelta(days=200)
    for i in range(count):
        sid = f"{prefix}{i}"
        db.create_session(sid, created_at=old)
        db.append(
            sid,
            [
                sessiondb.NewMessage(
                    {"role": "user", "content": f"w{i}x{j} " * 150}, created_at=old
                )
                for j in range(20)
            ],
        )


def test_prune_hands_the_freed_pages_back_so_the_file_shrinks(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with sessiondb.connect(path) as db:
        _idle_sessions(db, 40)
        db.create_session("keep")
        db.append("keep", {"role": "user", "content": "today"})
        db.vacuum()  # start from a checkpointed file: the size below is all data
        before = path.stat().st_size
        report = db.prune(older_than=timedelta(days=90))
        assert len(report.session_ids) == 40
        after = path.stat().st_size
        assert [s.id for s in db.list_sessions().items] == ["keep"]
    # 40 sessions of ~20 KB each were most of the file; one page back would be 4 KB.
    assert before > 700_000
    assert after < before / 4, (before, after)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()


def test_vacuum_empties_the_whole_freelist_not_one_page(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with sessiondb.connect(path) as db:
        _idle_sessions(db, 10)
        for i in range(10):
            db.delete_session(f"old{i}")
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA freelist_count").fetchone()[0] > 10
        db.vacuum()
        assert raw.execute("PRAGMA freelist_count").fetchone()[0] == 0
        raw.close()
