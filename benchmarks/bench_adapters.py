"""Each adapter against its framework's own SQLite store, in one run (not a test).

    .venv/bin/python benchmarks/bench_adapters.py [--appends 1000] [--reads 200]

For every framework: N appends of one ~230-byte message each (one call per message, as
an agent loop does), then R reads of the newest 50 through the framework's own API.
Prints the median and p90 of each operation in milliseconds.

Equal durability: the frameworks' stores run with SQLite's default ``synchronous=FULL``
(OpenAI's SQLiteSession in WAL mode, ADK's SqliteSessionService and LangChain's
SQLChatMessageHistory with a rollback journal): every commit is fsync'd. sessiondb runs
with ``durability="full"`` (WAL + ``synchronous=FULL``), which survives a power cut too.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

K = 50
TEXT = ("The quick brown fox jumps over the lazy dog while the agent thinks. " * 4)[:230]


def text(i: int) -> str:
    return f"{i}: {TEXT}"


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[int(len(ms) * 0.9) - 1] if len(ms) >= 10 else ms[-1]
    return f"median {statistics.median(ms):7.3f} ms   p90 {p90:7.3f} ms"


Op = Callable[[int], Any]


async def interleaved(ops: list[Op], n: int) -> list[list[float]]:
    """Run each op ``n`` times, alternating stores call by call (and which goes first),
    so both see the same disk and CPU load on a shared, noisy machine. Ops may be sync
    or async. Returns the seconds of every call, per op."""
    out: list[list[float]] = [[] for _ in ops]
    for i in range(n):
        order = range(len(ops)) if i % 2 == 0 else reversed(range(len(ops)))
        for j in order:
            start = time.perf_counter()
            result = ops[j](i)
            if asyncio.iscoroutine(result):
                await result
            out[j].append(time.perf_counter() - start)
    return out


def report(
    framework: str, names: list[str], appends: list[list[float]], reads: list[list[float]]
) -> None:
    print(f"\n{framework}")
    for name, a, r in zip(names, appends, reads, strict=True):
        print(f"  {name:40s} append   {stats(a)}")
        print(f"  {'':40s} last {K}  {stats(r)}")
    append_x = statistics.median(appends[0]) / statistics.median(appends[1])
    read_x = statistics.median(reads[0]) / statistics.median(reads[1])
    ratio = f"append x{append_x:.2f}, last {K} x{read_x:.2f}"
    print(f"  their median / ours (above 1: sessiondb is faster): {ratio}")


# ---------------------------------------------------------------------------- OpenAI


async def bench_openai(tmp: Path, n: int, reads: int) -> None:
    from agents import SQLiteSession

    from sessiondb.integrations.openai_agents import SessionDBSession

    theirs = SQLiteSession("s1", tmp / "oa.db")
    ours = SessionDBSession("s1", tmp / "oa-sessiondb.db", durability="full")
    sessions: list[Any] = [theirs, ours]

    def add(session: Any) -> Op:
        def op(i: int) -> Awaitable[None]:
            role = "user" if i % 2 == 0 else "assistant"
            return cast(Awaitable[None], session.add_items([{"role": role, "content": text(i)}]))

        return op

    def last(session: Any) -> Op:
        async def op(i: int) -> None:
            assert len(await session.get_items(limit=K)) == K

        return op

    appends = await interleaved([add(s) for s in sessions], n)
    got = await interleaved([last(s) for s in sessions], reads)
    theirs.close()
    await ours.close()
    report(
        "OpenAI Agents SDK (add_items of one item / get_items(limit=50))",
        ["agents.SQLiteSession", "SessionDBSession"],
        appends,
        got,
    )


# ---------------------------------------------------------------------------- LangChain


async def bench_langchain(tmp: Path, n: int, reads: int) -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    from sessiondb.integrations.langchain import SessionDBChatMessageHistory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.chat_message_histories import SQLChatMessageHistory

        theirs = SQLChatMessageHistory(session_id="s1", connection=f"sqlite:///{tmp / 'lc.db'}")
    ours = SessionDBChatMessageHistory("s1", tmp / "lc-sessiondb.db", durability="full")
    ours_window = SessionDBChatMessageHistory("s1", ours.store, window=K)

    def add(history: Any) -> Op:
        def op(i: int) -> None:
            history.add_message(HumanMessage(text(i)) if i % 2 == 0 else AIMessage(text(i)))

        return op

    def last(history: Any) -> Op:
        def op(i: int) -> None:
            # LangChain's API has no limit: its own history reads all, then we slice.
            assert len(history.messages[-K:]) == K

        return op

    appends = await interleaved([add(theirs), add(ours)], n)
    got = await interleaved([last(theirs), last(ours_window)], reads)
    ours.close()
    report(
        "LangChain (add_message / last 50 messages)",
        ["SQLChatMessageHistory (messages[-50:])", "SessionDBChatMessageHistory(window=50)"],
        appends,
        got,
    )


# ---------------------------------------------------------------------------- ADK


async def bench_adk(tmp: Path, n: int, reads: int) -> None:
    from google.adk.events import Event
    from google.adk.sessions.base_session_service import GetSessionConfig
    from google.adk.sessions.sqlite_session_service import SqliteSessionService
    from google.genai import types

    from sessiondb.integrations.adk import SessionDBSessionService

    ours = SessionDBSessionService(tmp / "adk-sessiondb.db", durability="full")
    services: list[Any] = [SqliteSessionService(str(tmp / "adk.db")), ours]
    sessions = [
        await s.create_session(app_name="bench", user_id="u1", session_id="s1") for s in services
    ]

    def add(service: Any, session: Any) -> Op:
        async def op(i: int) -> None:
            author, role = ("user", "user") if i % 2 == 0 else ("agent", "model")
            event = Event(
                invocation_id=f"inv{i // 2}",
                author=author,
                content=types.Content(role=role, parts=[types.Part(text=text(i))]),
            )
            await service.append_event(session, event)

        return op

    def last(service: Any) -> Op:
        async def op(i: int) -> None:
            got = await service.get_session(
                app_name="bench",
                user_id="u1",
                session_id="s1",
                config=GetSessionConfig(num_recent_events=K),
            )
            assert got is not None and len(got.events) == K

        return op

    appends = await interleaved([add(s, x) for s, x in zip(services, sessions, strict=True)], n)
    got = await interleaved([last(s) for s in services], reads)
    await ours.close()
    report(
        "Google ADK (append_event / get_session(num_recent_events=50))",
        ["SqliteSessionService", "SessionDBSessionService"],
        appends,
        got,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--only", choices=["openai", "langchain", "adk"])
    args = parser.parse_args()
    size = len(text(0))
    print(f"{args.appends} appends of ~{size}-byte messages, {args.reads} reads of the last {K}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.only in (None, "openai"):
            asyncio.run(bench_openai(tmp, args.appends, args.reads))
        if args.only in (None, "langchain"):
            asyncio.run(bench_langchain(tmp, args.appends, args.reads))
        if args.only in (None, "adk"):
            asyncio.run(bench_adk(tmp, args.appends, args.reads))


if __name__ == "__main__":
    main()
