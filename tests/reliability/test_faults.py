"""Disk and connection faults: a full disk and a connection killed mid-transaction leave
nothing half-written, raise a clear sessiondb error, and the store recovers.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import sessiondb
from sessiondb import SessionDBError, StorageFull

from ..conftest import drop_schema, postgres_url_or_skip
from .conftest import scale


def test_full_disk_gives_a_clear_error_and_no_corruption(
    tmp_path: Path, counts: Counter[str]
) -> None:
    path = tmp_path / "full.db"
    with sessiondb.connect(path) as db:
        sid = db.create_session().id
        db.append(sid, {"role": "user", "content": "before"})
        conn = db._conn()  # type: ignore[attr-defined]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        # max_page_count stands in for a full disk without root or a loop device.
        conn.execute(f"PRAGMA max_page_count = {pages + 40}")
        acknowledged = 1
        with pytest.raises(StorageFull, match="full"):  # noqa: PT012 - write until full
            while True:
                db.append(
                    sid,
                    [
                        {"role": "user", "content": "x" * 3000},
                        {"role": "assistant", "content": "y"},
                    ],
                )
                acknowledged += 2
        assert db.get_session(sid).message_count == acknowledged
    with sessiondb.connect(path) as db:  # reopened without the limit: healthy and writable
        assert db.check() == []
        assert [m.seq for m in db.messages(sid)] == list(range(1, acknowledged + 1))
        db.append(sid, {"role": "user", "content": "after"})
    counts["faults: full-disk writes verified"] += acknowledged


def _terminate(admin_url: str, app_name: str) -> int:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (app_name,),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_connections_killed_mid_transaction_leave_nothing_half_written(
    counts: Counter[str],
) -> None:
    admin_url = postgres_url_or_skip()
    schema = f"sessiondb_test_{secrets.token_hex(6)}"
    app_name = f"sessiondb_fault_{secrets.token_hex(4)}"
    sep = "&" if "?" in admin_url else "?"
    url = f"{admin_url}{sep}application_name={app_name}"
    ok: list[list[str]] = []
    failures: list[str] = []
    stop = threading.Event()
    try:
        with sessiondb.connect(url, schema=schema) as db:
            sid = db.create_session("faults").id

            def write() -> None:
                i = 0
                while not stop.is_set():
                    ids = [f"{i}-a", f"{i}-b"]
                    try:
                        db.append(
                            sid,
                            [
                                {"role": "user", "content": "q" * 500},
                                {"role": "assistant", "content": "a"},
                            ],
                            ids=ids,
                        )
                        ok.append(ids)
                    except SessionDBError as exc:
                        failures.append(type(exc).__name__)
                    except Exception as exc:  # a raw driver error is a bug
                        failures.append(f"RAW {type(exc).__module__}.{type(exc).__name__}: {exc}")
                    i += 1

            writer = threading.Thread(target=write)
            writer.start()
            killed = 0
            for _ in range(scale(10, 100)):
                time.sleep(0.05)
                killed += _terminate(admin_url, app_name)
            stop.set()
            writer.join()
            assert not [f for f in failures if f.startswith("RAW")], failures
            assert killed > 0
            # The pool recovers: the store works after the storm.
            db.append(sid, {"role": "user", "content": "after"}, ids=["after"])
            messages = db.messages(sid)
            stored = {m.id for m in messages}
            for ids in ok:
                assert set(ids) <= stored
            pairs = [m.id for m in messages if m.id != "after"]
            assert len(pairs) % 2 == 0, "half a batch was written"
            assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
            assert db.check() == []
        counts["faults: backends terminated mid-transaction"] += killed
        counts["faults: batches verified after terminations"] += len(ok)
    finally:
        drop_schema(admin_url, schema)
