"""``python -m sessiondb`` as a real process: --json outputs parse and exit statuses hold."""

from __future__ import annotations

import json
import subprocess
import sys

from sessiondb import NewMessage


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
