"""append(other_metadata=): other sessions' metadata commits with the messages or not at all."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sessiondb import Conflict, InvalidInput, NotFound, Store

USER = {"role": "user", "content": "hi"}


def three_sessions(store: Store) -> tuple[str, str, str]:
    store.create_session("turns", metadata={"own": 1})
    store.create_session("user-state", metadata={"lang": "fr", "gone": True})
    store.create_session("app-state")
    return "turns", "user-state", "app-state"


def snapshot(store: Store, *ids: str) -> list[Any]:
    """What an append could have changed: counters, metadata and update time."""
    return [
        (s.message_count, s.last_seq, s.metadata, s.updated_at)
        for s in (store.get_session(i) for i in ids)
    ]


def test_other_sessions_metadata_changes_with_the_append(store: Store) -> None:
    turns, user, app = three_sessions(store)
    before = store.get_session(user).updated_at
    stored = store.append(
        turns,
        USER,
        session_metadata={"own": 2},
        other_metadata={user: {"city": "Paris", "gone": None}, app: {"lookups": 1}},
    )
    assert [m.seq for m in stored] == [1]
    assert store.get_session(turns).metadata == {"own": 2}
    assert store.get_session(user).metadata == {"lang": "fr", "city": "Paris"}
    assert store.get_session(app).metadata == {"lookups": 1}
    assert store.get_session(user).updated_at >= before
    # Nothing but metadata changes in the other sessions.
    assert store.get_session(user).message_count == store.get_session(app).message_count == 0
    assert store.messages(user) == []


def test_a_missing_other_session_makes_the_whole_append_write_nothing(store: Store) -> None:
    turns, user, app = three_sessions(store)
    before = snapshot(store, turns, user, app)
    with pytest.raises(NotFound, match="nope"):
        store.append(
            turns,
            USER,
            session_metadata={"own": 2},
            other_metadata={user: {"city": "Paris"}, "nope": {"x": 1}, app: {"y": 2}},
        )
    assert snapshot(store, turns, user, app) == before
    assert store.messages(turns) == []
    with pytest.raises(NotFound, match="missing"):
        store.append("missing", USER, other_metadata={user: {"city": "Paris"}})
    assert snapshot(store, turns, user, app) == before


def test_a_conflicting_append_changes_no_other_session(store: Store) -> None:
    turns, user, app = three_sessions(store)
    store.append(turns, USER)
    before = snapshot(store, turns, user, app)
    with pytest.raises(Conflict):
        store.append(turns, USER, expect_last_seq=0, other_metadata={user: {"k": 1}, app: {}})
    assert snapshot(store, turns, user, app) == before
    store.append(turns, USER, expect_last_seq=1, other_metadata={user: {"k": 1}})
    assert store.get_session(user).metadata["k"] == 1


def test_an_idempotent_retry_does_not_apply_the_patches_again(store: Store) -> None:
    turns, user, _ = three_sessions(store)
    store.append(turns, USER, ids=["m1"], other_metadata={user: {"k": "first"}})
    store.update_session(user, metadata={"k": "changed since"})
    again = store.append(turns, USER, ids=["m1"], other_metadata={user: {"k": "first"}})
    assert [m.seq for m in again] == [1]
    assert store.get_session(user).metadata["k"] == "changed since"


@pytest.mark.parametrize(
    "other_metadata",
    [
        {"turns": {"k": 1}},  # the session appended to: that is session_metadata's job
        {"user-state": ["not", "an", "object"]},
        {"user-state": {"bad": float("nan")}},
        {"": {"k": 1}},
        ["user-state"],
    ],
)
def test_bad_other_metadata_is_refused_before_anything_is_written(
    store: Store, other_metadata: Any
) -> None:
    turns, user, app = three_sessions(store)
    before = snapshot(store, turns, user, app)
    with pytest.raises(InvalidInput, match="other_metadata"):
        store.append(turns, USER, other_metadata=other_metadata)
    assert snapshot(store, turns, user, app) == before


def test_crosswise_appends_sharing_sessions_never_deadlock(store: Store) -> None:
    # Each writer appends to its own session and patches the others': locked in any order
    # but one, PostgreSQL would find a deadlock and abort a writer.
    writers = {"a": ["b", "shared"], "b": ["shared", "a"], "shared": ["a", "b"]}
    for sid in writers:
        store.create_session(sid)
    errors: list[BaseException] = []
    rounds = 40

    def work(mine: str, others: list[str]) -> None:
        try:
            for i in range(rounds):
                store.append(
                    mine,
                    {"role": "user", "content": f"{mine}{i}"},
                    other_metadata={other: {f"from-{mine}": i} for other in others},
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=pair) for pair in writers.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for sid in writers:
        session = store.get_session(sid)
        assert session.message_count == rounds
        writers_of_sid = sorted(w for w, others in writers.items() if sid in others)
        assert session.metadata == {f"from-{w}": rounds - 1 for w in writers_of_sid}
