"""Search, tree and stats benchmarks (not a test): sessiondb against the raw index query.

    .venv/bin/python benchmarks/bench_search.py              # 50k corpus (+ PostgreSQL
                                                             #   if SESSIONDB_TEST_POSTGRES)
    .venv/bin/python benchmarks/bench_search.py --million    # also the 1M-message corpus

Corpora are generated once (seeded: Zipf-distributed words, messages of log-normal
length around 20 words, 12 messages per session,
some tool calls) and cached outside git in ~/.cache/sessiondb-bench/. Every figure is
the median of repeated runs on a warm cache. Targets (issue 5): top-20 search within
1.5x of the raw FTS5/tsvector query on 50k messages; on 1M messages a rare term <= 5 ms
and two common terms <= 100 ms; ``tree`` of 1,000 descendants <= 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sessiondb
from sessiondb import NewMessage, Store, textsearch

CACHE = Path(os.environ.get("SESSIONDB_BENCH_CACHE", Path.home() / ".cache" / "sessiondb-bench"))
VOCABULARY = 30_000
PER_SESSION = 12
RARE = "w29000"  # Zipf rank 29,000: a handful of messages
COMMON = ("w3", "w7")  # each in roughly a third to a half of the messages
QUERIES = {
    "rare term": RARE,
    "medium term": "w400",
    "common term": "w3",
    "two common terms": " ".join(COMMON),
    "two 5% terms": "w30 w40",
    "phrase": '"w1 w2"',
    "prefix": "w2900*",
}


def words(rng: random.Random) -> Iterator[str]:
    """Messages of Zipf-distributed words, lengths log-normal around 20 words."""
    cum = []
    total = 0.0
    for rank in range(VOCABULARY):
        total += 1.0 / (rank + 1)
        cum.append(total)
    vocab = [f"w{i}" for i in range(VOCABULARY)]
    while True:
        size = min(400, max(3, int(rng.lognormvariate(3.0, 0.7))))
        yield " ".join(rng.choices(vocab, cum_weights=cum, k=size))


def build(store: Store, messages: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    text = words(rng)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    made = 0
    started = time.perf_counter()
    while made < messages:
        s = store.create_session(agent=rng.choice(["coder", "writer"]), source="bench")
        batch = []
        for i in range(PER_SESSION):
            at = t0 + timedelta(seconds=made + i)
            if i % 4 == 1:
                item = {
                    "role": "assistant",
                    "content": next(text),
                    "tool_calls": [
                        {
                            "id": f"c{i}",
                            "type": "function",
                            "function": {"name": "read_file", "arguments": '{"path": "a.py"}'},
                        }
                    ],
                }
            elif i % 4 == 2:
                item = {"role": "tool", "tool_call_id": f"c{i - 1}", "content": next(text)}
            else:
                item = {"role": "user" if i % 2 == 0 else "assistant", "content": next(text)}
            batch.append(NewMessage(item, created_at=at))
        store.append(s.id, batch)
        made += PER_SESSION
        if made % 100_000 < PER_SESSION:
            rate = made / (time.perf_counter() - started)
            print(f"  built {made:,} messages ({rate:,.0f}/s)", file=sys.stderr)


CPU: dict[str, float] = {}  # the last median_ms call's median CPU time of this process


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time in ms; the median CPU time of this process goes to CPU["ms"].

    On a loaded machine wall time includes waiting for a core; for SQLite (in-process)
    CPU time is what the call costs on an idle machine.
    """
    fn()  # warm up
    samples = []
    cpu = []
    for _ in range(runs):
        t = time.perf_counter()
        c = time.process_time()
        fn()
        cpu.append((time.process_time() - c) * 1000)
        samples.append((time.perf_counter() - t) * 1000)
    CPU["ms"] = statistics.median(cpu)
    return statistics.median(samples)


def sqlite_corpus(messages: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"search-v2-{messages}.db"
    if not path.exists():
        print(f"building {path} ({messages:,} messages, once)...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        with sessiondb.connect(partial) as store:
            build(store, messages)
        partial.rename(path)
    return path


RAW_FTS5 = """
SELECT rowid, bm25(messages_fts) FROM messages_fts WHERE messages_fts MATCH ?
ORDER BY bm25(messages_fts) LIMIT 20"""

# The same top 20 with what a hit shows (the message's session, seq, role, time and text,
# the session's title and agent): the raw query equivalent to a search page, short of
# the snippet (the index is contentless: FTS5's snippet() cannot cut one).
RAW_FTS5_ROWS = """
WITH top AS (
    SELECT rowid, bm25(messages_fts) AS rank FROM messages_fts WHERE messages_fts MATCH ?
    ORDER BY rank LIMIT 20)
SELECT m.session_id, m.seq, m.role, m.text, m.created_at, s.title, s.agent, top.rank
FROM top JOIN messages m ON m.rowid = top.rowid JOIN sessions s ON s.id = m.session_id
ORDER BY top.rank"""


def bench_sqlite(messages: int, runs: int) -> None:
    path = sqlite_corpus(messages)
    raw = sqlite3.connect(path)
    with sessiondb.connect(path) as store:
        print(f"\nSQLite, {messages:,} messages (median of {runs} runs, ms)")
        print("  wall time (CPU time of this process), ms")
        print(
            f"  {'query':<18} {'hits':>8} {'raw FTS5':>16} {'raw + rows':>16} {'search':>16}"
            f" {'ratio':>11} {'to rows':>8}"
        )
        for name, query in QUERIES.items():
            match = textsearch.to_fts5(textsearch.parse_query(query))
            hits = raw.execute(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (match,)
            ).fetchone()[0]
            raw_ms = median_ms(lambda m=match: raw.execute(RAW_FTS5, (m,)).fetchall(), runs)
            raw_cpu = CPU["ms"]
            rows_ms = median_ms(lambda m=match: raw.execute(RAW_FTS5_ROWS, (m,)).fetchall(), runs)
            rows_cpu = CPU["ms"]
            ours = median_ms(lambda q=query: store.search(q, limit=20), runs)
            ours_cpu = CPU["ms"]
            print(
                f"  {name:<18} {hits:>8,} {raw_ms:>8.2f} ({raw_cpu:>5.2f}) {rows_ms:>8.2f} "
                f"({rows_cpu:>5.2f}) {ours:>8.2f} ({ours_cpu:>5.2f}) {ours / raw_ms:>4.2f} "
                f"({ours_cpu / max(raw_cpu, 1e-9):>4.2f}) {ours / rows_ms:>8.2f}"
            )
        ours = median_ms(lambda: store.sessions_matching(COMMON[0], limit=20), max(3, runs // 4))
        print(f"  sessions_matching({COMMON[0]!r}): {ours:.1f} ms ({CPU['ms']:.1f})")
        ours = median_ms(lambda: store.stats(group_by="day"), 3)
        print(f"  stats(group_by='day'): {ours:.1f} ms ({CPU['ms']:.1f})")


RAW_TSQUERY = """
SELECT session_id, seq, ts_rank_cd(search_vector, q) AS r
FROM messages, to_tsquery('simple', %s) q
WHERE search_vector @@ q ORDER BY r DESC LIMIT 20"""


def bench_tree(url_or_path: str | Path, runs: int, **options: Any) -> None:
    with sessiondb.connect(url_or_path, **options) as store:
        root = store.create_session(title="root")
        parents = [root.id]
        made = 0
        while made < 1000:  # ten children per session, breadth first
            nxt = []
            for parent in parents:
                for _ in range(10):
                    if made == 1000:
                        break
                    nxt.append(store.create_session(parent_id=parent, relation="subagent").id)
                    made += 1
            parents = nxt
        count = sum(1 for _ in store.tree(root.id).walk()) - 1
        ms = median_ms(lambda: store.tree(root.id), runs)
        ms_cpu = CPU["ms"]
        usage_ms = median_ms(lambda: store.tree_usage(root.id), runs)
        print(
            f"  {store.info()['backend']}: tree of {count:,} descendants: {ms:.2f} ms "
            f"(CPU {ms_cpu:.2f}); tree_usage: {usage_ms:.2f} ms (CPU {CPU['ms']:.2f})"
        )


def bench_postgres(url: str, messages: int, runs: int) -> None:
    import psycopg

    schema = f"bench_search_{messages}"
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (schema, "messages"),
        ).fetchone()
        if exists:
            count = conn.execute(f'SELECT count(*) FROM "{schema}".messages').fetchone()
            if count is None or count[0] < messages:  # an interrupted build: start again
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                exists = None
    with sessiondb.connect(url, schema=schema) as store:
        if not exists:
            print(f"building PostgreSQL schema {schema} (once)...", file=sys.stderr)
            build(store, messages)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute("ANALYZE messages")
            print(f"\nPostgreSQL, {messages:,} messages (median of {runs} runs, ms)")
            print(f"  {'query':<18} {'raw tsquery':>11} {'search':>8} {'ratio':>6}")
            for name, query in QUERIES.items():
                tsq = textsearch.to_tsquery(textsearch.parse_query(query))
                raw_ms = median_ms(lambda t=tsq: conn.execute(RAW_TSQUERY, (t,)).fetchall(), runs)
                ours = median_ms(lambda q=query: store.search(q, limit=20), runs)
                print(f"  {name:<18} {raw_ms:>11.2f} {ours:>8.2f} {ours / raw_ms:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--million", action="store_true", help="also the 1M-message corpus")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    bench_sqlite(50_000, args.runs)
    tmp = CACHE / "tree.db"
    tmp.unlink(missing_ok=True)
    bench_tree(tmp, args.runs)
    tmp.unlink(missing_ok=True)
    if args.million:
        bench_sqlite(1_000_000, args.runs)
    url = os.environ.get("SESSIONDB_TEST_POSTGRES")
    if url:
        print("\nPostgreSQL", file=sys.stderr)
        bench_postgres(url, 50_000, args.runs)
        import psycopg

        try:
            bench_tree(url, args.runs, schema="bench_search_tree")
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP SCHEMA IF EXISTS bench_search_tree CASCADE")


if __name__ == "__main__":
    main()
