"""What the importer does with the files it finds: the walk (plan), files it must not
read (FIFOs, leftovers), source files it must not change (SQLite in WAL mode),
companion files, and sources rewritten in place (nanobot, picoclaw, LangChain)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sessiondb import Store, connect
from sessiondb.importers import plan

DATA = Path(__file__).parent / "data"


def _listing(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` with a digest of its bytes (names alone for non-files)."""
    found = {}
    for entry in sorted(folder.iterdir()):
        found[entry.name] = (
            hashlib.sha256(entry.read_bytes()).hexdigest() if entry.is_file() else "-"
        )
    return found


def _visibility(store: Store, session_id: str) -> str:
    return "".join("V" if m.visible_to_model else "h" for m in store.messages(session_id))


# ---------------------------------------------------------------------------- the walk


def test_plan_is_the_import_walk_and_skips_leftovers_with_a_reason(
    store: Store, tmp_path: Path
) -> None:
    root = tmp_path / "all"
    shutil.copytree(DATA, root)
    planned = list(plan(root))
    names = [p.path.name for p in planned]
    assert not any(n.endswith((".migrated", ".meta.json")) for n in names)
    report = store.import_path(root)
    to_import = [p for p in planned if p.format is not None]
    # Every file listed is read (or fails), and every other one is reported as skipped.
    assert report.files + len(report.errors) == len(to_import)
    skipped_files = {s.path for s in report.skipped if s.line == 0 and "not recognized" in s.reason}
    assert skipped_files == {str(p.path) for p in planned if p.format is None}


def test_a_migrated_file_named_explicitly_is_skipped_not_imported_as_chat(
    store: Store, tmp_path: Path
) -> None:
    migrated = (
        DATA / "picoclaw" / "sessions_after_MigrateFromJSON" / "telegram_123456.json.migrated"
    )
    report = store.import_path(migrated)
    assert report.session_ids == []
    assert report.errors == {}
    assert [(s.line, s.reason.split(":")[0]) for s in report.skipped] == [(0, "not imported")]
    assert "companion or leftover" in report.skipped[0].reason
    assert [(p.format, p.reason is not None) for p in plan(migrated)] == [(None, True)]
    assert store.list_sessions().items == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_like_a_transcript_is_skipped_and_reported(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copyfile(DATA / "nanobot" / "nanobot_v035_tool_calls.jsonl", folder / "good.jsonl")
    fifo = folder / "pipe.jsonl"
    os.mkfifo(fifo)
    result: dict[str, object] = {}

    def run() -> None:
        result["directory"] = store.import_path(folder)
        result["explicit"] = store.import_path(fifo)

    # Opening a FIFO blocks until a writer comes: run in a thread so a regression fails
    # the test instead of hanging the suite (the writer below then unblocks it).
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():
        with open(fifo, "wb"):
            pass
        worker.join(timeout=5)
        pytest.fail("importing a directory with a FIFO in it blocked")
    directory, explicit = result["directory"], result["explicit"]
    assert directory.session_ids == ["nanobot:telegram:12345"]  # type: ignore[attr-defined]
    for report in (directory, explicit):
        reasons = [(s.path, s.reason) for s in report.skipped]  # type: ignore[attr-defined]
        assert (str(fifo), "not imported: a FIFO (reading it could block)") in reasons
        assert report.errors == {}  # type: ignore[attr-defined]


def test_the_import_record_names_the_resolved_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    shutil.copyfile(DATA / "pi" / "agentlogs_real_pi_crud.jsonl", tmp_path / "src" / "pi.jsonl")
    monkeypatch.chdir(tmp_path)
    report = store.import_path(Path("src") / "." / "pi.jsonl")
    mark = store.get_session(report.session_ids[0]).metadata["import"]
    assert mark["file"] == str((tmp_path / "src" / "pi.jsonl").resolve())
    assert Path(mark["file"]).is_absolute()
    # The same file by another spelling is the same file: not read again.
    again = store.import_path(tmp_path / "src" / "pi.jsonl")
    assert (again.files, again.messages_added, again.sessions_updated) == (1, 0, 0)


# ---------------------------------------------------------------------------- SQLite sources


def _wal_source(kind: str, path: Path) -> sqlite3.Connection:
    """A database of ``kind`` in WAL mode with one committed message per session, still
    open (its last transaction in the -wal file, as with a running agent)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # keep the rows in the -wal file
    if kind == "goose":
        conn.executescript(
            """
            CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
            CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT DEFAULT '',
              description TEXT DEFAULT '', working_dir TEXT NOT NULL, created_at TIMESTAMP);
            CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT,
              session_id TEXT NOT NULL, role TEXT NOT NULL, content_json TEXT NOT NULL,
              created_timestamp INTEGER NOT NULL, metadata_json TEXT);
            INSERT INTO schema_version VALUES (7);
            INSERT INTO sessions VALUES ('20260101_1', 'n', '', '/w', '2026-01-01 00:00:00');
            """
        )
        conn.execute(
            "INSERT INTO messages (message_id, session_id, role, content_json,"
            " created_timestamp) VALUES ('m1', '20260101_1', 'user', ?, 1767225600)",
            (json.dumps([{"type": "text", "text": "hi"}]),),
        )
    elif kind == "openai_agents":
        conn.executescript(
            """
            CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY,
              created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP);
            CREATE TABLE agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
              session_id TEXT, message_data TEXT,
              created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
            INSERT INTO agent_sessions (session_id) VALUES ('s1');
            """
        )
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES ('s1', ?)",
            (json.dumps({"role": "user", "content": "hi"}),),
        )
    else:
        conn.execute(
            "CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id TEXT, message TEXT)"
        )
        conn.execute(
            "INSERT INTO message_store (session_id, message) VALUES ('u1', ?)",
            (json.dumps({"type": "human", "data": {"content": "hi"}}),),
        )
    conn.commit()
    return conn


SQLITE_KINDS = [
    ("goose", "sessions.db", "goose:20260101_1"),
    ("openai_agents", "agents.sqlite", "openai-agents:s1"),
    ("langchain", "chat.db", "langchain:u1"),
]


@pytest.mark.parametrize(("kind", "name", "sid"), SQLITE_KINDS)
def test_a_wal_mode_source_is_read_without_touching_its_directory(
    store: Store, tmp_path: Path, kind: str, name: str, sid: str
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    db = folder / name
    writer = _wal_source(kind, db)
    try:
        live = _listing(folder)
        assert f"{name}-wal" in live  # the committed rows are only in the log so far
        report = store.import_path(folder)
        assert report.errors == {}
        assert report.session_ids == [sid]
        assert report.messages_added == 1  # read from the log too
        assert _listing(folder) == live
    finally:
        writer.close()  # the agent exits: SQLite checkpoints and removes -wal and -shm
    closed = _listing(folder)
    assert closed.keys() == {name}
    # A WAL-mode file alone: opening it in place would create -wal and -shm beside it.
    with connect(tmp_path / "other.db") as other:
        again = other.import_path(db)
        assert (again.errors, again.messages_added) == ({}, 1)
    assert _listing(folder) == closed
    expected = "goose_db" if kind == "goose" else kind
    assert [p.format for p in plan(db)] == [expected]
    assert _listing(folder) == closed  # detection reads a copy too


def test_a_sqlite_source_changed_while_read_is_read_from_a_consistent_copy(
    store: Store, tmp_path: Path
) -> None:
    db = tmp_path / "src" / "agents.sqlite"
    db.parent.mkdir()
    writer = _wal_source("openai_agents", db)
    try:
        assert store.import_path(db).messages_added == 1
        writer.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES ('s1', ?)",
            (json.dumps({"role": "assistant", "content": "hello"}),),
        )
        writer.commit()
        before = _listing(db.parent)
        grown = store.import_path(db)
        assert (grown.messages_added, grown.errors) == (1, {})
        assert _listing(db.parent) == before
    finally:
        writer.close()
    assert [m.item["content"] for m in store.messages("openai-agents:s1")] == ["hi", "hello"]


_CRASHING_WRITER = """
import json, os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY, created_at TEXT)")
conn.execute("CREATE TABLE agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
             " session_id TEXT, message_data TEXT, created_at TEXT)")
conn.execute("INSERT INTO agent_sessions VALUES ('s1', '2026-01-01 00:00:00')")
conn.execute("INSERT INTO agent_messages (session_id, message_data) VALUES ('s1', ?)",
             (json.dumps({"role": "user", "content": "committed"}),))
conn.execute("PRAGMA cache_size = 1")  # spill the open transaction to the file
conn.execute("BEGIN")
for _ in range(2000):
    conn.execute("INSERT INTO agent_messages (session_id, message_data) VALUES ('s1', ?)",
                 (json.dumps({"role": "user", "content": "never committed " * 20}),))
os._exit(0)  # killed mid-transaction: a hot journal stays beside the database
"""


def test_a_source_left_with_a_hot_journal_is_read_as_committed_and_left_alone(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    db = folder / "agents.sqlite"
    subprocess.run([sys.executable, "-c", _CRASHING_WRITER, str(db)], check=True)
    before = _listing(folder)
    assert "agents.sqlite-journal" in before
    report = store.import_path(folder)
    assert (report.errors, report.session_ids) == ({}, ["openai-agents:s1"])
    # The unfinished transaction is rolled back in a private copy, not in the source.
    assert [m.item["content"] for m in store.messages("openai-agents:s1")] == ["committed"]
    assert _listing(folder) == before


# ---------------------------------------------------------------------------- rewritten sources


def test_langchain_message_store_reimports_incrementally(store: Store, tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE message_store (id INTEGER PRIMARY KEY, session_id TEXT, message TEXT)"
    )

    def add(session: str, kind: str, content: str, **data: object) -> None:
        message = {"type": kind, "data": {"content": content, "type": kind, **data}}
        conn.execute(
            "INSERT INTO message_store (session_id, message) VALUES (?, ?)",
            (session, json.dumps(message)),
        )
        conn.commit()

    add("u1", "human", "hi")
    add("u1", "ai", "hello", usage_metadata={"input_tokens": 5, "output_tokens": 2})
    first = store.import_path(db)
    assert (first.messages_added, first.sessions_created) == (2, 1)
    add("u1", "human", "how are you?")
    add("u2", "human", "another conversation")
    add("u1", "ai", "fine", usage_metadata={"input_tokens": 9, "output_tokens": 1})
    conn.close()
    grown = store.import_path(db)
    assert (grown.messages_added, grown.sessions_created, grown.sessions_updated) == (3, 1, 1)
    assert [m.id for m in store.messages("langchain:u1")] == [
        "row-1",
        "row-2",
        "row-3",
        "row-5",
    ]
    assert [m.item["content"] for m in store.messages("langchain:u1")] == [
        "hi",
        "hello",
        "how are you?",
        "fine",
    ]
    usage = store.get_session("langchain:u1").usage
    assert (usage.input_tokens, usage.output_tokens) == (14, 3)
    again = store.import_path(db)
    assert (again.messages_added, again.sessions_created, again.sessions_updated) == (0, 0, 0)


def test_nanobot_consolidation_written_since_hides_what_it_consolidated(
    store: Store, tmp_path: Path
) -> None:
    src = DATA / "nanobot" / "nanobot_v035_corrupt_lines.jsonl"
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["last_consolidated"] == 4
    path = tmp_path / src.name
    early = {**header, "last_consolidated": 0}
    early.pop("last_archived", None)
    path.write_text(json.dumps(early) + "\n" + "".join(lines[1:]), encoding="utf-8")
    store.import_path(path)
    sid = "nanobot:telegram:12345"
    assert _visibility(store, sid) == "VVVVVVVVV"
    path.write_text("".join(lines), encoding="utf-8")
    report = store.import_path(path)
    assert (report.messages_added, report.messages_updated) == (0, 4)
    assert _visibility(store, sid) == "hhhhVVVVV"
    assert len(store.history(sid)) == 5
    assert store.get_session(sid).metadata["last_consolidated"] == 4


def test_picoclaw_meta_change_alone_is_read_again(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    shutil.copytree(DATA / "picoclaw" / "sessions_jsonl_store", folder)
    meta_path = folder / "agent_main_telegram_direct_123456.meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["skip"] == 4
    meta_path.write_text(json.dumps({**meta, "skip": 0}), encoding="utf-8")
    store.import_path(folder)
    sid = "picoclaw:agent:main:telegram:direct:123456"
    assert _visibility(store, sid) == "VVVVVVVVV"
    jsonl = folder / "agent_main_telegram_direct_123456.jsonl"
    unchanged = jsonl.stat()
    # picoclaw truncates logically: only the .meta.json changes.
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    report = store.import_path(folder)
    assert jsonl.stat().st_mtime_ns == unchanged.st_mtime_ns
    assert (report.messages_added, report.messages_updated) == (0, 4)
    assert _visibility(store, sid) == "hhhhVVVVV"
    # And with nothing changed, the file is not read again.
    again = store.import_path(folder)
    assert (again.files, again.messages_updated, again.sessions_updated) == (1, 0, 0)
