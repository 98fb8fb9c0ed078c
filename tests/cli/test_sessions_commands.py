"""The session commands, in-process, on every backend: list, show, new, append, rm, recover."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from sessiondb import NewMessage, NotFound
from sessiondb.cli import main
from sessiondb.cli import sessions as sessions_module

TOOL_TURN = [
    {"role": "user", "content": "read a.txt please"},
    {
        "role": "assistant",
        "content": "reading it",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "line one\nline two"},
    {"role": "assistant", "content": "the file has two lines"},
]


def test_new_prints_the_id_of_a_session_it_created(cli):
    result = cli.ok("new", "--agent", "bot", "--title", "T", "--metadata", '{"team": "infra"}')
    session_id = result.stdout.strip()
    session = cli.store().get_session(session_id)
    assert (session.agent, session.title, session.metadata) == ("bot", "T", {"team": "infra"})


def test_new_with_metadata_that_is_not_an_object_is_a_usage_error(cli):
    result = cli.run("new", "--metadata", "[1, 2]")
    assert result.exit_code == 2
    assert "expected a JSON object" in result.stderr
    assert cli.store().list_sessions().items == []


def test_new_with_a_taken_id_fails_naming_it(cli):
    cli.store().create_session("taken")
    result = cli.run("new", "--id", "taken")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "taken" in result.stderr
    assert "Traceback" not in result.output


def test_list_shows_sessions_newest_first_with_full_ids(cli):
    db = cli.store()
    first = db.create_session(title="older one")
    second = db.create_session(title="newer one")
    out = cli.ok("list").stdout
    assert first.id in out
    assert second.id in out
    assert out.index(second.id) < out.index(first.id)
    assert "newer one" in out


def test_list_json_is_one_document_with_every_field(cli):
    db = cli.store()
    db.create_session("s1", agent="a")
    db.create_session("s2", agent="b")
    docs = json.loads(cli.ok("list", "--json", "--agent", "a").stdout)
    assert [d["id"] for d in docs] == ["s1"]
    assert docs[0]["usage"].keys() >= {"input_tokens", "output_tokens", "cost_usd"}


def test_list_roots_leaves_out_children(cli):
    db = cli.store()
    db.create_session("root")
    db.create_session("child", parent_id="root", relation="subagent")
    ids = [json.loads(line)["id"] for line in cli.ok("list", "--roots", "--jsonl").stdout.split()]
    assert ids == ["root"]


def test_list_all_jsonl_streams_every_session_past_the_limit_in_pages(cli, monkeypatch):
    monkeypatch.setattr(sessions_module, "STREAM_PAGE", 7)
    db = cli.store()
    made = {db.create_session().id for _ in range(30)}
    lines = cli.ok("list", "--all", "--jsonl", "--limit", "5").stdout.splitlines()
    assert len(lines) == 30
    assert {json.loads(line)["id"] for line in lines} == made


def test_list_limit_caps_the_output(cli):
    db = cli.store()
    for _ in range(5):
        db.create_session()
    assert len(cli.ok("list", "--jsonl", "--limit", "3").stdout.splitlines()) == 3


def test_list_with_an_unreadable_since_is_a_usage_error(cli):
    result = cli.run("list", "--since", "yesterday-ish")
    assert result.exit_code == 2
    assert "--since" in result.stderr


def test_list_since_accepts_an_age(cli):
    cli.store().create_session("recent")
    docs = json.loads(cli.ok("list", "--json", "--since", "1h").stdout)
    assert [d["id"] for d in docs] == ["recent"]
    assert json.loads(cli.ok("list", "--json", "--until", "1h").stdout) == []


def test_show_prints_roles_tool_calls_and_results_folded(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", TOOL_TURN)
    out = cli.ok("show", "s").stdout
    for expected in ("user", "assistant", "tool", "read_file", "a.txt", "the file has two lines"):
        assert expected in out
    assert "\x1b[" not in out  # not a terminal: no colour codes


def test_show_folds_long_tool_results_unless_full(cli):
    db = cli.store()
    db.create_session("s")
    turn = [dict(item) for item in TOOL_TURN]
    turn[2] = {"role": "tool", "tool_call_id": "call_1", "content": "\n".join(map(str, range(50)))}
    db.append("s", turn)
    folded = cli.ok("show", "s").stdout
    assert "more lines" in folded
    assert "\n  49" not in folded
    assert "  49" in cli.ok("show", "s", "--full").stdout


def test_show_last_prints_only_the_newest_messages(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", [{"role": "user", "content": f"message number {i}"} for i in range(6)])
    doc = json.loads(cli.ok("show", "s", "--json", "--last", "2").stdout)
    assert [m["seq"] for m in doc["messages"]] == [5, 6]
    out = cli.ok("show", "s", "--last", "2").stdout
    assert "message number 5" in out
    assert "message number 1" not in out
    assert "4 earlier message(s)" in out


def test_show_json_has_the_session_and_its_messages(cli):
    db = cli.store()
    db.create_session("s", title="t")
    db.append("s", TOOL_TURN)
    doc = json.loads(cli.ok("show", "s", "--json").stdout)
    assert doc["session"]["title"] == "t"
    assert [m["role"] for m in doc["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert doc["messages"][1]["tool_calls"][0]["name"] == "read_file"
    assert doc["messages"][0]["item"] == TOOL_TURN[0]


def test_show_marks_messages_hidden_from_the_model(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", [NewMessage({"role": "user", "content": "old stuff"}, visible_to_model=False)])
    db.append("s", {"role": "user", "content": "fresh"})
    out = cli.ok("show", "s").stdout
    assert out.count("(hidden from the model)") == 1
    doc = json.loads(cli.ok("show", "s", "--json").stdout)
    assert [m["visible_to_model"] for m in doc["messages"]] == [False, True]


def test_show_prints_usage_per_turn(cli):
    from sessiondb import Usage

    db = cli.store()
    db.create_session("s")
    db.append("s", [{"role": "assistant", "content": "hi"}], usage=Usage(1200, 34, cost_usd=0.5))
    out = cli.ok("show", "s").stdout
    assert "in 1,200" in out
    assert "out 34" in out
    assert "$0.5000" in out


def test_show_missing_session_is_one_error_line_exit_1(cli):
    result = cli.run("show", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: no such session (nope)\n"
    assert result.stdout == ""


def test_debug_shows_the_exception_instead_of_one_line(cli):
    result = cli.run("--debug", "show", "nope")
    assert isinstance(result.exception, NotFound)


def test_show_markdown_and_json_exclude_each_other(cli):
    cli.store().create_session("s")
    assert cli.run("show", "s", "--json", "--markdown").exit_code == 2


def test_append_reads_items_from_stdin_one_per_line(cli):
    cli.store().create_session("s")
    lines = "\n".join(json.dumps(item) for item in TOOL_TURN) + "\n\n"
    result = cli.ok("append", "s", input=lines)
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["1", "2", "3", "4"]
    stored = cli.store().messages("s")
    assert [m.item for m in stored] == TOOL_TURN
    assert stored[1].tool_calls[0].status == "ok"


def test_append_with_a_bad_line_writes_nothing_and_names_the_line(cli):
    cli.store().create_session("s")
    result = cli.run("append", "s", input='{"role": "user", "content": "ok"}\n{"role": \n')
    assert result.exit_code == 1
    assert "stdin:2" in result.stderr
    assert cli.store().messages("s") == []


def test_append_of_a_non_object_line_fails(cli):
    cli.store().create_session("s")
    result = cli.run("append", "s", input="[1, 2]\n")
    assert result.exit_code == 1
    assert "stdin:1" in result.stderr


def test_append_to_a_missing_session_fails_naming_it(cli):
    result = cli.run("append", "ghost", input='{"role": "user", "content": "hi"}\n')
    assert result.exit_code == 1
    assert "ghost" in result.stderr


def test_append_json_prints_the_stored_messages(cli):
    cli.store().create_session("s")
    doc = json.loads(cli.ok("append", "s", "--json", input='{"role":"user","content":"x"}').stdout)
    assert [(m["seq"], m["role"], m["text"]) for m in doc] == [(1, "user", "x")]


def test_rm_with_yes_deletes_the_session(cli):
    cli.store().create_session("s")
    assert "Deleted 1 session(s)" in cli.ok("rm", "s", "--yes").stdout
    with pytest.raises(NotFound):
        cli.store().get_session("s")


def test_rm_asks_first_and_keeps_the_session_when_refused(cli):
    cli.store().create_session("s")
    result = cli.run("rm", "s", input="n\n")
    assert result.exit_code == 1
    assert "Delete session s" in result.stderr
    assert cli.store().get_session("s").id == "s"


def test_rm_recursive_deletes_the_subtree_and_plain_rm_keeps_children(cli):
    db = cli.store()
    db.create_session("root")
    db.create_session("child", parent_id="root", relation="subagent")
    db.create_session("other")
    db.create_session("kid", parent_id="other", relation="subagent")
    assert json.loads(cli.ok("rm", "root", "-r", "-y", "--json").stdout) == {"deleted": 2}
    assert json.loads(cli.ok("rm", "other", "-y", "--json").stdout) == {"deleted": 1}
    remaining = {s.id: s.parent_id for s in cli.store().list_sessions().items}
    assert remaining == {"kid": None}


def test_rm_of_a_missing_session_fails(cli):
    result = cli.run("rm", "ghost", "--yes")
    assert result.exit_code == 1
    assert "ghost" in result.stderr


def test_recover_marks_idle_active_sessions_interrupted(cli):
    db = cli.store()
    old = datetime.now(UTC) - timedelta(hours=3)
    db.create_session("idle", created_at=old)
    db.append("idle", [NewMessage({"role": "user", "content": "hi"}, created_at=old)])
    db.create_session("busy")
    db.append("busy", {"role": "user", "content": "hi"})
    assert json.loads(cli.ok("recover", "--idle", "1h", "--json").stdout) == {
        "interrupted": ["idle"]
    }
    assert cli.store().get_session("idle").status == "interrupted"
    assert cli.store().get_session("busy").status == "active"


def test_recover_with_a_bad_duration_is_a_usage_error(cli):
    result = cli.run("recover", "--idle", "soon")
    assert result.exit_code == 2
    assert "not a duration" in result.stderr


def test_shell_completion_offers_session_ids_starting_with_what_was_typed(cli):
    db = cli.store()
    db.create_session("alpha-1", title="first")
    db.create_session("alpha-2")
    db.create_session("beta")
    words = ["sessiondb", *cli.global_args, "show", "alp"]
    env = {
        "_SESSIONDB_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(words),
        "COMP_CWORD": str(len(words) - 1),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="sessiondb")
    offered = {line.split(",", 1)[1] for line in result.stdout.splitlines()}
    assert offered == {"alpha-1", "alpha-2"}
