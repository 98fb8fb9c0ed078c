"""The /v1 API over every backend: sessions, messages, errors, limits, events."""

from __future__ import annotations

import json
import threading

from .conftest import TOOL_TURN, append, new_session


def test_created_session_is_returned_by_get(client):
    created = new_session(client, title="hello", agent="claude-code", metadata={"k": 1})
    got = client.get(f"/v1/sessions/{created['id']}")
    assert got.status_code == 200
    assert got.json()["title"] == "hello"
    assert got.json()["metadata"] == {"k": 1}
    assert got.json()["usage"]["input_tokens"] in (None, 0)


def test_creating_a_taken_id_is_a_409_conflict(client):
    new_session(client, id="s1")
    response = client.post("/v1/sessions", json={"id": "s1"})
    assert response.status_code == 409
    assert response.json()["error"] == "AlreadyExists"


def test_missing_session_is_a_404_with_the_error_shape(client):
    response = client.get("/v1/sessions/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "no session 'nope'"}


def test_bad_request_body_is_a_422_in_the_error_shape(client):
    response = client.post("/v1/sessions", json={"title": "x", "bogus": 1})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert body["detail"][0]["loc"] == ["body", "bogus"]


def test_invalid_value_from_the_store_is_a_422(client):
    response = client.post("/v1/sessions", json={"title": "nul \u0000 inside"})
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidInput"


def test_unknown_route_answers_json_404(client):
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_patch_changes_only_the_given_fields_and_null_clears(client):
    sid = new_session(client, title="t", agent="a", metadata={"a": 1, "b": 2})["id"]
    response = client.patch(
        f"/v1/sessions/{sid}", json={"agent": None, "status": "completed", "metadata": {"a": None}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["agent"], body["status"]) == ("t", None, "completed")
    assert body["metadata"] == {"b": 2}


def test_delete_removes_the_session(client):
    sid = new_session(client)["id"]
    assert client.delete(f"/v1/sessions/{sid}").json() == {"deleted": 1}
    assert client.get(f"/v1/sessions/{sid}").status_code == 404


def test_list_filters_and_pages_with_the_cursor(client):
    for i in range(5):
        new_session(client, id=f"s{i}", agent="a" if i % 2 else "b")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "agent": "b"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/sessions", params=params).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["s0", "s2", "s4"]
    assert client.get("/v1/sessions", params={"cursor": "garbage"}).status_code == 422


def test_append_returns_stored_messages_with_tool_calls(client):
    sid = new_session(client)["id"]
    stored = append(client, sid, TOOL_TURN, usage={"input_tokens": 12, "output_tokens": 5})
    assert [m["seq"] for m in stored] == [1, 2, 3, 4]
    assert stored[1]["tool_calls"][0]["name"] == "list_files"
    session = client.get(f"/v1/sessions/{sid}").json()
    assert session["message_count"] == 4
    assert session["usage"]["input_tokens"] == 12


def test_append_with_the_same_ids_writes_nothing_twice(client):
    sid = new_session(client)["id"]
    items = [{"role": "user", "content": "once"}]
    first = append(client, sid, items, ids=["m-1"])
    again = append(client, sid, items, ids=["m-1"])
    assert first[0]["seq"] == again[0]["seq"] == 1
    assert client.get(f"/v1/sessions/{sid}").json()["message_count"] == 1


def test_append_with_a_stale_expect_last_seq_is_a_409(client):
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": "a"}])
    response = client.post(
        f"/v1/sessions/{sid}/messages",
        json={"items": [{"role": "user", "content": "b"}], "expect_last_seq": 0},
    )
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
    ok = client.post(
        f"/v1/sessions/{sid}/messages",
        json={"items": [{"role": "user", "content": "b"}], "expect_last_seq": 1},
    )
    assert ok.status_code == 201


def test_append_to_a_missing_session_is_a_404(client):
    response = client.post("/v1/sessions/nope/messages", json={"items": [{"role": "user"}]})
    assert response.status_code == 404


def test_messages_after_seq_and_last(client):
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": str(i)} for i in range(10)])
    url = f"/v1/sessions/{sid}/messages"
    assert [m["seq"] for m in client.get(url, params={"after_seq": 7}).json()["messages"]] == [
        8,
        9,
        10,
    ]
    assert [m["seq"] for m in client.get(url, params={"last": 2}).json()["messages"]] == [9, 10]
    both = client.get(url, params={"last": 2, "limit": 2})
    assert both.status_code == 422


def test_body_over_the_limit_is_a_413_by_content_length(make_client):
    client = make_client(max_body_bytes=1000)
    response = client.post("/v1/sessions", json={"title": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


def test_streamed_body_over_the_limit_is_a_413(make_client):
    client = make_client(max_body_bytes=1000)

    def chunks():
        yield b'{"title": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    # A generator body is sent chunked, without Content-Length.
    response = client.post(
        "/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert client.get("/v1/sessions").json()["items"] == []


def test_openapi_document_lists_the_endpoints(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/messages",
        "/v1/sessions/{session_id}/events",
        "/v1/search",
        "/v1/stats",
        "/v1/import",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_event_stream_sends_messages_after_the_given_seq(make_client):
    client = make_client(sse_interval=0.05)
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": f"m{i}"} for i in range(3)])
    with client.stream(
        "GET", f"/v1/sessions/{sid}/events", params={"after_seq": 1, "timeout": 0.3}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if "event: message" in block]
    seqs = [json.loads(block.split("data: ", 1)[1])["seq"] for block in events]
    assert seqs == [2, 3]
    assert "event: timeout" in text


def test_event_stream_resumes_from_last_event_id(make_client):
    client = make_client(sse_interval=0.05)
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": f"m{i}"} for i in range(3)])
    with client.stream(
        "GET",
        f"/v1/sessions/{sid}/events",
        params={"timeout": 0.2},
        headers={"Last-Event-ID": "2"},
    ) as response:
        text = "".join(response.iter_text())
    assert "id: 3\n" in text
    assert "id: 2\n" not in text


def test_event_stream_delivers_messages_appended_while_it_is_open(make_client, store):
    client = make_client(sse_interval=0.05)
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": "before"}])
    timer = threading.Timer(
        0.3, lambda: store.append(sid, {"role": "assistant", "content": "live"})
    )
    timer.start()
    try:
        with client.stream(
            "GET", f"/v1/sessions/{sid}/events", params={"timeout": 1.5}
        ) as response:
            text = "".join(response.iter_text())
    finally:
        timer.join()
    assert '"text":"live"' in text.replace(" ", "")
    assert "before" not in text


def test_an_unexpected_error_is_a_json_500_without_internals(store):
    from sessiondb.server import create_app

    from .conftest import TestClient

    class Broken:
        def __getattr__(self, name):
            return getattr(store, name)

        def get_session(self, session_id):
            raise RuntimeError("secret internals")

    client = TestClient(create_app(Broken()), raise_server_exceptions=False)
    response = client.get("/v1/sessions/x")
    assert response.status_code == 500
    assert response.json()["error"] == "InternalError"
    assert "secret" not in response.text


def test_upload_over_the_limit_is_a_413_and_imports_nothing(make_client):
    client = make_client(max_body_bytes=4096)
    line = json.dumps({"role": "user", "content": "x" * 100}) + "\n"
    response = client.post(
        "/v1/import", files={"file": ("big.jsonl", line * 100, "application/x-ndjson")}
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "PayloadTooLarge",
        "detail": "request body is over the limit of 4096 bytes",
    }
    assert client.get("/v1/sessions").json()["items"] == []
    small = client.post(
        "/v1/import", files={"file": ("small.jsonl", line * 3)}, data={"format": "openai_chat"}
    )
    assert small.status_code == 200, small.text
    assert small.json()["messages_added"] == 3
