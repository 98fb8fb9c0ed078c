"""Listing sessions with every filter, over the API and in the web UI's filter form, on
every backend; and what the transcript shows of a tool call's timing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from sessiondb import NewMessage

from .conftest import TOOL_TURN, new_session

HTML = {"Accept": "text/html"}

# id: (parent, status, source, user_id, agent, day of January 2026 it was last updated)
CATALOG = {
    "root-a": (None, "active", "claude-code", "u1", "coder", 1),
    "child-a1": ("root-a", "completed", "codex", "u2", "coder", 2),
    "child-a2": ("root-a", "failed", "claude-code", "u1", "reviewer", 3),
    "root-b": (None, "archived", None, None, "coder", 4),
    "grandchild": ("child-a1", "interrupted", "codex", "u2", None, 5),
    "root-c": (None, "completed", "codex", "u1", "coder", 6),
}


def noon(day: int) -> str:
    return f"2026-01-{day:02}T12:00:00Z"


@pytest.fixture
def catalog(client):
    """The CATALOG sessions, created through the API (parents first)."""
    for sid, (parent, status, source, user, agent, day) in CATALOG.items():
        new_session(
            client,
            id=sid,
            parent_id=parent,
            relation="subagent" if parent else None,
            status=status,
            source=source,
            user_id=user,
            agent=agent,
            created_at=noon(day),  # a new session's updated_at is its created_at
        )
    return client


def newest_first(*ids: str) -> list[str]:
    return sorted(ids, key=lambda sid: CATALOG[sid][-1], reverse=True)


FILTERS = [
    ({}, newest_first(*CATALOG)),
    ({"status": "completed"}, ["root-c", "child-a1"]),
    ({"status": "failed"}, ["child-a2"]),
    ({"status": "interrupted"}, ["grandchild"]),
    ({"status": "active"}, ["root-a"]),
    ({"source": "codex"}, ["root-c", "grandchild", "child-a1"]),
    ({"source": "claude-code"}, ["child-a2", "root-a"]),
    ({"user_id": "u1"}, ["root-c", "child-a2", "root-a"]),
    ({"user_id": "u2"}, ["grandchild", "child-a1"]),
    ({"user_id": "nobody"}, []),
    ({"parent_id": "root-a"}, ["child-a2", "child-a1"]),
    ({"parent_id": "child-a1"}, ["grandchild"]),
    ({"parent_id": "root-b"}, []),
    ({"roots_only": "true"}, ["root-c", "root-b", "root-a"]),
    ({"roots_only": "false"}, newest_first(*CATALOG)),
    # since is inclusive, until exclusive (both bound updated_at).
    ({"since": noon(4)}, ["root-c", "grandchild", "root-b"]),
    ({"until": noon(3)}, ["child-a1", "root-a"]),
    ({"since": noon(2), "until": noon(5)}, ["root-b", "child-a2", "child-a1"]),
    (
        {"since": "2026-01-03T11:59:59.999999Z", "until": "2026-01-03T12:00:00.000001Z"},
        ["child-a2"],
    ),
    ({"since": "2026-01-03T13:00:00+01:00", "until": noon(4)}, ["child-a2"]),
    ({"since": noon(7)}, []),
    # Filters combine with AND.
    ({"roots_only": "true", "source": "codex"}, ["root-c"]),
    ({"parent_id": "root-a", "status": "failed"}, ["child-a2"]),
    ({"user_id": "u2", "since": noon(3)}, ["grandchild"]),
    ({"agent": "coder", "status": "completed", "user_id": "u1"}, ["root-c"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_list_filter_returns_exactly_the_matching_sessions(catalog, params, expected):
    response = catalog.get("/v1/sessions", params=params)
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()["items"]] == expected
    # Page by page, the cursor keeps the filter and the order.
    seen, cursor = [], None
    while True:
        more = {"cursor": cursor} if cursor else {}
        page = catalog.get("/v1/sessions", params={**params, "limit": 1, **more}).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(seen) <= len(CATALOG), "the cursor does not end"
    assert seen == expected


@pytest.mark.parametrize(
    "params",
    [{"status": "sleeping"}, {"since": "yesterday"}, {"roots_only": "maybe"}, {"limit": 0}],
)
def test_bad_list_filter_is_a_422(catalog, params):
    response = catalog.get("/v1/sessions", params=params)
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidInput"


def rows(html: str) -> list[str]:
    return re.findall(r'class="session-row [^"]*" href="[^"]*" data-id="([^"]+)"', html)


def test_web_filter_form_renders_only_matching_sessions_and_keeps_the_choices(catalog):
    page = catalog.get(
        "/",
        params={"status": "completed", "agent": "coder", "source": "codex", "roots_only": "true"},
        headers=HTML,
    )
    assert page.status_code == 200
    assert rows(page.text) == ["root-c"]
    text = page.text
    assert '<option value="completed" selected>' in text
    assert not re.search(r'<option value="failed"\s+selected', text)
    assert 'name="agent" value="coder"' in text
    assert 'name="source" value="codex"' in text
    assert re.search(r'name="roots_only" value="true"\s+checked', text)

    assert rows(catalog.get("/", params={"status": "failed"}, headers=HTML).text) == ["child-a2"]
    assert rows(catalog.get("/", params={"agent": "reviewer"}, headers=HTML).text) == ["child-a2"]
    assert rows(catalog.get("/", params={"source": "claude-code"}, headers=HTML).text) == [
        "child-a2",
        "root-a",
    ]
    assert rows(catalog.get("/", params={"roots_only": "true"}, headers=HTML).text) == [
        "root-c",
        "root-b",
        "root-a",
    ]
    assert rows(catalog.get("/", headers=HTML).text) == newest_first(*CATALOG)
    nothing = catalog.get("/", params={"agent": "nobody"}, headers=HTML).text
    assert rows(nothing) == []
    assert 'class="empty"' in nothing


def test_web_filtered_list_scrolls_on_with_the_same_filter(client):
    for i in range(53):
        new_session(client, id=f"match-{i:02}", agent="wanted", created_at=noon(1 + i % 28))
    for i in range(10):
        new_session(client, id=f"other-{i}", agent="unwanted")
    page = client.get("/", params={"agent": "wanted"}, headers=HTML).text
    first = rows(page)
    assert len(first) == 50
    rows_url = re.search(r'data-rows-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "agent=wanted" in rows_url
    cursor = re.search(r'data-next-cursor="([^"]+)"', page).group(1)
    rest = client.get(rows_url, params={"cursor": cursor}, headers=HTML).text
    assert len(rows(rest)) == 3
    assert sorted(first + rows(rest)) == [f"match-{i:02}" for i in range(53)]


def test_transcript_shows_tool_call_duration_and_status(client, store):
    sid = new_session(client, title="timed")["id"]
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    call = {
        **TOOL_TURN[1],
        "tool_calls": [
            *TOOL_TURN[1]["tool_calls"],
            {
                "id": "call_slow",
                "type": "function",
                "function": {"name": "never_answered", "arguments": "{}"},
            },
        ],
    }
    store.append(
        sid,
        [
            NewMessage(TOOL_TURN[0], created_at=start),
            NewMessage(call, created_at=start + timedelta(seconds=1)),
            NewMessage(TOOL_TURN[2], created_at=start + timedelta(seconds=3, milliseconds=250)),
        ],
    )
    api = client.get(f"/v1/sessions/{sid}/messages").json()["messages"]
    durations = {c["call_id"]: c["duration_ms"] for c in api[1]["tool_calls"]}
    assert durations == {"call_ls": 2250, "call_slow": None}

    page = client.get(f"/sessions/{sid}", headers=HTML).text
    answered = page.split('<details class="tool-call status-ok">', 1)[1].split("</summary>")[0]
    assert "list_files" in answered
    assert '<span class="duration">2,250 ms</span>' in answered
    pending = page.split('<details class="tool-call status-pending">', 1)[1].split("</summary>")[0]
    assert "never_answered" in pending
    assert "duration" not in pending
    assert page.count('class="duration"') == 1
