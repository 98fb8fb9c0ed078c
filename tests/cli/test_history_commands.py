"""compact, fork and tree from the command line (the history and lineage store methods)."""

from __future__ import annotations

import json

MESSAGES = [{"role": ("user", "assistant")[i % 2], "content": f"turn {i}"} for i in range(6)]


def test_compact_hides_older_messages_behind_a_summary(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", MESSAGES)
    doc = json.loads(
        cli.ok("compact", "s", "--summary", "we talked", "--keep-last", "2", "--json").stdout
    )
    assert doc["text"] == "we talked"
    messages = cli.store().messages("s")
    assert len(messages) == 7  # nothing deleted
    hidden = [m.text for m in messages if not m.visible_to_model]
    assert hidden == [f"turn {i}" for i in range(4)]
    out = cli.ok("show", "s").stdout
    assert out.count("(hidden from the model)") == 4
    assert "we talked" in out


def test_compact_without_summary_is_a_usage_error_and_a_missing_session_an_error(cli):
    cli.store().create_session("s")
    assert cli.run("compact", "s").exit_code == 2
    missing = cli.run("compact", "ghost", "--summary", "x")
    assert missing.exit_code == 1
    assert "ghost" in missing.stderr


def test_fork_at_a_seq_prints_a_new_session_with_the_prefix(cli):
    db = cli.store()
    db.create_session("s")
    db.append("s", MESSAGES)
    new_id = cli.ok("fork", "s", "--at", "3").stdout.strip()
    fork = cli.store().get_session(new_id)
    assert fork.parent_id == "s"
    assert fork.relation == "fork"
    assert [m.text for m in cli.store().messages(new_id)] == ["turn 0", "turn 1", "turn 2"]


def test_fork_of_a_missing_session_fails(cli):
    result = cli.run("fork", "ghost")
    assert result.exit_code == 1
    assert "ghost" in result.stderr


def test_tree_shows_the_lineage_with_relations_and_rolled_up_usage(cli):
    from sessiondb import Usage

    db = cli.store()
    db.create_session("root", title="the root")
    db.append("root", {"role": "assistant", "content": "a"}, usage=Usage(10, 5, cost_usd=1.0))
    db.create_session("kid", parent_id="root", relation="subagent")
    db.append("kid", {"role": "assistant", "content": "b"}, usage=Usage(1, 1, cost_usd=0.25))
    out = cli.ok("tree", "root").stdout
    assert "root" in out
    assert "kid" in out
    assert "[subagent]" in out
    assert "$1.2500" in out  # rolled up over the subtree
    doc = json.loads(cli.ok("tree", "root", "--json").stdout)
    assert doc["session"]["id"] == "root"
    assert doc["tree_usage"]["cost_usd"] == 1.25
    assert [child["session"]["id"] for child in doc["children"]] == ["kid"]


def test_tree_counts_what_a_fork_copied_once(cli):
    from sessiondb import Usage

    db = cli.store()
    db.create_session("root")
    db.append("root", {"role": "assistant", "content": "a"}, usage=Usage(10, 5, cost_usd=1.0))
    fork = db.fork("root", id="copy")
    db.append(fork.id, {"role": "assistant", "content": "b"}, usage=Usage(1, 1, cost_usd=0.5))
    doc = json.loads(cli.ok("tree", "root", "--json").stdout)
    assert doc["tree_usage"]["cost_usd"] == 1.5  # not 2.5: the copied $1 is the root's
    assert doc["tree_usage"]["input_tokens"] == 11
    assert doc["children"][0]["tree_usage"]["cost_usd"] == 0.5
    out = cli.ok("tree", "root").stdout
    assert "$1.5000" in out and "$2.5000" not in out


def test_tree_of_a_missing_session_fails(cli):
    result = cli.run("tree", "ghost")
    assert result.exit_code == 1
    assert "ghost" in result.stderr
