"""The normalized projection of each message dialect."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessiondb import InvalidInput, Usage
from sessiondb.dialects import parse_time, project


def test_openai_chat_with_tool_calls() -> None:
    p = project(
        {
            "role": "assistant",
            "content": "let me look",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ],
        }
    )
    assert (p.role, p.text) == ("assistant", "let me look")
    assert [(c.call_id, c.name, c.arguments) for c in p.calls] == [("c1", "ls", "{}")]


def test_openai_content_parts_and_legacy_function_call() -> None:
    p = project({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url"}]})
    assert p.text == "a"
    legacy = project(
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}
    )
    assert legacy.calls[0].call_id == "function:f"
    result = project({"role": "function", "name": "f", "content": "42"})
    assert (result.role, result.tool_call_id, result.text) == ("tool", "function:f", "42")


def test_responses_items() -> None:
    call = project(
        {"type": "function_call", "call_id": "c", "name": "n", "arguments": "{}", "id": "fc_1"}
    )
    assert call.role == "assistant" and call.calls[0].call_id == "c"
    out = project({"type": "function_call_output", "call_id": "c", "output": "ok"})
    assert (out.role, out.tool_call_id, out.text) == ("tool", "c", "ok")
    msg = project(
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]}
    )
    assert (msg.role, msg.text) == ("assistant", "hi")
    reasoning = project(
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]}
    )
    assert (reasoning.role, reasoning.text) == ("assistant", "think")


def test_anthropic_blocks_and_tool_results_in_user_messages() -> None:
    p = project(
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm"},
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"cmd": "ls"}},
            ],
            "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 5},
        }
    )
    assert p.text == "calling" and p.calls[0].arguments == '{"cmd": "ls"}'
    assert p.usage == Usage(input_tokens=10, output_tokens=2, cache_read_tokens=5)
    r = project(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}],
        }
    )
    assert (r.role, r.tool_call_id, r.text) == ("tool", "toolu_1", "x")


def test_goose_and_pi_shapes() -> None:
    goose = project(
        {
            "role": "user",
            "content": [
                {
                    "type": "toolResponse",
                    "id": "call_1",
                    "toolResult": {"status": "error", "error": "-32603: boom"},
                }
            ],
        }
    )
    assert goose.role == "tool" and goose.results[0].is_error and "boom" in goose.text
    pi = project(
        {"role": "toolResult", "toolCallId": "t1", "content": [{"type": "text", "text": "ok"}]}
    )
    assert (pi.role, pi.tool_call_id, pi.text) == ("tool", "t1", "ok")


def test_plain_role_content_keeps_extra_keys_and_unknown_roles_map_to_assistant() -> None:
    p = project({"role": "critic", "content": "meh", "reasoning_content": "x"})
    assert (p.role, p.text) == ("assistant", "meh")


def test_pi_bash_execution_is_a_user_message_with_the_command_and_its_output() -> None:
    p = project(
        {
            "role": "bashExecution",
            "command": "ls missing",
            "output": "ls: missing: No such file\n",
            "exitCode": 2,
            "cancelled": False,
            "truncated": False,
            "excludeFromContext": False,
        }
    )
    assert p.role == "user"
    assert p.text == "$ ls missing\nls: missing: No such file\n(exit code 2)"
    silent = project({"role": "bashExecution", "command": "true", "output": "", "exitCode": 0})
    assert (silent.role, silent.text) == ("user", "$ true")


def test_openai_chat_refusal_is_the_message_text() -> None:
    p = project({"role": "assistant", "content": None, "refusal": "I can't help with that."})
    assert (p.role, p.text) == ("assistant", "I can't help with that.")
    bare = project({"role": "assistant", "refusal": "No."})
    assert bare.text == "No."


def test_openhuman_failure_makes_a_tool_result_an_error() -> None:
    failed = project({"role": "tool", "tool_call_id": "c", "content": "x", "failure": True})
    assert failed.results[0].is_error
    fine = project({"role": "tool", "tool_call_id": "c", "content": "x", "failure": False})
    assert not fine.results[0].is_error


def test_openai_usage_is_normalized() -> None:
    p = project(
        {
            "role": "assistant",
            "content": "x",
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": 3,
                "prompt_tokens_details": {"cached_tokens": 2},
                "completion_tokens_details": {"reasoning_tokens": 1},
            },
        }
    )
    assert p.usage == Usage(
        input_tokens=7, output_tokens=3, cache_read_tokens=2, reasoning_tokens=1
    )


@pytest.mark.parametrize("item", [{"content": "x"}, {"role": ""}, {"type": ""}, {}])
def test_unrecognizable_items_are_invalid(item: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        project(item)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.123456789+00:00", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        (1770423953, datetime.fromtimestamp(1770423953, UTC)),
        (1770423953000, datetime.fromtimestamp(1770423953, UTC)),
        ("not a time", None),
    ],
)
def test_timestamps_parse_leniently(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_a_part_type_that_is_a_list_or_object_is_an_unknown_part() -> None:
    # Found by tests/reliability/test_hostile_input.py: an unhashable "type" raised
    # TypeError from the projection (and so from Store.append).
    p = project({"role": "user", "content": [{"type": [], "text": "x"}, {"type": {}}, "y"]})
    assert (p.role, p.text) == ("user", "y")
