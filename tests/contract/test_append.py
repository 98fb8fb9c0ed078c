"""append and messages: atomic batches, counters, idempotency, optimistic concurrency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import sessiondb
from sessiondb import Conflict, InvalidInput, NewMessage, NotFound, Store, Usage

ASSISTANT_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "ls", "arguments": '{"path": "."}'},
        }
    ],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "a.py b.py"}


def test_append_assigns_contiguous_seqs_and_returns_messages(store: Store) -> None:
    s = store.create_session()
    first = store.append(s.id, {"role": "user", "content": "hi"})
    batch = store.append(s.id, [ASSISTANT_CALL, TOOL_RESULT])
    assert [m.seq for m in first + batch] == [1, 2, 3]
    assert [m.role for m in first + batch] == ["user", "assistant", "tool"]
    stored = store.messages(s.id)
    assert [m.item for m in stored] == [
        {"role": "user", "content": "hi"},
        ASSISTANT_CALL,
        TOOL_RESULT,
    ]
    assert [m.id for m in stored] == [m.id for m in first + batch]


def test_append_updates_counters_usage_preview_and_model_together(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "  Fix\n the   build  please "})
    usage = Usage(input_tokens=812, output_tokens=95, cost_usd=0.0031)
    store.append(s.id, [ASSISTANT_CALL, TOOL_RESULT], usage=usage, model="gpt-4.1")
    store.append(s.id, {"role": "assistant", "content": "done"}, usage=Usage(output_tokens=5))
    got = store.get_session(s.id)
    assert got.message_count == 4 and got.last_seq == 4
    assert got.preview == "Fix the build please"
    assert got.model == "gpt-4.1"
    assert got.usage.input_tokens == 812
    assert got.usage.output_tokens == 100
    assert got.usage.cost_usd == pytest.approx(0.0031)
    assert got.last_message_at is not None and got.updated_at >= got.created_at
    messages = store.messages(s.id)
    assert messages[1].usage == usage and messages[1].model == "gpt-4.1"
    assert messages[2].usage is None


def test_preview_is_the_first_user_text_ever_appended(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "system", "content": "be brief"})
    store.append(s.id, {"role": "user", "content": "  first   question "})
    store.append(s.id, {"role": "user", "content": "second question"})
    assert store.get_session(s.id).preview == "first question"


def test_a_call_answered_in_the_same_batch_is_returned_as_stored(store: Store) -> None:
    s = store.create_session()
    returned = store.append(s.id, [ASSISTANT_CALL, TOOL_RESULT])
    call = returned[0].tool_calls[0]
    assert (call.status, call.result_seq, call.result_text) == ("ok", 2, "a.py b.py")
    assert returned == store.messages(s.id)


def _call(call_id: str) -> dict[str, object]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": "ls", "arguments": "{}"}}
        ],
    }


def test_a_result_answers_the_newest_earlier_call_never_a_later_one(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, [_call("x"), _call("x")])  # two pending calls with one id: 1, 2
    returned = store.append(
        s.id, [{"role": "tool", "tool_call_id": "x", "content": "r"}, _call("x")]
    )  # the result (3) answers call 2; the call after it (4) stays pending
    calls = store.tool_calls(s.id)
    assert [(c.request_seq, c.status, c.result_seq) for c in calls] == [
        (1, "pending", None),
        (2, "ok", 3),
        (4, "pending", None),
    ]
    assert returned == store.messages(s.id)[2:]


def test_preview_is_cut_at_120_characters(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "system", "content": "not a preview"})
    store.append(s.id, {"role": "user", "content": "word " * 100})
    preview = store.get_session(s.id).preview
    assert preview is not None and len(preview) <= 120 and preview.startswith("word word")


def test_tool_calls_are_rows_matched_to_results(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, [ASSISTANT_CALL, TOOL_RESULT])
    store.append(
        s.id,
        [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "grep", "input": {"q": "x"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "boom",
                        "is_error": True,
                    }
                ],
            },
        ],
    )
    calls = store.tool_calls(s.id)
    assert [(c.name, c.status, c.request_seq, c.result_seq) for c in calls] == [
        ("ls", "ok", 1, 2),
        ("grep", "error", 3, 4),
    ]
    assert calls[0].arguments == '{"path": "."}' and calls[1].arguments == '{"q": "x"}'
    assert calls[0].result_text == "a.py b.py" and calls[0].duration_ms is not None
    assert [c.name for c in store.tool_calls(name="grep")] == ["grep"]
    assert [c.name for c in store.tool_calls(status="error")] == ["grep"]
    msgs = store.messages(s.id)
    assert msgs[0].tool_calls[0].status == "ok"
    assert msgs[3].role == "tool" and msgs[3].tool_call_id == "toolu_1"


def test_pending_tool_call_stays_pending(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, ASSISTANT_CALL)
    assert [c.status for c in store.tool_calls(s.id)] == ["pending"]


def test_a_result_never_answers_a_call_made_after_it_batched_or_not(store: Store) -> None:
    # Ids repeat in real data (trimmed fixtures, retries): a result before its call
    # leaves that call pending, whether the messages come in one batch or one by one.
    early_result = {"role": "tool", "tool_call_id": "call_1", "content": "too early"}
    items = [TOOL_RESULT, ASSISTANT_CALL, early_result, ASSISTANT_CALL, TOOL_RESULT]
    batched = store.create_session("batched")
    store.append(batched.id, items)
    single = store.create_session("single")
    for item in items:
        store.append(single.id, item)
    for sid in (batched.id, single.id):
        calls = store.tool_calls(sid)
        assert [(c.request_seq, c.result_seq, c.status) for c in calls] == [
            (2, 3, "ok"),
            (4, 5, "ok"),
        ]
        assert calls[0].result_text == "too early"


def test_append_to_missing_session_raises_not_found_and_writes_nothing(store: Store) -> None:
    with pytest.raises(NotFound, match="ghost"):
        store.append("ghost", {"role": "user", "content": "hi"})
    assert store.list_sessions().items == []


def test_idempotent_append_returns_stored_message_without_duplicating(store: Store) -> None:
    s = store.create_session()
    first = store.append(s.id, [{"role": "user", "content": "a"}], ids=["m1"])
    retry = store.append(s.id, [{"role": "user", "content": "a"}], ids=["m1"])
    assert retry == store.messages(s.id)
    assert retry[0].seq == first[0].seq == 1
    assert store.get_session(s.id).message_count == 1


def test_idempotent_retry_of_a_partly_stored_batch_adds_only_new_messages(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "a"}, ids=["m1"])
    out = store.append(
        s.id,
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        ids=["m1", "m2"],
    )
    assert [(m.id, m.seq) for m in out] == [("m1", 1), ("m2", 2)]
    assert store.get_session(s.id).message_count == 2


def test_item_id_fields_are_not_trusted_as_unique(store: Store) -> None:
    # The OpenAI Agents SDK writes "__fake_id__" on every chat-completions item.
    s = store.create_session()
    items = [{"id": "__fake_id__", "role": "user", "content": str(i)} for i in range(3)]
    store.append(s.id, items)
    store.append(s.id, items[0])
    assert [m.item for m in store.messages(s.id)] == [*items, items[0]]


def test_new_message_carries_id_time_visibility_and_metadata(store: Store) -> None:
    s = store.create_session()
    when = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    store.append(
        s.id,
        NewMessage(
            {"role": "user", "content": "old"},
            id="src-1",
            created_at=when,
            model="m",
            usage=Usage(input_tokens=3),
            visible_to_model=False,
            visible_to_user=True,
            metadata={"source_line": 7},
        ),
    )
    m = store.messages(s.id)[0]
    assert (m.id, m.created_at, m.model, m.usage) == ("src-1", when, "m", Usage(input_tokens=3))
    assert (m.visible_to_model, m.visible_to_user, m.metadata) == (False, True, {"source_line": 7})


def test_timestamps_in_items_are_used(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "x", "timestamp": "2026-01-02T03:04:05"})
    assert store.messages(s.id)[0].created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_expect_last_seq_appends_when_it_matches(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "a"}, expect_last_seq=0)
    store.append(s.id, {"role": "user", "content": "b"}, expect_last_seq=1)
    assert store.get_session(s.id).last_seq == 2


def test_expect_last_seq_mismatch_raises_conflict_and_writes_nothing(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "a"})
    with pytest.raises(Conflict) as info:
        store.append(
            s.id, {"role": "user", "content": "b"}, expect_last_seq=0, usage=Usage(output_tokens=9)
        )
    assert (info.value.expected, info.value.actual) == (0, 1)
    got = store.get_session(s.id)
    assert got.message_count == 1 and got.usage.output_tokens == 0


def test_expect_last_seq_does_not_break_an_idempotent_retry(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": "a"}, ids=["m1"], expect_last_seq=0)
    again = store.append(s.id, {"role": "user", "content": "a"}, ids=["m1"], expect_last_seq=0)
    assert again[0].seq == 1


def test_session_metadata_changes_with_the_append(store: Store) -> None:
    s = store.create_session(metadata={"state": 1, "gone": True})
    store.append(
        s.id, {"role": "user", "content": "a"}, session_metadata={"state": 2, "gone": None}
    )
    assert store.get_session(s.id).metadata == {"state": 2}
    with pytest.raises(Conflict):
        store.append(
            s.id, {"role": "user", "content": "b"}, expect_last_seq=0, session_metadata={"state": 3}
        )
    assert store.get_session(s.id).metadata == {"state": 2}


def test_messages_windows(store: Store) -> None:
    s = store.create_session()
    store.append(s.id, [{"role": "user", "content": str(i)} for i in range(1, 11)])
    seqs = lambda ms: [m.seq for m in ms]  # noqa: E731
    assert seqs(store.messages(s.id, last=3)) == [8, 9, 10]
    assert seqs(store.messages(s.id, limit=2)) == [1, 2]
    assert seqs(store.messages(s.id, after_seq=7)) == [8, 9, 10]
    assert seqs(store.messages(s.id, before_seq=3)) == [1, 2]
    assert seqs(store.messages(s.id, after_seq=2, before_seq=9, last=2)) == [7, 8]
    assert seqs(store.messages(s.id, after_seq=2, limit=2)) == [3, 4]
    assert store.messages(s.id, last=0) == []
    assert store.messages(s.id, after_seq=10) == []
    with pytest.raises(InvalidInput):
        store.messages(s.id, last=1, limit=1)
    with pytest.raises(InvalidInput):
        store.messages(s.id, last=-1)


def test_messages_of_missing_session_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.messages("nope", last=5)


def test_empty_batch_appends_nothing(store: Store) -> None:
    s = store.create_session()
    assert store.append(s.id, []) == []
    assert store.get_session(s.id).message_count == 0
    with pytest.raises(NotFound):
        store.append("nope", [])


def test_async_facade_works_end_to_end(store: Store) -> None:
    import asyncio

    async def scenario() -> list[str]:
        db = sessiondb.AsyncStore(store)
        s = await db.create_session(agent="async")
        await db.append(s.id, {"role": "user", "content": "hello"})
        return [m.text for m in await db.messages(s.id)]

    assert asyncio.run(scenario()) == ["hello"]


def test_calls_of_one_message_with_the_same_or_no_id_are_all_kept(store: Store) -> None:
    s = store.create_session()
    item = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "dup", "type": "function", "function": {"name": "a", "arguments": "1"}},
            {"id": "dup", "type": "function", "function": {"name": "b", "arguments": "2"}},
            {"type": "function", "function": {"name": "c", "arguments": "3"}},
            {"type": "function", "function": {"name": "d", "arguments": "4"}},
        ],
    }
    returned = store.append(s.id, item)
    assert [c.name for c in returned[0].tool_calls] == ["a", "b", "c", "d"]
    assert returned == store.messages(s.id)
    assert [c.name for c in store.tool_calls(name="b")] == ["b"]
    assert [c.name for c in store.tool_calls(s.id)] == ["a", "b", "c", "d"]
    # Two results for "dup" answer the newest pending call first, then the other.
    store.append(
        s.id,
        [
            {"role": "tool", "tool_call_id": "dup", "content": "first"},
            {"role": "tool", "tool_call_id": "dup", "content": "second"},
        ],
    )
    done = {c.name: c.result_text for c in store.tool_calls(s.id)}
    assert done == {"a": "second", "b": "first", "c": None, "d": None}
