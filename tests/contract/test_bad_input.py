"""Bad input raises InvalidInput naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from sessiondb import InvalidInput, NewMessage, Store, Usage


def assert_untouched(store: Store, sid: str) -> None:
    s = store.get_session(sid)
    assert s.message_count == 0 and s.last_seq == 0 and s.usage.output_tokens == 0
    assert store.messages(sid) == []
    assert store.tool_calls(sid) == []


class Opaque:
    pass


BAD_ITEMS: list[tuple[str, Any, str]] = [
    ("nul in content", {"role": "user", "content": "a\x00b"}, "NUL"),
    ("nul in key", {"role": "user", "content": "x", "k\x00": 1}, "NUL"),
    ("lone surrogate", {"role": "user", "content": "a\ud800b"}, "surrogate"),
    ("not serializable", {"role": "user", "content": Opaque()}, "Opaque"),
    ("nan", {"role": "user", "content": "x", "score": float("nan")}, "finite"),
    ("inf", {"role": "user", "content": "x", "score": float("inf")}, "finite"),
    ("non-string key", {"role": "user", "content": "x", "meta": {1: "a"}}, "key"),
    ("no role or type", {"content": "orphan"}, "role"),
    ("not a dict", ["role", "user"], "dict"),
    ("a string", "hello", "dict"),
]


@pytest.mark.parametrize(("name", "item", "match"), BAD_ITEMS, ids=[b[0] for b in BAD_ITEMS])
def test_bad_item_in_a_batch_raises_and_writes_nothing(
    store: Store, name: str, item: Any, match: str
) -> None:
    s = store.create_session()
    good = {"role": "user", "content": "fine"}
    with pytest.raises(InvalidInput, match=match):
        store.append(s.id, [good, item], usage=Usage(output_tokens=5))
    assert_untouched(store, s.id)


def test_deeply_nested_item_is_refused(store: Store) -> None:
    s = store.create_session()
    nested: Any = "leaf"
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(InvalidInput):
        store.append(s.id, {"role": "user", "content": nested})
    assert_untouched(store, s.id)


def test_cyclic_item_is_refused(store: Store) -> None:
    s = store.create_session()
    item: dict[str, Any] = {"role": "user"}
    item["self"] = item
    with pytest.raises(InvalidInput):
        store.append(s.id, item)
    assert_untouched(store, s.id)


def test_message_over_the_size_limit_is_refused(store_factory: tuple[str, dict[str, str]]) -> None:
    import sessiondb

    url, options = store_factory
    with sessiondb.connect(url, max_message_bytes=1000, **options) as db:
        s = db.create_session()
        with pytest.raises(InvalidInput, match="maximum"):
            db.append(s.id, {"role": "user", "content": "x" * 2000})
        db.append(s.id, {"role": "user", "content": "x" * 500})
        assert db.get_session(s.id).message_count == 1


@pytest.mark.parametrize(
    ("ids", "match"),
    [(["same", "same"], "twice"), (["a"], "ids"), (["", "b"], "empty"), (["a\x00", "b"], "NUL")],
)
def test_bad_ids_are_refused(store: Store, ids: list[str], match: str) -> None:
    s = store.create_session()
    with pytest.raises(InvalidInput, match=match):
        store.append(
            s.id, [{"role": "user", "content": "1"}, {"role": "user", "content": "2"}], ids=ids
        )
    assert_untouched(store, s.id)


def test_bad_usage_is_refused() -> None:
    with pytest.raises(InvalidInput, match="input_tokens"):
        Usage(input_tokens=-1)
    with pytest.raises(InvalidInput, match="cost_usd"):
        Usage(cost_usd=float("nan"))
    with pytest.raises(InvalidInput, match="output_tokens"):
        Usage(output_tokens=1.5)  # type: ignore[arg-type]


def test_bad_new_message_metadata_is_refused(store: Store) -> None:
    s = store.create_session()
    with pytest.raises(InvalidInput, match="metadata"):
        store.append(
            s.id, NewMessage({"role": "user", "content": "x"}, metadata={"k": float("inf")})
        )
    assert_untouched(store, s.id)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"status": "sleeping"}, "status"),
        ({"relation": "cousin"}, "relation"),
        ({"title": "a\x00"}, "title"),
        ({"agent": "\udc80"}, "agent"),
        ({"metadata": {"x": {1, 2}}}, "metadata"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
    ],
)
def test_bad_session_fields_are_refused_and_nothing_is_created(
    store: Store, fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        store.create_session("s", **fields)
    assert store.list_sessions().items == []


@pytest.mark.parametrize("sid", ["", "x" * 256, "nul\x00id"])
def test_bad_session_ids_are_refused(store: Store, sid: str) -> None:
    with pytest.raises(InvalidInput, match="id"):
        store.create_session(sid)


def test_bad_update_changes_nothing(store: Store) -> None:
    s = store.create_session(title="t")
    with pytest.raises(InvalidInput, match="status"):
        store.update_session(s.id, title="changed", status="nope")
    assert store.get_session(s.id).title == "t"


def test_usage_past_its_bounds_is_refused_naming_the_field() -> None:
    from sessiondb.model import MAX_COST_USD, MAX_TOKENS

    assert Usage(input_tokens=MAX_TOKENS).input_tokens == MAX_TOKENS
    with pytest.raises(InvalidInput, match=r"usage\.output_tokens"):
        Usage(output_tokens=MAX_TOKENS + 1)
    with pytest.raises(InvalidInput, match=r"usage\.cost_usd"):
        Usage(cost_usd=MAX_COST_USD * 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda db, sid: db.append(
            sid, {"role": "assistant", "content": "c"}, usage=Usage(output_tokens=2**64)
        ),
        lambda db, sid: db.append(
            sid, {"role": "assistant", "content": "c", "usage": {"output_tokens": 2**64}}
        ),
    ],
    ids=["usage argument", "usage in the item"],
)
def test_a_huge_usage_is_invalid_input_and_writes_nothing(store: Store, call: Any) -> None:
    s = store.create_session()
    with pytest.raises(InvalidInput, match="output_tokens"):
        call(store, s.id)
    assert_untouched(store, s.id)


def test_usage_totals_that_would_overflow_are_refused_on_every_backend(store: Store) -> None:
    from sessiondb.model import MAX_TOKENS

    s = store.create_session()
    big = Usage(output_tokens=MAX_TOKENS)
    # 1,024 messages at the bound make 2**63 - 1,024; one more passes what a backend holds.
    batch = [NewMessage({"role": "assistant", "content": "a"}, usage=big) for _ in range(1024)]
    store.append(s.id, batch)
    total = store.get_session(s.id).usage.output_tokens
    assert total == 1024 * MAX_TOKENS and type(total) is int
    for call in (
        lambda: store.append(s.id, {"role": "assistant", "content": "b"}, usage=big),
        lambda: store.append(s.id, [NewMessage({"role": "assistant", "content": "b"}, usage=big)]),
    ):
        with pytest.raises(InvalidInput):
            call()
    after = store.get_session(s.id)
    assert (after.message_count, after.usage.output_tokens) == (1024, total)
    # update_message moves the totals by the difference: the same bound holds there.
    small = store.append(s.id, {"role": "assistant", "content": "c"}, usage=Usage(output_tokens=1))
    with pytest.raises(InvalidInput):
        store.update_message(s.id, small[0].id, usage=big)
    assert store.get_session(s.id).usage.output_tokens == total + 1
    assert store.stats().totals.output_tokens == total + 1


def test_huge_numbers_are_invalid_input_not_driver_overflows(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "x"})
    for call in (
        lambda: store.fork(s.id, at_seq=2**70),
        lambda: store.messages(s.id, last=2**64),
        lambda: store.messages(s.id, after_seq=2**63),
        lambda: store.list_sessions(limit=2**63),
        lambda: store.truncate(s.id, keep_last=2**64),
    ):
        with pytest.raises(InvalidInput, match="2\\*\\*62"):
            call()
    assert store.get_session(s.id).message_count == 1


BAD_IDS: list[tuple[str, Any]] = [
    ("nul", "a\x00b"),
    ("lone surrogate", "a\ud800b"),
    ("empty", ""),
    ("not a string", 5),
    ("too long", "x" * 256),
]

# Every contract method that takes a session id, called with a bad one.
ID_CALLS: list[tuple[str, Any]] = [
    ("get_session", lambda db, b: db.get_session(b)),
    ("update_session", lambda db, b: db.update_session(b, title="t")),
    ("delete_session", lambda db, b: db.delete_session(b)),
    ("append", lambda db, b: db.append(b, {"role": "user", "content": "x"})),
    ("messages", lambda db, b: db.messages(b)),
    ("items", lambda db, b: db.items(b)),
    ("tool_calls", lambda db, b: db.tool_calls(b)),
    ("list_sessions parent_id", lambda db, b: db.list_sessions(parent_id=b)),
    ("history", lambda db, b: db.history(b)),
    ("compact", lambda db, b: db.compact(b, "summary")),
    ("truncate", lambda db, b: db.truncate(b, keep_last=1)),
    ("replace_history", lambda db, b: db.replace_history(b, [])),
    ("pop", lambda db, b: db.pop(b)),
    ("clear", lambda db, b: db.clear(b)),
    ("fork", lambda db, b: db.fork(b)),
    ("search session_id", lambda db, b: db.search("x", session_id=b)),
    ("children", lambda db, b: db.children(b)),
    ("ancestors", lambda db, b: db.ancestors(b)),
    ("tree", lambda db, b: db.tree(b)),
    ("tree_usage", lambda db, b: db.tree_usage(b)),
    ("export", lambda db, b: db.export(b)),
    ("ensure_session", lambda db, b: db.ensure_session(b)),
]


@pytest.mark.parametrize(("kind", "bad"), BAD_IDS, ids=[b[0] for b in BAD_IDS])
def test_a_bad_session_id_is_invalid_input_on_every_method(
    store: Store, kind: str, bad: Any
) -> None:
    # SQLite could look such an id up (and answer NotFound) where PostgreSQL refuses it:
    # both must say InvalidInput, and nothing may be written.
    s = store.create_session("kept")
    for name, call in ID_CALLS:
        try:
            call(store, bad)
        except InvalidInput:
            continue
        pytest.fail(f"{name} accepted a session id that is {kind}")
    assert [x.id for x in store.list_sessions().items] == [s.id]
    assert store.messages(s.id) == []


BAD_TEXTS: list[tuple[str, Any]] = [("nul", "a\x00"), ("lone surrogate", "\udfff"), ("int", 3)]

TEXT_CALLS: list[tuple[str, Any]] = [
    ("list_sessions agent", lambda db, b: db.list_sessions(agent=b)),
    ("list_sessions source", lambda db, b: db.list_sessions(source=b)),
    ("list_sessions user_id", lambda db, b: db.list_sessions(user_id=b)),
    ("tool_calls name", lambda db, b: db.tool_calls(name=b)),
    ("search agent", lambda db, b: db.search("x", agent=b)),
    ("search tool", lambda db, b: db.search("x", tool=b)),
    ("search role", lambda db, b: db.search("x", role=b)),
    ("sessions_matching user_id", lambda db, b: db.sessions_matching("x", user_id=b)),
    ("stats source", lambda db, b: db.stats(source=b)),
]


@pytest.mark.parametrize(("kind", "bad"), BAD_TEXTS, ids=[b[0] for b in BAD_TEXTS])
def test_a_bad_text_filter_is_invalid_input_naming_it(store: Store, kind: str, bad: Any) -> None:
    for name, call in TEXT_CALLS:
        argument = name.split()[-1]
        with pytest.raises(InvalidInput, match=argument):
            call(store, bad)


@pytest.mark.parametrize("bad", ["0", True, -1, 1.5, 2**63])
def test_expect_last_seq_must_be_a_seq(store: Store, bad: Any) -> None:
    s = store.create_session()
    with pytest.raises(InvalidInput, match="expect_last_seq"):
        store.append(s.id, {"role": "user", "content": "x"}, expect_last_seq=bad)
    assert_untouched(store, s.id)


@pytest.mark.parametrize("bad", ["a\x00b", 7])
def test_update_session_checks_the_text_fields_it_is_given(store: Store, bad: Any) -> None:
    s = store.create_session(source="cli", agent="a")
    with pytest.raises(InvalidInput, match="source"):
        store.update_session(s.id, source=bad)
    assert store.update_session(s.id, title="t").source == "cli"  # omitted: unchanged
    assert store.get_session(s.id).agent == "a"


UNSTORABLE_IDS: list[Any] = ["a\ud800b", "a\x00b", 2**70, ["s"], {"id": "s"}, b"s", None]
LOOKUPS = {
    "get_session": lambda db, v: db.get_session(v),
    "update_session": lambda db, v: db.update_session(v, title="t"),
    "delete_session": lambda db, v: db.delete_session(v),
    "append": lambda db, v: db.append(v, {"role": "user", "content": "x"}),
    "messages": lambda db, v: db.messages(v),
    "items": lambda db, v: db.items(v),
    "tool_calls": lambda db, v: db.tool_calls(v or "x\x00"),
    "history": lambda db, v: db.history(v),
    "pop": lambda db, v: db.pop(v),
    "fork": lambda db, v: db.fork(v),
    "children": lambda db, v: db.children(v),
    "tree": lambda db, v: db.tree(v),
    "export": lambda db, v: db.export(v),
    "list_sessions": lambda db, v: db.list_sessions(parent_id=v or "x\x00"),
}


@pytest.mark.parametrize("call", sorted(LOOKUPS))
def test_an_id_no_session_can_have_is_invalid_input_in_every_lookup(
    store: Store, call: str
) -> None:
    # Found by tests/reliability/test_hostile_input.py: a lone surrogate or a 70-bit
    # integer used to escape as the driver's UnicodeEncodeError/OverflowError, and NUL
    # was NotFound on SQLite but InvalidInput on PostgreSQL.
    store.create_session("kept")
    for value in UNSTORABLE_IDS:
        with pytest.raises(InvalidInput, match=r"session_id|parent_id|a value is required"):
            LOOKUPS[call](store, value)
    assert [s.id for s in store.list_sessions().items] == ["kept"]


def test_a_cursor_that_is_not_a_string_is_invalid_input(store: Store) -> None:
    with pytest.raises(InvalidInput, match="cursor: expected a string"):
        store.list_sessions(cursor={"a": 1})  # type: ignore[arg-type]


def test_items_with_lists_where_names_belong_are_stored_and_exported(store: Store) -> None:
    # Found by tests/reliability/test_hostile_input.py: the projection and the "openai"
    # export looked such names up in sets, and a list is unhashable (TypeError).
    sid = store.create_session().id
    item = {"role": ["user"], "type": "message", "content": [{"type": ["text"], "text": "x"}]}
    store.append(sid, [{"role": "user", "content": [{"type": [], "text": "y"}]}, item])
    for kind in ("jsonl", "markdown", "openai"):
        assert store.export(sid, kind)
