"""Contention: 8 processes x 1,000 appends (half to one shared session, half to their own),
threads sharing one store, and readers running meanwhile that must always see a
consistent prefix. No lost or duplicated message, contiguous seqs, no error surfaced.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from typing import Any

import sessiondb
from sessiondb import Store

from .conftest import scale

WRITERS = 8


def _writer(url: str, options: dict[str, Any], worker: int, appends: int, out: Any) -> None:
    errors: list[str] = []
    try:
        with sessiondb.connect(url, **options) as db:
            own = db.create_session(f"own-{worker}").id
            for i in range(appends):
                target = "shared" if i % 2 == 0 else own
                try:
                    # Pairs keep a call and its result in one batch: readers check both.
                    call_id = f"c{worker}-{i}"
                    db.append(
                        target,
                        [
                            {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": call_id,
                                        "type": "function",
                                        "function": {"name": "t", "arguments": "{}"},
                                    }
                                ],
                            },
                            {"role": "tool", "tool_call_id": call_id, "content": f"{worker}:{i}"},
                        ],
                        ids=[f"{worker}-{i}-a", f"{worker}-{i}-b"],
                    )
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    out.put(("writer", worker, errors, 0))


def _reader(url: str, options: dict[str, Any], stop: Any, out: Any) -> None:
    """Read the shared session over and over; every snapshot must be a whole prefix."""
    problems: list[str] = []
    reads = 0
    try:
        with sessiondb.connect(url, **options) as db:
            while not stop.is_set() or reads < 3:
                messages = db.messages("shared")
                reads += 1
                seqs = [m.seq for m in messages]
                if seqs != list(range(1, len(seqs) + 1)):
                    problems.append(f"not a prefix: {seqs[:5]}...")
                if len(messages) % 2:
                    problems.append(f"odd count {len(messages)}: a batch was half visible")
                for call, result in zip(messages[::2], messages[1::2], strict=True):
                    if call.id[:-2] != result.id[:-2]:
                        problems.append(f"split batch at seq {call.seq}")
                if problems:
                    break
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    out.put(("reader", 0, problems, reads))


def test_many_processes_and_readers_lose_nothing(
    store_factory: tuple[str, dict[str, Any]], counts: Counter[str]
) -> None:
    url, options = store_factory
    appends = scale(1000, 5000)
    with sessiondb.connect(url, **options) as db:
        db.create_session("shared")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    stop = ctx.Event()
    writers = [
        ctx.Process(target=_writer, args=(url, options, w, appends, out)) for w in range(WRITERS)
    ]
    readers = [ctx.Process(target=_reader, args=(url, options, stop, out)) for _ in range(2)]
    for p in writers + readers:
        p.start()
    results = [out.get(timeout=600) for _ in writers]
    stop.set()
    results += [out.get(timeout=120) for _ in readers]
    for p in writers + readers:
        p.join(timeout=60)
        assert p.exitcode == 0
    for kind, worker, problems, _ in results:
        assert problems == [], (kind, worker, problems[:5])

    with sessiondb.connect(url, **options) as db:
        shared = db.messages("shared")
        per_worker_shared = (appends + 1) // 2
        assert len(shared) == WRITERS * per_worker_shared * 2
        assert [m.seq for m in shared] == list(range(1, len(shared) + 1))
        assert len({m.id for m in shared}) == len(shared)
        total = len(shared)
        for w in range(WRITERS):
            own = db.messages(f"own-{w}")
            assert [m.seq for m in own] == list(range(1, (appends // 2) * 2 + 1))
            total += len(own)
        assert all(c.status == "ok" for c in db.tool_calls("shared"))
        assert db.check() == []
    counts["contention: appends by 8 processes"] += WRITERS * appends
    counts["contention: messages verified"] += total
    counts["contention: consistent reader snapshots"] += sum(r[3] for r in results)


def test_threads_sharing_one_store_with_concurrent_readers(
    store: Store, counts: Counter[str]
) -> None:
    s = store.create_session()
    errors: list[str] = []
    stop = threading.Event()
    snapshots = 0

    def write(n: int) -> None:
        try:
            for i in range(scale(100, 1000)):
                store.append(s.id, {"role": "user", "content": f"{n}:{i}"}, ids=[f"{n}-{i}"])
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    def read() -> None:
        nonlocal snapshots
        try:
            while not stop.is_set():
                seqs = [m.seq for m in store.messages(s.id)]
                if seqs != list(range(1, len(seqs) + 1)):
                    errors.append(f"reader saw a gap: {seqs[:5]}")
                    return
                snapshots += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    writers = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    reader = threading.Thread(target=read)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    assert errors == []
    messages = store.messages(s.id)
    assert len(messages) == 6 * scale(100, 1000)
    assert len({m.id for m in messages}) == len(messages)
    counts["threads: messages verified"] += len(messages)
    counts["threads: reader snapshots"] += snapshots
