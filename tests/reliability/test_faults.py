"""Disk and connection faults: a full disk and a connection killed mid-transaction leave
nothing half-written, raise a clear sessiondb error, and the store recovers.

The PostgreSQL kills are deterministic: every round terminates the store's backend while
it provably waits inside an append's transaction (found in pg_stat_activity waiting on a
lock another connection holds), alternately before and after the append wrote its rows;
idle connections are never counted.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import sessiondb
from sessiondb import ConnectionLost, StorageFull

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


# Where the append is held when its backend is terminated. "session lock": blocked on
# LOCK_SESSION, the first statement of its transaction, before it wrote anything (no xid
# yet). "tool-call row": blocked on COMPLETE_TOOL_CALL, after RESERVE_SEQS moved the
# counters and INSERT_MESSAGE wrote the batch (an xid, so rows written), so the killed
# transaction really holds half an append.
STAGES = {
    "session lock": "SELECT 1 FROM {schema}.sessions WHERE id = %s FOR UPDATE",
    "tool-call row": (
        "SELECT 1 FROM {schema}.tool_calls WHERE session_id = %s AND call_id = %s FOR UPDATE"
    ),
}


def _blocked_backend(admin: Any, app_name: str, locker_pid: int) -> tuple[int, str, Any, Any]:
    """(pid, query, xact_start, backend_xid) of the store's backend once the locker's
    lock blocks it; fails after 10 s. (The blocking pid, not pg_stat_activity's query
    text, says what it waits for: the text can lag behind the statement.)"""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = admin.execute(
            "SELECT pid, query, xact_start, backend_xid FROM pg_stat_activity"
            " WHERE application_name = %s AND %s = ANY(pg_blocking_pids(pid))",
            (app_name, locker_pid),
        ).fetchall()
        if rows:
            assert len(rows) == 1, rows
            return rows[0]  # type: ignore[no-any-return]
        time.sleep(0.005)
    raise AssertionError("the append never waited on the lock")


@pytest.mark.postgres
def test_connections_killed_mid_transaction_leave_nothing_half_written(
    counts: Counter[str],
) -> None:
    """Each round holds a row lock from another connection so the store's append blocks
    inside its transaction, finds that backend in pg_stat_activity, terminates exactly
    it, and checks: the caller got ConnectionLost, nothing of the batch (nor of its
    counters or tool-call update) is visible, and the pool serves the retried append."""
    import psycopg
    from psycopg import sql

    admin_url = postgres_url_or_skip()
    schema = f"sessiondb_test_{secrets.token_hex(6)}"
    app_name = f"sessiondb_fault_{secrets.token_hex(4)}"
    sep = "&" if "?" in admin_url else "?"
    url = f"{admin_url}{sep}application_name={app_name}"
    rounds = scale(50, 500)
    ident = sql.Identifier(schema).as_string(None)
    try:
        with (
            sessiondb.connect(url, schema=schema) as db,
            psycopg.connect(admin_url, autocommit=True) as admin,
        ):
            sid = db.create_session("faults").id
            for r in range(rounds):
                stage = list(STAGES)[r % len(STAGES)]
                lock_sql = STAGES[stage]
                call_id = f"call-{r}"
                db.append(sid, _call(call_id), ids=[f"{r}-call"])
                before = (db.get_session(sid), db.messages(sid), db.tool_calls(sid))
                batch = [
                    {"role": "user", "content": f"round {r}"},
                    {"role": "tool", "tool_call_id": call_id, "content": "result"},
                ]
                ids = [f"{r}-a", f"{r}-b"]
                outcome: list[BaseException | None] = []

                def append(
                    batch: Any = batch, ids: list[str] = ids, outcome: list[Any] = outcome
                ) -> None:
                    try:
                        db.append(sid, batch, ids=ids)
                        outcome.append(None)
                    except BaseException as exc:
                        outcome.append(exc)

                with psycopg.connect(admin_url) as locker:  # its transaction holds the lock
                    params = (sid,) if stage == "session lock" else (sid, call_id)
                    locker.execute(lock_sql.format(schema=ident), params)
                    writer = threading.Thread(target=append)
                    writer.start()
                    pid, query, xact_start, xid = _blocked_backend(
                        admin, app_name, locker.info.backend_pid
                    )
                    assert xact_start is not None, f"not inside a transaction: {query}"
                    wrote = xid is not None
                    assert wrote == (stage == "tool-call row"), (stage, xid, query)
                    assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
                    writer.join(10)
                    assert not writer.is_alive()
                    locker.rollback()
                (error,) = outcome
                assert isinstance(error, ConnectionLost), repr(error)
                assert not isinstance(error, psycopg.Error)
                assert (db.get_session(sid), db.messages(sid), db.tool_calls(sid)) == before
                # The pool recovers: the same batch goes in on the next try.
                stored = db.append(sid, batch, ids=ids)
                assert [m.seq for m in stored] == [before[0].last_seq + 1, before[0].last_seq + 2]
                assert db.tool_calls(sid)[-1].status == "ok"
                counts[f"faults: backends terminated mid-append, at the {stage}"] += 1
            messages = db.messages(sid)
            assert [m.seq for m in messages] == list(range(1, 3 * rounds + 1))
            assert db.check() == []
        counts["faults: messages verified after terminations"] += len(messages)
    finally:
        drop_schema(admin_url, schema)


def _call(call_id: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": "t", "arguments": "{}"}}
        ],
    }
