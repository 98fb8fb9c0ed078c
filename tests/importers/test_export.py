"""Export -> import round trips exactly; Markdown and OpenAI exports are usable."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sessiondb import Store, connect
from sessiondb.errors import InvalidInput, NotFound
from sessiondb.model import Message, NewMessage, Session, Usage

DATA = Path(__file__).parent / "data"


def _session_fields(s: Session) -> tuple[object, ...]:
    return (
        s.id,
        s.title,
        s.agent,
        s.model,
        s.source,
        s.user_id,
        s.working_dir,
        s.parent_id,
        s.relation,
        s.status,
        s.metadata,
        s.created_at,
        s.message_count,
        s.usage,
        s.preview,
    )


def _message_fields(m: Message) -> tuple[object, ...]:
    return (
        m.id,
        m.role,
        m.item,
        m.text,
        m.created_at,
        m.model,
        m.usage,
        m.visible_to_model,
        m.visible_to_user,
        m.metadata,
        m.tool_call_id,
        [(c.call_id, c.name, c.arguments, c.status, c.result_text) for c in m.tool_calls],
    )


def test_every_imported_sample_round_trips_exactly(store: Store, tmp_path: Path) -> None:
    report = store.import_path(DATA)
    exports = tmp_path / "exports"
    exports.mkdir()
    for sid in report.session_ids:
        name = sid.replace("/", "_").replace(":", "_") + ".jsonl"
        (exports / name).write_text(store.export(sid, "jsonl"), encoding="utf-8")
    with connect(tmp_path / "copy.db") as copy:
        again = copy.import_path(exports)
        assert again.errors == {}
        assert again.skipped == []
        assert sorted(again.session_ids) == sorted(report.session_ids)
        for sid in report.session_ids:
            assert _session_fields(copy.get_session(sid)) == _session_fields(store.get_session(sid))
            ours = [_message_fields(m) for m in store.messages(sid)]
            assert [_message_fields(m) for m in copy.messages(sid)] == ours
        # And importing the export again changes nothing.
        assert copy.import_path(exports).messages_added == 0


def test_round_trip_keeps_hand_made_sessions_exactly(store: Store, tmp_path: Path) -> None:
    store.create_session("p", title="Parent", status="completed", metadata={"k": [1, "é"]})
    store.create_session("c", parent_id="p", relation="subagent", user_id="u1", agent="bot")
    store.append(
        "c",
        [
            NewMessage({"role": "user", "content": "hi \u2603"}, id="m1", visible_to_model=False),
            NewMessage(
                {"role": "assistant", "content": "yo", "usage": {"input_tokens": 99}},
                id="m2",
                usage=Usage(input_tokens=3, output_tokens=4, cost_usd=0.5),
                model="gpt-x",
                visible_to_user=False,
                metadata={"note": None, "n": 1.5},
            ),
            NewMessage(
                {"role": "assistant", "content": "no usage", "usage": {"input_tokens": 7}},
                id="m3",
                usage=Usage(),  # stored without usage although the item has some
            ),
        ],
    )
    for sid in ("c", "p"):  # the child first: its parent is linked when it arrives
        (tmp_path / f"{sid}.jsonl").write_text(store.export(sid))
    with connect(tmp_path / "copy.db") as copy:
        assert copy.import_path(tmp_path / "c.jsonl").errors == {}
        assert copy.get_session("c").parent_id is None
        copy.import_path(tmp_path)  # the directory: p arrives, c is linked to it
        for sid in ("p", "c"):
            assert _session_fields(copy.get_session(sid)) == _session_fields(store.get_session(sid))
            assert [_message_fields(m) for m in copy.messages(sid)] == [
                _message_fields(m) for m in store.messages(sid)
            ]


def test_jsonl_export_header_carries_every_session_field(store: Store) -> None:
    store.create_session("s1", title="T")
    store.append("s1", [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    store.compact("s1", "summary", keep_last=1)
    session = store.get_session("s1")
    header = json.loads(store.export("s1").splitlines()[0])["session"]
    missing = {f.name for f in dataclasses.fields(Session)} - set(header) - {"preview"}
    assert missing == set()  # preview is derived from the messages
    assert (header["compaction_count"], header["last_seq"]) == (1, session.last_seq)
    assert header["compacted_at"] == session.compacted_at.isoformat()
    assert header["last_message_at"] == session.last_message_at.isoformat()


def test_round_trip_of_a_compacted_session_keeps_every_session_field(
    store: Store, tmp_path: Path
) -> None:
    store.create_session("s1", title="T")
    store.append("s1", [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    store.compact("s1", "summary", keep_last=1)
    store.update_session("s1", status="completed")  # after the last message
    (tmp_path / "r.jsonl").write_text(store.export("s1"))
    with connect(tmp_path / "copy.db") as copy:
        copy.import_path(tmp_path / "r.jsonl")
        assert copy.get_session("s1") == store.get_session("s1")
        assert copy.messages("s1") == store.messages("s1")
        # Importing the same export again changes nothing.
        again = copy.import_path(tmp_path / "r.jsonl")
        assert (again.sessions_updated, again.messages_added) == (0, 0)
        assert copy.get_session("s1") == store.get_session("s1")


def test_round_trip_of_a_truncated_and_popped_session_keeps_seqs_and_totals(
    store: Store, tmp_path: Path
) -> None:
    from sessiondb import Usage

    store.create_session("t")
    for i in range(6):
        store.append("t", {"role": "assistant", "content": f"m{i}"}, usage=Usage(input_tokens=10))
    store.truncate("t", keep_last=3)  # seqs 4..6 stay; the totals keep all 60 tokens
    store.pop("t")
    original = store.get_session("t")
    assert (original.last_seq, original.usage.input_tokens) == (5, 60)
    (tmp_path / "t.jsonl").write_text(store.export("t"))
    with connect(tmp_path / "copy.db") as copy:
        copy.import_path(tmp_path / "t.jsonl")
        assert copy.get_session("t") == original
        assert [m.seq for m in copy.messages("t")] == [4, 5]
        assert copy.messages("t") == store.messages("t")
        assert copy.check() == []


def test_export_of_unknown_session_or_format_raises(store: Store) -> None:
    store.create_session("s")
    with pytest.raises(NotFound):
        store.export("missing")
    with pytest.raises(InvalidInput):
        store.export("s", "pdf")


def test_markdown_export_folds_tool_calls(store: Store) -> None:
    store.import_path(DATA / "claude_code" / "agentlogs_real_crud.jsonl")
    text = store.export("claude-code:8122657c-fe54-4dc9-89a3-20049e8a84f7", "markdown")
    assert text.startswith("# claude-code:8122657c")
    assert text.count("<details><summary>tool call: ") == 9
    assert text.count("<details><summary>tool result ") == 9
    assert "create a file `JOKE.md`" in text


def _check_replayable(messages: list[dict[str, object]]) -> None:
    """Every tool message answers a call of the nearest assistant message before it."""
    open_calls: set[str] = set()
    for message in messages:
        assert message["role"] in ("system", "developer", "user", "assistant", "tool")
        if message["role"] == "assistant":
            calls = message.get("tool_calls") or []
            open_calls = {c["id"] for c in calls}  # type: ignore[index,union-attr]
            for call in calls:  # type: ignore[union-attr]
                if call["type"] == "function":  # type: ignore[index]
                    json.loads(call["function"]["arguments"])  # type: ignore[index]
        elif message["role"] == "tool":
            assert message["tool_call_id"] in open_calls


@pytest.mark.parametrize(
    "rel",
    [
        "claude_code/agentlogs_real_crud.jsonl",
        "codex/agentlogs_real_codex-0.89.0_crud.jsonl",
        "goose/legacy_jsonl_20250901_101500.jsonl",
        "pi/agentlogs_real_pi_crud.jsonl",
        "nanobot/nanobot_v035_tool_calls.jsonl",
        "openhuman/session_raw/1714000000_code_executor.jsonl",
    ],
)
def test_openai_export_is_a_replayable_chat_list(store: Store, rel: str) -> None:
    report = store.import_path(DATA / rel)
    exported = json.loads(store.export(report.session_ids[0], "openai"))
    assert isinstance(exported, list)
    assert exported
    _check_replayable(exported)


def test_openai_export_of_claude_merges_split_assistant_lines(store: Store) -> None:
    store.import_path(DATA / "claude_code" / "agentlogs_real_crud.jsonl")
    exported = json.loads(
        store.export("claude-code:8122657c-fe54-4dc9-89a3-20049e8a84f7", "openai")
    )
    assert [m["role"][0] for m in exported] == list("uatatatatatatatatata")
    assert exported[1]["content"].startswith("I'll help you create")
    assert exported[1]["tool_calls"][0]["function"]["name"] == "TodoWrite"


def test_openai_export_decodes_double_encoded_arguments(store: Store) -> None:
    store.create_session("s")
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": '"{\\"a\\": 1}"'},
    }
    store.append(
        "s",
        [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
    )
    assert store.messages("s")[0].item["tool_calls"][0] == call  # stored as given
    exported = json.loads(store.export("s", "openai"))
    assert exported[0]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'
    assert exported[1] == {"role": "tool", "tool_call_id": "c1", "content": "ok"}


def test_an_edited_header_cannot_lower_the_totals_below_what_messages_recorded(
    store: Store, tmp_path: Path
) -> None:
    from sessiondb import Usage

    store.create_session("u")
    store.append("u", {"role": "assistant", "content": "a"}, usage=Usage(input_tokens=30))
    lines = store.export("u").splitlines()
    header = json.loads(lines[0])
    header["session"]["usage"] = {"input_tokens": 1}
    (tmp_path / "u.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with connect(tmp_path / "copy.db") as copy:
        copy.import_path(tmp_path / "u.jsonl")
        assert copy.get_session("u").usage.input_tokens == 30
