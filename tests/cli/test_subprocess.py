"""``python -m sessiondb`` as a real process: --json outputs parse and exit statuses hold."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from sessiondb import NewMessage

SAMPLES = Path(str(files("sessiondb") / "samples"))


def test_json_outputs_of_a_real_process_are_one_parseable_document_each(cli):
    made = cli.subprocess("new", "--agent", "bot", "--title", "hello", "--json")
    assert made.returncode == 0, made.stderr
    session = json.loads(made.stdout)
    sid = session["id"]
    appended = cli.subprocess(
        "append", sid, "--json", input='{"role":"user","content":"find the needle"}\n'
    )
    assert appended.returncode == 0, appended.stderr
    assert [m["seq"] for m in json.loads(appended.stdout)] == [1]
    listed = json.loads(cli.subprocess("list", "--json").stdout)
    assert [s["id"] for s in listed] == [sid]
    shown = json.loads(cli.subprocess("show", sid, "--json").stdout)
    assert shown["messages"][0]["text"] == "find the needle"
    doctor = json.loads(cli.subprocess("doctor", "--json").stdout)
    assert doctor["ok"] is True
    assert doctor["sessions"] == 1
    migrate = json.loads(cli.subprocess("migrate", "--check", "--json").stdout)
    assert migrate["pending"] == []
    prune = json.loads(cli.subprocess("prune", "--older-than", "1d", "--dry-run", "--json").stdout)
    assert prune["session_ids"] == []
    recover = json.loads(cli.subprocess("recover", "--json").stdout)
    assert recover == {"interrupted": []}


def test_a_missing_session_in_a_real_process_is_one_line_and_exit_1(cli):
    cli.store()
    result = cli.subprocess("show", "nope", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "Error: no such session (nope)\n"


def test_a_usage_error_in_a_real_process_exits_2(cli):
    result = cli.subprocess("list", "--limit", "zero")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_list_all_jsonl_stops_quietly_when_the_reader_goes_away(cli):
    db = cli.store()
    for i in range(300):
        db.create_session(title=f"session {i} " + "x" * 200)
        db.append(
            db.list_sessions(limit=1).items[0].id, [NewMessage({"role": "user", "content": "hi"})]
        )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiondb", "--db", cli.subprocess_url, "list", "--all", "--jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = json.loads(proc.stdout.readline())  # printing started before the end
    assert first["title"].startswith("session 299")
    proc.stdout.close()
    proc.wait(timeout=60)
    assert "Traceback" not in proc.stderr.read()
    proc.stderr.close()


def test_every_other_command_prints_one_parseable_json_document_from_a_real_process(cli, tmp_path):
    # import: the bundled Codex sample, then the rest of the commands on what it made.
    sample = SAMPLES / "codex"
    imported = cli.subprocess("import", str(sample), "--json")
    assert imported.returncode == 0, imported.stderr
    [report] = json.loads(imported.stdout)
    assert (report["path"], report["sessions_created"]) == (str(sample), 1)
    [sid] = report["session_ids"]
    assert (
        json.loads(cli.subprocess("import", str(sample), "--json").stdout)[0]["messages_added"] == 0
    )

    path = json.loads(cli.subprocess("path", "--json").stdout)
    assert path == {"url": cli.subprocess_url}

    db = cli.store()
    db.create_session("w", title="Weather chat")
    db.append("w", [{"role": "user", "content": "is it sunny in Paris"}])
    found = json.loads(cli.subprocess("search", "sunny", "--json").stdout)
    assert [hit["session_id"] for hit in found["items"]] == ["w"]
    assert "[sunny]" in found["items"][0]["snippet"]
    grouped = json.loads(cli.subprocess("search", "sunny", "--sessions", "--json").stdout)
    assert [group["session"]["id"] for group in grouped["items"]] == ["w"]

    stats = json.loads(cli.subprocess("stats", "--by", "source", "--json").stdout)
    assert stats["totals"]["sessions"] == 2
    assert {group["key"] for group in stats["groups"]} >= {"codex"}

    exported = json.loads(cli.subprocess("export", "w", "--json").stdout)
    assert exported["exports"][0]["content"] == db.export("w", "jsonl")
    out = tmp_path / "out"
    listing = cli.subprocess("export", "--all", "-o", str(out), "--jsonl")
    assert sorted(json.loads(line)["session_id"] for line in listing.stdout.splitlines()) == sorted(
        [sid, "w"]
    )

    forked = json.loads(cli.subprocess("fork", "w", "--title", "again", "--json").stdout)
    assert (forked["parent_id"], forked["title"]) == ("w", "again")
    tree = json.loads(cli.subprocess("tree", "w", "--json").stdout)
    assert tree["session"]["id"] == "w"
    assert [child["session"]["id"] for child in tree["children"]] == [forked["id"]]

    compacted = json.loads(
        cli.subprocess("compact", "w", "--summary", "about weather", "--json").stdout
    )
    assert (compacted["text"], compacted["seq"]) == ("about weather", 2)

    removed = json.loads(cli.subprocess("rm", "w", "--recursive", "--yes", "--json").stdout)
    assert removed == {"deleted": 2}
    assert [s.id for s in cli.store().list_sessions().items] == [sid]
