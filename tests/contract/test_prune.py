"""Retention: ``prune`` drops idle sessions with their subtrees, archiving first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessiondb import InvalidInput, NewMessage, NotFound

OLD = datetime.now(UTC) - timedelta(days=120)


def idle(store, session_id, *, parent_id=None, status="active", messages=1):
    """A session created long ago whose messages are as old: idle for 120 days."""
    store.create_session(
        session_id,
        parent_id=parent_id,
        relation="subagent" if parent_id else None,
        status=status,
        created_at=OLD,
    )
    store.append(
        session_id,
        [NewMessage({"role": "user", "content": f"m{i}"}, created_at=OLD) for i in range(messages)],
    )


def ids(store):
    return {s.id for s in store.list_sessions(limit=100).items}


def test_prune_deletes_sessions_idle_longer_than_the_cutoff_and_keeps_recent_ones(store):
    idle(store, "old", messages=3)
    store.create_session("recent")
    store.append("recent", {"role": "user", "content": "today"})
    report = store.prune(older_than=timedelta(days=90))
    assert report.session_ids == ["old"]
    assert report.messages == 3
    assert report.dry_run is False
    assert ids(store) == {"recent"}


def test_prune_judges_age_by_the_last_message_not_by_creation(store):
    idle(store, "revived")
    store.append("revived", {"role": "user", "content": "back again"})
    assert store.prune(older_than=timedelta(days=90)).session_ids == []
    assert ids(store) == {"revived"}


def test_prune_keeps_a_fork_made_just_now_from_old_messages(store):
    idle(store, "source", messages=3)
    store.append("source", {"role": "user", "content": "today"})
    fork = store.fork("source", at_seq=2)
    assert fork.last_message_at == OLD  # its newest message is an old copy...
    assert store.prune(older_than=timedelta(days=90)).session_ids == []  # ...made just now
    assert ids(store) == {"source", fork.id}


def test_prune_keeps_a_new_session_whose_items_carry_old_timestamps(store):
    store.create_session("replayed")
    store.append("replayed", NewMessage({"role": "user", "content": "then"}, created_at=OLD))
    assert store.prune(older_than=timedelta(days=90)).session_ids == []
    assert ids(store) == {"replayed"}


def test_prune_takes_the_whole_subagent_tree_of_an_idle_session(store):
    idle(store, "root")
    store.create_session("child", parent_id="root", relation="subagent")
    store.append("child", {"role": "user", "content": "recent child"})
    store.create_session("grandchild", parent_id="child", relation="subagent")
    store.create_session("bystander")
    report = store.prune(older_than=timedelta(days=90))
    assert sorted(report.session_ids) == ["child", "grandchild", "root"]
    assert ids(store) == {"bystander"}
    with pytest.raises(NotFound):
        store.get_session("grandchild")


def test_prune_counts_a_session_once_when_it_and_its_parent_are_both_idle(store):
    idle(store, "root")
    idle(store, "child", parent_id="root")
    report = store.prune(older_than=timedelta(days=90))
    assert sorted(report.session_ids) == ["child", "root"]
    assert report.messages == 2
    assert ids(store) == set()


def test_prune_with_status_only_touches_sessions_with_that_status(store):
    idle(store, "done", status="completed")
    idle(store, "open")
    report = store.prune(older_than=timedelta(days=90), status="completed")
    assert report.session_ids == ["done"]
    assert ids(store) == {"open"}


def test_prune_dry_run_reports_without_deleting(store):
    idle(store, "old")
    report = store.prune(older_than=timedelta(days=90), dry_run=True)
    assert report.session_ids == ["old"]
    assert report.dry_run is True
    assert ids(store) == {"old"}


def test_prune_archive_that_cannot_be_written_deletes_nothing(store, tmp_path):
    idle(store, "old")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(InvalidInput):
        store.prune(older_than=timedelta(days=90), archive_dir=blocker / "archive")
    assert ids(store) == {"old"}


def test_prune_archives_each_session_as_reimportable_jsonl_before_deleting(store, tmp_path):
    idle(store, "root", messages=2)
    idle(store, "child", parent_id="root")
    report = store.prune(older_than=timedelta(days=90), archive_dir=tmp_path / "archive")
    assert report.archived_to == str(tmp_path / "archive")
    files = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert files == ["child.jsonl", "root.jsonl"]
    assert ids(store) == set()
    store.import_path(tmp_path / "archive" / "root.jsonl")
    assert [m.text for m in store.messages("root")] == ["m0", "m1"]


def test_prune_rejects_a_negative_age_and_an_unknown_status(store):
    with pytest.raises(InvalidInput):
        store.prune(older_than=timedelta(days=-1))
    with pytest.raises(InvalidInput):
        store.prune(older_than=timedelta(days=1), status="ancient")


COLLIDING = ["team:a", "team/a", "team_a", "Team_a"]  # one file name if sanitized naively


def test_prune_archives_ids_that_sanitize_alike_into_separate_files_that_reimport(store, tmp_path):
    for sid in COLLIDING:
        idle(store, sid)
        store.append(sid, NewMessage({"role": "user", "content": f"only in {sid}"}, created_at=OLD))
    archive = tmp_path / "archive"
    report = store.prune(older_than=timedelta(days=90), archive_dir=archive)
    assert sorted(report.session_ids) == sorted(COLLIDING)
    assert sorted(report.archives) == sorted(COLLIDING)
    assert len(set(report.archives.values())) == 4
    assert sorted(str(p) for p in archive.iterdir()) == sorted(report.archives.values())
    assert ids(store) == set()
    store.import_path(archive)
    assert ids(store) == set(COLLIDING)
    for sid in COLLIDING:
        assert [m.text for m in store.messages(sid)] == ["m0", f"only in {sid}"]


def test_prune_archive_names_are_the_same_for_the_same_id_and_never_overwrite(store, tmp_path):
    archive = tmp_path / "archive"
    idle(store, "team:a")
    first = store.prune(older_than=timedelta(days=90), archive_dir=archive).archives["team:a"]
    idle(store, "team:a", messages=2)  # the same id again, pruned into the same directory
    second = store.prune(older_than=timedelta(days=90), archive_dir=archive).archives["team:a"]
    assert first != second
    # Deterministic: the second name is the first one's with ~2 before the extension.
    assert second == first.removesuffix(".jsonl") + "~2.jsonl"
    lines = [len(Path(path).read_text(encoding="utf-8").splitlines()) for path in (first, second)]
    assert lines == [2, 3]  # header + 1 message, header + 2 messages: nothing overwritten


def test_a_subtree_written_to_while_it_was_archived_is_kept(store, tmp_path, monkeypatch):
    import sessiondb.retention as retention

    idle(store, "resumed")
    idle(store, "grew")
    idle(store, "quiet")
    archive = retention._archive

    def archive_then_write(store_, sessions, archive_dir):
        written = archive(store_, sessions, archive_dir)
        # Another agent comes back to two of them before prune deletes anything.
        store.append("resumed", {"role": "user", "content": "I am back"})
        store.create_session("late-child", parent_id="grew", relation="subagent")
        return written

    monkeypatch.setattr(retention, "_archive", archive_then_write)
    report = store.prune(older_than=timedelta(days=90), archive_dir=tmp_path / "archive")
    assert report.session_ids == ["quiet"]
    assert report.kept == ["grew", "resumed"]
    assert report.messages == 1
    assert list(report.archives) == ["quiet"]
    assert [p.name for p in (tmp_path / "archive").iterdir()] == ["quiet.jsonl"]
    assert ids(store) == {"resumed", "grew", "late-child"}
    assert store.get_session("resumed").message_count == 2
