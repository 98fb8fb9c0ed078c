"""Tenant isolation over every backend: another tenant's session does not exist for the
caller (404, the same answer as for a missing one), and the ids a tenant may create live
in its own namespace, so "taken by another tenant" and "free" look the same."""

from __future__ import annotations

import pytest

from sessiondb import InvalidInput
from sessiondb.server import parse_tokens
from sessiondb.server.auth import Principal

from .conftest import TOOL_TURN, append, new_session

SECRET = "alice:secret"
MISSING = "alice:missing"

# (method, path, options) with {sid} for the session of another tenant.
SESSION_ENDPOINTS = [
    ("GET", "/v1/sessions/{sid}", {}),
    ("PATCH", "/v1/sessions/{sid}", {"json": {"title": "stolen"}}),
    ("DELETE", "/v1/sessions/{sid}", {"params": {"recursive": "true"}}),
    ("POST", "/v1/sessions/{sid}/messages", {"json": {"items": [{"role": "user"}]}}),
    ("GET", "/v1/sessions/{sid}/messages", {"params": {"last": 5}}),
    ("PATCH", "/v1/sessions/{sid}/messages/any", {"json": {"visible_to_model": False}}),
    (
        "POST",
        "/v1/sessions/bob:own/messages",
        {"json": {"items": [{"role": "user"}], "other_metadata": {"{sid}": {"stolen": True}}}},
    ),
    ("GET", "/v1/sessions/{sid}/events", {"params": {"timeout": 0.1, "after_seq": 0}}),
    ("GET", "/v1/sessions/{sid}/history", {}),
    ("POST", "/v1/sessions/{sid}/compact", {"json": {"summary": "gone", "keep_last": 0}}),
    ("POST", "/v1/sessions/{sid}/fork", {"json": {"id": "bob:copy"}}),
    ("POST", "/v1/sessions/{sid}/fork", {"json": {}}),
    ("GET", "/v1/sessions/{sid}/tree", {}),
    ("GET", "/v1/sessions/{sid}/ancestors", {}),
    ("GET", "/v1/sessions/{sid}/export", {"params": {"format": "markdown"}}),
    ("GET", "/v1/search", {"params": {"q": "private", "session_id": "{sid}"}}),
    ("POST", "/v1/sessions", {"json": {"id": "bob:child", "parent_id": "{sid}"}}),
    ("PATCH", "/v1/sessions/bob:own", {"json": {"parent_id": "{sid}"}}),
]


def _fill(value, sid):
    if isinstance(value, str):
        return value.replace("{sid}", sid)
    if isinstance(value, dict):
        return {_fill(k, sid): _fill(v, sid) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, sid) for v in value]
    return value


@pytest.fixture
def secret(clients):
    """Alice's session with one private message; bob has a session of his own."""
    new_session(clients["alice"], id=SECRET, title="alice's secret")
    append(clients["alice"], SECRET, [{"role": "user", "content": "private words"}])
    new_session(clients["bob"], id="bob:own")
    return SECRET


@pytest.mark.parametrize(("method", "path", "options"), SESSION_ENDPOINTS)
def test_another_tenants_session_answers_404_like_a_missing_one(
    clients, secret, method, path, options
):
    bob = clients["bob"]
    taken = bob.request(method, _fill(path, secret), **_fill(options, secret))
    missing = bob.request(method, _fill(path, MISSING), **_fill(options, MISSING))
    assert taken.status_code == 404, taken.text
    assert taken.json() == {"error": "NotFound", "detail": f"no session {secret!r}"}
    assert missing.status_code == 404
    assert missing.text.replace(MISSING, secret) == taken.text
    assert "private" not in taken.text

    # ... and nothing was written: alice's session and bob's sessions are as they were.
    alice_view = clients["alice"].get(f"/v1/sessions/{secret}").json()
    assert (alice_view["title"], alice_view["message_count"]) == ("alice's secret", 1)
    assert alice_view["compaction_count"] == 0
    everything = clients["admin"].get("/v1/sessions").json()["items"]
    assert sorted(s["id"] for s in everything) == ["alice:secret", "bob:own"]
    assert clients["admin"].get("/v1/sessions/bob:own").json()["parent_id"] is None


@pytest.mark.parametrize(
    "path", ["/sessions/{sid}", "/sessions/{sid}/tree", "/search?q=private&session={sid}"]
)
def test_another_tenants_session_is_a_404_page_in_the_web_ui(clients, secret, path):
    page = clients["bob"].get(_fill(path, secret), headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "private words" not in page.text
    assert "alice&#39;s secret" not in page.text


def test_other_tenants_hits_never_show_in_search(clients, secret):
    for path in ("/v1/search", "/v1/search/sessions"):
        assert clients["bob"].get(path, params={"q": "private"}).json()["items"] == []
        assert clients["alice"].get(path, params={"q": "private"}).json()["items"]
    page = clients["bob"].get("/search", params={"q": "private"}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'class="hit"' not in page.text
    assert "private words" not in page.text


@pytest.mark.parametrize("taken", [SECRET, "admin-made"])
def test_creating_an_id_taken_by_another_tenant_looks_like_creating_a_free_one(
    clients, secret, taken
):
    # "admin-made": an id outside any namespace, given to alice by an admin.
    new_session(clients["admin"], id="admin-made", user_id="alice")
    free = taken + "-free"
    bob = clients["bob"]
    answers = [bob.post("/v1/sessions", json={"id": sid, "title": "t"}) for sid in (taken, free)]
    assert answers[0].status_code == answers[1].status_code == 422
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error"] == "InvalidInput"
    assert "'bob:'" in answers[0].json()["detail"]
    assert dict(answers[0].headers) == dict(answers[1].headers)
    everything = clients["admin"].get("/v1/sessions").json()["items"]
    assert len(everything) == 3


@pytest.mark.parametrize("taken", [SECRET, "admin-made"])
def test_forking_into_an_id_taken_by_another_tenant_looks_like_a_free_one(clients, secret, taken):
    new_session(clients["admin"], id="admin-made", user_id="alice")
    append(clients["bob"], "bob:own", [{"role": "user", "content": "mine"}])
    free = taken + "-free"
    bob = clients["bob"]
    answers = [bob.post("/v1/sessions/bob:own/fork", json={"id": sid}) for sid in (taken, free)]
    assert answers[0].status_code == answers[1].status_code == 422
    assert answers[0].json() == answers[1].json()
    assert dict(answers[0].headers) == dict(answers[1].headers)
    assert len(clients["admin"].get("/v1/sessions").json()["items"]) == 3


def test_a_tenants_sessions_live_in_its_namespace(clients):
    bob = clients["bob"]
    generated = new_session(bob)["id"]
    assert generated.startswith("bob:")
    assert len(generated) > len("bob:")
    assert new_session(bob, id="bob:notes")["id"] == "bob:notes"
    # Inside its own namespace a tenant sees its own ids as taken, as it should.
    assert bob.post("/v1/sessions", json={"id": "bob:notes"}).status_code == 409
    assert bob.post("/v1/sessions", json={"id": "bob:"}).status_code == 422
    assert bob.post("/v1/sessions", json={"id": "bobby:x"}).status_code == 422
    append(bob, "bob:notes", TOOL_TURN)
    fork = bob.post("/v1/sessions/bob:notes/fork", json={"at_seq": 2})
    assert fork.status_code == 201, fork.text
    assert fork.json()["id"].startswith("bob:")
    assert fork.json()["user_id"] == "bob"
    named = bob.post("/v1/sessions/bob:notes/fork", json={"id": "bob:branch"})
    assert named.status_code == 201
    assert named.json()["id"] == "bob:branch"
    # An all-tenants token is not confined to a namespace.
    assert new_session(clients["admin"], id="anything")["id"] == "anything"


def test_tenant_names_with_the_namespace_separator_are_refused():
    with pytest.raises(InvalidInput, match="cannot contain ':'"):
        parse_tokens('{"long-enough-token": {"tenant": "a:b"}}')
    with pytest.raises(InvalidInput, match="cannot contain ':'"):
        Principal("a:b", "rw")


def test_tenant_import_stores_sessions_in_its_namespace(clients):
    alice, bob, admin = clients["alice"], clients["bob"], clients["admin"]
    sid = new_session(alice, title="alice's")["id"]
    append(alice, sid, TOOL_TURN)
    exported = admin.get(f"/v1/sessions/{sid}/export").content

    # Bob's upload names alice's session: he gets a copy of his own, hers is untouched,
    # and the report is the one a never-seen id gets.
    report = bob.post("/v1/import", files={"file": ("s.jsonl", exported)}).json()
    assert report["errors"] == {}
    assert report["session_ids"] == [f"bob:{sid}"]
    assert (report["sessions_created"], report["messages_added"]) == (1, 4)
    copy = bob.get(f"/v1/sessions/bob:{sid}").json()
    assert (copy["user_id"], copy["message_count"]) == ("bob", 4)
    assert alice.get(f"/v1/sessions/{sid}").json()["message_count"] == 4
    assert bob.get(f"/v1/sessions/{sid}").status_code == 404
    free = exported.replace(sid.encode(), b"alice:never-stored")
    other = bob.post("/v1/import", files={"file": ("s.jsonl", free)}).json()
    assert other["session_ids"] == ["bob:alice:never-stored"]
    assert (other["sessions_created"], other["messages_added"]) == (1, 4)

    again = bob.post("/v1/import", files={"file": ("s.jsonl", exported)}).json()
    assert again["session_ids"] == [f"bob:{sid}"]
    assert again["messages_added"] == 0

    # Alice re-importing her own export keeps the id (already in her namespace).
    admin.delete(f"/v1/sessions/{sid}")
    mine = alice.post("/v1/import", files={"file": ("s.jsonl", exported)}).json()
    assert mine["session_ids"] == [sid]
    assert alice.get(f"/v1/sessions/{sid}").json()["user_id"] == "alice"
