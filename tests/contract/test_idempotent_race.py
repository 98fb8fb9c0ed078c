"""Races a single-writer SQLite never sees but a server does, on every backend.

Eight processes retrying the same appends at once: each message stored exactly once.

This is what a fleet does when every worker replays the same turn (a retry after a
timeout, an importer run twice in parallel): the explicit ids must win over the race,
on every backend, with no gaps, duplicates or errors. Two re-parentings at once must not
close a cycle between them.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import sessiondb

PROCESSES = 8
TURNS = 25


def _replayer(url: str, options: dict[str, Any], worker: int, start: Any, out: Any) -> None:
    errors: list[str] = []
    try:
        with sessiondb.connect(url, **options) as db:
            own = db.create_session(f"own-{worker}").id
            start.wait(60)
            for i in range(TURNS):
                try:
                    turn = [
                        {"role": "user", "content": f"question {i}"},
                        {"role": "assistant", "content": f"answer {i}"},
                    ]
                    stored = db.append("shared", turn, ids=[f"q{i}", f"a{i}"])
                    if [m.id for m in stored] != [f"q{i}", f"a{i}"]:
                        errors.append(f"turn {i}: got {[m.id for m in stored]}")
                    db.append(own, {"role": "user", "content": str(i)})
                except Exception as exc:  # report every failure to the parent
                    errors.append(f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    out.put((worker, errors))


def test_processes_appending_the_same_ids_store_each_message_once(
    store_factory: tuple[str, dict[str, Any]],
) -> None:
    url, options = store_factory
    with sessiondb.connect(url, **options) as db:
        db.create_session("shared")
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_replayer, args=(url, options, w, start, out)) for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # most processes are connected: they then race from the first turn
    start.set()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(not errors for _, errors in results), results

    with sessiondb.connect(url, **options) as db:
        messages = db.messages("shared")
        assert [m.seq for m in messages] == list(range(1, 2 * TURNS + 1))
        expected_ids = [mid for i in range(TURNS) for mid in (f"q{i}", f"a{i}")]
        assert [m.id for m in messages] == expected_ids  # once each, turns in order, whole
        shared = db.get_session("shared")
        assert shared.message_count == shared.last_seq == 2 * TURNS
        for w in range(PROCESSES):
            assert [m.seq for m in db.messages(f"own-{w}")] == list(range(1, TURNS + 1))
        assert db.check() == []


def _reparent(
    store: sessiondb.Store, child: str, parent: str, barrier: Any, outcomes: list[str]
) -> None:
    barrier.wait()
    try:
        store.update_session(child, parent_id=parent, relation="subagent")
        outcomes.append("ok")
    except sessiondb.InvalidInput:
        outcomes.append("refused")


def test_concurrent_reparenting_never_creates_a_cycle(store: sessiondb.Store) -> None:
    for pair in range(15):
        a = store.create_session(f"a{pair}").id
        b = store.create_session(f"b{pair}").id
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=_reparent, args=(store, a, b, barrier, outcomes)),
            threading.Thread(target=_reparent, args=(store, b, a, barrier, outcomes)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        # Exactly one link wins (a -> b or b -> a), never both, and no error but the
        # refusal of the cycle.
        assert sorted(outcomes) == ["ok", "refused"], outcomes
        parents = {store.get_session(a).parent_id, store.get_session(b).parent_id}
        assert None in parents


def _create_children(store: sessiondb.Store, parent: str, barrier: Any, out: list[str]) -> None:
    barrier.wait()
    for _ in range(10):
        try:
            out.append(store.create_session(parent_id=parent, relation="subagent").id)
        except sessiondb.NotFound:
            return  # the parent is gone: later children are refused too


def test_a_subtree_deleted_while_children_are_created_leaves_no_orphans(
    store: sessiondb.Store,
) -> None:
    for round_ in range(5):
        root = store.create_session(f"root{round_}").id
        mid = store.create_session(f"mid{round_}", parent_id=root, relation="subagent").id
        barrier = threading.Barrier(2)
        created: list[str] = []
        creator = threading.Thread(target=_create_children, args=(store, mid, barrier, created))
        creator.start()
        barrier.wait()
        store.delete_session(root, recursive=True)
        creator.join(30)
        # Every child created under mid either went with the subtree or was refused;
        # none survives as an orphan root.
        survivors = {s.id for s in store.list_sessions(limit=1000)}
        assert not survivors & set(created), (created, survivors)
