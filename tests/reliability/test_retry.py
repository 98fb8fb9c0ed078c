"""Idempotency under retry: a client that gave up after the commit retries with the same
ids — even racing its own first attempt from another process — and nothing is duplicated.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from typing import Any

import sessiondb
from sessiondb import Store

from .conftest import scale


def test_retry_after_a_lost_acknowledgement_adds_nothing(
    store: Store, counts: Counter[str]
) -> None:
    s = store.create_session()
    batches = scale(50, 500)
    for i in range(batches):
        items = [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]
        ids = [f"{i}-q", f"{i}-a"]
        result: list[Any] = []
        # The "client" times out before the append returns, then retries.
        t = threading.Thread(
            target=lambda out=result, it=items, ii=ids: out.extend(store.append(s.id, it, ids=ii))
        )
        t.start()
        t.join(timeout=0.0001)
        retry = store.append(s.id, items, ids=ids)
        t.join()
        assert [m.seq for m in retry] == [m.seq for m in result]
    messages = store.messages(s.id)
    assert len(messages) == 2 * batches
    assert [m.seq for m in messages] == list(range(1, 2 * batches + 1))
    counts["retry: retried batches verified"] += batches


def _append_same(url: str, options: dict[str, Any], start: Any, out: Any) -> None:
    try:
        with sessiondb.connect(url, **options) as db:
            start.wait()
            for i in range(scale(100, 1000)):
                db.append("dup", [{"role": "user", "content": str(i)}], ids=[f"m{i}"])
        out.put(None)
    except Exception as exc:
        out.put(f"{type(exc).__name__}: {exc}")


def test_racing_duplicates_from_two_processes_store_each_message_once(
    store_factory: tuple[str, dict[str, Any]], counts: Counter[str]
) -> None:
    url, options = store_factory
    with sessiondb.connect(url, **options) as db:
        db.create_session("dup")
    ctx = mp.get_context("spawn")
    out, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_append_same, args=(url, options, start, out)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == [None, None, None]
    with sessiondb.connect(url, **options) as db:
        messages = db.messages("dup")
        n = scale(100, 1000)
        assert sorted(m.id for m in messages) == sorted(f"m{i}" for i in range(n))
        assert [m.seq for m in messages] == list(range(1, n + 1))
        assert db.check() == []
    counts["retry: racing duplicate appends verified"] += 3 * n
