"""History windowing, compaction, truncate/replace/pop/clear and fork, on every backend.

Public API only. Tool calls and results are written in three dialects (OpenAI chat,
Anthropic blocks, Responses items); the helpers below build them.
"""

from __future__ import annotations

from typing import Any

import pytest

from sessiondb import InvalidInput, NewMessage, NotFound, Store, Usage
from sessiondb.errors import AlreadyExists


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def reply(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def chat_calls(*ids: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            for i in ids
        ],
    }


def chat_result(call_id: str, text: str = "ok") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def anthropic_calls(*ids: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [{"type": "text", "text": "let me look"}]
        + [{"type": "tool_use", "id": i, "name": "lookup", "input": {"q": i}} for i in ids],
    }


def anthropic_results(*ids: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": i, "content": "found"} for i in ids],
    }


def responses_call(call_id: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": "lookup", "arguments": "{}"}


def responses_output(call_id: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": "found"}


def visible_items(store: Store, sid: str) -> list[dict[str, Any]]:
    return [m.item for m in store.messages(sid) if m.visible_to_model]


def seqs(store: Store, sid: str) -> list[int]:
    return [m.seq for m in store.messages(sid)]


# ---------------------------------------------------------------------------- history


def test_history_of_a_missing_session_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.history("nope")


def test_history_without_budgets_returns_every_visible_item_oldest_first(store: Store) -> None:
    sid = store.create_session().id
    items = [{"role": "system", "content": "be brief"}, user("hi"), reply("hello")]
    store.append(sid, items)
    store.append(sid, NewMessage(reply("internal note"), visible_to_model=False))
    assert store.history(sid) == items


def test_history_of_an_empty_session_is_empty(store: Store) -> None:
    sid = store.create_session().id
    assert store.history(sid) == []
    assert store.history(sid, max_messages=5, max_tokens=100) == []


def test_history_prefers_to_start_at_a_user_turn_when_the_budget_cuts(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("one"), reply("a1"), user("two"), reply("a2"), reply("a3")])
    # The newest four start at a1; the window moves forward to the user turn.
    assert store.history(sid, max_messages=4) == [user("two"), reply("a2"), reply("a3")]


def test_history_never_starts_with_a_tool_result_whose_call_was_cut(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), chat_calls("c1"), chat_result("c1"), reply("done")])
    # The newest two are [result, reply]: the result's call is cut, so it goes too.
    assert store.history(sid, max_messages=2) == [reply("done")]
    assert store.history(sid, max_messages=3) == [
        chat_calls("c1"),
        chat_result("c1"),
        reply("done"),
    ]


def test_history_keeps_parallel_calls_together_with_all_their_results(store: Store) -> None:
    sid = store.create_session().id
    items = [user("q"), chat_calls("a", "b"), chat_result("a"), chat_result("b"), reply("r")]
    store.append(sid, items)
    assert store.history(sid, max_messages=4) == items[1:]
    # Cutting between the two results would orphan "b"'s sibling: only the reply is legal.
    assert store.history(sid, max_messages=3) == [reply("r")]


def test_history_with_a_budget_too_tight_for_any_legal_start_returns_the_shortest_legal_suffix(
    store: Store,
) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), chat_calls("c1"), chat_result("c1")])
    # Documented exception: one message cannot hold the call and its result.
    assert store.history(sid, max_messages=1) == [chat_calls("c1"), chat_result("c1")]


def test_history_with_a_zero_budget_is_empty(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), reply("a")])
    assert store.history(sid, max_messages=0) == []
    assert store.history(sid, max_tokens=0) == []


def test_history_counts_tokens_with_the_given_counter_from_the_newest_backwards(
    store: Store,
) -> None:
    sid = store.create_session().id
    items = [user("u1"), reply("a1"), user("u2"), reply("a2"), user("u3"), reply("a3")]
    store.append(sid, items)
    seen: list[dict[str, Any]] = []

    def ten_each(item: Any) -> int:
        seen.append(item)
        return 10

    assert store.history(sid, max_tokens=45, token_counter=ten_each) == items[2:]
    assert store.history(sid, max_tokens=39, token_counter=ten_each) == items[4:]
    assert all(item in items for item in seen)


def test_history_applies_both_budgets(store: Store) -> None:
    sid = store.create_session().id
    items = [user(f"u{i}") for i in range(6)]
    store.append(sid, items)
    assert (
        store.history(sid, max_messages=4, max_tokens=25, token_counter=lambda _: 10) == items[4:]
    )
    assert (
        store.history(sid, max_messages=2, max_tokens=100, token_counter=lambda _: 10) == items[4:]
    )


def test_history_default_token_estimate_fits_fewer_items_in_a_smaller_budget(store: Store) -> None:
    sid = store.create_session().id
    items = [user("word " * 40), reply("word " * 40), user("word " * 40), reply("word " * 40)]
    store.append(sid, items)
    assert store.history(sid, max_tokens=100_000) == items
    small = store.history(sid, max_tokens=130)
    assert small == items[2:]  # about 62 tokens each by the documented estimate


def test_history_refuses_a_token_counter_that_returns_a_non_integer(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q")])
    with pytest.raises(InvalidInput):
        store.history(sid, max_tokens=10, token_counter=lambda _: 1.5)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidInput):
        store.history(sid, max_messages=-1)


def test_history_understands_anthropic_tool_use_and_tool_result_blocks(store: Store) -> None:
    sid = store.create_session().id
    items = [user("q"), anthropic_calls("t1", "t2"), anthropic_results("t1", "t2"), reply("r")]
    store.append(sid, items)
    assert store.history(sid, max_messages=3) == items[1:]
    assert store.history(sid, max_messages=2) == [reply("r")]
    assert store.history(sid, max_messages=1) == [reply("r")]


def test_history_understands_responses_function_call_items(store: Store) -> None:
    sid = store.create_session().id
    items = [
        user("q"),
        responses_call("f1"),
        responses_call("f2"),
        responses_output("f1"),
        responses_output("f2"),
    ]
    store.append(sid, items)
    # Starting at f2's call would orphan f1's output.
    assert store.history(sid, max_messages=3) == items[1:]
    assert store.history(sid, max_messages=5) == items


def test_history_skips_messages_hidden_from_the_model(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), NewMessage(reply("draft"), visible_to_model=False), reply("a")])
    assert store.history(sid) == [user("q"), reply("a")]
    assert store.history(sid, max_messages=2) == [user("q"), reply("a")]


# ---------------------------------------------------------------------------- compact


def _conversation(store: Store) -> str:
    sid = store.create_session().id
    store.append(
        sid,
        [
            user("u1"),
            reply("a1"),
            user("u2"),
            chat_calls("c1"),
            chat_result("c1"),
            reply("a2"),
            user("u3"),
            reply("a3"),
        ],
    )
    return sid


def test_compact_hides_older_messages_and_history_returns_summary_then_tail(store: Store) -> None:
    sid = _conversation(store)
    before = store.messages(sid)
    summary = store.compact(sid, "we talked", keep_last=2)
    assert summary.item == {"role": "user", "content": "we talked"}
    assert summary.metadata["summary"] is True
    assert store.history(sid) == [summary.item, user("u3"), reply("a3")]
    after = store.messages(sid)
    # Nothing lost: every original item unchanged, still user-visible; one summary added.
    assert [m.item for m in after[:-1]] == [m.item for m in before]
    assert all(m.visible_to_user for m in after)
    assert [m.visible_to_model for m in after] == [False] * 6 + [True] * 3
    assert after[-1].seq == before[-1].seq + 1
    assert store.check() == []


def test_compact_moves_the_kept_tail_back_to_a_legal_boundary(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("u1"), reply("a1"), user("u2"), chat_calls("c1"), chat_result("c1")])
    summary = store.compact(sid, "s", keep_last=1)
    assert store.history(sid) == [summary.item, chat_calls("c1"), chat_result("c1")]


def test_compact_records_the_compaction_on_the_session(store: Store) -> None:
    sid = _conversation(store)
    assert store.get_session(sid).compaction_count == 0
    store.compact(sid, "s1", keep_last=2)
    session = store.get_session(sid)
    assert session.compaction_count == 1
    assert session.compacted_at is not None
    assert session.message_count == 9


def test_compacting_again_replaces_the_previous_summary(store: Store) -> None:
    sid = _conversation(store)
    first = store.compact(sid, "first", keep_last=3)
    assert store.history(sid) == [first.item, reply("a2"), user("u3"), reply("a3")]
    store.append(sid, [user("u4"), reply("a4")])
    # The new tail starts inside the first compaction's tail (below the first summary).
    second = store.compact(sid, "second", keep_last=4)
    assert store.history(sid) == [
        second.item,
        user("u3"),
        reply("a3"),
        user("u4"),
        reply("a4"),
    ]
    assert not next(m for m in store.messages(sid) if m.seq == first.seq).visible_to_model
    assert store.get_session(sid).compaction_count == 2
    assert store.check() == []


def test_compact_keeping_nothing_leaves_only_the_summary(store: Store) -> None:
    sid = _conversation(store)
    summary = store.compact(sid, "all of it", keep_last=0, summary_role="system")
    assert store.history(sid) == [{"role": "system", "content": "all of it"}]
    assert summary.role == "system"
    store.append(sid, user("next"))
    assert store.history(sid) == [summary.item, user("next")]


def test_compact_accepts_an_item_dict_as_summary(store: Store) -> None:
    sid = _conversation(store)
    item = {"role": "developer", "content": [{"type": "input_text", "text": "summary"}]}
    summary = store.compact(sid, item, keep_last=2)
    assert summary.item == item
    assert store.history(sid)[0] == item


def test_history_with_a_budget_that_ends_before_the_summary_leaves_it_out(store: Store) -> None:
    sid = _conversation(store)
    summary = store.compact(sid, "s", keep_last=2)
    assert store.history(sid, max_messages=3) == [summary.item, user("u3"), reply("a3")]
    assert store.history(sid, max_messages=2) == [user("u3"), reply("a3")]


def test_compact_with_a_bad_role_changes_nothing(store: Store) -> None:
    sid = _conversation(store)
    with pytest.raises(InvalidInput):
        store.compact(sid, "s", summary_role="tool")
    with pytest.raises(NotFound):
        store.compact("nope", "s")
    assert store.get_session(sid).compaction_count == 0
    assert len(store.history(sid)) == 8


# ---------------------------------------------------------------------------- truncate


def test_truncate_deletes_all_but_the_last_messages_and_keeps_counters_right(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("first question"), chat_calls("c1"), chat_result("c1")])
    store.append(sid, [user("second question"), reply("a")], usage=Usage(input_tokens=7))
    assert store.truncate(sid, keep_last=2) == 3
    assert seqs(store, sid) == [4, 5]
    session = store.get_session(sid)
    assert session.message_count == 2
    assert session.last_seq == 5
    assert session.preview == "second question"
    assert session.usage.input_tokens == 7  # money already spent is not refunded
    assert store.tool_calls(sid) == []
    assert store.append(sid, user("more"))[0].seq == 6
    assert store.check() == []


def test_truncate_keeping_more_than_there_is_deletes_nothing(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), reply("a")])
    assert store.truncate(sid, keep_last=5) == 0
    assert store.truncate(sid, keep_last=0) == 2
    assert store.messages(sid) == []
    with pytest.raises(InvalidInput):
        store.truncate(sid, keep_last=-1)
    with pytest.raises(NotFound):
        store.truncate("nope", keep_last=1)


# ---------------------------------------------------------------------------- pop / clear


def test_pop_removes_and_returns_the_last_message_and_gives_its_seq_back(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), reply("a")], usage=Usage(output_tokens=5))
    popped = store.pop(sid)
    assert popped is not None
    assert popped.item == reply("a")
    assert popped.seq == 2
    session = store.get_session(sid)
    assert (session.message_count, session.last_seq) == (1, 1)
    assert session.usage.output_tokens == 5
    assert store.append(sid, reply("again"))[0].seq == 2
    assert store.check() == []


def test_pop_of_an_empty_session_returns_none(store: Store) -> None:
    sid = store.create_session().id
    assert store.pop(sid) is None
    with pytest.raises(NotFound):
        store.pop("nope")


def test_pop_keeps_tool_call_rows_consistent(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), chat_calls("c1"), chat_result("c1", "42")])
    assert [c.status for c in store.tool_calls(sid)] == ["ok"]
    popped = store.pop(sid)
    assert popped is not None
    assert popped.tool_call_id == "c1"
    call = store.tool_calls(sid)[0]
    assert (call.status, call.result_seq, call.result_text) == ("pending", None, None)
    popped = store.pop(sid)
    assert popped is not None
    assert [c.call_id for c in popped.tool_calls] == ["c1"]
    assert store.tool_calls(sid) == []
    # The call can be made and answered again under the same id.
    store.append(sid, [chat_calls("c1"), chat_result("c1")])
    assert [c.status for c in store.tool_calls(sid)] == ["ok"]


def test_pop_of_the_only_user_message_clears_the_preview(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, user("hello there"))
    assert store.get_session(sid).preview == "hello there"
    store.pop(sid)
    assert store.get_session(sid).preview is None


def test_clear_deletes_every_message_but_keeps_the_session(store: Store) -> None:
    sid = store.create_session(title="t").id
    store.append(sid, [user("q"), chat_calls("c1"), chat_result("c1")], usage=Usage(cost_usd=0.5))
    assert store.clear(sid) == 3
    session = store.get_session(sid)
    assert (session.message_count, session.last_seq, session.preview) == (0, 0, None)
    assert session.title == "t"
    assert session.usage.cost_usd == 0.5
    assert store.messages(sid) == []
    assert store.tool_calls(sid) == []
    assert store.append(sid, user("again"))[0].seq == 1
    assert store.clear(sid) == 1
    with pytest.raises(NotFound):
        store.clear("nope")
    assert store.check() == []


# ---------------------------------------------------------------------------- replace


def test_replace_history_hides_the_old_messages_and_keeps_them(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), reply("a")])
    new = store.replace_history(sid, [user("short version")])
    assert [m.seq for m in new] == [3]
    assert store.history(sid) == [user("short version")]
    assert [m.item for m in store.messages(sid)] == [user("q"), reply("a"), user("short version")]
    assert store.check() == []


def test_replace_history_can_delete_the_replaced_messages(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), chat_calls("c1"), chat_result("c1")])
    store.append(sid, NewMessage(reply("note"), visible_to_model=False))
    store.replace_history(sid, [user("new q"), reply("new a")], keep_replaced=False)
    assert [m.item for m in store.messages(sid)] == [reply("note"), user("new q"), reply("new a")]
    assert store.history(sid) == [user("new q"), reply("new a")]
    session = store.get_session(sid)
    assert session.message_count == 3
    assert session.preview == "new q"
    assert store.tool_calls(sid) == []
    assert store.check() == []


def test_replace_history_with_bad_input_changes_nothing(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q")], ids=["m1"])
    with pytest.raises(InvalidInput):
        store.replace_history(sid, [user("ok"), {"nonsense": 1}])
    with pytest.raises(InvalidInput):
        store.replace_history(sid, [NewMessage(user("again"), id="m1")], keep_replaced=True)
    assert store.history(sid) == [user("q")]
    assert store.get_session(sid).message_count == 1
    with pytest.raises(NotFound):
        store.replace_history("nope", [user("x")])


# ---------------------------------------------------------------------------- fork


def test_fork_copies_messages_tool_calls_and_usage_into_a_child(store: Store) -> None:
    source = store.create_session(title="original", agent="bot").id
    store.append(source, [user("q"), chat_calls("c1"), chat_result("c1")])
    store.append(source, reply("a"), usage=Usage(input_tokens=10, output_tokens=2))
    fork = store.fork(source)
    assert fork.parent_id == source
    assert fork.relation == "fork"
    assert fork.title == "original"
    assert fork.agent == "bot"
    assert (fork.message_count, fork.last_seq) == (4, 4)
    assert fork.usage.input_tokens == 10
    assert fork.preview == "q"
    assert [m.item for m in store.messages(fork.id)] == [m.item for m in store.messages(source)]
    calls = store.tool_calls(fork.id)
    assert [(c.call_id, c.request_seq, c.result_seq, c.status) for c in calls] == [
        ("c1", 2, 3, "ok")
    ]
    assert store.check() == []


def test_fork_at_a_seq_copies_the_prefix_and_leaves_later_results_pending(store: Store) -> None:
    source = store.create_session().id
    store.append(source, [user("q"), chat_calls("c1"), chat_result("c1"), reply("a")])
    fork = store.fork(source, at_seq=2, title="what if", id="my-fork")
    assert fork.id == "my-fork"
    assert fork.title == "what if"
    assert [m.item for m in store.messages(fork.id)] == [user("q"), chat_calls("c1")]
    assert [c.status for c in store.tool_calls(fork.id)] == ["pending"]
    empty = store.fork(source, at_seq=0)
    assert empty.message_count == 0
    with pytest.raises(AlreadyExists):
        store.fork(source, id="my-fork")
    with pytest.raises(NotFound):
        store.fork("nope")


def test_fork_is_independent_of_its_source(store: Store) -> None:
    source = store.create_session().id
    store.append(source, [user("q"), reply("a")])
    fork = store.fork(source)
    store.append(fork.id, user("only in the fork"))
    store.pop(source)
    assert len(store.messages(source)) == 1
    assert len(store.messages(fork.id)) == 3


def test_fork_after_truncate_and_compact_renumbers_and_keeps_the_history(store: Store) -> None:
    source = _conversation(store)
    store.truncate(source, keep_last=6)
    store.compact(source, "summary", keep_last=3)
    fork = store.fork(source)
    assert [m.seq for m in store.messages(fork.id)] == list(range(1, 8))
    assert store.history(fork.id) == store.history(source)
    assert store.check() == []


def test_fork_of_a_session_with_gaps_renumbers_and_keeps_the_history(store: Store) -> None:
    source = store.create_session().id
    store.append(source, [user("q"), chat_calls("c1")])
    store.append(source, NewMessage(reply("kept note"), visible_to_model=False))
    store.append(source, chat_result("c1"))
    store.replace_history(
        source,
        [user("fresh"), chat_calls("c2"), chat_result("c2")],
        keep_replaced=False,
    )
    store.compact(source, "summary", keep_last=2)
    fork = store.fork(source)
    assert [m.seq for m in store.messages(fork.id)] == list(range(1, 6))
    assert store.history(fork.id) == store.history(source)
    assert [(c.request_seq, c.result_seq) for c in store.tool_calls(fork.id)] == [(3, 4)]
    assert store.check() == []


def test_compact_and_pop_racing_appends_keep_the_session_consistent(store: Store) -> None:
    import threading

    sid = store.create_session().id
    store.append(sid, [user("start"), reply("ok")])
    errors: list[BaseException] = []

    def appender(n: int) -> None:
        try:
            for i in range(15):
                store.append(sid, [user(f"w{n}-{i}"), reply(f"r{n}-{i}")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for i in range(5):
        store.compact(sid, f"summary {i}", keep_last=4)
        store.pop(sid)
    for t in threads:
        t.join()
    assert errors == []
    messages = store.messages(sid)
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
    assert store.get_session(sid).message_count == len(messages) == 2 + 60 + 5 - 5
    history = store.history(sid)
    assert sum(1 for m in messages if m.visible_to_model and m.metadata.get("summary")) <= 1
    assert all(item in [m.item for m in messages] for item in history)
    assert store.check() == []


def test_truncate_cuts_exactly_and_history_leaves_out_the_orphaned_result(store: Store) -> None:
    sid = store.create_session().id
    store.append(sid, [user("q"), chat_calls("c1"), chat_result("c1"), reply("done")])
    assert store.truncate(sid, keep_last=2) == 2
    assert [m.item for m in store.messages(sid)] == [chat_result("c1"), reply("done")]
    assert store.history(sid) == [reply("done")]
    assert store.tool_calls(sid) == []


def test_compacting_an_empty_session_leaves_just_the_summary(store: Store) -> None:
    sid = store.create_session().id
    summary = store.compact(sid, "nothing yet", keep_last=3)
    assert summary.seq == 1
    assert store.history(sid) == [summary.item]
    store.append(sid, user("hi"))
    assert store.history(sid, max_messages=2) == [summary.item, user("hi")]
