"""search and stats from the command line."""

from __future__ import annotations

import json

from sessiondb import Usage

TOOL_TURN = [
    {"role": "user", "content": "please check the weather in Paris"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    {"role": "assistant", "content": "It is sunny in Paris."},
]


def seed(cli):
    db = cli.store()
    db.create_session("weather", title="Weather chat", agent="bot")
    db.append("weather", TOOL_TURN, usage=Usage(100, 20, cost_usd=0.01), model="gpt-x")
    db.create_session("other", title="Other chat", agent="coder")
    db.append("other", [{"role": "user", "content": "refactor the parser"}])
    return db


def test_search_prints_hits_with_highlighted_snippets_and_titles(cli):
    seed(cli)
    out = cli.ok("search", "Paris").stdout
    assert "weather" in out
    assert "Weather chat" in out
    assert "Paris" in out
    assert "other" not in out


def test_search_json_uses_the_requested_match_markers(cli):
    seed(cli)
    doc = json.loads(cli.ok("search", "sunny", "--json", "--marks", "<<,>>").stdout)
    assert {hit["session_id"] for hit in doc["items"]} == {"weather"}
    assert all("<<" in hit["snippet"] for hit in doc["items"])
    assert "next_cursor" in doc


def test_search_filters_by_role_agent_and_session(cli):
    seed(cli)
    by_role = json.loads(cli.ok("search", "Paris", "--role", "user", "--json").stdout)
    assert [hit["role"] for hit in by_role["items"]] == ["user"]
    by_agent = json.loads(cli.ok("search", "parser", "--agent", "bot", "--jsonl").stdout or "[]")
    assert by_agent == []


def test_search_sessions_groups_hits_by_session(cli):
    seed(cli)
    lines = cli.ok("search", "Paris OR parser", "--sessions", "--jsonl").stdout.splitlines()
    sessions = {json.loads(line)["session"]["id"] for line in lines}
    assert sessions == {"weather", "other"}


def test_a_query_that_cannot_match_is_an_error(cli):
    seed(cli)
    result = cli.run("search", "--", "-Paris")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")


def test_stats_prints_totals_groups_and_the_tool_table(cli):
    seed(cli)
    out = cli.ok("stats", "--by", "agent").stdout
    assert "totals" in out
    assert "by agent" in out
    assert "get_weather" in out
    doc = json.loads(cli.ok("stats", "--by", "agent", "--json").stdout)
    assert doc["totals"]["sessions"] == 2
    assert {group["key"] for group in doc["groups"]} == {"bot", "coder"}
    assert [tool["name"] for tool in doc["tools"]] == ["get_weather"]


def test_stats_with_an_unknown_grouping_is_a_usage_error(cli):
    assert cli.run("stats", "--by", "planet").exit_code == 2
