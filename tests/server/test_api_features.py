"""History, compaction, forks, lineage, search, stats, import and export over HTTP.

These go through the store's own features (no stand-ins): they pass once the backend
implements them on main.
"""

from __future__ import annotations

from .conftest import TOOL_TURN, append, new_session


def test_history_returns_prompt_ready_items(client):
    sid = new_session(client)["id"]
    append(client, sid, TOOL_TURN)
    response = client.get(f"/v1/sessions/{sid}/history")
    assert response.status_code == 200, response.text
    assert response.json()["items"] == TOOL_TURN
    last = client.get(f"/v1/sessions/{sid}/history", params={"max_messages": 1}).json()
    assert last["items"] == TOOL_TURN[-1:]


def test_compact_hides_old_messages_behind_a_summary(client):
    sid = new_session(client)["id"]
    append(client, sid, TOOL_TURN)
    response = client.post(
        f"/v1/sessions/{sid}/compact", json={"summary": "They listed files.", "keep_last": 1}
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "They listed files."
    history = client.get(f"/v1/sessions/{sid}/history").json()["items"]
    assert history[-1] == TOOL_TURN[-1]
    assert len(history) == 2
    everything = client.get(f"/v1/sessions/{sid}/messages").json()["messages"]
    assert len(everything) == 5
    assert sum(1 for m in everything if not m["visible_to_model"]) == 3


def test_fork_copies_messages_into_a_child_shown_in_the_tree(client):
    sid = new_session(client, title="root")["id"]
    append(client, sid, TOOL_TURN)
    response = client.post(f"/v1/sessions/{sid}/fork", json={"at_seq": 2, "title": "branch"})
    assert response.status_code == 201, response.text
    child = response.json()
    assert (child["parent_id"], child["relation"], child["message_count"]) == (sid, "fork", 2)
    tree = client.get(f"/v1/sessions/{sid}/tree").json()
    assert tree["session"]["id"] == sid
    assert [c["session"]["title"] for c in tree["children"]] == ["branch"]
    ancestors = client.get(f"/v1/sessions/{child['id']}/ancestors").json()
    assert [a["id"] for a in ancestors] == [sid]


def test_search_finds_messages_and_groups_by_session(client):
    a = new_session(client, title="files")["id"]
    b = new_session(client, title="weather")["id"]
    append(client, a, TOOL_TURN)
    append(client, b, [{"role": "user", "content": "is it raining in Lisbon?"}])
    hits = client.get("/v1/search", params={"q": "README"}).json()["items"]
    assert hits
    assert {h["session_id"] for h in hits} == {a}
    assert any("[" in h["snippet"] for h in hits)
    grouped = client.get("/v1/search/sessions", params={"q": "Lisbon"}).json()["items"]
    assert [g["session"]["id"] for g in grouped] == [b]
    assert client.get("/v1/search", params={"q": "Lisbon", "session_id": a}).json()["items"] == []


def test_search_with_an_impossible_query_is_a_422(client):
    response = client.get("/v1/search", params={"q": "-only -exclusions"})
    assert response.status_code == 422


def test_stats_total_and_group_usage(client):
    sid = new_session(client, agent="coder")["id"]
    append(client, sid, TOOL_TURN, usage={"input_tokens": 100, "output_tokens": 7}, model="m1")
    stats = client.get("/v1/stats", params={"group_by": "agent"}).json()
    assert stats["totals"]["input_tokens"] == 100
    assert stats["totals"]["messages"] == 4
    assert [(g["key"], g["output_tokens"]) for g in stats["groups"]] == [("coder", 7)]
    assert stats["tools"][0]["name"] == "list_files"


def test_export_then_import_round_trips_a_session(client):
    sid = new_session(client, title="round trip")["id"]
    append(client, sid, TOOL_TURN)
    exported = client.get(f"/v1/sessions/{sid}/export", params={"format": "jsonl"})
    assert exported.status_code == 200, exported.text
    assert "attachment" in exported.headers["content-disposition"]
    markdown = client.get(f"/v1/sessions/{sid}/export", params={"format": "markdown"})
    assert "README.md" in markdown.text
    client.delete(f"/v1/sessions/{sid}")
    response = client.post(
        "/v1/import", files={"file": ("session.jsonl", exported.content, "application/x-ndjson")}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["session_ids"] == [sid]
    assert report["messages_added"] == 4
    again = client.get(f"/v1/sessions/{sid}/messages").json()["messages"]
    assert [m["item"] for m in again] == TOOL_TURN


def test_upload_name_never_becomes_a_server_path(client, tmp_path, monkeypatch):
    sid = new_session(client, title="named")["id"]
    append(client, sid, TOOL_TURN)
    exported = client.get(f"/v1/sessions/{sid}/export").content
    client.delete(f"/v1/sessions/{sid}")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "inner")
    hostile = "../escaped.jsonl"
    response = client.post("/v1/import", files={"file": (hostile, exported)})
    assert response.status_code == 200, response.text
    assert response.json()["session_ids"] == [sid]
    assert not (tmp_path / "escaped.jsonl").exists()
    assert list((tmp_path / "inner").iterdir()) == []


def test_lineage_leaves_out_sessions_of_other_tenants(make_client):
    tokens = "alice-token-1=alice:rw,bob-token-1=bob:rw,admin-token-1=*:rw"
    admin = make_client(tokens=tokens, headers={"Authorization": "Bearer admin-token-1"})
    alice = make_client(tokens=tokens, headers={"Authorization": "Bearer alice-token-1"})
    bob = make_client(tokens=tokens, headers={"Authorization": "Bearer bob-token-1"})
    root = new_session(alice, title="alice root")["id"]
    mine = new_session(alice, title="alice child", parent_id=root, relation="subagent")["id"]
    theirs = new_session(
        admin, title="bob child", parent_id=root, relation="subagent", user_id="bob"
    )["id"]
    tree = alice.get(f"/v1/sessions/{root}/tree").json()
    assert [c["session"]["id"] for c in tree["children"]] == [mine]
    assert bob.get(f"/v1/sessions/{theirs}/ancestors").json() == []
    assert [
        c["session"]["id"] for c in admin.get(f"/v1/sessions/{root}/tree").json()["children"]
    ] == [mine, theirs]


def test_import_report_names_the_uploaded_file_not_a_server_path(client):
    good = '{"role": "user", "content": "hello"}\n'
    response = client.post(
        "/v1/import",
        files={"file": ("chat.jsonl", good + "{not json\n" + good)},
        data={"format": "openai_chat"},
    )
    assert response.status_code in (200, 422), response.text
    assert "sessiondb-upload" not in response.text
    assert "/tmp" not in response.text


def test_search_filters_on_the_sessions_status(client):
    done = new_session(client)["id"]
    live = new_session(client)["id"]
    for sid in (done, live):
        append(client, sid, [{"role": "user", "content": "deploy the parser"}])
    patched = client.patch(f"/v1/sessions/{done}", json={"status": "completed"})
    assert patched.status_code == 200, patched.text
    for path in ("/v1/search", "/v1/search/sessions"):
        response = client.get(path, params={"q": "parser", "status": "completed"})
        assert response.status_code == 200, response.text
        ids = {h.get("session_id") or h["session"]["id"] for h in response.json()["items"]}
        assert ids == {done}
    # A tool call's status is not a session's: it is refused, not silently empty.
    assert client.get("/v1/search", params={"q": "parser", "status": "ok"}).status_code == 422


def test_a_stored_message_can_be_corrected_and_the_totals_follow(client):
    sid = new_session(client)["id"]
    stored = append(client, sid, TOOL_TURN, usage={"input_tokens": 100, "output_tokens": 7})
    last = stored[-1]
    assert [m["usage"] is not None for m in stored].count(True) == 1
    billed = next(m for m in stored if m["usage"] is not None)
    path = f"/v1/sessions/{sid}/messages/{last['id']}"
    # Usage moves from the message it was billed to onto the last one: totals follow.
    cleared = client.patch(f"/v1/sessions/{sid}/messages/{billed['id']}", json={"usage": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["usage"] is None
    response = client.patch(
        path, json={"usage": {"input_tokens": 40}, "visible_to_model": False, "metadata": {"a": 1}}
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["seq"], changed["item"]) == (last["seq"], last["item"])
    assert changed["usage"]["input_tokens"] == 40
    assert (changed["visible_to_model"], changed["metadata"]) == (False, {"a": 1})
    usage = client.get(f"/v1/sessions/{sid}").json()["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (40, 0)
    assert client.get(f"/v1/sessions/{sid}/history").json()["items"] == TOOL_TURN[:-1]
    assert client.patch(path, json={"visible_to_model": None}).status_code == 422
    assert client.patch(f"/v1/sessions/{sid}/messages/nope", json={}).status_code == 404


def test_an_append_can_merge_metadata_into_another_session(client):
    parent = new_session(client)["id"]
    child = new_session(client, parent_id=parent, relation="subagent")["id"]
    body = {"items": [{"role": "user", "content": "done"}], "other_metadata": {parent: {"x": 1}}}
    response = client.post(f"/v1/sessions/{child}/messages", json=body)
    assert response.status_code == 201, response.text
    assert client.get(f"/v1/sessions/{parent}").json()["metadata"] == {"x": 1}
    body["other_metadata"] = {"missing": {"x": 2}}
    assert client.post(f"/v1/sessions/{child}/messages", json=body).status_code == 404
    assert client.get(f"/v1/sessions/{child}").json()["message_count"] == 1
