"""Hostile input: whatever a tool produced, sessiondb answers with a result or a
SessionDBError — never another exception — and a refused append writes nothing.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import InvalidInput, SessionDBError, Store, Usage
from tests.importers.test_fuzz import SAMPLES, _check, _mutate, _sample

from .conftest import scale

EXAMPLES = scale(1000, 10000)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

any_text = st.text(max_size=60)  # includes NUL and lone surrogates
weird_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and Inf included
    | any_text
    | st.binary(max_size=10)
)
weird_keys = any_text | st.integers() | st.none() | st.booleans()
weird_values = st.recursive(
    weird_scalars,
    lambda c: (
        st.lists(c, max_size=4) | st.dictionaries(weird_keys, c, max_size=4) | st.tuples(c, c)
    ),
    max_leaves=15,
)
roles = st.sampled_from(["user", "assistant", "tool", "system", "", "USER", "x" * 300]) | any_text
items = st.one_of(
    st.dictionaries(weird_keys, weird_values, max_size=5),
    st.builds(
        lambda r, c, extra: {"role": r, "content": c, **extra},
        roles,
        weird_values,
        st.dictionaries(any_text, weird_values, max_size=3),
    ),
    st.builds(
        lambda t, extra: {"type": t, **extra},
        any_text
        | st.sampled_from(["function_call", "function_call_output", "message", "reasoning"]),
        st.dictionaries(any_text, weird_values, max_size=4),
    ),
    weird_values,
)


def _snapshot(store: Store, sid: str) -> tuple[Any, ...]:
    s = store.get_session(sid)
    return (s.message_count, s.last_seq, s.usage, len(store.tool_calls(sid)))


@SETTINGS
@given(batch=st.lists(items, min_size=1, max_size=3))
def test_fuzzed_items_are_stored_or_refused_cleanly(
    store: Store, batch: list[Any], counts: Counter[str]
) -> None:
    sid = store.ensure_session("fuzz").id
    before = _snapshot(store, sid)
    try:
        stored = store.append(sid, batch, usage=Usage(output_tokens=1))
    except SessionDBError:
        assert _snapshot(store, sid) == before, "a refused append changed the session"
        counts["hostile: refused appends verified"] += 1
        return
    after = store.messages(sid, last=len(stored))
    assert [m.seq for m in after] == [m.seq for m in stored]
    assert store.get_session(sid).last_seq == before[1] + len(stored)
    counts["hostile: accepted appends verified"] += 1


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


session_fields = st.fixed_dictionaries(
    {},
    optional={
        "title": any_text | st.integers(),
        "agent": any_text,
        "source": any_text,
        "user_id": any_text,
        "status": any_text | st.sampled_from(["active", "completed"]),
        "relation": any_text | st.none(),
        "metadata": st.dictionaries(weird_keys, weird_values, max_size=3) | weird_values,
    },
)


@SETTINGS
@given(sid=any_text, fields=session_fields)
def test_fuzzed_session_fields_create_or_refuse_cleanly(
    store: Store, sid: str, fields: dict[str, Any], counts: Counter[str]
) -> None:
    try:
        s = store.create_session(sid, **fields)
    except SessionDBError:
        counts["hostile: refused sessions verified"] += 1
        return
    assert store.get_session(s.id) == s
    store.delete_session(s.id)
    counts["hostile: accepted sessions verified"] += 1


@SETTINGS
@given(data=st.data())
def test_fuzzed_transcripts_of_every_format_import_or_report_cleanly(
    data: st.DataObject, counts: Counter[str]
) -> None:
    """Truncation, inserted bytes and wrong types, in any importer's input: a report or
    BadTranscript, never a traceback, never a half-written session (see _check)."""
    fmt, rel = data.draw(st.sampled_from(SAMPLES))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        raw, name = _sample(rel, workdir)
        path = workdir / "src" / name
        path.parent.mkdir()
        path.write_bytes(_mutate(raw, data))
        _check(data.draw(st.sampled_from([fmt, None])), path, workdir)
    counts[f"hostile: fuzzed {fmt} transcripts imported"] += 1
