"""PostgreSQL variants of W1 (append), W3 (last 50) and W5 (1, 4 and 8 writer processes).

Everything runs in throwaway schemas of the given database (one for raw psycopg, one for
sessiondb, one for langchain-postgres), dropped at the end even when a workload fails.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .data import Msg, conversation
from .raw import RawPostgres
from .stats import fmt_rate, fmt_us, interleave, ratio, table, time_each
from .subject import Subject
from .subjects import SessionDB
from .workloads import Context, Factory, run_writers


class LangChainPostgres(Subject):
    """langchain-postgres PostgresChatMessageHistory on a psycopg connection."""

    name = "langchain-postgres PostgresChatMessageHistory"
    durability = "synchronous_commit=on (server default)"
    equivalent = "full"

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.histories: dict[str, Any] = {}

    def open(self, workdir: Path) -> None:
        import psycopg
        from langchain_postgres import PostgresChatMessageHistory

        self._cls = PostgresChatMessageHistory
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.conn.execute(f'SET search_path TO "{self.schema}"')
        PostgresChatMessageHistory.create_tables(self.conn, "chat_history")

    def close(self) -> None:
        self.conn.close()

    def _history(self, sid: str) -> Any:
        if sid not in self.histories:
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, sid))
            self.histories[sid] = self._cls("chat_history", key, sync_connection=self.conn)
        return self.histories[sid]

    def create_session(self, sid: str) -> None:
        self._history(sid)

    def append(self, sid: str, msg: Msg) -> None:
        from .peers import langchain_message

        self._history(sid).add_messages([langchain_message(msg)])

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        from .peers import langchain_message

        self._history(sid).add_messages([langchain_message(m) for m in msgs])

    def last(self, sid: str, k: int) -> list[object]:
        return list(self._history(sid).get_messages()[-k:])  # no limit in the API

    def read_texts(self, sid: str) -> list[str]:
        return [str(m.content) for m in self._history(sid).get_messages()]


def _schemas(url: str, names: list[str], drop: bool) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            if not drop:
                conn.execute(f'CREATE SCHEMA "{name}"')


def pg_workloads(ctx: Context, url: str) -> None:
    tag = secrets.token_hex(3)
    raw_schema, sdb_schema, lc_schema = f"bench_raw_{tag}", f"bench_sdb_{tag}", f"bench_lc_{tag}"
    _schemas(url, [raw_schema, sdb_schema, lc_schema], drop=False)
    try:
        _run(ctx, url, raw_schema, sdb_schema, lc_schema)
    finally:
        _schemas(url, [raw_schema, sdb_schema, lc_schema], drop=True)


def _run(ctx: Context, url: str, raw_schema: str, sdb_schema: str, lc_schema: str) -> None:
    rounds = ctx.size(6, 3)
    per_round = ctx.size(300, 20)
    big = ctx.size(10_000, 500)
    reads = ctx.size(100, 20)
    ctx.emit("\n## PostgreSQL: W1 append, W3 last 50\n")
    raw = RawPostgres(url, raw_schema)
    raw.open(ctx.fresh("pg"))
    raw.install()
    subjects: list[Subject] = [raw]
    ours = SessionDB(url=url, schema=sdb_schema)
    try:
        ours.open(ctx.fresh("pg-sdb"))
        ours.create_session("probe")
        subjects.append(ours)
    except Exception as exc:
        ctx.emit(f"- sessiondb (PostgreSQL): cannot run ({type(exc).__name__}: {str(exc)[:120]})")
        ours = None  # type: ignore[assignment]
    if ctx.peers:
        lc = LangChainPostgres(url, lc_schema)
        try:
            lc.open(ctx.fresh("pg-lc"))
            subjects.append(lc)
        except Exception as exc:
            ctx.emit(f"- {lc.name}: cannot run ({type(exc).__name__}: {str(exc)[:120]})")
    msgs = conversation(rounds * per_round, tag="pg")
    for s in subjects:
        s.create_session("s1")
        s.create_session("big")
        s.fill("big", conversation(big, tag="pgbig"))

    def appender(s: Subject) -> Callable[[int], Sequence[int]]:
        return lambda r: s.append_timed("s1", msgs[r * per_round : (r + 1) * per_round])

    def reader(s: Subject) -> Callable[[int], Sequence[int]]:
        return lambda r: time_each(lambda: s.last("big", 50), reads, budget_s=2.0)

    appends = interleave(rounds, {s.name: appender(s) for s in subjects})
    tails = interleave(rounds, {s.name: reader(s) for s in subjects})
    base_a, base_t = appends[raw.name], tails[raw.name]
    rows = []
    for s in subjects:
        a, t = appends[s.name], tails[s.name]
        rows.append(
            [
                s.name,
                s.durability,
                fmt_us(a.median_us),
                fmt_us(a.p99_us),
                fmt_rate(a.per_second),
                ratio(a.median_us, base_a.median_us),
                fmt_us(t.median_us),
                ratio(t.median_us, base_t.median_us),
            ]
        )
    ctx.emit(
        f"Loopback server; {rounds} interleaved rounds × {per_round} appends; last 50 of "
        f"{big:,} messages × {reads} reads per round.\n"
    )
    ctx.emit(
        table(
            [
                "store",
                "durability",
                "append median",
                "p99",
                "msgs/s",
                "× raw",
                f"last 50 of {big:,}",
                "× raw",
            ],
            rows,
        )
    )
    if ours is not None:
        ctx.headline["pg_append_ratio"] = appends[ours.name].median_us / base_a.median_us
        ctx.headline["pg_last50_ratio"] = tails[ours.name].median_us / base_t.median_us
    for s in subjects:
        s.close()

    each = ctx.size(500, 10)
    ctx.emit(f"\n## PostgreSQL: W5 writer processes × {each} appends\n")
    factories: list[tuple[str, Callable[[], Subject]]] = [
        (raw.name, Factory(RawPostgres, url, raw_schema)),
    ]
    if ours is not None:
        factories.append(("sessiondb (PostgreSQL)", Factory(SessionDB, "normal", url, sdb_schema)))
    rows = []
    for writers in (1, 4) if ctx.quick else (1, 4, 8):
        for same in (False, True):
            if writers == 1 and same:
                continue
            for label, factory in factories:
                tag = f"{writers}-{int(same)}-{time.monotonic_ns()}"
                result = run_writers(ctx, _Renamed(factory, tag), "pgw5", writers, each, same)
                rows.append(
                    [
                        label,
                        writers,
                        "same" if same else "distinct",
                        result["stored"],
                        result["lost"],
                        result["duplicated"],
                        result["errors"],
                        result["gaps"],
                        fmt_rate(result["rate"]),
                    ]
                )
    ctx.emit(
        table(
            [
                "store",
                "writers",
                "session",
                "stored",
                "lost",
                "duplicated",
                "errors",
                "seq gaps",
                "appends/s",
            ],
            rows,
        )
    )


class _Renamed:
    """A factory whose stores use session ids prefixed by ``tag`` (one schema per store)."""

    def __init__(self, factory: Callable[[], Subject], tag: str) -> None:
        self.factory = factory
        self.tag = tag

    def __call__(self) -> Subject:
        subject = self.factory()
        prefix = self.tag
        for name in ("create_session", "append", "read_texts", "seqs"):
            method = getattr(subject, name, None)
            if method is not None:
                setattr(subject, name, _prefixed(method, prefix))
        return subject


class _prefixed:
    def __init__(self, method: Callable[..., Any], prefix: str) -> None:
        self.method = method
        self.prefix = prefix

    def __call__(self, sid: str, *args: Any) -> Any:
        return self.method(f"{self.prefix}:{sid}", *args)
