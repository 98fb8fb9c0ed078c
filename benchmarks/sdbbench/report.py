"""Run the selected workloads and build the markdown report (versions, tables, targets)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .peers import PEERS
from .subject import Subject
from .workloads import WORKLOADS, Context, w2_w3_growth_and_tail

PACKAGES = [
    "sessiondb",
    "openai-agents",
    "langchain-community",
    "langchain-core",
    "nanobot-ai",
    "google-adk",
    "langgraph",
    "langgraph-checkpoint-sqlite",
    "langchain-postgres",
    "psycopg",
    "psycopg-binary",
    "sqlalchemy",
    "aiosqlite",
]


def versions(postgres: str | None) -> list[str]:
    lines = [
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}, "
        f"{os.cpu_count()} CPUs",
    ]
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    lines.append("- " + ", ".join(found))
    if postgres:
        try:
            import psycopg

            with psycopg.connect(postgres) as conn:
                row = conn.execute("SHOW server_version").fetchone()
            lines.append(f"- PostgreSQL {row[0] if row else '?'} (loopback)")
        except Exception as exc:
            lines.append(f"- PostgreSQL: cannot connect ({type(exc).__name__})")
    return lines


def targets(ctx: Context) -> list[list[str]]:
    """The issue's targets beside what this run measured."""
    h = ctx.headline
    rows: list[list[str]] = []

    def add(name: str, goal: str, key: str, ok: Callable[[float], bool], shown: str) -> None:
        if key in h:
            verdict = "" if goal.startswith("(") else ("met" if ok(h[key]) else "MISSED")
            rows.append([name, goal, shown.format(h[key]), verdict])

    add("append, normal", "≤ 1.5× raw", "append_normal_ratio", lambda v: v <= 1.5, "{:.2f}×")
    add("append, full", "≤ 1.5× raw", "append_full_ratio", lambda v: v <= 1.5, "{:.2f}×")
    add(
        "vs openai-agents SQLiteSession (both FULL)",
        "≥ 2.5× faster",
        "openai_vs_full",
        lambda v: v >= 2.5,
        "{:.2f}× faster",
    )
    add(
        "vs openai-agents SQLiteSession, each at its default (NORMAL vs FULL)",
        "(information)",
        "openai_vs_default",
        lambda v: True,
        "{:.2f}× faster",
    )
    add("growth 10,000 vs 100", "≤ 1.1×", "growth", lambda v: v <= 1.1, "{:.2f}×")
    add("last 50 of 10,000", "≤ 2.5× raw", "last50_ratio", lambda v: v <= 2.5, "{:.2f}×")
    add(
        "list 20 of 10,000 sessions",
        "≤ 0.5 ms median",
        "list20_us",
        lambda v: v <= 500,
        "{:.0f} µs",
    )
    add("W5 lost/duplicated/failed (normal)", "0", "w5_bad", lambda v: v == 0, "{:.0f}")
    add("W5 lost/duplicated/failed (full)", "0", "w5_bad_full", lambda v: v == 0, "{:.0f}")
    add("PostgreSQL append", "≤ 1.3× raw psycopg", "pg_append_ratio", lambda v: v <= 1.3, "{:.2f}×")
    add("PostgreSQL last 50", "≤ 2× raw psycopg", "pg_last50_ratio", lambda v: v <= 2.0, "{:.2f}×")
    return rows


def run(workdir: Path, *, quick: bool, only: set[str], postgres: str | None, peers: bool) -> str:
    from .stats import table

    ctx = Context(workdir=workdir, quick=quick, postgres=postgres)
    if peers:
        ctx.peers = list[Callable[[], Subject]](PEERS)
    ctx.emit("# sessiondb benchmarks" + (" (--quick smoke run: sizes reduced)" if quick else ""))
    ctx.emit("")
    command = " ".join(sys.argv[1:]) or "(full)"
    ctx.emit(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; `{command}`")
    for line in versions(postgres):
        ctx.emit(line)
    selected = [w for w in [*WORKLOADS, "PG"] if not only or w in only]
    if "W2" in selected and "W3" in selected:
        started = time.perf_counter()
        w2_w3_growth_and_tail(ctx)
        ctx.emit(f"\n(W2 + W3 took {time.perf_counter() - started:.0f} s)")
        selected = [w for w in selected if w not in ("W2", "W3")]
    for name in selected:
        started = time.perf_counter()
        if name == "PG":
            if not postgres:
                ctx.emit("\n## PostgreSQL\n\nSkipped: no --postgres URL given.")
                continue
            from .pgworkloads import pg_workloads

            pg_workloads(ctx, postgres)
        else:
            WORKLOADS[name](ctx)
        ctx.emit(f"\n({name} took {time.perf_counter() - started:.0f} s)")
    rows = targets(ctx)
    if rows:
        ctx.emit("\n## Targets (this run)\n")
        ctx.emit(table(["what", "target", "measured", ""], rows))
    return "\n".join(ctx.lines) + "\n"
