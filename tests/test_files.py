"""Export files: collision-free names, never overwritten, verified before prune deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import sessiondb
from sessiondb import InvalidInput, NewMessage
from sessiondb import retention as retention_module
from sessiondb.files import file_stem, write_new_file

OLD = datetime.now(UTC) - timedelta(days=200)


def test_plain_lowercase_ids_keep_their_name():
    assert file_stem("claude-code_abc.123") == "claude-code_abc.123"


def test_ids_that_sanitize_alike_get_distinct_stable_names():
    ids = ["team:a", "team/a", "team_a", "Team_a", "TEAM_A", "team\\a", "team a", ".team_a"]
    stems = [file_stem(sid) for sid in ids]
    assert len({stem.lower() for stem in stems}) == len(ids)  # distinct even ignoring case
    assert stems == [file_stem(sid) for sid in ids]  # deterministic
    assert stems[0].startswith("team_a-")
    assert all(not stem.startswith(".") for stem in stems)


def test_a_long_id_gets_a_name_the_file_system_accepts(tmp_path):
    long_a, long_b = "a" * 254 + "x", "a" * 254 + "y"
    assert file_stem(long_a) != file_stem(long_b)
    path = write_new_file(tmp_path, long_a, ".jsonl", "text")
    assert len(path.name.encode()) < 255
    assert path.read_text() == "text"


def test_write_new_file_never_replaces_an_existing_file(tmp_path):
    (tmp_path / "s.jsonl").write_text("precious")
    first = write_new_file(tmp_path, "s", ".jsonl", "one")
    second = write_new_file(tmp_path, "s", ".jsonl", "two")
    assert (first.name, second.name) == ("s~2.jsonl", "s~3.jsonl")
    assert (tmp_path / "s.jsonl").read_text() == "precious"
    assert (first.read_text(), second.read_text()) == ("one", "two")
    assert not list(tmp_path.glob("*.partial"))


def test_prune_deletes_nothing_when_an_archive_does_not_read_back_intact(tmp_path, monkeypatch):
    db = sessiondb.connect(tmp_path / "s.db")
    for sid in ("a", "b"):
        db.create_session(sid, created_at=OLD)
        db.append(sid, [NewMessage({"role": "user", "content": sid}, created_at=OLD)])

    def lossy(directory: Path, session_id: str, extension: str, text: str) -> Path:
        # A file system that silently loses the end of what the second write wrote.
        intact = not list(directory.iterdir())
        return write_new_file(
            directory, session_id, extension, text[: len(text) // (1 + (not intact))]
        )

    monkeypatch.setattr(retention_module, "write_new_file", lossy)
    with pytest.raises(InvalidInput) as raised:
        db.prune(older_than=timedelta(days=90), archive_dir=tmp_path / "archive")
    assert raised.value.subject is not None
    assert raised.value.subject.startswith(str(tmp_path / "archive"))
    assert "nothing was deleted" in str(raised.value)
    assert sorted(s.id for s in db.list_sessions().items) == ["a", "b"]
    assert list((tmp_path / "archive").iterdir()) == []  # the good first archive is removed too
    db.close()
