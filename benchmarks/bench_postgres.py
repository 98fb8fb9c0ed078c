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
UPDATE ... RETURNING for the seq, one INSERT, COMMIT.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import sessiondb

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


def _interleaved_us(
    a: Callable[[int], Any], b: Callable[[int], Any], rounds: int
) -> tuple[float, float]:
    """Median µs of ``a`` and of ``b``, sampled alternately so load spikes hit both alike."""
    for i in range(min(20, rounds)):  # warm up: prepared statements, caches
        a(-i - 1)
        b(-i - 1)
    sa, sb = [], []
    for i in range(rounds):
        t0 = time.perf_counter()
        a(i)
        t1 = time.perf_counter()
        b(i)
        t2 = time.perf_counter()
        sa.append(t1 - t0)
        sb.append(t2 - t1)
    return statistics.median(sa) * 1e6, statistics.median(sb) * 1e6


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
        with (
            psycopg.connect(**_schema_url(url, raw_schema)) as raw,
            sessiondb.connect(url, schema=sdb_schema) as db,
        ):
            _raw_new_session(raw, "one")
            db.create_session("one")
            out["append_raw_us"], out["append_sessiondb_us"] = _interleaved_us(
                lambda n: _raw_append(raw, "one", n), lambda n: db.append("one", ITEM), rounds
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

            def raw_last(_: int) -> list[dict[str, Any]]:
                rows = raw.execute(RAW_LAST, {"sid": "big"}).fetchall()
                rows.reverse()
                return [json.loads(r[4]) for r in rows]

            assert len(db.messages("big", last=50)) == 50
            out["last50_raw_us"], out["last50_sessiondb_us"] = _interleaved_us(
                raw_last, lambda n: db.messages("big", last=50), rounds
            )
    finally:
        _drop(url, raw_schema)
        _drop(url, sdb_schema)
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    url = os.environ.get("SESSIONDB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    rounds = 200 if args.quick else 1000
    count = 200 if args.quick else 1000
    print(f"python {sys.version.split()[0]}, psycopg {psycopg.__version__}, cpus {os.cpu_count()}")
    for durable in (True, False):
        lat = bench_latency(url, rounds, 10_000, durable)
        label = "durable commits" if durable else "synchronous_commit=off"
        print(f"-- latency, median of {rounds} interleaved samples, {label}")
        print(
            f"single append      raw {lat['append_raw_us']:7.0f} µs   sessiondb "
            f"{lat['append_sessiondb_us']:7.0f} µs   ratio "
            f"{lat['append_sessiondb_us'] / lat['append_raw_us']:.2f}x (target <= 1.3x)"
        )
        print(
            f"last 50 of 10,000  raw {lat['last50_raw_us']:7.0f} µs   sessiondb "
            f"{lat['last50_sessiondb_us']:7.0f} µs   ratio "
            f"{lat['last50_sessiondb_us'] / lat['last50_raw_us']:.2f}x (target <= 2x)"
        )
    print(f"-- throughput, {count} appends per process, durable commits")
    for procs in (1, 4, 8):
        own = bench_throughput(url, procs, count, shared=False)
        one = bench_throughput(url, procs, count, shared=True)
        print(
            f"{procs} writer process(es): {own:7.0f} appends/s to own sessions, "
            f"{one:7.0f} appends/s to one shared session"
        )


if __name__ == "__main__":
    main()
