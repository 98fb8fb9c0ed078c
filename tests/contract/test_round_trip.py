"""Property test: any item in any dialect comes back JSON-equal (both backends)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import Store

# Text the model accepts: no NUL, no lone surrogates.
text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | text
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
extras = st.dictionaries(
    text.filter(lambda k: k not in ("role", "type", "content")), json_values, max_size=3
)
parts = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "input_text", "output_text"]), "text": text}
    ),
    max_size=3,
)

openai_chat = st.builds(
    lambda role, content, extra: {"role": role, "content": content, **extra},
    st.sampled_from(["system", "developer", "user", "assistant"]),
    text | parts,
    extras,
)
openai_tool_call = st.builds(
    lambda cid, name, args: {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
        ],
    },
    text,
    text,
    text,
)
openai_tool_result = st.builds(
    lambda cid, content: {"role": "tool", "tool_call_id": cid, "content": content}, text, text
)
responses_items = st.one_of(
    st.builds(
        lambda cid, name, args: {
            "type": "function_call",
            "call_id": cid,
            "name": name,
            "arguments": args,
        },
        text,
        text,
        text,
    ),
    st.builds(
        lambda cid, out: {"type": "function_call_output", "call_id": cid, "output": out}, text, text
    ),
    st.builds(
        lambda role, t: {
            "type": "message",
            "role": role,
            "content": [{"type": "output_text", "text": t}],
        },
        st.sampled_from(["user", "assistant"]),
        text,
    ),
    st.builds(
        lambda s: {"type": "reasoning", "summary": [{"type": "summary_text", "text": s}]}, text
    ),
)
anthropic = st.builds(
    lambda blocks, role: {"role": role, "content": blocks},
    st.lists(
        st.one_of(
            st.builds(lambda t: {"type": "text", "text": t}, text),
            st.builds(
                lambda i, n, inp: {"type": "tool_use", "id": i, "name": n, "input": inp},
                text,
                text,
                st.dictionaries(text, json_values, max_size=3),
            ),
            st.builds(
                lambda i, c, e: {
                    "type": "tool_result",
                    "tool_use_id": i,
                    "content": c,
                    "is_error": e,
                },
                text,
                text,
                st.booleans(),
            ),
            st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "sig"}, text),
            st.builds(
                lambda media, data: {
                    "type": "image",
                    "source": {"type": "base64", "media_type": media, "data": data},
                },
                st.sampled_from(["image/png", "image/jpeg"]),
                st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            ),
        ),
        max_size=4,
    ),
    st.sampled_from(["user", "assistant"]),
)
# Legacy chat completions: function_call on the assistant, role "function" results.
openai_legacy = st.one_of(
    st.builds(
        lambda name, args: {
            "role": "assistant",
            "content": None,
            "function_call": {"name": name, "arguments": args},
        },
        text,
        text,
    ),
    st.builds(lambda name, out: {"role": "function", "name": name, "content": out}, text, text),
)
any_item = st.one_of(
    openai_chat, openai_tool_call, openai_tool_result, openai_legacy, responses_items, anthropic
)


def canonical(value: Any) -> Any:
    return json.loads(json.dumps(value))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=st.lists(any_item, min_size=1, max_size=5))
def test_items_round_trip_json_equal(store: Store, items: list[dict[str, Any]]) -> None:
    s = store.create_session()
    returned = store.append(s.id, items)
    stored = store.messages(s.id)
    assert [canonical(m.item) for m in stored] == [canonical(i) for i in items]
    assert [m.seq for m in stored] == list(range(1, len(items) + 1))
    assert [m.id for m in stored] == [m.id for m in returned]
    assert [m.role for m in stored] == [m.role for m in returned]
    assert store.get_session(s.id).message_count == len(items)
