"""Driver behaviour on every format: idempotent and incremental re-imports, directories,
bad files, read-only sources, progress, detection and discovery."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from sessiondb import Message, Store, Usage, connect
from sessiondb.errors import InvalidInput, NotFound
from sessiondb.importers import FORMATS, detect_format, discover

DATA = Path(__file__).parent / "data"

# Line-oriented samples: (file, format it must be detected as).
LINE_FILES = [
    ("claude_code/agentlogs_real_crud.jsonl", "claude_code"),
    ("claude_code/agentlogs_real_compact.jsonl", "claude_code"),
    ("claude_code/agentlogs_real_subagent.jsonl", "claude_code"),
    ("claude_code/agent-sessions_synthetic_cc-2.1.80_small.jsonl", "claude_code"),
    ("codex/agentlogs_real_codex-0.89.0_crud.jsonl", "codex"),
    ("codex/agent-sessions_synthetic_codex-0.146_small.jsonl", "codex"),
    ("nanobot/nanobot_v035_tool_calls.jsonl", "nanobot"),
    ("picoclaw/sessions_jsonl_store/agent_main_telegram_direct_123456.jsonl", "picoclaw"),
    ("goose/legacy_jsonl_20250901_101500.jsonl", "goose"),
    ("openhuman/session_raw/1717232400_orchestrator_thread-abc123.jsonl", "openhuman"),
    ("pi/agentlogs_real_pi_branched.jsonl", "pi"),
    ("openai_chat/chat_finetune_style.jsonl", "openai_chat"),
]
# Whole-file JSON samples: (file, format, key of the message list or None for a list).
JSON_FILES = [
    ("goose/export_session_v7_compacted.json", "goose", "conversation"),
    ("picoclaw/sessions_legacy_json/telegram_123456.json", "picoclaw", "messages"),
    ("openai_chat/chat_tools_multimodal.json", "openai_chat", None),
]


def _copy(rel: str, tmp_path: Path) -> Path:
    src = DATA / rel
    dest = tmp_path / "src" / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    meta = src.with_name(src.name[: -len(src.suffix)] + ".meta.json")
    if meta.exists():
        shutil.copyfile(meta, dest.with_name(meta.name))
    return dest


def _usage(usage: Usage | None) -> Usage | None:
    """``usage`` with its cost rounded: float sums depend on how batches fell."""
    if usage is None or usage.cost_usd is None:
        return usage
    return dataclasses.replace(usage, cost_usd=round(usage.cost_usd, 9))


# Formats whose files say nothing of when a message was written: it is stored at the
# time of its import, which differs between two imports by design.
UNTIMED_SOURCES = ("openai-chat", "langchain")


def _message_state(m: Message, timed: bool) -> tuple[object, ...]:
    created = m.created_at if timed else None
    visibility = (m.visible_to_model, m.visible_to_user)
    return (m.id, m.item, visibility, _usage(m.usage), created, m.model, m.metadata)


def _state(store: Store, ids: list[str]) -> dict[str, dict[str, object]]:
    """Everything an import decides about sessions ``ids``, for comparing two imports."""
    state: dict[str, dict[str, object]] = {}
    for sid in sorted(ids):
        s = store.get_session(sid)
        timed = s.source not in UNTIMED_SOURCES
        state[sid] = {
            "session": (
                (s.title, s.agent, s.model, s.source, s.working_dir, s.status),
                (s.parent_id, s.relation, s.created_at if timed else None, s.metadata),
                (s.message_count, s.last_seq, _usage(s.usage), s.preview),
            ),
            "messages": [_message_state(m, timed) for m in store.messages(sid)],
            # Parallel calls of one message have no order of their own: sorted.
            "calls": sorted(
                (c.request_seq, c.call_id, c.name, c.status, c.result_seq)
                for c in store.tool_calls(sid)
            ),
            "history": store.history(sid),
        }
    return state


@pytest.mark.parametrize(("rel", "fmt"), LINE_FILES)
def test_sample_is_detected_as_its_format(rel: str, fmt: str) -> None:
    assert detect_format(DATA / rel) == fmt


@pytest.mark.parametrize(("rel", "fmt"), [(r, f) for r, f, _ in JSON_FILES])
def test_json_sample_is_detected_as_its_format(rel: str, fmt: str) -> None:
    assert detect_format(DATA / rel) == fmt


@pytest.mark.parametrize(("rel", "fmt"), LINE_FILES + [(r, f) for r, f, _ in JSON_FILES])
def test_reimporting_the_same_file_adds_nothing(
    store: Store, tmp_path: Path, rel: str, fmt: str
) -> None:
    path = _copy(rel, tmp_path)
    first = store.import_path(path)
    assert first.errors == {}
    assert first.messages_added > 0
    before = _state(store, first.session_ids)
    again = store.import_path(path)
    assert (again.messages_added, again.sessions_created, again.sessions_updated) == (0, 0, 0)
    assert _state(store, first.session_ids) == before
    # Touched but not changed: read again, and nothing needs correcting either.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = store.import_path(path)
    assert (touched.messages_added, touched.messages_updated, touched.sessions_created) == (
        0,
        0,
        0,
    )
    assert _state(store, first.session_ids) == {
        sid: {**state, "session": _with_fingerprint(state["session"], path)}
        for sid, state in before.items()
    }
    assert store.check() == []


def _with_fingerprint(session: object, path: Path) -> object:
    """``session`` (from _state) with the import record's fingerprint of ``path`` now."""
    fields, (parent, relation, created, metadata), counters = session  # type: ignore[misc]
    mark = metadata.get("import")
    if mark is not None and "fingerprint" in mark and mark["file"] == str(path.resolve()):
        stat = path.stat()
        printed = [stat.st_size, stat.st_mtime_ns, *mark["fingerprint"][2:]]
        metadata = {**metadata, "import": {**mark, "fingerprint": printed}}
    return (fields, (parent, relation, created, metadata), counters)


@pytest.mark.parametrize(("rel", "fmt"), LINE_FILES)
def test_grown_file_adds_only_its_new_messages(
    store: Store, tmp_path: Path, rel: str, fmt: str
) -> None:
    path = _copy(rel, tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    cut = max(2, len(lines) // 2)
    path.write_bytes(b"".join(lines[:cut]))
    early = store.import_path(path, format=fmt)
    path.write_bytes(b"".join(lines))
    grown = store.import_path(path, format=fmt)
    ids = sorted(set(early.session_ids) | set(grown.session_ids))
    reference = tmp_path / "reference.db"
    from sessiondb import connect

    with connect(reference) as fresh:
        full = fresh.import_path(path, format=fmt)
        assert sorted(full.session_ids) == ids
        assert _state(store, ids) == _state(fresh, ids)
    assert early.messages_added + grown.messages_added == full.messages_added
    assert grown.sessions_created == len(ids) - len(early.session_ids)


# Every line-oriented sample (format given where detection needs the hint).
CUT_FILES = sorted(
    (str(p.relative_to(DATA)), "codex" if "codex/" in str(p) and "drift" in p.name else None)
    for p in DATA.rglob("*.jsonl")
)
# Where real agents tear a line (killed mid-write): also cut inside each line.
TORN = ("claude_code/", "codex/")


def _cuts(rel: str, raw: bytes) -> list[bytes]:
    lines = raw.splitlines(keepends=True)
    # goose writes a legacy file whole (temp file, rename) and dates the session by its
    # first message: a file of its metadata line alone is a session begun another time.
    first = 2 if rel.startswith("goose/") else 1
    cuts = [b"".join(lines[:n]) for n in range(first, len(lines))]
    torn = rel.startswith(TORN)
    if torn:
        cuts += [b"".join(lines[:n]) + lines[n][: len(lines[n]) // 2] for n in range(len(lines))]
    return cuts


@pytest.mark.parametrize(("rel", "fmt"), CUT_FILES)
def test_every_cut_of_a_growing_file_converges_on_a_fresh_import(
    tmp_path: Path, rel: str, fmt: str | None
) -> None:
    # SQLite only: each cut needs a database of its own (the contract tests show
    # update_message, which convergence rests on, behaves alike on every backend).
    from sessiondb import connect

    path = _copy(rel, tmp_path)
    full = path.read_bytes()
    stat = path.stat()
    with connect(tmp_path / "fresh.db") as fresh:
        report = fresh.import_path(path, format=fmt)
        assert report.errors == {}
        ids = sorted(s.id for s in fresh.list_sessions(limit=1000))
        expected = _state(fresh, ids)
    with connect(":memory:") as db:  # many imports: no disk needed
        for cut in _cuts(rel, full):
            path.write_bytes(cut)
            db.import_path(path, format=fmt)
            path.write_bytes(full)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same fingerprint
            again = db.import_path(path, format=fmt)
            assert again.errors == {}
            assert sorted(s.id for s in db.list_sessions(limit=1000)) == ids
            assert _state(db, ids) == expected, f"cut after byte {len(cut)} of {len(full)}"
            assert db.check() == []
            for sid in ids:  # the next cut starts from an empty store
                with contextlib.suppress(NotFound):
                    db.delete_session(sid, recursive=True)


@pytest.mark.parametrize(("rel", "fmt", "key"), JSON_FILES)
def test_rewritten_json_file_adds_only_its_new_messages(
    store: Store, tmp_path: Path, rel: str, fmt: str, key: str | None
) -> None:
    path = _copy(rel, tmp_path)
    document = json.loads(path.read_bytes())
    messages = document if key is None else document[key]
    half = messages[: len(messages) // 2]
    path.write_text(json.dumps(half if key is None else {**document, key: half}))
    early = store.import_path(path, format=fmt)
    path.write_text(json.dumps(document))
    grown = store.import_path(path, format=fmt)
    assert early.messages_added == len(half)
    assert grown.messages_added == len(messages) - len(half)
    assert grown.sessions_created == 0


def test_claude_usage_is_the_same_whether_imported_in_one_go_or_while_growing(
    store: Store, tmp_path: Path
) -> None:
    path = _copy("claude_code/agentlogs_real_crud.jsonl", tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    for cut in (3, 4, 9, 16, len(lines)):  # some cuts split one API message's lines
        path.write_bytes(b"".join(lines[:cut]))
        store.import_path(path)
    usage = store.get_session("claude-code:8122657c-fe54-4dc9-89a3-20049e8a84f7").usage
    assert (usage.output_tokens, usage.cache_read_tokens) == (1508, 148958)


@pytest.mark.parametrize("where", ["after", "before"])
def test_codex_usage_survives_a_reimport_cut_next_to_a_token_count(
    store: Store, tmp_path: Path, where: str
) -> None:
    path = _copy("codex/agentlogs_real_codex-0.89.0_crud.jsonl", tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    counts = [i for i, line in enumerate(lines) if b'"token_count"' in line]
    sid = "codex:019bf4b5-e7b0-75a0-8bf2-05fbf1b13c9b"
    for count in counts:
        # "before": the response is in the file, the count that gives its usage is not.
        path.write_bytes(b"".join(lines[: count + 1 if where == "after" else count]))
        store.import_path(path)
        path.write_bytes(b"".join(lines))
        store.import_path(path)
        usage = store.get_session(sid).usage
        assert (usage.input_tokens, usage.output_tokens) == (47257, 300), count
        assert sum(m.usage.output_tokens for m in store.messages(sid) if m.usage) == 300
        store.delete_session(sid)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_directory_import_reads_every_format_and_changes_no_source_file(
    store: Store, tmp_path: Path
) -> None:
    root = tmp_path / "all"
    shutil.copytree(DATA, root)
    before = _digest(root)
    report = store.import_path(root)
    assert _digest(root) == before
    assert report.errors == {}
    assert report.files == 41
    assert report.sessions_created == 42
    unrecognised = {Path(s.path).name for s in report.skipped if s.line == 0}
    assert unrecognised == {
        "agent-sessions_synthetic_schema_drift.jsonl",  # codex drift: needs format="codex"
        "anthropic_context_length_exceeded.json",  # goose test recordings, not sessions
        "anthropic_weather_tool.json",
        "openai_weather_tool.json",
    }
    assert store.check() == []


def test_one_bad_file_does_not_stop_the_others(store: Store, tmp_path: Path) -> None:
    shutil.copyfile(DATA / "nanobot" / "nanobot_v035_tool_calls.jsonl", tmp_path / "good.jsonl")
    # The store's own database sits in tmp_path too (sqlite): it is never imported.
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_meta": "not an object"}\n{"role":"user","content":"x"}\n')
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"_type": "metadata", "key": "cli:x"}\n{"role": "user", "content": "hi"}\n')
    report = store.import_path(tmp_path, format="nanobot")
    assert set(report.errors) == {str(bad)}
    assert report.errors[str(bad)].startswith("BadTranscript:")
    assert sorted(report.session_ids) == ["nanobot:cli:x", "nanobot:telegram:12345"]


@pytest.mark.parametrize(
    ("fmt", "name", "message", "expected"),
    [
        (
            "goose",
            "20250101_000000.jsonl",
            '{"role":"user","created":1,"content":[{"type":"text","text":"hi"}]}',
            "the first line is not goose's session metadata",
        ),
        ("openhuman", "1_agent.jsonl", '{"role":"user","content":"hi"}', "an openhuman '_meta'"),
        ("pi", "s.jsonl", '{"type":"message","id":"a","parentId":null}', "pi's session header"),
        ("nanobot", "cli_x.jsonl", '{"role":"user","content":"hi"}', "nanobot's metadata"),
        ("sessiondb", "s.jsonl", '{"id":"m","item":{}}', "not a sessiondb export header"),
    ],
)
@pytest.mark.parametrize("header", ['{"working_dir":"/root","descr', "garbage"])
def test_a_corrupt_header_line_is_named_as_line_1_with_the_file_named_once(
    store: Store, tmp_path: Path, fmt: str, name: str, message: str, expected: str, header: str
) -> None:
    path = tmp_path / name
    path.write_text(f"{header}\n{message}\n")
    report = store.import_path(path, format=fmt)
    error = report.errors[str(path)]
    assert error.startswith("BadTranscript: line 1: ") and expected in error, error
    assert "not JSON" in error  # why line 1 is not the header
    assert str(path) not in error and name not in error  # the report is keyed by the file
    assert report.skipped == []  # line 1 is the error, not also a skipped line
    assert store.list_sessions().items == []

    only = tmp_path / f"only_{name}"
    only.write_text(f"{header}\n")
    error = store.import_path(only, format=fmt).errors[str(only)]
    assert error.startswith("BadTranscript: line 1: ") and "not JSON" in error, error


def test_imported_transcripts_age_by_their_own_time_and_a_fork_of_one_by_its_own(
    store: Store,
) -> None:
    goose = DATA / "goose"
    forked = store.import_path(goose / "legacy_jsonl_from_legacy_rs_test_20240101_120000.jsonl")
    left = store.import_path(goose / "legacy_jsonl_20250901_101500.jsonl")
    (source,), (untouched,) = forked.session_ids, left.session_ids
    store.append(source, {"role": "user", "content": "one more"})
    fork = store.fork(source, at_seq=2)
    report = store.prune(older_than=timedelta(days=90))
    assert report.session_ids == [untouched]  # imported long after its last message
    assert {s.id for s in store.list_sessions().items} == {source, fork.id}


def test_progress_reports_messages_added_so_far(store: Store) -> None:
    seen: list[int] = []
    report = store.import_path(DATA / "codex", progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == report.messages_added


def test_unknown_format_and_missing_path_are_invalid_input(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        store.import_path(DATA, format="nope")
    with pytest.raises(InvalidInput):
        store.import_path(tmp_path / "missing")


def test_a_file_of_no_known_format_given_explicitly_is_an_error(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": "world"}\n')
    report = store.import_path(path)
    assert report.errors == {str(path): "format not recognized"}


def test_discover_lists_the_default_locations_that_exist(tmp_path: Path) -> None:
    (tmp_path / ".claude" / "projects").mkdir(parents=True)
    (tmp_path / ".codex" / "sessions").mkdir(parents=True)
    (tmp_path / ".pi" / "agent" / "sessions").mkdir(parents=True)
    found = discover(tmp_path)
    assert found == [
        ("claude_code", tmp_path / ".claude" / "projects"),
        ("codex", tmp_path / ".codex" / "sessions"),
        ("pi", tmp_path / ".pi" / "agent" / "sessions"),
    ]
    assert all(name in FORMATS for name, _ in found)


# ---------------------------------------------------------------------------- SQLite sources


def _agents_db(path: Path, rows: list[tuple[str, dict[str, object]]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS agent_sessions (session_id TEXT PRIMARY KEY,"
        " created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " session_id TEXT, message_data TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
    )
    for sid, item in rows:
        conn.execute("INSERT OR IGNORE INTO agent_sessions (session_id) VALUES (?)", (sid,))
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
            (sid, json.dumps(item)),
        )
    conn.commit()
    conn.close()


def test_openai_agents_database_imports_incrementally(store: Store, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    db = tmp_path / "src" / "agents.sqlite"
    _agents_db(
        db,
        [
            ("s1", {"role": "user", "content": "What's 2+2?"}),
            ("s1", {"type": "function_call", "call_id": "c1", "name": "calc", "arguments": "{}"}),
            ("s1", {"type": "function_call_output", "call_id": "c1", "output": "4"}),
        ],
    )
    before = _digest(db.parent)
    first = store.import_path(db)
    assert _digest(db.parent) == before  # opened read-only
    assert first.session_ids == ["openai-agents:s1"]
    assert first.messages_added == 3
    assert [c.status for c in store.tool_calls("openai-agents:s1")] == ["ok"]
    _agents_db(db, [("s1", {"role": "assistant", "content": "4"}), ("s2", {"role": "user"})])
    grown = store.import_path(db)
    assert grown.messages_added == 2
    assert grown.sessions_created == 1


def test_langchain_message_store_imports_with_tool_calls_and_usage(
    store: Store, tmp_path: Path
) -> None:
    db = tmp_path / "chat.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id TEXT, message TEXT)"
    )
    rows = [
        {"type": "human", "data": {"content": "weather?", "type": "human"}},
        {
            "type": "ai",
            "data": {
                "content": "",
                "tool_calls": [{"name": "weather", "args": {"city": "Rome"}, "id": "t1"}],
                "usage_metadata": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
            },
        },
        {"type": "tool", "data": {"content": "sunny", "tool_call_id": "t1"}},
        "not a message",
    ]
    for row in rows:
        conn.execute(
            "INSERT INTO message_store (session_id, message) VALUES ('u1', ?)", (json.dumps(row),)
        )
    conn.commit()
    conn.close()
    report = store.import_path(db)
    assert report.messages_added == 3
    assert len(report.skipped) == 1
    assert "".join(m.role[0] for m in store.messages("langchain:u1")) == "uat"
    assert [(c.name, c.status) for c in store.tool_calls("langchain:u1")] == [("weather", "ok")]
    assert store.get_session("langchain:u1").usage.input_tokens == 10
    assert store.import_path(db).messages_added == 0


def test_goose_sessions_database_is_read_with_visibility(store: Store, tmp_path: Path) -> None:
    (tmp_path / "goose").mkdir()
    db = tmp_path / "goose" / "sessions.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
        CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT DEFAULT '', description TEXT
          DEFAULT '', working_dir TEXT NOT NULL, created_at TIMESTAMP, accumulated_total_tokens
          INTEGER, parent_session_id TEXT);
        CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT,
          session_id TEXT NOT NULL, role TEXT NOT NULL, content_json TEXT NOT NULL,
          created_timestamp INTEGER NOT NULL, metadata_json TEXT);
        INSERT INTO schema_version VALUES (7);
        INSERT INTO sessions VALUES ('20260101_1', 'Parent', '', '/w', '2026-01-01 00:00:00',
          10, NULL);
        INSERT INTO sessions VALUES ('20260101_2', 'Child', '', '/w', '2026-01-01 00:01:00',
          NULL, '20260101_1');
        """
    )
    content = [{"type": "text", "text": "hello"}]
    for sid, mid, role, meta in [
        ("20260101_1", "m1", "user", {"userVisible": True, "agentVisible": False}),
        ("20260101_1", "m2", "assistant", None),
        ("20260101_2", "m3", "user", {"userVisible": False, "agentVisible": True}),
    ]:
        conn.execute(
            "INSERT INTO messages (message_id, session_id, role, content_json,"
            " created_timestamp, metadata_json) VALUES (?, ?, ?, ?, ?, ?)",
            (mid, sid, role, json.dumps(content), 1767225600000, meta and json.dumps(meta)),
        )
    conn.commit()
    conn.close()
    report = store.import_path(db.parent)
    assert report.errors == {}
    assert sorted(report.session_ids) == ["goose:20260101_1", "goose:20260101_2"]
    parent = store.messages("goose:20260101_1")
    assert [(m.visible_to_model, m.visible_to_user) for m in parent] == [
        (False, True),
        (True, True),
    ]
    assert parent[0].created_at.year == 2026  # milliseconds were recognised
    child = store.get_session("goose:20260101_2")
    assert (child.parent_id, child.relation) == ("goose:20260101_1", "subagent")
    assert store.get_session("goose:20260101_1").title == "Parent"
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO messages (message_id, session_id, role, content_json, created_timestamp)"
        " VALUES ('m4', '20260101_2', 'assistant', ?, 1767225601)",
        (json.dumps(content),),
    )
    conn.commit()
    conn.close()
    grown = store.import_path(db)
    assert (grown.messages_added, grown.sessions_created, grown.sessions_updated) == (1, 0, 1)


def test_grown_sessiondb_export_adds_only_its_new_messages(store: Store, tmp_path: Path) -> None:
    from sessiondb import connect

    with connect(tmp_path / "origin.db") as origin:
        origin.import_path(DATA / "pi" / "agentlogs_real_pi_crud.jsonl")
        text = origin.export("pi:1fa031b8-444e-429d-bbaa-1db4cda65b5f")
    lines = text.splitlines(keepends=True)
    path = tmp_path / "export.jsonl"
    path.write_text("".join(lines[:4]))
    assert store.import_path(path).messages_added == 3
    path.write_text(text)
    grown = store.import_path(path)
    assert grown.messages_added == len(lines) - 4
    assert grown.sessions_created == 0


def test_a_file_unchanged_since_its_complete_import_is_not_read_again(
    store: Store, tmp_path: Path
) -> None:
    path = _copy("nanobot/nanobot_v035_tool_calls.jsonl", tmp_path)
    assert store.import_path(path).messages_added == 9
    stat = path.stat()
    # Same size, same modification time, different bytes: only a re-read could notice.
    text = path.read_bytes().replace(b"Listing files.", b"Listing fil3s.")
    path.write_bytes(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = store.import_path(path)
    assert (again.files, again.messages_added) == (1, 0)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert store.import_path(path).messages_added == 1  # now it is read: one changed message


def test_names_of_the_wrong_type_in_a_transcript_are_reported_not_raised(
    store: Store, tmp_path: Path
) -> None:
    # Found by tests/reliability/test_hostile_imports.py: a list as a line's "type"
    # made claude_code's detector and codex's reader raise TypeError (unhashable).
    head = tmp_path / "head.jsonl"
    head.write_text(json.dumps({"type": ["summary"]}) + "\n")
    assert store.import_path(head).errors == {str(head): "format not recognized"}
    rollout = (DATA / "codex" / "agent-history_synthetic_codex-0.77_compacted.jsonl").read_text()
    lines = rollout.splitlines()
    damaged = [json.loads(line) for line in lines]
    for line in damaged:
        if isinstance(line.get("payload"), dict):
            line["payload"]["type"] = []
            break
    path = tmp_path / "rollout.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in damaged))
    report = store.import_path(path, format="codex")
    assert report.errors == {}
    assert report.messages_added > 0


def test_session_metadata_sessiondb_cannot_store_is_dropped_and_reported(
    store: Store, tmp_path: Path
) -> None:
    # Found by tests/reliability/test_hostile_imports.py: a NaN token counter (JSON
    # allows the literal) refused the whole goose session with InvalidInput.
    document = json.loads((DATA / "goose" / "export_session_v7_compacted.json").read_text())
    document["accumulated_input_tokens"] = float("nan")
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(document))
    report = store.import_path(path, format="goose")
    assert report.errors == {}
    assert any("goose_usage" in line.reason for line in report.skipped)
    session = store.get_session(report.session_ids[0])
    assert "goose_usage" not in session.metadata
    assert session.message_count == report.messages_added > 0


def test_a_source_repeating_a_message_id_counts_it_once(tmp_path: Path) -> None:
    # Found by tests/reliability/test_hostile_imports.py: the batch is refused (an id twice),
    # the messages are appended one by one, and the repeat returned the first message,
    # which was counted as added a second time.
    with connect(tmp_path / "src.db") as source:
        source.create_session("x")
        source.append(
            "x", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
        )
        lines = source.export("x", "jsonl").splitlines()
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    with connect(tmp_path / "dst.db") as store:
        report = store.import_path(path)
        assert report.messages_added == len(store.messages("x")) == 2
