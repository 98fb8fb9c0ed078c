"""Session (and message) ids with ``/`` or ``%`` are reachable over the API and the web
UI: the id is one path segment, percent-encoded (``user%2F42``), never split at the ``/``."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from .conftest import TOKENS, append, new_session

ODD_IDS = ["user/42", "x/tree", "a%2Fb", "100%", "dir/ü ß/", "/lead"]


def url(session_id: str) -> str:
    return "/v1/sessions/" + quote(session_id, safe="")


@pytest.mark.parametrize("session_id", ODD_IDS)
def test_a_session_with_slash_or_percent_in_its_id_is_reachable_over_the_api(client, session_id):
    new_session(client, id=session_id)
    base = url(session_id)
    assert client.get(base).json()["id"] == session_id
    patched = client.patch(base, json={"title": "renamed"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "renamed"
    stored = append(client, session_id, [{"role": "user", "content": "hi"}], ids=["msg/1"])
    assert stored[0]["id"] == "msg/1"
    edited = client.patch(f"{base}/messages/{quote('msg/1', safe='')}", json={"metadata": {"k": 1}})
    assert edited.status_code == 200, edited.text
    assert [m["text"] for m in client.get(f"{base}/messages").json()["messages"]] == ["hi"]
    assert client.get(f"{base}/history").json()["items"] == [{"role": "user", "content": "hi"}]
    assert client.get(f"{base}/tree").json()["session"]["id"] == session_id
    with client.stream("GET", f"{base}/events", params={"after_seq": 0, "timeout": 0.2}) as r:
        assert r.status_code == 200
        assert "id: 1\nevent: message" in "".join(r.iter_text())
    assert client.get(f"{base}/export").status_code == 200
    assert client.delete(base).json() == {"deleted": 1}
    assert client.get(base).status_code == 404


def test_an_id_ending_in_tree_is_not_the_tree_of_another_session(client):
    new_session(client, id="x")
    new_session(client, id="x/tree")
    assert client.get("/v1/sessions/x%2Ftree").json()["id"] == "x/tree"
    assert client.get("/v1/sessions/x/tree").json()["session"]["id"] == "x"
    assert client.get("/v1/sessions/x%2ftree").json()["id"] == "x/tree"  # lower-case escape


def test_a_literal_percent_2f_in_an_id_is_not_a_slash(client):
    new_session(client, id="a%2Fb")
    new_session(client, id="a/b")
    assert client.get("/v1/sessions/a%252Fb").json()["id"] == "a%2Fb"
    assert client.get("/v1/sessions/a%2Fb").json()["id"] == "a/b"


def test_web_ui_links_to_sessions_with_slash_in_their_id(client):
    new_session(client, id="x", title="plain")
    new_session(client, id="x/tree", title="slashed", parent_id="x")
    new_session(client, id="with/slash", title="other")
    page = client.get("/", headers={"Accept": "text/html"}).text
    links = set(re.findall(r'href="(/sessions/[^"?]*)"', page))
    assert {"/sessions/x", "/sessions/x%2Ftree", "/sessions/with%2Fslash"} <= links
    for link, title in (("/sessions/x%2Ftree", "slashed"), ("/sessions/with%2Fslash", "other")):
        transcript = client.get(link)
        assert transcript.status_code == 200
        assert title in transcript.text
    transcript = client.get("/sessions/x%2Ftree").text
    inner = set(re.findall(r'href="([^"#]*)"', transcript))
    assert "/sessions/x%2Ftree/tree" in inner
    assert "/v1/sessions/x%2Ftree/export?format=jsonl" in inner
    tree = client.get("/sessions/x%2Ftree/tree")
    assert tree.status_code == 200
    assert 'href="/sessions/x%2Ftree"' in tree.text
    assert 'href="/sessions/x"' in tree.text


def test_login_redirect_keeps_a_slash_inside_the_id(make_client):
    client = make_client(tokens=TOKENS)
    response = client.get(
        "/sessions/alice%3Ause%2Fr", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/sessions/alice:use%2Fr"]
