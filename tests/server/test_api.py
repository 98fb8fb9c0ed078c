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


def _sse_events(text):
    """(event, id, data) for each event of an SSE body (comments left out)."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            found.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    return found


def _follow(events):
    """The messages a client following the stream holds at its end: {seq: text}."""
    held = {}
    for event, _, data in events:
        if event == "message":
            held[data["seq"]] = data["text"]
        elif event == "reset":
            held = {seq: text for seq, text in held.items() if seq <= data["after_seq"]}
    return held


def _in_background(*steps, pause=0.25):
    def run():
        for step in steps:
            threading.Event().wait(pause)
            step()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_event_stream_sends_a_reset_when_pop_or_clear_rewrite_the_history(make_client, store):
    client = make_client(sse_interval=0.02)
    sid = new_session(client)["id"]

    def post(text):
        return lambda: append(client, sid, [{"role": "user", "content": text}])

    thread = _in_background(
        post("one"),
        post("two"),
        post("three"),
        lambda: store.pop(sid),
        post("three-replacement"),
        lambda: store.clear(sid),
        post("after-clear-1"),
        post("after-clear-2"),
    )
    try:
        with client.stream(
            "GET", f"/v1/sessions/{sid}/events", params={"timeout": 3.0, "after_seq": 0}
        ) as response:
            text = "".join(response.iter_text())
    finally:
        thread.join()
    events = _sse_events(text)
    sent = [data["text"] for event, _, data in events if event == "message"]
    assert sent == [
        "one", "two", "three", "three-replacement", "after-clear-1", "after-clear-2"
    ]  # fmt: skip
    resets = [(event_id, data) for event, event_id, data in events if event == "reset"]
    # The pop is seen as soon as it happens (last_seq 2), or with its replacement (3).
    assert [(event_id, data["after_seq"]) for event_id, data in resets] == [("2", 2), ("0", 0)]
    assert resets[0][1]["last_seq"] in (2, 3)
    assert resets[1][1]["last_seq"] in (0, 1, 2)
    assert _follow(events) == {1: "after-clear-1", 2: "after-clear-2"}
    assert events[-1] == ("timeout", None, {"last_seq": 2})


def test_event_stream_resets_a_client_that_holds_more_than_the_session(make_client, store):
    client = make_client(sse_interval=0.02)
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": f"m{i}"} for i in range(3)])
    store.clear(sid)
    append(client, sid, [{"role": "user", "content": "new"}])
    with client.stream(
        "GET",
        f"/v1/sessions/{sid}/events",
        params={"timeout": 0.2},
        headers={"Last-Event-ID": "3"},
    ) as response:
        events = _sse_events("".join(response.iter_text()))
    assert events[0] == ("reset", "0", {"after_seq": 0, "last_seq": 1})
    assert _follow(events) == {1: "new"}


def test_event_stream_goes_on_without_a_reset_after_truncate(make_client, store):
    client = make_client(sse_interval=0.02)
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": f"m{i}"} for i in range(3)])
    thread = _in_background(
        lambda: store.truncate(sid, keep_last=0),
        lambda: append(client, sid, [{"role": "user", "content": "later"}]),
    )
    try:
        with client.stream(
            "GET", f"/v1/sessions/{sid}/events", params={"timeout": 1.0}
        ) as response:
            events = _sse_events("".join(response.iter_text()))
    finally:
        thread.join()
    assert [(event, event_id) for event, event_id, _ in events] == [
        ("message", "4"),
        ("timeout", None),
    ]


def test_idle_event_stream_reads_one_query_a_poll(store):
    from sessiondb.server import create_app

    from .conftest import TestClient

    calls = []

    class Counting:
        def __getattr__(self, name):
            attribute = getattr(store, name)
            if callable(attribute):

                def counted(*args, **kwargs):
                    calls.append(name)
                    return attribute(*args, **kwargs)

                return counted
            return attribute

    client = TestClient(create_app(Counting(), sse_interval=0.02))
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": f"m{i}"} for i in range(3)])
    calls.clear()
    with client.stream("GET", f"/v1/sessions/{sid}/events", params={"timeout": 0.3}) as response:
        "".join(response.iter_text())
    client.close()
    assert calls.count("get_session") == 1  # at the start only
    assert calls.count("messages") > 3
    assert set(calls) == {"get_session", "messages"}


def test_event_stream_refuses_a_bad_last_event_id_with_json(client):
    sid = new_session(client)["id"]
    for value in ("99999999999999999999999", str(2**62 + 1), "abc", "-1"):
        response = client.get(
            f"/v1/sessions/{sid}/events",
            params={"timeout": 0.1},
            headers={"Last-Event-ID": value},
        )
        assert response.status_code == 422, value
        assert response.json()["error"] == "InvalidInput"
        assert response.json()["detail"].startswith("Last-Event-ID: ")
    fine = client.get(
        f"/v1/sessions/{sid}/events", params={"timeout": 0.1}, headers={"Last-Event-ID": "0"}
    )
    assert fine.status_code == 200


def test_event_stream_of_a_session_deleted_while_followed_ends_with_an_event(make_client, store):
    client = make_client(sse_interval=0.02)
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": "m"}])
    thread = _in_background(lambda: store.delete_session(sid))
    try:
        with client.stream(
            "GET", f"/v1/sessions/{sid}/events", params={"timeout": 3.0, "after_seq": 0}
        ) as response:
            events = _sse_events("".join(response.iter_text()))
    finally:
        thread.join()
    assert [event for event, _, _ in events] == ["message", "deleted"]
    assert events[-1][2] == {"last_seq": 1}


def test_event_stream_reports_a_store_failure_as_an_error_event(store):
    from sessiondb.errors import BackendError
    from sessiondb.server import create_app

    from .conftest import TestClient

    class FailsLater:
        polls = 0

        def __getattr__(self, name):
            return getattr(store, name)

        def messages(self, *args, **kwargs):
            FailsLater.polls += 1
            if FailsLater.polls > 2:
                raise BackendError("the database went away")
            return store.messages(*args, **kwargs)

    client = TestClient(create_app(FailsLater(), sse_interval=0.02))
    sid = new_session(client)["id"]
    with client.stream("GET", f"/v1/sessions/{sid}/events", params={"timeout": 3.0}) as response:
        events = _sse_events("".join(response.iter_text()))
    client.close()
    assert events == [
        ("error", None, {"error": "BackendError", "detail": "the database went away"})
    ]


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
