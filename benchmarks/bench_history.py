"""Benchmark history() and fork() on a 10,000-message session (not a test).

    .venv/bin/python benchmarks/bench_history.py                  # SQLite in a temp dir
    .venv/bin/python benchmarks/bench_history.py postgresql://...  # a throwaway schema

Targets (issue 4): history(max_messages=50) within 3x of messages(last=50); fork of a
10,000-message session under 100 ms on SQLite. Prints medians in milliseconds.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sessiondb

MESSAGES = 10_000


def conversation(n: int) -> list[dict[str, Any]]:
    """n messages: user, assistant tool call, tool result, assistant reply, repeated."""
    items: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            items.append({"role": "user", "content": f"Question {i}: what is the weather?"})
        elif kind == 1:
            call = {
                "id": f"c{i}",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            }
            items.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == 2:
            items.append({"role": "tool", "tool_call_id": f"c{i - 1}", "content": "sunny, 21 C"})
        else:
            items.append({"role": "assistant", "content": f"It is sunny in Paris ({i})."})
    return items


def median_ms(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in ms.

    CPU time is shown because the machine may be shared: wall time then includes waiting
    for a core, CPU time does not (it excludes I/O waits, e.g. SQLite's checkpoint fsync).
    """
    action()  # warm caches and statement cache
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def show(label: str, value: tuple[float, float], note: str = "") -> None:
    print(f"{label:<42} {value[0]:9.3f} ms wall {value[1]:9.3f} ms cpu  {note}")


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    options: dict[str, Any] = {}
    tmp = tempfile.TemporaryDirectory()
    if url is None:
        target: str = str(Path(tmp.name) / "bench.db")
    else:
        target = url
        options["schema"] = f"sessiondb_bench_{secrets.token_hex(4)}"
    db = sessiondb.connect(target, **options)
    try:
        sid = db.create_session(title="bench").id
        items = conversation(MESSAGES)
        for start in range(0, MESSAGES, 1000):
            db.append(sid, items[start : start + 1000])

        last = median_ms(lambda: db.messages(sid, last=50), 200)
        hist = median_ms(lambda: db.history(sid, max_messages=50), 200)
        tokens = median_ms(lambda: db.history(sid, max_tokens=8000), 50)
        fork = median_ms(lambda: db.fork(sid), 15)
        db.compact(sid, "summary of the first part", keep_last=40)
        compacted = median_ms(lambda: db.history(sid, max_messages=50), 200)

        print(f"backend: {db.info()['backend']}, session of {MESSAGES} messages")
        show("messages(last=50)", last)
        show("history(max_messages=50)", hist, f"{hist[0] / last[0]:.2f}x (target <= 3x)")
        show("history(max_tokens=8000)", tokens)
        show("history(max_messages=50) after compact", compacted)
        show("fork of 10,000 messages", fork, "(target < 100 ms on SQLite)")
    finally:
        if url is not None:
            import psycopg
            from psycopg import sql

            db.close()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(options["schema"])
                    )
                )
        else:
            db.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
