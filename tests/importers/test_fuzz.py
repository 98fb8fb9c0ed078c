"""Property tests: damaged files (truncated, random bytes, wrong types in fields) give a
report or a BadTranscript, never a traceback, and never a half-written session."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import connect

DATA = Path(__file__).parent / "data"
# Few examples per run keep the suite fast; SESSIONDB_FUZZ_EXAMPLES=500 digs deeper.
EXAMPLES = int(os.environ.get("SESSIONDB_FUZZ_EXAMPLES", "10"))

SAMPLES = [
    ("claude_code", "claude_code/agentlogs_real_compact.jsonl"),
    ("codex", "codex/agent-history_synthetic_codex-0.77_compacted.jsonl"),
    ("nanobot", "nanobot/nanobot_v035_tool_calls.jsonl"),
    ("picoclaw", "picoclaw/sessions_jsonl_store/agent_main_telegram_direct_123456.jsonl"),
    ("picoclaw", "picoclaw/sessions_legacy_json/telegram_123456.json"),
    ("goose", "goose/legacy_jsonl_20250901_101500.jsonl"),
    ("goose", "goose/export_session_v7_compacted.json"),
    ("openhuman", "openhuman/session_raw/1717232400_orchestrator_thread-abc123.jsonl"),
    ("pi", "pi/agentlogs_real_pi_branched.jsonl"),
    ("openai_chat", "openai_chat/chat_finetune_style.jsonl"),
    ("openai_chat", "openai_chat/chat_tools_multimodal.json"),
    ("sessiondb", None),  # an export made on the fly
]

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _sample(rel: str | None, workdir: Path) -> tuple[bytes, str]:
    if rel is not None:
        return (DATA / rel).read_bytes(), Path(rel).name
    with connect(workdir / "origin.db") as origin:
        origin.import_path(DATA / "codex" / "agentlogs_real_codex-0.89.0_crud.jsonl")
        text = origin.export("codex:019bf4b5-e7b0-75a0-8bf2-05fbf1b13c9b")
    return text.encode(), "export.jsonl"


def _wrong_type(raw: bytes, data: st.DataObject, values: st.SearchStrategy[Any] = WRONG) -> bytes:
    """Replace one field of one line (or of the whole document) by one of ``values``
    (by default a value of another type)."""
    try:
        document = json.loads(raw)
    except ValueError:
        document = None  # JSONL: change one of its lines instead
    if isinstance(document, dict | list) and document:
        target = document
        if isinstance(document, dict):
            for name in ("messages", "conversation"):
                if isinstance(document.get(name), list) and document[name]:
                    target = document[name]
        if isinstance(target, list):
            index = data.draw(st.integers(0, len(target) - 1))
            if isinstance(target[index], dict) and target[index]:
                key = data.draw(st.sampled_from(sorted(target[index])))
                target[index][key] = data.draw(values)
            else:
                target[index] = data.draw(values)
        else:
            target[data.draw(st.sampled_from(sorted(target)))] = data.draw(values)
        return json.dumps(document).encode()
    lines = raw.splitlines(keepends=True)
    if not lines:
        return raw
    index = data.draw(st.integers(0, len(lines) - 1))
    try:
        value = json.loads(lines[index])
    except ValueError:
        return raw
    if isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)))
        inner = value[key]
        if isinstance(inner, dict) and inner and data.draw(st.booleans()):
            inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(values)
        else:
            value[key] = data.draw(values)
    lines[index] = json.dumps(value).encode() + b"\n"
    return b"".join(lines)


def _mutate(raw: bytes, data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["truncate", "insert", "wrong_type", "all"]))
    if kind in ("wrong_type", "all"):
        raw = _wrong_type(raw, data)
    if kind in ("insert", "all"):
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if kind in ("truncate", "all"):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    return raw


def _check(fmt: str | None, path: Path, workdir: Path) -> None:
    with connect(workdir / "target.db") as store:
        report = store.import_path(path, format=fmt)
        for error in report.errors.values():
            assert error.startswith("BadTranscript:") or error == "format not recognized", error
        assert store.check() == []
        sessions = store.list_sessions(limit=1000).items
        if report.errors:
            assert sessions == []  # a refused file leaves nothing half-written behind
        for session in sessions:
            assert len(store.messages(session.id)) == session.message_count
            store.export(session.id, "jsonl")
            store.export(session.id, "markdown")
            store.export(session.id, "openai")


@pytest.mark.parametrize(("fmt", "rel"), SAMPLES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_file_gives_a_report_never_a_traceback(
    fmt: str, rel: str | None, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        raw, name = _sample(rel, workdir)
        path = workdir / "src" / name
        path.parent.mkdir()
        path.write_bytes(_mutate(raw, data))
        _check(fmt, path, workdir)
        _check(None, path, workdir / "src")  # and with the format detected


def _sqlite_sample(path: Path, kind: str) -> None:
    conn = sqlite3.connect(path)
    if kind == "openai_agents":
        conn.execute("CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY, created_at)")
        conn.execute(
            "CREATE TABLE agent_messages (id INTEGER PRIMARY KEY, session_id, message_data,"
            " created_at)"
        )
        conn.execute("INSERT INTO agent_sessions VALUES ('s', '2026-01-01 00:00:00')")
        for i in range(30):
            item = json.dumps({"role": "user", "content": f"message {i} " * 20})
            conn.execute("INSERT INTO agent_messages VALUES (?, 's', ?, NULL)", (i + 1, item))
    elif kind == "goose_db":
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, name, working_dir, created_at)")
        conn.execute(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id, session_id, role,"
            " content_json, created_timestamp, metadata_json)"
        )
        conn.execute("INSERT INTO sessions VALUES ('20260101_1', 'n', '/w', '2026-01-01')")
        for i in range(30):
            content = json.dumps([{"type": "text", "text": f"message {i} " * 20}])
            conn.execute(
                "INSERT INTO messages VALUES (?, ?, '20260101_1', 'user', ?, 1767225600, NULL)",
                (i + 1, f"m{i}", content),
            )
    else:
        conn.execute("CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id, message)")
        for i in range(30):
            row = json.dumps({"type": "human", "data": {"content": f"message {i} " * 20}})
            conn.execute("INSERT INTO message_store VALUES (?, 'u', ?)", (i + 1, row))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("fmt", ["openai_agents", "langchain", "goose_db"])
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_damaged_sqlite_source_gives_a_report_never_a_traceback(
    fmt: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "src" / "source.db"
        path.parent.mkdir()
        _sqlite_sample(path, fmt)
        raw = path.read_bytes()
        if data.draw(st.booleans()):
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        else:
            at = data.draw(st.integers(0, len(raw)))
            junk = data.draw(st.binary(min_size=1, max_size=64))
            raw = raw[:at] + junk + raw[at + len(junk) :]
        path.write_bytes(raw)
        _check(fmt, path, workdir)
