"""Forks stay right after later changes, on every backend.

* Usage: a fork's totals start with what it copied; ``tree_usage`` counts that spend once,
  in the source, however the fork's copies are deleted afterwards (totals are never
  reduced by deletes).
* History: ``fork(at_seq=N)`` gives the model what it saw when seq N was the newest
  message, even if the source was compacted or replaced after N.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sessiondb import NewMessage, Store, Usage


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def reply(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def spend(store: Store, sid: str, tokens: int, cost: float) -> Usage:
    """Append one paid exchange; return what it cost."""
    usage = Usage(
        input_tokens=tokens,
        output_tokens=tokens // 2,
        cache_read_tokens=3,
        cache_write_tokens=2,
        reasoning_tokens=1,
        cost_usd=cost,
    )
    store.append(sid, [user(f"ask {tokens}"), reply(f"answer {tokens}")], usage=usage)
    return usage


def total(*usages: Usage) -> Usage:
    out = Usage(0, 0, 0, 0, 0, 0.0)
    for u in usages:
        out = out + u
    return out


NOTHING = Usage(0, 0, 0, 0, 0, 0.0)


def assert_usage(actual: Usage, expected: Usage) -> None:
    for name in (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    ):
        assert (getattr(actual, name) or 0) == (getattr(expected, name) or 0), name
    assert (actual.cost_usd or 0.0) == pytest.approx(expected.cost_usd or 0.0)


# ---------------------------------------------------------------------------- usage

DELETES: dict[str, Callable[[Store, str], object]] = {
    "clear": lambda store, sid: store.clear(sid),
    "truncate to 1": lambda store, sid: store.truncate(sid, keep_last=1),
    "truncate to 0": lambda store, sid: store.truncate(sid, keep_last=0),
    "pop": lambda store, sid: store.pop(sid),
    "pop all": lambda store, sid: [store.pop(sid) for _ in range(10)],
    "replace, deleting": lambda store, sid: store.replace_history(
        sid, [user("fresh")], keep_replaced=False
    ),
    "replace, keeping": lambda store, sid: store.replace_history(sid, [user("fresh")]),
}


@pytest.mark.parametrize("delete", list(DELETES))
def test_deleting_a_forks_copies_leaves_tree_usage_unchanged(store: Store, delete: str) -> None:
    source = store.create_session().id
    spent = total(spend(store, source, 100, 1.0), spend(store, source, 20, 0.5))
    fork = store.fork(source).id
    assert_usage(store.tree_usage(source), spent)
    DELETES[delete](store, fork)
    assert_usage(store.tree_usage(source), spent)
    assert_usage(store.tree_usage(fork), NOTHING)
    # The fork's own totals still start with what it copied (and are never reduced).
    assert_usage(store.get_session(fork).usage, spent)


@pytest.mark.parametrize("delete", list(DELETES))
def test_a_forks_own_spend_is_counted_once_whatever_it_deletes(store: Store, delete: str) -> None:
    source = store.create_session().id
    spent = spend(store, source, 100, 1.0)
    fork = store.fork(source).id
    own = spend(store, fork, 30, 0.25)
    DELETES[delete](store, fork)
    assert_usage(store.tree_usage(source), total(spent, own))
    assert_usage(store.tree_usage(fork), own)


def test_forks_of_forks_count_every_spend_once_after_deletes(store: Store) -> None:
    root = store.create_session().id
    a = total(spend(store, root, 100, 1.0), spend(store, root, 50, 0.5))
    f = store.fork(root).id
    b = spend(store, f, 30, 0.25)
    g = store.fork(f).id  # holds copies of root's and f's messages
    c = spend(store, g, 7, 0.125)
    h = store.fork(f, at_seq=2).id  # copies part of root's spend only
    d = spend(store, h, 3, 0.0625)
    expected = {root: total(a, b, c, d), f: total(b, c, d), g: c, h: d}
    for sid, usage in expected.items():
        assert_usage(store.tree_usage(sid), usage)
    store.clear(g)
    store.truncate(f, keep_last=1)
    store.pop(h)
    store.replace_history(h, [user("again")], keep_replaced=False)
    k = store.fork(g).id  # a fork of an emptied fork inherits nothing
    expected[k] = NOTHING
    for sid, usage in expected.items():
        assert_usage(store.tree_usage(sid), usage)


def test_stats_and_tree_usage_agree_when_forks_delete_only_copies(store: Store) -> None:
    root = store.create_session().id
    a = spend(store, root, 100, 1.0)
    f = store.fork(root).id
    store.clear(f)  # copies only
    b = spend(store, f, 30, 0.25)
    g = store.fork(f).id
    store.pop(g)
    store.truncate(g, keep_last=0)
    h = store.fork(root, at_seq=1).id
    store.replace_history(h, [], keep_replaced=False)
    totals = store.stats().totals
    tree = store.tree_usage(root)
    assert_usage(tree, total(a, b))
    assert (totals.input_tokens, totals.output_tokens) == (tree.input_tokens, tree.output_tokens)
    assert (totals.cache_read_tokens, totals.cache_write_tokens, totals.reasoning_tokens) == (
        tree.cache_read_tokens,
        tree.cache_write_tokens,
        tree.reasoning_tokens,
    )
    assert totals.cost_usd == pytest.approx(tree.cost_usd)


# ---------------------------------------------------------------------------- history


def contents(items: list[dict[str, Any]]) -> list[Any]:
    return [item.get("content") for item in items]


class Recorder:
    """Builds a session step by step, noting history() each time a seq becomes the last."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sid = store.create_session().id
        self.seen: dict[int, list[Any]] = {0: []}

    def note(self) -> None:
        last = self.store.get_session(self.sid).last_seq
        self.seen[last] = contents(self.store.history(self.sid))

    def say(self, *texts: str, hidden: bool = False) -> None:
        for text in texts:
            item = user(text) if len(self.seen) % 2 else reply(text)
            self.store.append(self.sid, NewMessage(item, visible_to_model=not hidden))
            self.note()

    def compact(self, summary: str, keep_last: int) -> None:
        self.store.compact(self.sid, summary, keep_last=keep_last)
        self.note()

    def replace(self, *texts: str) -> None:
        self.store.replace_history(self.sid, [user(t) for t in texts])
        self.note()


def compacted_twice(store: Store) -> Recorder:
    r = Recorder(store)
    r.say(*(f"m{i}" for i in range(1, 11)))  # 1-10
    r.compact("SUMMARY 1", keep_last=2)  # 11: hides m1-m8
    r.say("m12")
    r.say("aside", hidden=True)  # 13: appended hidden from the model
    r.say("m14", "m15")
    r.compact("SUMMARY 2", keep_last=1)  # 16: hides summary 1, m9-m14
    r.say("m17", "m18")
    return r


def test_fork_at_a_seq_before_a_compaction_shows_the_model_what_it_saw(store: Store) -> None:
    r = Recorder(store)
    r.say(*(f"m{i}" for i in range(1, 11)))
    r.compact("SUMMARY", keep_last=2)
    r.say("m12")
    fork = store.fork(r.sid, at_seq=10).id
    assert contents(store.history(fork)) == [f"m{i}" for i in range(1, 11)]
    assert all(m.visible_to_model for m in store.messages(fork))
    assert contents(store.history(store.fork(r.sid, at_seq=5).id)) == ["m1", "m2", "m3", "m4", "m5"]
    # At the compaction and after it, the fork is compacted as the source was.
    assert contents(store.history(store.fork(r.sid, at_seq=11).id)) == ["SUMMARY", "m9", "m10"]
    at_end = store.fork(r.sid, at_seq=12).id
    assert contents(store.history(at_end)) == ["SUMMARY", "m9", "m10", "m12"]
    assert store.history(store.fork(r.sid).id) == store.history(r.sid)


def test_fork_at_every_seq_reproduces_the_history_of_that_moment(store: Store) -> None:
    r = compacted_twice(store)
    assert set(r.seen) == set(range(19))
    for seq, expected in r.seen.items():
        fork = store.fork(r.sid, at_seq=seq).id
        assert contents(store.history(fork)) == expected, seq
    assert store.check() == []


def test_messages_hidden_when_appended_or_compacted_by_then_stay_hidden(store: Store) -> None:
    r = compacted_twice(store)
    fork = store.fork(r.sid, at_seq=15).id
    hidden = [m.item["content"] for m in store.messages(fork) if not m.visible_to_model]
    # m1-m8 went in the compaction at seq 11; the aside was never shown to the model.
    assert hidden == [f"m{i}" for i in range(1, 9)] + ["aside"]
    before = store.fork(r.sid, at_seq=10).id
    assert [m.seq for m in store.messages(before) if not m.visible_to_model] == []


def test_fork_before_a_replace_history_shows_the_replaced_messages(store: Store) -> None:
    r = Recorder(store)
    r.say("old 1", "old 2", "old 3")
    r.replace("new 1", "new 2")  # 4-5 replace 1-3
    r.say("after")
    assert contents(store.history(store.fork(r.sid, at_seq=3).id)) == ["old 1", "old 2", "old 3"]
    assert contents(store.history(store.fork(r.sid, at_seq=4).id)) == ["new 1"]
    assert contents(store.history(store.fork(r.sid, at_seq=6).id)) == ["new 1", "new 2", "after"]


def test_forks_of_forks_reproduce_the_same_moments(store: Store) -> None:
    r = compacted_twice(store)
    copy = store.fork(r.sid).id  # same seqs as the source
    for seq, expected in r.seen.items():
        assert contents(store.history(store.fork(copy, at_seq=seq).id)) == expected, seq
    # A fork of a fork taken mid-way keeps what was hidden by then, and only that.
    mid = store.fork(r.sid, at_seq=15).id
    for seq in range(16):
        assert contents(store.history(store.fork(mid, at_seq=seq).id)) == r.seen[seq], seq


def test_forks_of_truncated_sessions_renumber_the_moments_too(store: Store) -> None:
    r = compacted_twice(store)
    store.truncate(r.sid, keep_last=12)  # seqs 7-18 are left: the fork is shifted by 6
    shifted = store.fork(r.sid).id
    for seq in range(7, 19):
        expected = contents(store.history(store.fork(r.sid, at_seq=seq).id))
        got = contents(store.history(store.fork(shifted, at_seq=seq - 6).id))
        assert got == expected, seq


def test_forks_of_sessions_with_gaps_renumber_the_moments_too(store: Store) -> None:
    r = compacted_twice(store)
    # Deleting what the model sees leaves gaps among the hidden messages.
    store.replace_history(r.sid, [user("fresh")], keep_replaced=False)
    store.append(r.sid, reply("last"))
    kept = [m.seq for m in store.messages(r.sid)]
    assert kept != list(range(1, len(kept) + 1))
    renumbered = store.fork(r.sid).id
    for new_seq, old_seq in enumerate(kept, start=1):
        expected = contents(store.history(store.fork(r.sid, at_seq=old_seq).id))
        got = contents(store.history(store.fork(renumbered, at_seq=new_seq).id))
        assert got == expected, old_seq
    assert store.check() == []
