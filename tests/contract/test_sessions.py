"""Sessions: create, get, update, delete, list, ensure, recover — on every backend."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sessiondb import AlreadyExists, InvalidInput, NotFound, Store


def test_create_session_returns_all_fields(store: Store) -> None:
    s = store.create_session(
        agent="coder",
        source="telegram",
        user_id="u1",
        title="Fix the build",
        working_dir="/src",
        metadata={"chat_id": 42},
    )
    got = store.get_session(s.id)
    assert got == s
    assert (got.agent, got.source, got.user_id, got.title) == (
        "coder",
        "telegram",
        "u1",
        "Fix the build",
    )
    assert got.metadata == {"chat_id": 42}
    assert got.status == "active"
    assert got.message_count == 0 and got.last_seq == 0
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)


def test_generated_session_ids_are_time_sortable(store: Store) -> None:
    ids = [store.create_session().id for _ in range(20)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 20


@pytest.mark.parametrize("sid", ["telegram:123", "20240101_1", "a" * 255, "ünïcode ✓", "x"])
def test_caller_chosen_ids_are_kept(store: Store, sid: str) -> None:
    assert store.create_session(sid).id == sid
    assert store.get_session(sid).id == sid


def test_creating_an_existing_id_raises_already_exists(store: Store) -> None:
    store.create_session("dup")
    with pytest.raises(AlreadyExists, match="dup"):
        store.create_session("dup")


def test_get_missing_session_raises_not_found_naming_it(store: Store) -> None:
    with pytest.raises(NotFound, match="nope"):
        store.get_session("nope")


def test_create_with_missing_parent_raises_not_found_and_writes_nothing(store: Store) -> None:
    with pytest.raises(NotFound, match="ghost"):
        store.create_session("child", parent_id="ghost", relation="subagent")
    assert store.list_sessions().items == []


def test_update_session_is_partial_and_merges_metadata(store: Store) -> None:
    s = store.create_session(title="old", agent="a", metadata={"keep": 1, "drop": 2})
    u = store.update_session(
        s.id, title="new", status="completed", metadata={"drop": None, "add": 3}
    )
    assert u.title == "new" and u.agent == "a" and u.status == "completed"
    assert u.metadata == {"keep": 1, "add": 3}
    assert store.get_session(s.id) == u


def test_update_session_can_clear_a_field_with_none(store: Store) -> None:
    s = store.create_session(title="t")
    assert store.update_session(s.id, title=None).title is None


def test_update_session_refuses_cycles_in_lineage(store: Store) -> None:
    root = store.create_session("root")
    child = store.create_session("child", parent_id=root.id, relation="subagent")
    with pytest.raises(InvalidInput, match="parent_id"):
        store.update_session(root.id, parent_id=child.id)
    with pytest.raises(InvalidInput, match="parent_id"):
        store.update_session(root.id, parent_id=root.id)


def test_update_missing_session_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.update_session("nope", title="x")


def test_delete_session_removes_messages_and_detaches_children(store: Store) -> None:
    parent = store.create_session("p")
    child = store.create_session("c", parent_id=parent.id, relation="subagent")
    store.append(parent.id, {"role": "user", "content": "hello"})
    store.append(
        parent.id,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ],
        },
    )
    assert [c.name for c in store.tool_calls(name="ls")] == ["ls"]
    assert store.delete_session(parent.id) == 1
    assert store.tool_calls(name="ls") == []
    with pytest.raises(NotFound):
        store.get_session(parent.id)
    with pytest.raises(NotFound):
        store.messages(parent.id)
    survivor = store.get_session(child.id)
    assert survivor.parent_id is None


def test_delete_session_recursive_removes_the_subtree(store: Store) -> None:
    store.create_session("r")
    store.create_session("c1", parent_id="r", relation="subagent")
    store.create_session("c2", parent_id="c1", relation="fork")
    store.create_session("other")
    assert store.delete_session("r", recursive=True) == 3
    assert [s.id for s in store.list_sessions().items] == ["other"]


def test_delete_missing_session_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.delete_session("nope")


def test_ensure_session_gets_or_creates(store: Store) -> None:
    a = store.ensure_session("telegram:1", agent="bot")
    b = store.ensure_session("telegram:1", agent="ignored")
    assert a == b and b.agent == "bot"


def test_list_sessions_newest_updated_first_with_stable_cursor(store: Store) -> None:
    for i in range(7):
        store.create_session(f"s{i}")
    store.append("s2", {"role": "user", "content": "bump"})
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_sessions(limit=3, cursor=cursor)
        seen.extend(s.id for s in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen[0] == "s2"
    assert sorted(seen) == [f"s{i}" for i in range(7)]
    assert len(seen) == 7


def test_list_sessions_filters_compose(store: Store) -> None:
    store.create_session("a", agent="coder", source="cli", user_id="u1")
    store.create_session("b", agent="coder", source="telegram", user_id="u2")
    store.create_session("c", agent="writer", source="cli", user_id="u1", status="completed")
    store.create_session("d", agent="coder", parent_id="a", relation="subagent", user_id="u1")
    ids = lambda page: sorted(s.id for s in page.items)  # noqa: E731
    assert ids(store.list_sessions(agent="coder")) == ["a", "b", "d"]
    assert ids(store.list_sessions(agent="coder", source="cli")) == ["a"]
    assert ids(store.list_sessions(user_id="u1", status="active")) == ["a", "d"]
    assert ids(store.list_sessions(roots_only=True, agent="coder")) == ["a", "b"]
    assert ids(store.list_sessions(parent_id="a")) == ["d"]
    assert ids(store.list_sessions(status="completed")) == ["c"]


def test_list_sessions_time_window(store: Store) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    store.create_session("old", created_at=old)
    store.create_session("new")
    assert [s.id for s in store.list_sessions(until=datetime(2021, 1, 1, tzinfo=UTC))] == ["old"]
    assert [s.id for s in store.list_sessions(since=datetime(2021, 1, 1, tzinfo=UTC))] == ["new"]


@pytest.mark.parametrize("cursor", ["garbage", "", "W10", "eyJhIjogMX0"])
def test_list_sessions_rejects_foreign_cursors(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        store.list_sessions(cursor=cursor)


def test_list_sessions_rejects_unknown_status(store: Store) -> None:
    with pytest.raises(InvalidInput, match="status"):
        store.list_sessions(status="sleeping")


def test_recover_interrupted_marks_only_idle_active_sessions(store: Store) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    store.create_session("idle", created_at=long_ago)
    store.create_session("done", created_at=long_ago, status="completed")
    store.create_session("fresh")
    assert store.recover_interrupted(timedelta(hours=1)) == ["idle"]
    assert store.get_session("idle").status == "interrupted"
    assert store.get_session("done").status == "completed"
    assert store.get_session("fresh").status == "active"
    assert store.recover_interrupted(timedelta(hours=1)) == []


def test_recover_interrupted_counts_activity_not_the_items_own_timestamps(store: Store) -> None:
    # A session created a moment ago is not idle, even if its first message carries an
    # old timestamp of its own (a replayed or delayed turn).
    s = store.create_session("now")
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    store.append(s.id, {"role": "user", "content": "late", "timestamp": old})
    assert store.get_session(s.id).last_message_at < datetime.now(UTC) - timedelta(days=1)
    assert store.recover_interrupted(timedelta(hours=1)) == []
    assert store.get_session(s.id).status == "active"


def test_generated_ids_are_uuid7_with_the_creation_time(store: Store) -> None:
    before = datetime.now(UTC)
    s = store.create_session()
    m = store.append(s.id, {"role": "user", "content": "x"})[0]
    for value in (s.id, m.id):
        parsed = uuid.UUID(value)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        millis = parsed.int >> 80
        stamped = datetime.fromtimestamp(millis / 1000, UTC)
        assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC) + timedelta(seconds=1)


def test_concurrent_creates_of_one_id_give_one_session_and_already_exists(store: Store) -> None:
    results: list[str] = []

    def create() -> None:
        try:
            store.create_session("contested", agent="racer")
            results.append("created")
        except AlreadyExists:
            results.append("exists")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["created"] + ["exists"] * 7


def test_concurrent_ensure_session_gets_one_session(store: Store) -> None:
    got: list[str] = []
    errors: list[BaseException] = []

    def ensure(n: int) -> None:
        try:
            got.append(store.ensure_session("telegram:42", title=f"t{n}").id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ensure, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert got == ["telegram:42"] * 8
    assert [x.id for x in store.list_sessions().items] == ["telegram:42"]


def test_store_is_a_context_manager(store_factory: tuple[str, dict[str, str]]) -> None:
    import sessiondb

    url, options = store_factory
    with sessiondb.connect(url, **options) as db:
        db.create_session("x")
    with sessiondb.connect(url, **options) as db:
        assert db.get_session("x").id == "x"


def test_updated_at_follows_activity_not_edits(store: Store) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    s = store.create_session(created_at=old)
    edited = store.update_session(s.id, title="renamed", metadata={"k": 1})
    assert edited.updated_at == old
    finished = store.update_session(s.id, status="completed")
    assert finished.updated_at > old


def test_update_session_restores_what_sessiondb_maintains(store: Store) -> None:
    store.create_session("r")
    store.append("r", {"role": "user", "content": "hi"})
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    compacted = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
    s = store.update_session("r", updated_at=when, compaction_count=3, compacted_at=compacted)
    assert (s.updated_at, s.compaction_count, s.compacted_at) == (when, 3, compacted)
    assert store.get_session("r") == s
    # A later status change is activity again: updated_at moves on from the restored time.
    assert store.update_session("r", status="completed").updated_at > when
    assert store.update_session("r", compacted_at=None).compacted_at is None
    for bad in (
        {"updated_at": None},
        {"updated_at": "yesterday"},
        {"compaction_count": -1},
        {"compaction_count": True},
        {"compacted_at": 5},
    ):
        with pytest.raises(InvalidInput):
            store.update_session("r", **bad)
    assert store.get_session("r").compaction_count == 3


def test_update_session_restores_last_seq_of_an_empty_session_and_usage_totals(
    store: Store,
) -> None:
    from sessiondb import Usage

    store.create_session("e")
    assert store.update_session("e", last_seq=41).last_seq == 41
    assert store.append("e", {"role": "user", "content": "hi"})[0].seq == 42
    with pytest.raises(InvalidInput, match="no messages"):
        store.update_session("e", last_seq=100)
    with pytest.raises(InvalidInput):
        store.update_session("e", usage={"input_tokens": 5})  # type: ignore[arg-type]
    totals = store.update_session("e", usage=Usage(input_tokens=7, cost_usd=0.5)).usage
    assert (totals.input_tokens, totals.output_tokens, totals.cost_usd) == (7, 0, 0.5)
    assert store.get_session("e").last_seq == 42
    assert store.check() == []
