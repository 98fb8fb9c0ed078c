"""Property tests of history() and compact() on random sessions with tool calls.

Sessions mix three dialects (OpenAI chat tool_calls + role tool, Anthropic tool_use /
tool_result blocks, Responses function_call / function_call_output), hidden messages,
pending calls and the odd orphan result. The oracle below reads the items it generated
itself (not sessiondb's projection) and checks every suffix by brute force.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import NewMessage, Store
from sessiondb.history import estimate_tokens

Item = dict[str, Any]


# ---------------------------------------------------------------------------- oracle


def calls_and_results(item: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Call ids an item makes and call ids it answers, for the generated dialects."""
    calls: list[str] = []
    results: list[str] = []
    if item.get("type") == "function_call":
        calls.append(item["call_id"])
    elif item.get("type") == "function_call_output":
        results.append(item["call_id"])
    elif item.get("role") == "tool":
        results.append(item["tool_call_id"])
    for call in item.get("tool_calls") or []:
        calls.append(call["id"])
    content = item.get("content")
    if isinstance(content, list):
        for block in content:
            if block.get("type") == "tool_use":
                calls.append(block["id"])
            elif block.get("type") == "tool_result":
                results.append(block["tool_use_id"])
    return calls, results


def is_legal(window: list[Item]) -> bool:
    """Every tool result in the window answers a call made earlier in the window."""
    open_calls: set[str] = set()
    for item in window:
        calls, results = calls_and_results(item)
        if any(r not in open_calls for r in results):
            return False
        open_calls.update(calls)
    return True


def is_user_turn(item: Mapping[str, Any]) -> bool:
    return item.get("role") == "user" and not calls_and_results(item)[1]


def expected_history(
    logical: list[Item],
    max_messages: int | None,
    max_tokens: int | None,
    counter: Callable[[Mapping[str, Any]], int],
) -> list[Item]:
    """The documented rules, by brute force over every suffix."""
    if max_messages == 0 or max_tokens == 0:
        return []
    n = len(logical)

    def fits(i: int) -> bool:
        suffix = logical[i:]
        if max_messages is not None and len(suffix) > max_messages:
            return False
        return max_tokens is None or sum(counter(x) for x in suffix) <= max_tokens

    legal = [i for i in range(n) if is_legal(logical[i:])]
    if fits(0):
        return logical[min(legal) :] if legal else []
    fitting = [i for i in legal if fits(i)]
    preferred = [i for i in fitting if is_user_turn(logical[i])]
    if preferred:
        return logical[min(preferred) :]
    if fitting:
        return logical[min(fitting) :]
    return logical[max(legal) :] if legal else []  # the tight-budget case


def expected_tail(visible: list[Item], keep_last: int) -> list[Item]:
    """What compact(keep_last=...) keeps visible after the summary."""
    if keep_last == 0:
        return []
    n = len(visible)
    legal = [i for i in range(n) if is_legal(visible[i:])]
    long_enough = [i for i in legal if n - i >= keep_last]
    if long_enough:
        return visible[max(long_enough) :]
    return visible[min(legal) :] if legal else []


def logical_visible(store: Store, sid: str) -> list[Item]:
    """Model-visible items, the compaction summary first (it precedes the kept tail)."""
    visible = [m for m in store.messages(sid) if m.visible_to_model]
    summaries = [m.item for m in visible if m.metadata.get("summary") is True]
    return summaries + [m.item for m in visible if m.metadata.get("summary") is not True]


# ---------------------------------------------------------------------------- sessions

words = st.sampled_from(["alpha", "beta", "gamma", "delta", "long " * 12, "数据库", ""])


@st.composite
def tool_round(draw: st.DrawFn, ids: list[int], *, answered: bool) -> list[Item]:
    """One assistant tool-call step with 1-3 parallel calls in one dialect."""
    dialect = draw(st.sampled_from(["chat", "anthropic", "responses"]))
    count = draw(st.integers(1, 3))
    names = []
    for _ in range(count):
        ids[0] += 1
        names.append(f"call_{ids[0]}")
    text = draw(words)
    if dialect == "chat":
        out: list[Item] = [
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {"id": c, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    for c in names
                ],
            }
        ]
        if answered:
            out += [{"role": "tool", "tool_call_id": c, "content": text} for c in names]
    elif dialect == "anthropic":
        blocks = [{"type": "tool_use", "id": c, "name": "f", "input": {}} for c in names]
        out = [{"role": "assistant", "content": [{"type": "text", "text": text}, *blocks]}]
        if answered:
            out.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": c, "content": text} for c in names
                    ],
                }
            )
    else:
        out = [
            {"type": "function_call", "call_id": c, "name": "f", "arguments": "{}"} for c in names
        ]
        if answered:
            out += [{"type": "function_call_output", "call_id": c, "output": text} for c in names]
    return out


@st.composite
def session_items(draw: st.DrawFn) -> list[Item | NewMessage]:
    """A random session: turns of user, tool rounds and replies, with some noise."""
    ids = [0]
    items: list[Item | NewMessage] = []
    if draw(st.booleans()):
        items.append({"role": "system", "content": "you are terse"})
    turns = draw(st.integers(1, 5))
    for turn in range(turns):
        items.append({"role": "user", "content": draw(words)})
        rounds = draw(st.integers(0, 3))
        for r in range(rounds):
            last = turn == turns - 1 and r == rounds - 1
            answered = not last or draw(st.booleans())  # the very last call may be pending
            items.extend(draw(tool_round(ids, answered=answered)))
        if draw(st.booleans()):
            items.append({"role": "assistant", "content": draw(words)})
        noise = draw(st.sampled_from(["none", "none", "none", "hidden", "orphan"]))
        if noise == "hidden":
            items.append(
                NewMessage({"role": "assistant", "content": "scratch"}, visible_to_model=False)
            )
        elif noise == "orphan":
            items.append({"role": "tool", "tool_call_id": "never-called", "content": "?"})
    return items


def counter_for(kind: str) -> Callable[[Mapping[str, Any]], int] | None:
    if kind == "default":
        return None
    return lambda item: len(json.dumps(item)) // 10 + 1


budgets = st.tuples(
    st.none() | st.integers(0, 12),
    st.none() | st.integers(0, 300),
    st.sampled_from(["default", "length"]),
)

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_window(store: Store, sid: str, limits: tuple[int | None, int | None, str]) -> None:
    max_messages, max_tokens, kind = limits
    counter = counter_for(kind)
    got = store.history(
        sid, max_messages=max_messages, max_tokens=max_tokens, token_counter=counter
    )
    logical = logical_visible(store, sid)
    count = counter or estimate_tokens

    # Always a suffix of the model-visible messages (in logical order).
    assert got == logical[len(logical) - len(got) :]
    # Never an orphan tool result, at the start or anywhere.
    assert is_legal(got)
    # Within the budgets, unless no legal suffix fits at all (the documented exception).
    within = (max_messages is None or len(got) <= max_messages) and (
        max_tokens is None or sum(count(x) for x in got) <= max_tokens
    )
    if not within:
        for i in range(len(logical) - len(got) + 1, len(logical)):
            assert not is_legal(logical[i:]), "a shorter legal suffix existed"
    # And exactly the suffix the documented rules choose.
    assert got == expected_history(logical, max_messages, max_tokens, count)


@SETTINGS
@given(items=session_items(), limits=st.lists(budgets, min_size=1, max_size=4))
def test_history_is_always_a_legal_suffix_within_budget(
    store: Store, items: list[Item | NewMessage], limits: list[Any]
) -> None:
    sid = store.create_session().id
    store.append(sid, items)
    for limit in limits:
        check_window(store, sid, limit)


@SETTINGS
@given(
    items=session_items(),
    keep_last=st.integers(0, 8),
    more=session_items(),
    limits=st.lists(budgets, min_size=1, max_size=3),
)
def test_compaction_keeps_every_item_and_history_is_summary_plus_legal_tail(
    store: Store,
    items: list[Item | NewMessage],
    keep_last: int,
    more: list[Item | NewMessage],
    limits: list[Any],
) -> None:
    sid = store.create_session().id
    store.append(sid, items)
    visible_before = logical_visible(store, sid)
    summary = store.compact(sid, "summary one", keep_last=keep_last)

    history = store.history(sid)
    tail = history[1:]
    assert history[0] == summary.item
    # The kept tail is the shortest legal suffix at least keep_last long (the last
    # keep_last moved back to a legal boundary), or the longest legal one when shorter.
    assert tail == expected_tail(visible_before, keep_last)
    assert is_legal(tail)

    # messages() still returns every original item unchanged, then the summary.
    originals = [x.item if isinstance(x, NewMessage) else x for x in items]
    assert [m.item for m in store.messages(sid)] == [*originals, summary.item]

    # Compacting again on top, after more turns, replaces the first summary.
    store.append(sid, more)
    second = store.compact(sid, "summary two", keep_last=keep_last)
    assert store.history(sid)[0] == second.item
    assert all(m.item != summary.item or not m.visible_to_model for m in store.messages(sid))
    for limit in limits:
        check_window(store, sid, limit)
    assert store.check() == []


operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), session_items()),
        st.tuples(st.just("compact"), st.integers(0, 6)),
        st.tuples(st.just("pop"), st.integers(1, 3)),
        st.tuples(st.just("truncate"), st.integers(0, 10)),
        st.tuples(st.just("replace"), st.booleans()),
    ),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(ops=operations, limits=budgets)
def test_any_mix_of_history_operations_keeps_counters_and_tool_calls_consistent(
    store: Store, ops: list[tuple[str, Any]], limits: tuple[int | None, int | None, str]
) -> None:
    sid = store.create_session().id
    for op, arg in ops:
        if op == "append":
            store.append(sid, arg)
        elif op == "compact":
            store.compact(sid, "summary", keep_last=arg)
        elif op == "pop":
            for _ in range(arg):
                store.pop(sid)
        elif op == "truncate":
            store.truncate(sid, keep_last=arg)
        else:
            store.replace_history(sid, [{"role": "user", "content": "fresh"}], keep_replaced=arg)

    messages = store.messages(sid)
    by_seq = {m.seq: m for m in messages}
    session = store.get_session(sid)
    assert session.message_count == len(messages)
    assert session.last_seq >= max(by_seq, default=0)
    for call in store.tool_calls(sid):
        assert call.call_id in calls_and_results(by_seq[call.request_seq].item)[0]
        if call.result_seq is None:
            assert call.status == "pending"
        else:
            assert call.call_id in calls_and_results(by_seq[call.result_seq].item)[1]
    assert sum(1 for m in messages if m.visible_to_model and m.metadata.get("summary")) <= 1
    assert store.check() == []
    check_window(store, sid, limits)
    fork = store.fork(sid)
    assert store.history(fork.id) == store.history(sid)
    assert [m.item for m in store.messages(fork.id)] == [m.item for m in messages]
