"""Hostile input: whatever a tool produced, sessiondb answers with a result or a
SessionDBError — never another exception — and a refused call writes nothing.

Targets (each at least 1,000 hypothesis examples per backend in CI): ``append`` items,
session fields, search queries and filters. Every target counts what its examples
really contained (see ``_hostile.features``) and fails if lone surrogates, NUL or
NaN/Inf were not generated often enough to mean anything. The importers have their own
targets in ``test_hostile_imports.py``.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import InvalidInput, SessionDBError, Store, Usage
from tests.contract.test_search import FTS_NOISE

from ._hostile import HOSTILE_TEXT, KEYS, PLAIN_VALUES, VALUES, replace, slots, tally
from .conftest import backend, scale

EXAMPLES = scale(1000, 10000)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The share of examples that must contain each kind, or the target proves little.
MIN_SHARE = {"lone surrogate": 0.1, "NUL": 0.02, "NaN/Inf": 0.02}


def _assert_generated(seen: Counter[str], target: str, kinds: dict[str, float]) -> None:
    runs = seen[f"{target}: examples"]
    assert runs >= EXAMPLES, f"{target}: only {runs} examples ran"
    for kind, share in kinds.items():
        got = seen[f"{target}: examples with {kind}"]
        assert got >= share * runs, f"{target}: {kind} in only {got} of {runs} examples"


def attempt(call: Callable[[], Any]) -> tuple[Any, SessionDBError | None]:
    """(result, None), or (None, the SessionDBError ``call`` raised); any other exception
    propagates and fails the test: that is the property under test."""
    try:
        return call(), None
    except SessionDBError as exc:
        return None, exc


roles = st.sampled_from(["user", "assistant", "tool", "system", "", "USER", "x" * 300]) | (
    HOSTILE_TEXT
)
# Real shapes of every dialect sessiondb reads (see dialects.py), so fuzzing reaches the
# projection code: one to three parts of a template are swapped for hostile values.
DIALECT_ITEMS: list[dict[str, Any]] = [
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": {}},
    },
    {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "a.py"}]},
    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]},
    {"role": "assistant", "function_call": {"name": "ls", "arguments": "{}"}},
    {"role": "function", "name": "ls", "content": "a.py"},
    {"type": "function_call", "call_id": "c2", "name": "ls", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c2", "output": "a.py", "status": "completed"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]},
    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
    {"type": "computer_call", "call_id": "c3", "action": {"type": "click"}},
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "tool_use", "id": "t1", "name": "bash", "input": {"cmd": "ls"}},
        ],
        "usage": {"input_tokens": 5, "cache_read_input_tokens": 1, "cost": {"total": 0.1}},
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"text": "ok"}]}],
        "timestamp": "2026-01-01T00:00:00.123456789Z",
    },
    {
        "role": "assistant",
        "content": [
            {
                "type": "toolRequest",
                "id": "g1",
                "toolCall": {"status": "success", "value": {"name": "x", "arguments": {}}},
            }
        ],
        "created": 1767225600000,
    },
    {
        "role": "user",
        "content": [
            {"type": "toolResponse", "id": "g1", "toolResult": {"status": "error", "error": "x"}}
        ],
    },
    {"role": "toolResult", "toolCallId": "p1", "content": [{"type": "text", "text": "ok"}]},
    {"role": "refusal", "content": [{"type": "refusal", "refusal": "no"}], "model": "m"},
]
SAFE_VALUES = PLAIN_VALUES | HOSTILE_TEXT


@st.composite
def dialect_items(draw: st.DrawFn) -> Any:
    item: Any = draw(st.sampled_from(DIALECT_ITEMS))
    paths = draw(st.lists(st.sampled_from(slots(item)), min_size=1, max_size=3, unique=True))
    for i, path in enumerate(paths):
        # Specials (cycles, 33 MiB, nesting past the recursion limit) only go in last:
        # replace() copies the item, and deepcopy cannot walk those.
        new = draw(VALUES if i == len(paths) - 1 else SAFE_VALUES)
        try:
            item = replace(item, path, new)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier swap removed that path
    return item


ITEMS = st.one_of(
    dialect_items(),
    dialect_items(),
    st.builds(
        lambda r, c, extra: {**extra, "role": r, "content": c},
        st.sampled_from(["user", "assistant", "system", "developer"]),
        PLAIN_VALUES,
        st.dictionaries(st.text(max_size=10), PLAIN_VALUES, max_size=3),
    ),
    st.dictionaries(KEYS, VALUES, max_size=5),
    st.builds(
        lambda r, c, extra: {"role": r, "content": c, **extra},
        roles,
        VALUES,
        st.dictionaries(HOSTILE_TEXT, VALUES, max_size=3),
    ),
    st.builds(
        lambda t, extra: {"type": t, **extra},
        HOSTILE_TEXT
        | st.sampled_from(["function_call", "function_call_output", "message", "reasoning"]),
        st.dictionaries(HOSTILE_TEXT, VALUES, max_size=4),
    ),
    VALUES,
)


def _snapshot(store: Store, sid: str) -> tuple[Any, ...]:
    s = store.get_session(sid)
    return (s.message_count, s.last_seq, s.usage, len(store.tool_calls(sid)), s.updated_at)


def test_fuzzed_items_are_stored_or_refused_cleanly(store: Store, counts: Counter[str]) -> None:
    target = f"hostile items [{backend(store.url)}]"
    seen: Counter[str] = Counter()
    sid = store.create_session("fuzz").id

    @SETTINGS
    @given(batch=st.lists(ITEMS, min_size=1, max_size=3))
    def check(batch: list[Any]) -> None:
        seen[f"{target}: examples"] += 1
        tally(seen, target, batch)
        before = _snapshot(store, sid)
        stored, error = attempt(lambda: store.append(sid, batch, usage=Usage(output_tokens=1)))
        if error is not None:
            assert isinstance(error, InvalidInput), f"valid or InvalidInput expected: {error!r}"
            assert ":" in str(error), f"the error names no field: {error}"
            assert _snapshot(store, sid) == before, "a refused append changed the session"
            seen[f"{target}: refused, session unchanged"] += 1
            return
        after = store.messages(sid, last=len(stored))
        assert [m.seq for m in after] == [m.seq for m in stored]
        assert [m.id for m in after] == [m.id for m in stored]
        assert store.get_session(sid).last_seq == before[1] + len(stored)
        seen[f"{target}: accepted, read back"] += 1

    check()
    _assert_generated(seen, target, MIN_SHARE)
    assert seen[f"{target}: accepted, read back"] > 0
    assert store.check() == []
    # Whatever was accepted can be exported in every format, windowed and compacted.
    for kind in ("jsonl", "markdown", "openai"):
        store.export(sid, kind)
    assert store.history(sid, max_tokens=1000) is not None
    store.compact(sid, "summary of the fuzz", keep_last=3)
    assert store.history(sid)[0]["content"] == "summary of the fuzz"
    counts.update(seen)


def test_deep_nesting_and_huge_content_are_handled(store: Store, counts: Counter[str]) -> None:
    sid = store.create_session().id
    nested: Any = "leaf"
    for _ in range(sys.getrecursionlimit() * 2):
        nested = {"a": nested}
    with pytest.raises(InvalidInput):
        store.append(sid, {"role": "user", "content": nested})
    huge = "x" * (50 * 1024 * 1024)  # over the default 32 MiB maximum
    with pytest.raises(InvalidInput, match="maximum"):
        store.append(sid, {"role": "user", "content": huge})
    big = "y" * (5 * 1024 * 1024)
    store.append(sid, {"role": "user", "content": big})
    assert store.messages(sid)[0].item["content"] == big
    assert store.get_session(sid).message_count == 1
    counts["hostile: huge/deep items verified"] += 3


SESSION_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "title": HOSTILE_TEXT | st.integers() | VALUES,
        "agent": HOSTILE_TEXT,
        "model": HOSTILE_TEXT | VALUES,
        "source": HOSTILE_TEXT,
        "user_id": HOSTILE_TEXT,
        "working_dir": HOSTILE_TEXT,
        "status": HOSTILE_TEXT | st.sampled_from(["active", "completed", "interrupted"]),
        "relation": HOSTILE_TEXT | st.none(),
        "parent_id": HOSTILE_TEXT,
        "created_at": st.datetimes(timezones=st.none() | st.timezones()) | VALUES,
        "metadata": st.dictionaries(KEYS, VALUES, max_size=3) | VALUES,
    },
)


def test_fuzzed_session_fields_create_or_refuse_cleanly(store: Store, counts: Counter[str]) -> None:
    target = f"hostile sessions [{backend(store.url)}]"
    seen: Counter[str] = Counter()

    @SETTINGS
    @given(sid=st.none() | HOSTILE_TEXT | VALUES, fields=SESSION_FIELDS)
    def check(sid: Any, fields: dict[str, Any]) -> None:
        seen[f"{target}: examples"] += 1
        tally(seen, target, [sid, fields])
        s, error = attempt(lambda: store.create_session(sid, **fields))
        if error is not None:
            # NotFound for a parent that does not exist is a refusal like any other.
            assert store.list_sessions(limit=1).items == [], f"{error!r} left a session behind"
            seen[f"{target}: refused, nothing stored"] += 1
            return
        assert store.get_session(s.id) == s
        assert store.delete_session(s.id) == 1
        seen[f"{target}: accepted, read back"] += 1

    check()
    _assert_generated(seen, target, {"lone surrogate": 0.1, "NUL": 0.02})
    assert seen[f"{target}: accepted, read back"] > 0
    counts.update(seen)


@pytest.fixture
def corpus(store: Store) -> Store:
    """A few sessions with words, identifiers, CJK, tool calls and a hidden message."""
    a = store.create_session("a", title="a", agent="coder", source="cli", user_id="u1")
    store.append(
        a.id,
        [
            {"role": "user", "content": "please run the migration for tenant acme"},
            {"role": "assistant", "content": "数据库迁移已经完成 naïve café"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "read_file", "arguments": '{"path": "src/a.py"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "def snake_case(): return 42"},
        ],
    )
    store.append(a.id, {"role": "user", "content": "secret migration"}, ids=["hidden"])
    b = store.create_session("b", title="b", agent="writer", status="completed")
    store.append(b.id, [{"role": "user", "content": f'tenant {i} 😀 -- OR "x"'} for i in range(5)])
    return store


SEARCH_QUERIES = st.one_of(
    HOSTILE_TEXT,
    st.lists(FTS_NOISE | HOSTILE_TEXT, max_size=8).map("".join),
    st.lists(FTS_NOISE, min_size=1, max_size=8).map(" ".join),
    VALUES,  # not a string at all
)
SEARCH_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "session_id": HOSTILE_TEXT | st.sampled_from(["a", "b"]),
        "agent": HOSTILE_TEXT,
        "role": HOSTILE_TEXT | st.sampled_from(["user", "assistant", "tool"]),
        "tool": HOSTILE_TEXT | st.just("read_file"),
        "status": HOSTILE_TEXT | st.just("completed"),
        "include_hidden": st.booleans(),
        "limit": st.integers(-3, 200),
        "cursor": HOSTILE_TEXT,
    },
)


def test_fuzzed_search_queries_give_hits_or_invalid_input(
    corpus: Store, counts: Counter[str]
) -> None:
    target = f"hostile search [{backend(corpus.url)}]"
    seen: Counter[str] = Counter()
    sessions = {s.id for s in corpus.list_sessions().items}
    before = [corpus.get_session(sid) for sid in sorted(sessions)]

    def run(call: Callable[[], Any], limit: int) -> None:
        page, error = attempt(call)
        if error is not None:
            assert isinstance(error, InvalidInput), f"hits or InvalidInput expected: {error!r}"
            assert ":" in str(error), f"the error names no parameter: {error}"
            seen[f"{target}: refused with InvalidInput"] += 1
            return
        assert len(page) <= limit
        for hit in page:
            assert (hit.session_id if hasattr(hit, "session_id") else hit.session.id) in sessions
        seen[f"{target}: answered"] += 1

    @SETTINGS
    @given(query=SEARCH_QUERIES, filters=SEARCH_FILTERS, per_session=st.booleans())
    def check(query: Any, filters: dict[str, Any], per_session: bool) -> None:
        seen[f"{target}: examples"] += 1
        tally(seen, target, query)
        limit = filters.get("limit", 20)
        if per_session:
            filters = {k: v for k, v in filters.items() if k not in ("session_id", "role", "tool")}
            run(lambda: corpus.sessions_matching(query, **filters), limit)
        else:
            run(lambda: corpus.search(query, **filters), limit)

    check()
    # Plain text queries that are not strings cannot hold NUL or NaN as text: only
    # surrogates are required here, NUL comes from HOSTILE_TEXT and FTS_NOISE.
    _assert_generated(seen, target, {"lone surrogate": 0.1, "NUL": 0.02})
    assert seen[f"{target}: answered"] > 0
    assert [corpus.get_session(sid) for sid in sorted(sessions)] == before  # reads only
    counts.update(seen)


# Every Store call that takes a session id (or a filter naming one), each with its other
# arguments fixed: the fuzzed value goes where the id goes.
LOOKUPS: dict[str, Callable[[Store, Any], Any]] = {
    "get_session": lambda db, v: db.get_session(v),
    "ensure_session": lambda db, v: db.ensure_session(v),
    "update_session": lambda db, v: db.update_session(v, title="t"),
    "delete_session": lambda db, v: db.delete_session(v),
    "append": lambda db, v: db.append(v, {"role": "user", "content": "x"}),
    "messages": lambda db, v: db.messages(v),
    "items": lambda db, v: db.items(v, last=2),
    "tool_calls": lambda db, v: db.tool_calls(v),
    "history": lambda db, v: db.history(v, max_messages=5),
    "compact": lambda db, v: db.compact(v, "summary"),
    "truncate": lambda db, v: db.truncate(v, keep_last=1),
    "replace_history": lambda db, v: db.replace_history(v, [{"role": "user", "content": "x"}]),
    "pop": lambda db, v: db.pop(v),
    "clear": lambda db, v: db.clear(v),
    "fork": lambda db, v: db.fork(v),
    "fork into": lambda db, v: db.fork(KEPT, id=v),
    "children": lambda db, v: db.children(v),
    "ancestors": lambda db, v: db.ancestors(v),
    "tree": lambda db, v: db.tree(v),
    "tree_usage": lambda db, v: db.tree_usage(v),
    "export": lambda db, v: db.export(v),
    "list_sessions(parent_id)": lambda db, v: db.list_sessions(parent_id=v),
    "list_sessions(agent)": lambda db, v: db.list_sessions(agent=v, source=v, user_id=v),
    "list_sessions(cursor)": lambda db, v: db.list_sessions(cursor=v),
    "stats": lambda db, v: db.stats(agent=v, source=v, user_id=v),
}
KEPT = "kept-session-3f9c2a"  # a real session no fuzzed id is going to hit


def test_fuzzed_session_ids_in_every_call_answer_or_refuse_cleanly(
    store: Store, counts: Counter[str]
) -> None:
    """A lone surrogate, NUL, a non-string... as a session id or filter: a result,
    NotFound or InvalidInput, never a driver error, and the stored session is untouched."""
    target = f"hostile lookups [{backend(store.url)}]"
    seen: Counter[str] = Counter()
    store.create_session(KEPT, title="kept")
    store.append(KEPT, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
    kept = (store.get_session(KEPT), store.messages(KEPT))

    @SETTINGS
    @given(call=st.sampled_from(sorted(LOOKUPS)), value=HOSTILE_TEXT | VALUES)
    def check(call: str, value: Any) -> None:
        seen[f"{target}: examples"] += 1
        tally(seen, target, value)
        _, error = attempt(lambda: LOOKUPS[call](store, value))
        if error is None:
            seen[f"{target}: answered"] += 1
        else:
            assert str(error), call
            seen[f"{target}: refused ({type(error).__name__})"] += 1
        assert (store.get_session(KEPT), store.messages(KEPT)) == kept
        for session in store.list_sessions(limit=10).items:  # what ensure/fork created
            if session.id != KEPT:
                store.delete_session(session.id)

    check()
    _assert_generated(seen, target, {"lone surrogate": 0.1, "NUL": 0.02})
    counts.update(seen)
