"""Several processes and threads appending at once: no gaps, no duplicates, no errors."""

from __future__ import annotations

import multiprocessing as mp
import threading
from typing import Any

import sessiondb
from sessiondb import Store

PROCESSES = 6
SHARED_APPENDS = 40
OWN_APPENDS = 20


def _writer(url: str, options: dict[str, Any], worker: int, shared: str, out: Any) -> None:
    errors: list[str] = []
    try:
        with sessiondb.connect(url, **options) as db:
            own = db.create_session(f"own-{worker}").id
            for i in range(SHARED_APPENDS):
                try:
                    batch = [{"role": "user", "content": f"w{worker} m{i}"}]
                    if i % 5 == 0:  # some batches of two
                        batch.append({"role": "assistant", "content": f"w{worker} r{i}"})
                    db.append(shared, batch, ids=[f"{worker}-{i}-{j}" for j in range(len(batch))])
                    if i < OWN_APPENDS:
                        db.append(own, {"role": "user", "content": str(i)})
                except Exception as exc:  # report every failure to the parent
                    errors.append(f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    out.put((worker, errors))


def test_processes_appending_to_one_session_get_contiguous_seqs(
    store_factory: tuple[str, dict[str, Any]],
) -> None:
    url, options = store_factory
    with sessiondb.connect(url, **options) as db:
        shared = db.create_session("shared").id
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(url, options, w, shared, out)) for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(not errors for _, errors in results), results

    expected_per_worker = SHARED_APPENDS + SHARED_APPENDS // 5
    with sessiondb.connect(url, **options) as db:
        messages = db.messages(shared)
        assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
        assert len(messages) == PROCESSES * expected_per_worker
        assert len({m.id for m in messages}) == len(messages)
        session = db.get_session(shared)
        assert session.message_count == session.last_seq == len(messages)
        for w in range(PROCESSES):
            own = db.messages(f"own-{w}")
            assert [m.seq for m in own] == list(range(1, OWN_APPENDS + 1))
            # each worker's shared messages keep their relative order
            mine = [m.item["content"] for m in messages if m.id.startswith(f"{w}-")]
            assert mine[0] == f"w{w} m0" and len(mine) == expected_per_worker
        assert db.check() == []


def test_threads_sharing_one_store_do_not_lose_messages(store: Store) -> None:
    s = store.create_session()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(30):
                store.append(s.id, {"role": "user", "content": f"{n}:{i}"})
                store.messages(s.id, last=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    messages = store.messages(s.id)
    assert [m.seq for m in messages] == list(range(1, 181))
    assert sorted(m.item["content"] for m in messages) == sorted(
        f"{n}:{i}" for n in range(6) for i in range(30)
    )
