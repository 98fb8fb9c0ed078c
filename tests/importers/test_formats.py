"""Each format imports with the right counts, roles, tool pairing, usage, lineage,
compaction visibility and timestamps (real and constructed samples in data/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sessiondb import Store, Usage
from sessiondb.importers import detect_format

DATA = Path(__file__).parent / "data"


def roles(store: Store, session_id: str) -> str:
    return "".join(m.role[0] for m in store.messages(session_id))


def hidden(store: Store, session_id: str) -> int:
    return sum(not m.visible_to_model for m in store.messages(session_id))


# ---------------------------------------------------------------------------- Claude Code


def test_claude_code_counts_usage_once_per_api_message(store: Store, data: Path) -> None:
    report = store.import_path(data / "claude_code" / "agentlogs_real_crud.jsonl")
    sid = "claude-code:8122657c-fe54-4dc9-89a3-20049e8a84f7"
    assert report.session_ids == [sid]
    assert report.messages_added == 25
    assert roles(store, sid) == "uaataatataatataatataatata"
    session = store.get_session(sid)
    assert session.source == "claude-code"
    assert session.working_dir == "/Users/philipp/dev/vibeinsights/fixtures/claudecode"
    assert session.metadata["source_id"] == "8122657c-fe54-4dc9-89a3-20049e8a84f7"
    # 10 API message ids over 15 assistant lines: each id's last usage, counted once.
    assert session.usage.output_tokens == 1508
    assert session.usage.cache_read_tokens == 148958
    assert session.usage.cache_write_tokens == 12593
    calls = store.tool_calls(sid)
    assert len(calls) == 9
    assert all(c.status == "ok" and c.result_seq == c.request_seq + 1 for c in calls)
    first = store.messages(sid, limit=1)[0]
    assert first.created_at == datetime(2025, 10, 12, 21, 35, 53, 825000, tzinfo=UTC)
    assert first.metadata["claude_code"]["uuid"] == "03ffd31e-6bc0-4899-9df7-9b484cfda8cf"


def test_claude_code_hides_what_came_before_the_last_compaction(store: Store, data: Path) -> None:
    store.import_path(data / "claude_code" / "agentlogs_real_compact.jsonl")
    sid = "claude-code:0e26ec2f-937e-482c-b889-bc126f996913"
    messages = store.messages(sid)
    assert len(messages) == 11
    assert [m.visible_to_model for m in messages] == [False] * 7 + [True] * 4
    boundary = messages[6]
    assert boundary.role == "system"
    assert boundary.item["subtype"] == "compact_boundary"
    assert messages[7].text.startswith("This session is being continued")
    assert all(m.item["role"] in ("user", "system") or m.role == "assistant" for m in messages)


def test_claude_code_subagent_file_becomes_a_child_session(store: Store, data: Path) -> None:
    report = store.import_path(data / "claude_code" / "agent-sessions_subagent_layout")
    parent = "claude-code:0a1b2c3d-4e5f-4061-8071-2a3b4c5d6e7f"
    child = f"{parent}/agent-a0ad4f44468bdf20d"
    assert set(report.session_ids) == {parent, child}
    assert store.get_session(child).parent_id == parent
    assert store.get_session(child).relation == "subagent"


def test_claude_code_sidechain_inside_a_transcript_becomes_a_child(store: Store) -> None:
    report = store.import_path(DATA / "claude_code" / "agentlogs_real_subagent.jsonl")
    main = "claude-code:609efeca-2f51-4118-b077-e91c9fe63f73"
    assert report.session_ids[0] == main
    (child,) = report.session_ids[1:]
    assert child.startswith(f"{main}/sidechain-")
    assert (store.get_session(child).parent_id, store.get_session(child).relation) == (
        main,
        "subagent",
    )
    assert roles(store, child) == "ua"
    assert store.get_session(main).message_count == 7
    assert [c.name for c in store.tool_calls(main)] == ["Task"]
    assert store.get_session(main).title == "Tailwind Studio: Component Catalog Architecture Design"


def test_claude_code_subagent_imported_before_its_parent_is_linked_later(
    store: Store, data: Path
) -> None:
    layout = data / "claude_code" / "agent-sessions_subagent_layout"
    sub = next(layout.rglob("agent-*.jsonl"))
    store.import_path(sub)
    child = store.get_session(f"claude-code:{sub.parent.parent.name}/{sub.stem}")
    assert child.parent_id is None
    store.import_path(layout)
    assert store.get_session(child.id).parent_id == f"claude-code:{sub.parent.parent.name}"


def test_claude_code_corrupt_lines_are_reported_with_line_numbers(store: Store, data: Path) -> None:
    path = data / "claude_code" / "claude-code-log_synthetic_edge_cases.jsonl"
    report = store.import_path(path)
    assert report.errors == {}
    assert [(s.line, s.reason.split(" (")[0]) for s in report.skipped] == [
        (10, "message has no 'content'"),
        (11, "'message' is not an object"),
        (13, "not a JSON object"),
        (14, "no record type"),
        (15, "not a JSON object"),
        (16, "not a JSON object"),
    ]
    assert all(s.path == str(path) for s in report.skipped)
    session = store.get_session("claude-code:edge_cases")
    assert session.message_count == 12
    assert session.title is not None
    assert session.title.startswith("Tested various edge cases")
    errors = store.tool_calls("claude-code:edge_cases", status="error")
    assert len(errors) == 1


# ---------------------------------------------------------------------------- Codex


def test_codex_usage_is_the_last_cumulative_token_count(store: Store, data: Path) -> None:
    store.import_path(data / "codex" / "agentlogs_real_codex-0.89.0_crud.jsonl")
    sid = "codex:019bf4b5-e7b0-75a0-8bf2-05fbf1b13c9b"
    assert roles(store, sid) == "duuuaataataataata"
    usage = store.get_session(sid).usage
    # The final token_count's total_token_usage, not the sum of the counts.
    assert (usage.input_tokens, usage.output_tokens) == (47257, 300)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (44160, 64)
    with_usage = [m for m in store.messages(sid) if m.usage is not None]
    assert all(m.role == "assistant" for m in with_usage)
    calls = store.tool_calls(sid)
    assert len(calls) == 4
    assert all(c.status == "ok" for c in calls)
    assert {c.name for c in calls} == {"exec_command", "apply_patch"}
    assert store.get_session(sid).working_dir == "/Users/philipp/dev/agentlogs/fixtures"


def test_codex_compacted_hides_the_history_it_replaced(store: Store, data: Path) -> None:
    store.import_path(data / "codex" / "agent-history_synthetic_codex-0.77_compacted.jsonl")
    sid = "codex:compact-codex-001"
    messages = store.messages(sid)
    assert len(messages) == 17
    assert hidden(store, sid) == 10
    summary = messages[10]
    assert summary.visible_to_model
    assert summary.text.startswith("**Progress + Plan Status**")
    assert store.get_session(sid).model == "gpt-4.5-turbo"
    assert store.get_session(sid).usage.input_tokens == 85000


def test_codex_envelope_free_drift_lines_import_with_the_format_given(
    store: Store, data: Path
) -> None:
    path = data / "codex" / "agent-sessions_synthetic_schema_drift.jsonl"
    assert detect_format(path) is None
    report = store.import_path(path, format="codex")
    assert report.errors == {}
    assert report.messages_added == 4


# ---------------------------------------------------------------------------- nanobot


def test_nanobot_consolidated_messages_are_hidden_and_corrupt_lines_reported(
    store: Store, data: Path
) -> None:
    report = store.import_path(data / "nanobot" / "nanobot_v035_corrupt_lines.jsonl")
    assert [s.line for s in report.skipped] == [5, 6]
    sid = "nanobot:telegram:12345"
    assert roles(store, sid) == "uatauatta"
    assert [m.visible_to_model for m in store.messages(sid)] == [False] * 4 + [True] * 5
    assert store.get_session(sid).title == "Weather + files 🌦️"
    assert len(store.tool_calls(sid, status="ok")) == 3
    assert store.messages(sid, limit=1)[0].created_at == datetime(
        2026, 3, 1, 9, 0, 0, 1, tzinfo=UTC
    )


def test_nanobot_v1_file_without_key_uses_the_file_name(store: Store, data: Path) -> None:
    report = store.import_path(data / "nanobot" / "nanobot_v1_d4cc48a_cli_direct.jsonl")
    assert report.session_ids == ["nanobot:nanobot_v1_d4cc48a_cli_direct"]
    assert report.messages_added == 4


# ---------------------------------------------------------------------------- picoclaw


def test_picoclaw_skip_hides_truncated_lines_and_summary_is_kept(store: Store, data: Path) -> None:
    path = data / "picoclaw" / "sessions_jsonl_store" / "agent_main_telegram_direct_123456.jsonl"
    report = store.import_path(path)
    assert [s.line for s in report.skipped] == [10]
    sid = "picoclaw:agent:main:telegram:direct:123456"
    assert [m.visible_to_model for m in store.messages(sid)] == [False] * 4 + [True] * 5
    session = store.get_session(sid)
    assert session.metadata["summary"] == "Weather + notes conversation."
    assert session.metadata["aliases"] == ["telegram:123456"]
    assert store.messages(sid)[3].model == "gpt-4o-mini"


def test_picoclaw_legacy_and_migrated_copies_are_one_session(store: Store, data: Path) -> None:
    store.import_path(data / "picoclaw" / "sessions_legacy_json")
    report = store.import_path(data / "picoclaw" / "sessions_after_MigrateFromJSON")
    # The .migrated backups and .meta.json companions are never imported on their own.
    assert all(".migrated" not in p and ".meta.json" not in p for p in report.errors)
    assert report.messages_added == 0
    assert store.get_session("picoclaw:discord:987654321/thread42").message_count == 4


# ---------------------------------------------------------------------------- goose


def test_goose_visibility_metadata_becomes_message_visibility(store: Store, data: Path) -> None:
    store.import_path(data / "goose" / "export_session_v7_compacted.json")
    sid = "goose:20260207_3"
    messages = store.messages(sid)
    assert [m.visible_to_model for m in messages] == [False] * 4 + [True] * 2
    assert [m.visible_to_user for m in messages] == [True] * 4 + [False] * 2
    assert roles(store, sid) == "uataua"  # the tool result lives in a user message
    calls = store.tool_calls(sid)
    assert [(c.name, c.status) for c in calls] == [("weather_extension__get_weather", "ok")]
    assert store.get_session(sid).title == "Berlin weather check"
    assert messages[0].created_at == datetime.fromtimestamp(1770423951, UTC)


def test_goose_legacy_jsonl_with_torn_tail_keeps_good_lines(store: Store, data: Path) -> None:
    path = data / "goose" / "legacy_jsonl_20250221_120000_old_shape_corrupt_tail.jsonl"
    report = store.import_path(path)
    assert [s.line for s in report.skipped] == [4]
    sid = "goose:legacy_jsonl_20250221_120000_old_shape_corrupt_tail"
    assert store.get_session(sid).working_dir == "/root"
    assert store.get_session(sid).metadata["goose_usage"]["accumulated_total_tokens"] == 1373
    assert roles(store, sid) == "ua"


def test_goose_legacy_file_without_metadata_line_is_a_bad_transcript(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "20250101_000000.jsonl"
    path.write_text('{"role":"user","created":1,"content":[{"type":"text","text":"hi"}]}\n')
    report = store.import_path(path, format="goose")
    assert report.errors[str(path)].startswith("BadTranscript:")
    assert report.errors[str(path)] == (
        "BadTranscript: line 1: the first line is not goose's session metadata"
    )
    assert store.list_sessions().items == []


# ---------------------------------------------------------------------------- openhuman


def test_openhuman_unpacks_tool_calls_and_applies_compaction(store: Store, data: Path) -> None:
    report = store.import_path(data / "openhuman" / "session_raw")
    root = "openhuman:1717232400_orchestrator_thread-abc123"
    child = f"{root}__1717232425_researcher"
    assert [s.line for s in report.skipped] == [14]  # the torn last line
    assert store.get_session(child).parent_id == root
    assert store.get_session(child).relation == "subagent"
    messages = store.messages(root)
    assert len(messages) == 12
    assert hidden(store, root) == 9
    assert [m.text for m in messages[-3:]][
        1
    ] == "[summary] User listed files; tests currently fail."
    calls = store.tool_calls(root)
    assert [(c.call_id, c.name, c.status) for c in calls] == [
        ("call_1", "shell", "ok"),
        ("call_2", "shell", "error"),  # line 10: "failure": true
    ]
    tools = store.stats(source="openhuman").tools
    assert [(t.name, t.calls, t.errors) for t in tools] == [("shell", 2, 1)]
    assert messages[2].metadata["openhuman"]["raw_content"].startswith('{"content"')
    interrupted = messages[8]
    assert interrupted.text.startswith("Tests fail")
    assert not interrupted.visible_to_model
    session = store.get_session(root)
    assert session.agent == "orchestrator"
    assert session.metadata["openhuman_usage"]["input_tokens"] == 5200  # the last _meta wins


def test_openhuman_without_meta_header_is_a_bad_transcript(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "1_agent.jsonl"
    path.write_text('{"role":"user","content":"hi"}\n')
    report = store.import_path(path, format="openhuman")
    assert "BadTranscript" in report.errors[str(path)]
    assert store.list_sessions().items == []


# ---------------------------------------------------------------------------- pi


def test_pi_later_branch_becomes_a_fork_with_its_prefix(store: Store, data: Path) -> None:
    store.import_path(data / "pi" / "agentlogs_real_pi_branched.jsonl")
    main = "pi:a9642bdf-2c10-4503-abb2-081990e56318"
    fork = f"{main}:fork:b90647f9"
    assert roles(store, main) == "uatauata"
    # The last message is a bashExecution: a command the user ran with ``!``.
    assert roles(store, fork) == "uatauatau"
    assert store.get_session(fork).parent_id == main
    assert store.get_session(fork).relation == "fork"
    main_ids = [m.id for m in store.messages(main)]
    assert [m.id for m in store.messages(fork)][:4] == main_ids[:4]
    # The copied prefix carries no usage: the tree counts each API call once.
    assert all(m.usage is None for m in store.messages(fork)[:4])
    assert store.get_session(main).model == "claude-opus-4-5"
    assert all(c.status == "ok" for c in store.tool_calls(fork))


def test_pi_bash_execution_keeps_its_command_and_output_and_its_visibility(
    store: Store, data: Path, tmp_path: Path
) -> None:
    store.import_path(data / "pi" / "agentlogs_real_pi_branched.jsonl")
    fork = "pi:a9642bdf-2c10-4503-abb2-081990e56318:fork:b90647f9"
    bash = store.messages(fork)[-1]
    assert bash.item["role"] == "bashExecution"  # stored as pi wrote it
    assert (bash.role, bash.text) == ("user", "$ rm -f haiku1.txt haiku2.txt limerick.txt")
    assert bash.visible_to_model
    hits = store.search("rm haiku2.txt", role="user").items
    assert [(h.session_id, h.seq) for h in hits] == [(fork, bash.seq)]

    header = {"type": "session", "version": 3, "id": "s", "timestamp": "2026-02-03T22:00:00Z"}
    entry = {
        "type": "message",
        "id": "e1",
        "parentId": None,
        "timestamp": "2026-02-03T22:00:01Z",
        "message": {
            "role": "bashExecution",
            "command": "cat secret.txt",
            "output": "hunter2\n",
            "exitCode": 0,
            "excludeFromContext": True,
        },
    }
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(entry) + "\n")
    store.import_path(path, format="pi")
    (hidden_bash,) = store.messages("pi:s")
    assert (hidden_bash.role, hidden_bash.text) == ("user", "$ cat secret.txt\nhunter2")
    assert not hidden_bash.visible_to_model


# ---------------------------------------------------------------------------- OpenAI chat


def test_openai_chat_array_pairs_parallel_calls_and_custom_tools(store: Store, data: Path) -> None:
    store.import_path(data / "openai_chat" / "chat_tools_multimodal.json")
    sid = "openai-chat:chat_tools_multimodal"
    assert roles(store, sid) == "dsuattauatuaua"
    calls = store.tool_calls(sid)
    assert sorted(c.name for c in calls) == ["apply_patch", "describe_image", "get_weather"]
    assert all(c.status == "ok" for c in calls)


def test_openai_chat_refusal_is_shown_and_searchable(store: Store, data: Path) -> None:
    store.import_path(data / "openai_chat" / "chat_tools_multimodal.json")
    sid = "openai-chat:chat_tools_multimodal"
    (refusal,) = [m for m in store.messages(sid) if m.item.get("refusal")]
    assert (refusal.role, refusal.text) == ("assistant", "I can't help with that.")
    hits = store.search("can't help", session_id=sid).items
    assert [h.seq for h in hits] == [refusal.seq]


def test_openai_chat_finetune_lines_are_one_session_each(store: Store, data: Path) -> None:
    report = store.import_path(data / "openai_chat" / "chat_finetune_style.jsonl")
    assert report.session_ids == [
        "openai-chat:chat_finetune_style:1",
        "openai-chat:chat_finetune_style:2",
    ]
    assert report.messages_added == 8


def test_openai_chat_legacy_function_call_pairs_by_name(store: Store, data: Path) -> None:
    store.import_path(data / "openai_chat" / "chat_legacy_function_call.json")
    calls = store.tool_calls("openai-chat:chat_legacy_function_call")
    assert [(c.name, c.status, c.result_text) for c in calls] == [
        ("convert_currency", "ok", "9.21")
    ]


def test_pi_usage_counts_cache_inside_input_and_keeps_cost(store: Store) -> None:
    path = DATA / "pi" / "agentlogs_real_pi_crud.jsonl"
    store.import_path(path)
    expected_in = expected_out = 0
    expected_cost = 0.0
    for line in path.read_text().splitlines():
        usage = json.loads(line).get("message", {}).get("usage")
        if usage:
            expected_in += usage["input"] + usage["cacheRead"] + usage["cacheWrite"]
            expected_out += usage["output"]
            expected_cost += usage["cost"]["total"]
    usage = store.get_session("pi:1fa031b8-444e-429d-bbaa-1db4cda65b5f").usage
    assert (usage.input_tokens, usage.output_tokens) == (expected_in, expected_out)
    assert usage.cost_usd == pytest.approx(expected_cost)


# ---------------------------------------------------------------------------- added by issue 6


def test_claude_code_usage_is_the_last_lines_even_when_it_is_lower(
    store: Store, tmp_path: Path
) -> None:
    def line(n: int, block: dict[str, object], usage: dict[str, int]) -> str:
        return json.dumps(
            {
                "type": "assistant",
                "uuid": f"u{n}",
                "sessionId": "s-lower",
                "timestamp": f"2026-01-01T00:00:0{n}Z",
                "message": {
                    "id": "msg_1",
                    "role": "assistant",
                    "content": [block],
                    "usage": usage,
                },
            }
        )

    path = tmp_path / "s-lower.jsonl"
    path.write_text(
        "\n".join(
            [
                line(
                    1,
                    {"type": "thinking", "thinking": "hm"},
                    {"input_tokens": 10, "output_tokens": 300, "cache_read_input_tokens": 50},
                ),
                line(
                    2,
                    {"type": "text", "text": "a"},
                    {"input_tokens": 12, "output_tokens": 120, "cache_read_input_tokens": 40},
                ),
                line(
                    3,
                    {"type": "text", "text": "b"},
                    {"input_tokens": 12, "output_tokens": 90, "cache_read_input_tokens": 40},
                ),
            ]
        )
        + "\n"
    )
    store.import_path(path)
    usage = store.get_session("claude-code:s-lower").usage
    # The last line's numbers: not their sum, not the first, not the largest of each.
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (52, 90, 40)
    messages = store.messages("claude-code:s-lower")
    assert messages[0].usage == Usage(
        input_tokens=52, output_tokens=90, cache_read_tokens=40, cache_write_tokens=None
    )
    assert [m.usage for m in messages[1:]] == [None, None]


def test_codex_bare_era_rollout_imports_with_exact_counts(store: Store, data: Path) -> None:
    path = data / "codex" / "synthetic_codex-bare-era.jsonl"
    assert detect_format(path) == "codex"
    report = store.import_path(path)
    sid = "codex:0196a1b2-5c3d-7e4f-8a9b-0c1d2e3f4a5b"
    assert report.session_ids == [sid]
    assert report.messages_added == 10
    assert [(s.line, s.reason.split(" (")[0]) for s in report.skipped] == [(15, "not JSON")]
    assert roles(store, sid) == "uuaatataua"
    session = store.get_session(sid)
    assert session.metadata["codex"]["git"]["branch"] == "main"
    started = datetime(2025, 4, 18, 10, 0, tzinfo=UTC)
    assert session.created_at == started
    # Bare-era items carry no time: they are dated by the header, not by the import.
    assert {m.created_at for m in store.messages(sid)} == {started}
    assert session.usage == Usage(0, 0, 0, 0, 0, 0.0)  # no token_count in that era
    calls = store.tool_calls(sid)
    assert [(c.name, c.status, c.request_seq, c.result_seq) for c in calls] == [
        ("shell", "ok", 4, 5),
        ("local_shell_call", "ok", 6, 7),
    ]
    assert hidden(store, sid) == 0


def test_codex_0146_file_with_seven_session_metas_is_one_session(store: Store, data: Path) -> None:
    path = data / "codex" / "agent-sessions_synthetic_codex-0.146_small.jsonl"
    assert sum(b'"type":"session_meta"' in line for line in path.read_bytes().splitlines()) == 7
    report = store.import_path(path)
    sid = "codex:019fc8be-3658-7ca3-9e29-000000000000"
    # The later session_meta lines describe the threads whose history was copied in.
    assert report.session_ids == [sid]
    assert report.skipped == []
    messages = store.messages(sid)
    assert len(messages) == 186
    assert sum(not m.visible_to_model for m in messages) == 169  # before the last compacted
    assert sum(not m.visible_to_user for m in messages) == 25  # ghost snapshots
    assert {m.item["type"] for m in messages if not m.visible_to_user} == {"ghost_snapshot"}
    session = store.get_session(sid)
    assert session.model == "gpt-5.6-sol"
    # The counts' deltas, summed: the last count of this trimmed file is all zeros.
    usage = session.usage
    assert (usage.input_tokens, usage.output_tokens) == (16341, 81)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (3584, 63)
    calls = store.tool_calls(sid)
    assert len(calls) == 8
    assert sorted(c.status for c in calls) == ["ok"] * 4 + ["pending"] * 4
    # The output at seq 12 names a trimmed id no earlier call has: it answers nothing
    # (not the image_generation_call with that id at seq 25).
    assert {(c.request_seq, c.result_seq) for c in calls if c.status == "ok"} == {
        (3, 9),
        (4, 5),
        (168, 169),
        (184, 185),
    }


def test_openai_chat_request_body_keeps_the_request_and_double_encoded_arguments(
    store: Store, data: Path
) -> None:
    path = data / "openai_chat" / "chat_request_body_double_encoded.json"
    assert detect_format(path) == "openai_chat"
    report = store.import_path(path)
    sid = "openai-chat:chat_request_body_double_encoded"
    assert report.session_ids == [sid]
    assert report.messages_added == 6
    assert roles(store, sid) == "suatta"
    session = store.get_session(sid)
    assert session.model == "gpt-4o-mini"
    assert session.metadata["request"]["temperature"] == 0.2
    assert [t["function"]["name"] for t in session.metadata["request"]["tools"]] == [
        "get_location",
        "takeoff_drone",
    ]
    raw = json.loads(path.read_text())["messages"]
    assert [m.item for m in store.messages(sid)] == raw  # stored exactly as given
    calls = {c.call_id: c for c in store.tool_calls(sid)}
    # The double-encoded string is kept as it was written (the openai export decodes it).
    assert calls["call_loc"].arguments == '"{\\"location\\": \\"current\\"}"'
    assert calls["call_up"].arguments == '{"altitude": 100}'
    assert {(c.status, c.result_seq) for c in calls.values()} == {("ok", 4), ("ok", 5)}
    exported = json.loads(store.export(sid, "openai"))
    assert exported[2]["tool_calls"][0]["function"]["arguments"] == '{"location": "current"}'
    assert store.import_path(path).messages_added == 0


def test_goose_legacy_session_is_dated_by_its_first_message_not_the_import(
    store: Store, data: Path, tmp_path: Path
) -> None:
    store.import_path(data / "goose" / "legacy_jsonl_20250901_101500.jsonl")
    session = store.get_session("goose:legacy_jsonl_20250901_101500")
    # The metadata line has no time; the first message was "created": 1770423951.
    assert session.created_at == datetime.fromtimestamp(1770423951, UTC)
    assert store.messages(session.id, limit=1)[0].created_at == session.created_at
    # Without messages: the time in the file name (goose's YYYYMMDD_HHMMSS id).
    empty = tmp_path / "20250102_030405.jsonl"
    empty.write_text('{"working_dir": "/w", "description": "empty", "message_count": 0}\n')
    store.import_path(empty, format="goose")
    assert store.get_session("goose:20250102_030405").created_at == datetime(
        2025, 1, 2, 3, 4, 5, tzinfo=UTC
    )


def test_goose_and_openhuman_session_counters_are_the_sessions_usage_totals(
    store: Store, data: Path
) -> None:
    # goose counts tokens per session only: its accumulated spend is the session's.
    store.import_path(data / "goose" / "legacy_jsonl_20250901_101500.jsonl")
    goose = store.get_session("goose:legacy_jsonl_20250901_101500").usage
    assert (goose.input_tokens, goose.output_tokens) == (1712, 38)
    # openhuman's _meta totals cover the whole session, not only the messages that
    # carry usage.
    store.import_path(data / "openhuman" / "session_raw" / "1714000000_code_executor.jsonl")
    oh = store.get_session("openhuman:1714000000_code_executor").usage
    assert (oh.input_tokens, oh.output_tokens, oh.cache_read_tokens) == (5000, 1200, 3500)
    assert oh.cost_usd == pytest.approx(0.0045)
    # Importing again changes nothing.
    again = store.import_path(data / "openhuman" / "session_raw" / "1714000000_code_executor.jsonl")
    assert again.sessions_updated == 0
    assert store.get_session("openhuman:1714000000_code_executor").usage == oh


def test_a_counter_past_what_usage_holds_is_dropped_not_an_error(
    store: Store, data: Path, tmp_path: Path
) -> None:
    lines = (data / "goose" / "legacy_jsonl_20250901_101500.jsonl").read_text().splitlines()
    meta = json.loads(lines[0])
    meta["accumulated_input_tokens"] = 2**60  # damage: no model spent that
    path = tmp_path / "20250901_101500.jsonl"
    path.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    report = store.import_path(path, format="goose")
    assert report.errors == {}
    usage = store.get_session("goose:20250901_101500").usage
    assert (usage.input_tokens, usage.output_tokens) == (0, 38)  # the damaged counter dropped
