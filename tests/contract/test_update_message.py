"""update_message: corrections of a stored message's usage, visibility and metadata,
with the session's totals, history, search and stats following in the same transaction."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import InvalidInput, NewMessage, NotFound, Store, Usage

TURN = [
    NewMessage({"role": "user", "content": "find the blue whale"}, id="u1"),
    NewMessage(
        {"role": "assistant", "content": "the blue whale is large"},
        id="a1",
        usage=Usage(input_tokens=100, output_tokens=10, cost_usd=0.25),
    ),
    NewMessage({"role": "user", "content": "and the orca?"}, id="u2"),
    NewMessage(
        {"role": "assistant", "content": "the orca is a dolphin"},
        id="a2",
        usage=Usage(input_tokens=200, output_tokens=20, cache_read_tokens=50),
    ),
]


def _session(store: Store) -> str:
    s = store.create_session("s")
    store.append(s.id, TURN)
    return s.id


def test_changing_usage_moves_the_session_totals_by_the_difference(store: Store) -> None:
    sid = _session(store)
    new = Usage(input_tokens=130, output_tokens=4, reasoning_tokens=3, cost_usd=0.5)
    returned = store.update_message(sid, "a1", usage=new)
    assert returned.usage == new
    assert store.messages(sid)[1].usage == new
    totals = store.get_session(sid).usage
    assert (totals.input_tokens, totals.output_tokens) == (330, 24)
    assert (totals.cache_read_tokens, totals.reasoning_tokens) == (50, 3)
    assert totals.cost_usd == pytest.approx(0.5)
    stats = store.stats().totals
    assert (stats.input_tokens, stats.output_tokens, stats.reasoning_tokens) == (330, 24, 3)
    assert store.tree_usage(sid) == totals
    assert store.check() == []


def test_usage_none_clears_it_and_usage_can_be_given_to_a_message_without(store: Store) -> None:
    sid = _session(store)
    assert store.update_message(sid, "a2", usage=None).usage is None
    store.update_message(sid, "u1", usage=Usage(input_tokens=7))
    messages = store.messages(sid)
    assert (messages[0].usage, messages[3].usage) == (Usage(input_tokens=7), None)
    totals = store.get_session(sid).usage
    assert (totals.input_tokens, totals.output_tokens, totals.cache_read_tokens) == (107, 10, 0)
    # An empty Usage is the same as none.
    assert store.update_message(sid, "u1", usage=Usage()).usage is None
    assert store.get_session(sid).usage.input_tokens == 100


def test_hidden_from_the_model_leaves_history_and_comes_back(store: Store) -> None:
    sid = _session(store)
    store.update_message(sid, "u1", visible_to_model=False)
    store.update_message(sid, "a1", visible_to_model=False)
    assert [i["content"] for i in store.history(sid)] == [
        "and the orca?",
        "the orca is a dolphin",
    ]
    assert [m.visible_to_model for m in store.messages(sid)] == [False, False, True, True]
    store.update_message(sid, "u1", visible_to_model=True)
    store.update_message(sid, "a1", visible_to_model=True)
    assert len(store.history(sid)) == 4


def test_hidden_from_the_user_leaves_search_unless_hidden_ones_are_asked_for(
    store: Store,
) -> None:
    sid = _session(store)
    assert {h.message_id for h in store.search("whale")} == {"a1", "u1"}
    store.update_message(sid, "a1", visible_to_user=False)
    assert [h.message_id for h in store.search("whale")] == ["u1"]
    assert {h.message_id for h in store.search("whale", include_hidden=True)} == {"u1", "a1"}
    message = store.messages(sid)[1]
    assert (message.visible_to_model, message.visible_to_user) == (True, False)


def test_metadata_is_replaced_and_none_empties_it(store: Store) -> None:
    sid = _session(store)
    store.update_message(sid, "u2", metadata={"a": 1, "b": {"c": [1, 2]}})
    assert store.update_message(sid, "u2", metadata={"b": None}).metadata == {"b": None}
    assert store.messages(sid)[2].metadata == {"b": None}
    store.update_message(sid, "u2", metadata=None)
    assert store.messages(sid)[2].metadata == {}


def test_fields_not_given_are_left_alone(store: Store) -> None:
    sid = _session(store)
    store.update_message(sid, "a2", metadata={"k": "v"}, visible_to_user=False)
    before = store.messages(sid)[3]
    after = store.update_message(sid, "a2")
    assert after == before == store.messages(sid)[3]
    assert after.usage == TURN[3].usage and after.item == TURN[3].item
    assert store.get_session(sid).usage.input_tokens == 300


def test_missing_session_or_message_is_not_found(store: Store) -> None:
    sid = _session(store)
    with pytest.raises(NotFound, match="nope"):
        store.update_message("nope", "a1", visible_to_model=False)
    with pytest.raises(NotFound, match="missing"):
        store.update_message(sid, "missing", visible_to_model=False)


@pytest.mark.parametrize(
    "change",
    [
        {"usage": {"input_tokens": 1}},
        {"visible_to_model": 0},
        {"visible_to_user": "no"},
        {"metadata": {"x": float("nan")}},
        {"metadata": ["not", "an", "object"]},
    ],
)
def test_bad_value_is_invalid_input_and_changes_nothing(
    store: Store, change: dict[str, object]
) -> None:
    sid = _session(store)
    before = (store.messages(sid), store.get_session(sid).usage)
    with pytest.raises(InvalidInput):
        store.update_message(sid, "a1", **change)  # type: ignore[arg-type]
    assert (store.messages(sid), store.get_session(sid).usage) == before


def test_a_fork_copy_can_be_corrected_without_counting_spend_twice(store: Store) -> None:
    sid = _session(store)
    fork = store.fork(sid)
    store.update_message(fork.id, "a1", usage=Usage(input_tokens=1000, output_tokens=10))
    assert store.get_session(fork.id).usage.input_tokens == 1200
    assert store.get_session(sid).usage.input_tokens == 300
    # The copy's spend is the original's: the tree counts the original once.
    assert store.tree_usage(sid).input_tokens == 300


counters = st.one_of(st.none(), st.integers(0, 10_000))
usages = st.none() | st.builds(
    Usage, input_tokens=counters, output_tokens=counters, cache_read_tokens=counters
)
_examples = iter(range(1_000_000))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(st.tuples(st.sampled_from(["u1", "a1", "u2", "a2"]), usages), max_size=8))
def test_session_totals_stay_the_sum_of_message_usage(
    store: Store, changes: list[tuple[str, Usage | None]]
) -> None:
    sid = f"p{next(_examples)}"  # one store serves every example: a session each
    store.create_session(sid)
    store.append(sid, TURN)
    for message_id, usage in changes:
        store.update_message(sid, message_id, usage=usage)
    messages = store.messages(sid)
    totals = store.get_session(sid).usage
    for name in ("input_tokens", "output_tokens", "cache_read_tokens"):
        expected = sum(getattr(m.usage, name) or 0 for m in messages if m.usage is not None)
        assert getattr(totals, name) == expected
