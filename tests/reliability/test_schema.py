"""Schema changes under failure, on both backends: a migration killed half-way leaves the
old version, usable; a database from a newer sessiondb is refused and left unchanged;
processes opening a fresh database at the same moment migrate it exactly once."""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import sessiondb
from sessiondb import SchemaTooNew
from sessiondb.backends.sqlite import SCHEMA_VERSION, SQLiteStore
from sessiondb.backends.sqlite.core import MIGRATIONS as SQLITE_MIGRATIONS

from ..conftest import drop_schema
from .conftest import backend, scale

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
        assert db.pending_migrations() == [name for n, name, _ in SQLITE_MIGRATIONS if n > 1]
        assert [m.text for m in db.messages("v1-session")] == ["hello from v1", "hi, v1 here"]
    with sessiondb.connect(path) as db:  # the next open finishes the upgrade
        assert db.schema_version() == SCHEMA_VERSION
        assert db.get_session("v1-session").compaction_count == 0
        db.append("v1-session", {"role": "user", "content": "upgraded"})
        assert db.check() == []
    counts["schema: interrupted migrations verified"] += 1


# The PostgreSQL migration of a v1 schema, held open inside its transaction by a sleep
# appended to 0002, so the parent can SIGKILL the client mid-migration.
PG_SLOW_MIGRATION = """
import sys
from sessiondb.backends.postgres import core

slow = "\\nSELECT pg_sleep(60);"
core.MIGRATIONS = [(n, name, sql + (slow if n == 2 else "")) for n, name, sql in core.MIGRATIONS]
core.PostgresCore(sys.argv[1], schema=sys.argv[2])
"""


def _pg_v1_schema(url: str, schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema as sessiondb v1 left it: migration 0001 only, one session, two messages."""
    import psycopg
    from psycopg import sql

    from sessiondb.backends.postgres import core

    with monkeypatch.context() as patch:
        patch.setattr(core, "MIGRATIONS", core.MIGRATIONS[:1])
        patch.setattr(core, "SCHEMA_VERSION", 1)
        core.PostgresCore(url, schema=schema).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "INSERT INTO sessions (id, title, status, metadata, created_at, updated_at,"
            " message_count, last_seq) VALUES ('v1-session', 'v1', 'active', '{}', 1, 2, 2, 2)"
        )
        for seq, role, text in ((1, "user", "hello from v1"), (2, "assistant", "hi, v1 here")):
            conn.execute(
                "INSERT INTO messages (session_id, seq, id, role, item, text, created_at)"
                " VALUES ('v1-session', %s, %s, %s, %s, %s, %s)",
                (seq, f"m{seq}", role, json.dumps({"role": role, "content": text}), text, seq),
            )


@pytest.mark.postgres
def test_postgres_v1_schema_upgrades_and_survives_a_killed_migration(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch, counts: Counter[str]
) -> None:
    import psycopg

    from sessiondb.backends.postgres import PostgresStore

    url, schema = pg_schema
    _pg_v1_schema(url, schema, monkeypatch)
    app = f"sessiondb_migrate_{schema[-6:]}"
    child_url = f"{url}{'&' if '?' in url else '?'}application_name={app}"
    proc = subprocess.Popen([sys.executable, "-c", PG_SLOW_MIGRATION, child_url, schema])
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as admin:
        while not admin.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND query LIKE %s",
            (app, "%pg_sleep%"),
        ).fetchone():
            assert proc.poll() is None, "the migrating process ended before it started migrating"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The server notices a dead client only when it next writes to it; end the
        # orphaned backend (and so roll its transaction back) as it eventually would.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (app,),
        )

    with PostgresStore(url, schema=schema, migrate=False) as db:
        assert db.schema_version() == 1
        assert db.pending_migrations()[0] == "0002_compaction.sql"
    with sessiondb.connect(url, schema=schema) as db:  # the next open finishes the upgrade
        assert db.schema_version() == _expected_version({"schema": schema})
        assert [m.text for m in db.messages("v1-session")] == ["hello from v1", "hi, v1 here"]
        db.append("v1-session", {"role": "user", "content": "upgraded"})
        assert db.get_session("v1-session").last_seq == 3
        assert db.check() == []
    counts["schema: interrupted PostgreSQL migrations verified"] += 1


# -- on both backends: a newer schema, and processes opening a fresh database at once --


def _raw(url: str, options: dict[str, str]) -> Any:
    """A plain DB-API connection to the store behind (url, options), outside sessiondb."""
    if "schema" not in options:
        return sqlite3.connect(url)
    import psycopg
    from psycopg import sql

    conn = psycopg.connect(url, autocommit=True)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(options["schema"])))
    return conn


def _rows(url: str, options: dict[str, str]) -> list[Any]:
    """Every row sessiondb keeps (migrations, sessions, messages), in a fixed order."""
    conn = _raw(url, options)
    try:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("_sessiondb_migrations", "sessions", "messages")
        ]
    finally:
        conn.close()


def _expected_version(options: dict[str, str]) -> int:
    if "schema" not in options:
        return SCHEMA_VERSION
    from sessiondb.backends.postgres.core import SCHEMA_VERSION as PG_SCHEMA_VERSION

    return PG_SCHEMA_VERSION


def test_a_database_from_a_newer_sessiondb_is_refused_and_left_unchanged(
    store_factory: tuple[str, dict[str, str]], counts: Counter[str]
) -> None:
    url, options = store_factory
    with sessiondb.connect(url, **options) as db:
        db.create_session("kept", title="written by this version")
        db.append("kept", [{"role": "user", "content": "hello"}])
    conn = _raw(url, options)
    conn.execute("INSERT INTO _sessiondb_migrations VALUES (999, '0999_future.sql', 0)")
    conn.commit()
    conn.close()
    before = _rows(url, options)
    file_before = Path(url).read_bytes() if "schema" not in options else b""
    for migrate in (True, False):
        with pytest.raises(SchemaTooNew, match="999"):
            sessiondb.connect(url, migrate=migrate, **options)
    assert _rows(url, options) == before
    if "schema" not in options:
        assert Path(url).read_bytes() == file_before
    counts[f"schema: newer-schema opens refused, nothing changed [{backend(url)}]"] += 2


def _open_fresh_databases(
    targets: list[tuple[str, dict[str, str]]], worker: int, barrier: Any, out: Any
) -> None:
    """Open each fresh database at the same moment as the other workers, and write."""
    errors: list[str] = []
    for url, options in targets:
        try:
            barrier.wait(60)
            with sessiondb.connect(url, **options) as db:
                db.ensure_session("shared")
                db.append("shared", {"role": "user", "content": str(worker)}, ids=[str(worker)])
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    out.put(errors)


def test_processes_opening_fresh_databases_at_once_migrate_each_exactly_once(
    store_factory: tuple[str, dict[str, str]], counts: Counter[str]
) -> None:
    url, options = store_factory
    rounds, workers = scale(10, 100), 4
    if "schema" in options:
        targets = [(url, {"schema": f"{options['schema']}_{r}"}) for r in range(rounds)]
    else:
        targets = [(f"{url}.{r}", options) for r in range(rounds)]
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_open_fresh_databases, args=(targets, w, barrier, out))
        for w in range(workers)
    ]
    try:
        for p in procs:
            p.start()
        results = [out.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert results == [[]] * workers
        expected = _expected_version(options)
        for target_url, target_options in targets:
            migrations = _rows(target_url, target_options)[0]
            assert [row[0] for row in migrations] == list(range(1, expected + 1))
            with sessiondb.connect(target_url, **target_options) as db:
                assert db.schema_version() == expected
                assert sorted(m.id for m in db.messages("shared")) == [
                    str(w) for w in range(workers)
                ]
                assert db.check() == []
    finally:
        if "schema" in options:
            for _, target_options in targets:
                drop_schema(url, target_options["schema"])
    counts[f"schema: fresh databases opened by {workers} processes at once [{backend(url)}]"] += (
        rounds
    )
