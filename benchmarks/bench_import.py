"""Import benchmark (not a test): ``python benchmarks/bench_import.py [--mb 100]``.

1. Generates ``--mb`` MB of Claude Code transcripts (sessions of user prompts, assistant
   turns split over two lines sharing ``message.id`` with growing usage, tool results),
   then imports them into a fresh SQLite store in a child process, reporting wall time
   and the child's peak RSS (``resource.getrusage``). Targets: <= 20 s, <= 300 MB.
2. The batched insert path: ``--messages`` small messages appended in batches of 500
   through ``Store.append`` versus raw ``sqlite3.executemany`` into a plain table with
   the same columns' worth of data, in the same run; the ratio is reported. Target:
   >= 30,000 messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _line(obj: dict[str, object]) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


def generate(folder: Path, megabytes: int, files: int = 40) -> tuple[int, int]:
    """Write ``files`` transcripts totalling about ``megabytes`` MB; return (bytes, lines)."""
    target = megabytes * 1024 * 1024 // files
    total = lines = 0
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6
    for index in range(files):
        sid = str(uuid.UUID(int=index + 1))
        path = folder / "-home-user-project" / f"{sid}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        turn = 0
        parent = None
        with path.open("w", encoding="utf-8") as out:
            while size < target:
                turn += 1
                base = {
                    "isSidechain": False,
                    "userType": "external",
                    "cwd": "/home/user/project",
                    "sessionId": sid,
                    "version": "2.1.0",
                    "gitBranch": "main",
                }
                stamp = f"2026-01-01T00:{turn // 60 % 60:02d}:{turn % 60:02d}.000Z"
                uid = str(uuid.uuid4())
                rows = [
                    {
                        **base,
                        "parentUuid": parent,
                        "type": "user",
                        "uuid": uid,
                        "timestamp": stamp,
                        "message": {"role": "user", "content": f"Turn {turn}: {filler}"},
                    }
                ]
                mid = f"msg_{uuid.uuid4().hex}"
                tool = f"toolu_{uuid.uuid4().hex[:20]}"
                usage = {"input_tokens": 4, "cache_read_input_tokens": 9000, "output_tokens": 6}
                a1, a2, r = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
                text_block = {"type": "text", "text": f"Working on turn {turn}. {filler}"}
                rows.append(
                    {
                        **base,
                        "parentUuid": uid,
                        "type": "assistant",
                        "uuid": a1,
                        "timestamp": stamp,
                        "requestId": f"req_{turn}",
                        "message": {
                            "model": "claude-sonnet-4-5",
                            "id": mid,
                            "type": "message",
                            "role": "assistant",
                            "content": [text_block],
                            "usage": usage,
                        },
                    }
                )
                rows.append(
                    {
                        **base,
                        "parentUuid": a1,
                        "type": "assistant",
                        "uuid": a2,
                        "timestamp": stamp,
                        "requestId": f"req_{turn}",
                        "message": {
                            "model": "claude-sonnet-4-5",
                            "id": mid,
                            "type": "message",
                            "role": "assistant",
                            "content": [
                                {
                                    "type": "tool_use",
                                    "id": tool,
                                    "name": "Bash",
                                    "input": {"command": f"ls -la /tmp/{turn}"},
                                }
                            ],
                            "usage": {**usage, "output_tokens": 120},
                        },
                    }
                )
                rows.append(
                    {
                        **base,
                        "parentUuid": a2,
                        "type": "user",
                        "uuid": r,
                        "timestamp": stamp,
                        "message": {
                            "role": "user",
                            "content": [
                                {"type": "tool_result", "tool_use_id": tool, "content": filler}
                            ],
                        },
                        "toolUseResult": {"stdout": filler, "stderr": "", "interrupted": False},
                    }
                )
                parent = r
                for row in rows:
                    text = _line(row)
                    out.write(text)
                    size += len(text.encode())
                    lines += 1
        total += size
    return total, lines


def child_import(db: str, folder: str) -> None:
    """Run in a fresh process: import ``folder`` and print the figures as JSON."""
    from sessiondb import connect

    with connect(db) as store:
        start, cpu = time.perf_counter(), time.process_time()
        report = store.import_path(folder)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        again = store.import_path(folder)  # unchanged files: nothing to read again
        reimport = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "reimport_seconds": reimport,
                "reimport_added": again.messages_added,
                "peak_rss_mb": peak_kb / 1024,
                "messages": report.messages_added,
                "sessions": report.sessions_created,
                "errors": len(report.errors),
                "skipped": len(report.skipped),
            }
        )
    )


def bench_batched(workdir: Path, count: int, batch: int = 500) -> dict[str, float]:
    """Messages/s (wall and per CPU second) through Store.append in batches, and raw
    executemany in the same run."""
    from sessiondb import connect
    from sessiondb.model import NewMessage

    items = [
        NewMessage({"role": "user" if i % 2 == 0 else "assistant", "content": f"hello {i}"})
        for i in range(count)
    ]
    with connect(workdir / "batched.db") as store:
        store.create_session("bench")
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, count, batch):
            store.append("bench", items[i : i + batch])
        ours = count / (time.perf_counter() - start)
        ours_cpu = count / (time.process_time() - cpu)

    conn = sqlite3.connect(workdir / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE messages (session_id TEXT, seq INTEGER, id TEXT, role TEXT, item TEXT,"
        " text TEXT, created_at INTEGER, UNIQUE (session_id, seq), UNIQUE (session_id, id))"
    )
    rows = [
        (
            "bench",
            i + 1,
            str(uuid.uuid4()),
            "user",
            json.dumps({"role": "user", "content": f"hello {i}"}),
            f"hello {i}",
            time.time_ns() // 1000,
        )
        for i in range(count)
    ]
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, count, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)", rows[i : i + batch])
        conn.execute("COMMIT")
    raw = count / (time.perf_counter() - start)
    raw_cpu = count / (time.process_time() - cpu)
    conn.close()
    return {
        "store": ours,
        "store_cpu": ours_cpu,
        "raw": raw,
        "raw_cpu": raw_cpu,
        "ratio": ours / raw,
        "ratio_cpu": ours_cpu / raw_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_import(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = workdir / "projects"
        size, lines = generate(folder, args.mb)
        print(f"generated {size / 1e6:.1f} MB, {lines} lines of Claude Code transcripts")
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(workdir / "import.db"), str(folder)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        figures = json.loads(result.stdout)
        print(
            f"import: {figures['seconds']:.1f} s ({figures['cpu_seconds']:.1f} s CPU), "
            f"peak RSS {figures['peak_rss_mb']:.0f} MB, "
            f"{figures['messages']} messages in {figures['sessions']} sessions, "
            f"{figures['messages'] / figures['seconds']:.0f} msgs/s, "
            f"errors {figures['errors']}, skipped {figures['skipped']}; re-import "
            f"{figures['reimport_seconds']:.2f} s adding {figures['reimport_added']}"
        )
        batched = bench_batched(workdir, args.messages)
        print(
            f"batched append: {batched['store']:.0f} msgs/s wall ({batched['store_cpu']:.0f} "
            f"per CPU second); raw executemany {batched['raw']:.0f} msgs/s wall "
            f"({batched['raw_cpu']:.0f} per CPU second); ratio {batched['ratio']:.2f} wall, "
            f"{batched['ratio_cpu']:.2f} CPU"
        )


if __name__ == "__main__":
    main()
