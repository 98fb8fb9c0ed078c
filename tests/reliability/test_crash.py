"""Crash: a writer is SIGKILLed at random moments; every acknowledged message survives.

The writer prints "seq id" after each append returns; the parent kills it with SIGKILL at a
random moment, restarts it, and repeats. Afterwards every acknowledged message is stored
exactly once with the acknowledged seq, batches are whole (no call without its result), the
counters equal a recount, the storage check passes and the session still takes appends.
It runs on SQLite with ``durability="normal"`` and ``"full"`` and on PostgreSQL. A power
cut, the case ``"full"`` exists for, cannot be simulated here (see docs/guarantees.md).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sessiondb

from ..conftest import drop_schema, postgres_url_or_skip
from .conftest import scale

WRITER = Path(__file__).with_name("_writer.py")


def _run_round(
    url: str, options: dict[str, Any], session_id: str, round_no: int, rng: random.Random
) -> tuple[dict[str, int], str]:
    """Start a writer, kill it after a random delay; return the acknowledged id -> seq
    and the synchronous level the writer reported."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, json.dumps(options), session_id, str(round_no)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    acked: dict[str, int] = {}
    buffer = b""
    ready = False
    level = ""
    deadline = None
    while True:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        timeout = 0.02 if deadline is None else max(0.0, deadline - now)
        readable, _, _ = select.select([proc.stdout], [], [], timeout)
        if readable:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break  # the writer died on its own: its stderr says why
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"ready "):
                    ready = True
                    level = line.split(b" ", 1)[1].decode()
                    deadline = time.monotonic() + rng.uniform(0.05, 0.4)
                elif line:
                    seq, mid = line.decode().split(" ", 1)
                    acked[mid] = int(seq)
        elif not ready and proc.poll() is not None:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"writer exited {proc.returncode}: {stderr}"
    # A line cut short by the kill (left in buffer) was never acknowledged.
    return acked, level


@pytest.fixture(
    params=["sqlite", "sqlite-full", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def crash_target(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, options): SQLite in both durability modes, and PostgreSQL."""
    if request.param.startswith("sqlite"):
        durability = "full" if request.param == "sqlite-full" else "normal"
        yield str(tmp_path / "sessions.db"), {"durability": durability}
    else:
        url = postgres_url_or_skip()
        schema = f"sessiondb_test_{secrets.token_hex(6)}"
        yield url, {"schema": schema}
        drop_schema(url, schema)


def test_sigkilled_writers_lose_no_acknowledged_message(
    crash_target: tuple[str, dict[str, Any]], counts: Counter[str]
) -> None:
    url, options = crash_target
    label = f"sqlite, durability={options['durability']}" if "durability" in options else "postgres"
    rng = random.Random(20261122)
    with sessiondb.connect(url, **options) as db:
        session_id = db.create_session("crash").id
    rounds = scale(30, 200)
    acked: dict[str, int] = {}
    levels = set()
    for round_no in range(rounds):
        round_acked, level = _run_round(url, options, session_id, round_no, rng)
        acked.update(round_acked)
        levels.add(level)
    # The writers committed in the mode under test (PRAGMA synchronous: 1 NORMAL, 2 FULL).
    expected = {"normal": "1", "full": "2"}.get(options.get("durability", ""), "-")
    assert levels == {expected}, levels

    with sessiondb.connect(url, **options) as db:
        messages = db.messages(session_id)
        stored = {m.id: m.seq for m in messages}
        assert len(stored) == len(messages), "a message id is stored twice"
        missing = {mid for mid in acked if mid not in stored}
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        wrong = {mid for mid, seq in acked.items() if stored[mid] != seq}
        assert not wrong, f"acknowledged seq changed: {sorted(wrong)[:10]}"
        assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
        # Batches are whole: every call has its result and vice versa.
        calls = {mid[:-2] for mid in stored if mid.endswith("-a")}
        results = {mid[:-2] for mid in stored if mid.endswith("-b")}
        assert calls == results
        tool_calls = db.tool_calls(session_id)
        assert len(tool_calls) == len(calls)
        assert all(c.status == "ok" and c.result_seq == c.request_seq + 1 for c in tool_calls)
        session = db.get_session(session_id)
        assert session.message_count == session.last_seq == len(messages)
        assert session.usage.output_tokens == len(calls) + sum(
            1 for m in stored if m.endswith("-u")
        )
        assert db.check() == []
        db.append(session_id, {"role": "user", "content": "still works"})
        assert db.get_session(session_id).last_seq == len(messages) + 1

    counts[f"crash rounds (SIGKILL) [{label}]"] += rounds
    counts[f"crash: acknowledged messages verified [{label}]"] += len(acked)
    counts[f"crash: stored messages verified [{label}]"] += len(messages)
    assert len(acked) > rounds, "the writer barely wrote anything: the test proves little"
