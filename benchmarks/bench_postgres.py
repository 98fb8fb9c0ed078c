"""sessiondb on PostgreSQL against raw psycopg with the equivalent minimal schema.

Standalone (the general harness lives elsewhere). Run:

    SESSIONDB_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_postgres.py [--quick]

Measures, each in its own throwaway schema:

* single append: one user message per transaction, median latency;
* last 50 of a 10,000-message session, median latency (raw decodes the JSON items too,
  since a caller needs them as dicts);
* throughput with 1, 4 and 8 writer processes, each appending to its own session and
  all appending to one shared session.

Raw psycopg does what an application would hand-write: one connection, a row-locked
UPDATE ... RETURNING for the seq, one INSERT, COMMIT. A third contender sends sessiondb's
two-statement append (RESERVE_SEQS, INSERT_MESSAGE: what its batches send; a single message
goes as one CTE statement) to sessiondb's schema by hand, to split the cost of the schema
(the full-text column and GIN index, the unique message id, the recency index) from the
cost of the library.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import sessiondb
from sessiondb.backends.postgres import queries as pq

RAW_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL DEFAULT 0,
    message_count BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE TABLE messages (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    role TEXT NOT NULL,
    item TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""
RAW_RESERVE = (
    "UPDATE sessions SET last_seq = last_seq + 1, message_count = message_count + 1, "
    "updated_at = %(now)s WHERE id = %(id)s RETURNING last_seq"
)
RAW_INSERT = (
    "INSERT INTO messages (session_id, seq, id, role, item, created_at) "
    "VALUES (%(sid)s, %(seq)s, %(mid)s, %(role)s, %(item)s, %(now)s)"
)
RAW_LAST = (
    "SELECT session_id, seq, id, role, item, created_at FROM messages "
    "WHERE session_id = %(sid)s ORDER BY seq DESC LIMIT 50"
)

ITEM = {"role": "user", "content": "Please look at the failing test in tests/test_api.py " * 4}


def _schema_url(url: str, schema: str) -> dict[str, Any]:
    given = conninfo_to_dict(url).get("options") or ""
    return {"conninfo": url, "options": f"{given} -c search_path={schema}".strip()}


def _drop(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _raw_setup(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(RAW_SCHEMA.encode())


def _raw_append(conn: psycopg.Connection[Any], sid: str, n: int) -> None:
    now = time.time_ns() // 1000
    with conn.transaction():
        seq = conn.execute(RAW_RESERVE, {"id": sid, "now": now}).fetchone()[0]  # type: ignore[index]
        conn.execute(
            RAW_INSERT,
            {
                "sid": sid,
                "seq": seq,
                "mid": f"m{n}-{secrets.token_hex(4)}",
                "role": "user",
                "item": json.dumps(ITEM),
                "now": now,
            },
        )


def _raw_new_session(conn: psycopg.Connection[Any], sid: str) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO sessions (id, updated_at) VALUES (%s, %s)", (sid, time.time_ns() // 1000)
        )


def _interleaved_us(*fns: Callable[[int], Any], rounds: int) -> list[float]:
    """Median µs of each function, sampled in turn so load spikes hit all alike."""
    for i in range(min(20, rounds)):  # warm up: prepared statements, caches
        for fn in fns:
            fn(-i - 1)
    samples: list[list[float]] = [[] for _ in fns]
    for i in range(rounds):
        for fn, out in zip(fns, samples, strict=True):
            t0 = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - t0)
    return [statistics.median(s) * 1e6 for s in samples]


def _same_schema_append(conn: psycopg.Connection[Any], sid: str, n: int) -> None:
    """What sessiondb's append sends, hand-written: RESERVE_SEQS then INSERT_MESSAGE."""
    now = time.time_ns() // 1000
    text = ITEM["content"]
    with conn.transaction():
        seq = conn.execute(
            pq.RESERVE_SEQS,
            {
                "id": sid,
                "added": 1,
                "latest": now,
                "model": None,
                "preview": text[:120],
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "reasoning_tokens": 0,
                "cost_usd": 0.0,
            },
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            pq.INSERT_MESSAGE,
            {
                "session_id": sid,
                "seq": seq,
                "id": f"r{n}-{secrets.token_hex(4)}",
                "role": "user",
                "item": json.dumps(ITEM),
                "text": text,
                "tool_text": None,
                "search_text": None,
                "tool_call_id": None,
                "has_tool_calls": 0,
                "created_at": now,
                "model": None,
                "input_tokens": None,
                "output_tokens": None,
                "cache_read_tokens": None,
                "cache_write_tokens": None,
                "reasoning_tokens": None,
                "cost_usd": None,
                "visible_to_model": 1,
                "visible_to_user": 1,
                "metadata": "{}",
            },
        )


def bench_latency(url: str, rounds: int, session_size: int, durable: bool) -> dict[str, float]:
    """Append and last-50 latencies, raw vs sessiondb. ``durable=False`` turns off
    synchronous_commit for both, leaving out the WAL flush so client overhead shows."""
    if not durable:
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}options=-c%20synchronous_commit%3Doff"
    raw_schema = f"bench_raw_{secrets.token_hex(4)}"
    sdb_schema = f"bench_sdb_{secrets.token_hex(4)}"
    out: dict[str, float] = {}
    try:
        _raw_setup(url, raw_schema)
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(psycopg.connect(**_schema_url(url, raw_schema)))
            db = stack.enter_context(sessiondb.connect(url, schema=sdb_schema))
            _raw_new_session(raw, "one")
            db.create_session("one")
            db.create_session("same")
            same = stack.enter_context(psycopg.connect(**_schema_url(url, sdb_schema)))
            (
                out["append_raw_us"],
                out["append_same_schema_us"],
                out["append_sessiondb_us"],
            ) = _interleaved_us(
                lambda n: _raw_append(raw, "one", n),
                lambda n: _same_schema_append(same, "same", n),
                lambda n: db.append("one", ITEM),
                rounds=rounds,
            )

            _raw_new_session(raw, "big")
            db.create_session("big")
            batch = 500
            for start in range(0, session_size, batch):
                rows = range(start, min(start + batch, session_size))
                db.append("big", [ITEM for _ in rows])
                with raw.transaction():
                    first = raw.execute(
                        "UPDATE sessions SET last_seq = last_seq + %s WHERE id = 'big' "
                        "RETURNING last_seq - %s + 1",
                        (len(rows), len(rows)),
                    ).fetchone()[0]  # type: ignore[index]
                    raw.cursor().executemany(
                        RAW_INSERT,
                        [
                            {
                                "sid": "big",
                                "seq": first + k,
                                "mid": f"b{start + k}",
                                "role": "user",
                                "item": json.dumps(ITEM),
                                "now": time.time_ns() // 1000,
                            }
                            for k in range(len(rows))
                        ],
                    )
            raw.autocommit = True  # a read needs no transaction
            # Fresh statistics for both, as autovacuum would have by now in production:
            # otherwise the planner may read 10,000 rows to return 50 on one side only.
            raw.execute("ANALYZE sessions, messages")  # each in its own schema (search_path)
            same.execute("ANALYZE sessions, messages")
            same.commit()

            def raw_last(_: int) -> list[dict[str, Any]]:
                rows = raw.execute(RAW_LAST, {"sid": "big"}).fetchall()
                rows.reverse()
                return [json.loads(r[4]) for r in rows]

            assert len(db.messages("big", last=50)) == 50
            out["last50_raw_us"], out["last50_sessiondb_us"] = _interleaved_us(
                raw_last, lambda n: db.messages("big", last=50), rounds=rounds
            )
    finally:
        _drop(url, raw_schema)
        _drop(url, sdb_schema)
    return out


def bench_sqlite(rounds: int, session_size: int) -> dict[str, float]:
    """The same two latencies on the embedded backend, for the scaling guide."""
    with tempfile.TemporaryDirectory() as tmp, sessiondb.connect(f"{tmp}/s.db") as db:
        db.create_session("one")
        db.create_session("big")
        for start in range(0, session_size, 500):
            db.append("big", [ITEM] * min(500, session_size - start))
        append, last = _interleaved_us(
            lambda n: db.append("one", ITEM), lambda n: db.messages("big", last=50), rounds=rounds
        )
    return {"append_us": append, "last50_us": last}


def _writer(url: str, schema: str, sid: str, count: int, start: Any, out: Any) -> None:
    with sessiondb.connect(url, schema=schema, migrate=False) as db:
        db.ensure_session(sid)
        start.wait()
        t0 = time.perf_counter()
        for _ in range(count):
            db.append(sid, ITEM)
        out.put(time.perf_counter() - t0)


def bench_throughput(url: str, processes: int, count: int, shared: bool) -> float:
    schema = f"bench_tp_{secrets.token_hex(4)}"
    ctx = mp.get_context("spawn")
    try:
        sessiondb.connect(url, schema=schema).close()
        start = ctx.Event()
        out = ctx.Queue()
        procs = [
            ctx.Process(
                target=_writer,
                args=(url, schema, "shared" if shared else f"own-{p}", count, start, out),
            )
            for p in range(processes)
        ]
        for p in procs:
            p.start()
        time.sleep(1.0 + 0.3 * processes)  # let every process connect before the gun
        t0 = time.perf_counter()
        start.set()
        [out.get(timeout=300) for _ in procs]
        elapsed = time.perf_counter() - t0
        for p in procs:
            p.join()
        with sessiondb.connect(url, schema=schema) as db:
            if shared:
                seqs = [m.seq for m in db.messages("shared")]
                assert seqs == list(range(1, processes * count + 1)), "gap or duplicate"
        return processes * count / elapsed
    finally:
        _drop(url, schema)


def _redact_options(url: str) -> str:
    options = conninfo_to_dict(url).get("options")
    return f"options {options}" if options else "server defaults: durable commits"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--latency-only", action="store_true", help="skip the process runs")
    parser.add_argument("--throughput-only", action="store_true", help="only the process runs")
    args = parser.parse_args()
    url = os.environ.get("SESSIONDB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    rounds = 200 if args.quick else 1000
    count = 200 if args.quick else 1000
    print(f"python {sys.version.split()[0]}, psycopg {psycopg.__version__}, cpus {os.cpu_count()}")
    for durable in () if args.throughput_only else (True, False):
        lat = bench_latency(url, rounds, 10_000, durable)
        label = "durable commits" if durable else "synchronous_commit=off"
        print(f"-- latency, median of {rounds} interleaved samples, {label}")
        print(
            f"single append      raw {lat['append_raw_us']:7.0f} µs   sessiondb "
            f"{lat['append_sessiondb_us']:7.0f} µs   ratio "
            f"{lat['append_sessiondb_us'] / lat['append_raw_us']:.2f}x (target <= 1.3x)"
        )
        print(
            f"  (raw psycopg sending sessiondb's statements to its schema: "
            f"{lat['append_same_schema_us']:.0f} µs; sessiondb / that = "
            f"{lat['append_sessiondb_us'] / lat['append_same_schema_us']:.2f}x)"
        )
        print(
            f"last 50 of 10,000  raw {lat['last50_raw_us']:7.0f} µs   sessiondb "
            f"{lat['last50_sessiondb_us']:7.0f} µs   ratio "
            f"{lat['last50_sessiondb_us'] / lat['last50_raw_us']:.2f}x (target <= 2x)"
        )
    if not args.throughput_only:
        sq = bench_sqlite(rounds, 10_000)
        print(
            f"-- for scale, SQLite (WAL, synchronous=NORMAL) on this machine: single append "
            f"{sq['append_us']:.0f} µs, last 50 of 10,000 {sq['last50_us']:.0f} µs"
        )
    if args.latency_only:
        return
    print(f"-- throughput, {count} appends per process ({_redact_options(url)})")
    for procs in (1, 4, 8):
        own = bench_throughput(url, procs, count, shared=False)
        one = bench_throughput(url, procs, count, shared=True)
        print(
            f"{procs} writer process(es): {own:7.0f} appends/s to own sessions, "
            f"{one:7.0f} appends/s to one shared session"
        )


if __name__ == "__main__":
    main()
