"""The server-rendered web pages (HTML checks; the browser tests drive the real thing)."""

from __future__ import annotations

import re
from html import unescape

from .conftest import TOOL_TURN, append, new_session

HTML = {"Accept": "text/html"}


def test_session_list_pages_with_a_cursor_sentinel(client):
    for i in range(55):
        new_session(client, id=f"s{i:02}", title=f"session {i}")
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.text.count('class="session-row') == 50
    assert 'class="sentinel" data-next-cursor="' in page.text
    cursor = page.text.split('data-next-cursor="', 1)[1].split('"', 1)[0]
    rest = client.get("/ui/sessions", params={"cursor": cursor}, headers=HTML)
    assert rest.text.count('class="session-row') == 5
    assert "sentinel" not in rest.text


def test_transcript_shows_roles_and_folded_tool_calls(client):
    sid = new_session(client, title="tools")["id"]
    append(client, sid, TOOL_TURN, usage={"input_tokens": 1234, "output_tokens": 56})
    page = client.get(f"/sessions/{sid}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert 'class="msg role-user' in text
    assert '<details class="tool-call status-ok">' in text
    assert "list_files" in text
    assert "&#34;path&#34;: &#34;.&#34;" in text or "&quot;path&quot;" in text
    assert "in 1,234" in text
    assert 'id="m-3"' in text


def test_transcript_escapes_message_text(client):
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": "<script>alert(1)</script>"}])
    text = client.get(f"/sessions/{sid}", headers=HTML).text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text


def test_missing_session_page_is_an_html_404(client):
    page = client.get("/sessions/nope", headers=HTML)
    assert page.status_code == 404
    assert "NotFound" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_pages_send_a_same_origin_content_security_policy(client):
    page = client.get("/", headers=HTML)
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_static_assets_are_bundled(client):
    assert "prefers-color-scheme" in client.get("/static/app.css").text
    assert "IntersectionObserver" in client.get("/static/app.js").text


def test_search_page_highlights_hits_and_links_to_the_message(client):
    sid = new_session(client, title="files")["id"]
    append(client, sid, TOOL_TURN)
    page = client.get("/search", params={"q": "setup.py"}, headers=HTML)
    assert page.status_code == 200
    assert "<mark>" in page.text
    assert f'href="/sessions/{sid}?around=3#m-3"' in page.text


def test_tree_page_shows_the_lineage(client):
    root = new_session(client, title="the root")["id"]
    child = new_session(client, title="the child", parent_id=root, relation="subagent")["id"]
    page = client.get(f"/sessions/{child}/tree", headers=HTML)
    assert page.status_code == 200
    assert "the root" in page.text
    assert 'class="node current"' in page.text


def test_usage_page_renders_svg_charts(client):
    sid = new_session(client, agent="coder")["id"]
    append(client, sid, TOOL_TURN, usage={"input_tokens": 100, "output_tokens": 7, "cost_usd": 0.5})
    page = client.get("/usage", headers=HTML)
    assert page.status_code == 200
    assert page.text.count('<svg class="chart"') == 6
    assert 'class="bar series-0"' in page.text


def test_search_within_one_session_only_shows_its_hits(client):
    a = new_session(client, title="first")["id"]
    b = new_session(client, title="second")["id"]
    append(client, a, TOOL_TURN)
    append(client, b, TOOL_TURN)
    page = client.get("/search", params={"q": "setup.py", "session": b}, headers=HTML)
    assert page.status_code == 200
    assert f'href="/sessions/{b}?around=' in page.text
    assert f'href="/sessions/{a}?around=' not in page.text
    assert (
        client.get("/search", params={"q": "x", "session": "nope"}, headers=HTML).status_code == 404
    )


def _long_session(client, n=1200, needle_at=1100):
    """A session of ``n`` messages; message ``needle_at`` says "needle zebra"."""
    sid = new_session(client, title="long")["id"]
    items = [{"role": "user", "content": f"filler {i}"} for i in range(1, n + 1)]
    items[needle_at - 1] = {"role": "assistant", "content": "needle zebra"}
    append(client, sid, items)
    return sid


def _shown_seqs(html):
    return [int(seq) for seq in re.findall(r'<li class="msg [^"]*" id="m-(\d+)"', html)]


def _link(html, css_class):
    found = re.search(rf'<a class="{css_class}" href="([^"]*)"', html)
    assert found, f"no {css_class} link"
    return unescape(found.group(1))


def test_search_hit_past_the_first_page_lands_on_a_page_showing_it(client):
    sid = _long_session(client)
    assert 1100 not in _shown_seqs(client.get(f"/sessions/{sid}", headers=HTML).text)
    results = client.get("/search", params={"q": "zebra"}, headers=HTML).text
    href = unescape(re.search(r'<li class="hit"><a href="([^"]+)"', results).group(1))
    assert href == f"/sessions/{sid}?around=1100#m-1100"

    page = client.get(href.split("#")[0], headers=HTML)
    assert page.status_code == 200
    shown = _shown_seqs(page.text)
    # A full page: the hit, everything after it, and older messages for the rest.
    assert shown == list(range(701, 1201))
    assert 'id="m-1100"' in page.text
    assert "needle zebra" in page.text
    assert "pager-newer" not in page.text
    assert "#701–#1200 of 1,200" in page.text

    older = client.get(f"/sessions/{sid}{_link(page.text, 'pager-older')}", headers=HTML)
    assert _shown_seqs(older.text) == list(range(201, 701))
    newer = client.get(f"/sessions/{sid}{_link(older.text, 'pager-newer')}", headers=HTML)
    assert _shown_seqs(newer.text) == list(range(701, 1201))
    latest = client.get(f"/sessions/{sid}{_link(older.text, 'pager-latest')}", headers=HTML)
    assert _shown_seqs(latest.text) == list(range(701, 1201))
    first = client.get(f"/sessions/{sid}{_link(older.text, 'pager-first')}", headers=HTML)
    assert _shown_seqs(first.text) == list(range(1, 501))
    assert "pager-older" not in first.text


def test_transcript_window_around_a_seq_in_the_middle_is_centred(client):
    sid = _long_session(client)
    page = client.get(f"/sessions/{sid}", params={"around": 600}, headers=HTML).text
    assert _shown_seqs(page) == list(range(350, 850))
    assert "pager-older" in page
    assert "pager-newer" in page
    start = client.get(f"/sessions/{sid}", params={"around": 3}, headers=HTML).text
    assert _shown_seqs(start) == list(range(1, 501))
    after = client.get(f"/sessions/{sid}", params={"after": 1000}, headers=HTML).text
    assert _shown_seqs(after) == list(range(1001, 1201))
    both = client.get(f"/sessions/{sid}", params={"after": 1, "before": 9}, headers=HTML)
    assert both.status_code == 422


def test_tool_result_on_the_next_page_is_linked_there(client):
    sid = new_session(client)["id"]
    append(client, sid, [{"role": "user", "content": f"filler {i}"} for i in range(498)])
    append(client, sid, TOOL_TURN)  # seqs 499-502: the call is #500, its result #501
    page = client.get(f"/sessions/{sid}", headers=HTML).text
    assert _shown_seqs(page)[-1] == 500
    assert 'href="?around=501#m-501">#501</a>' in page
    around = client.get(f"/sessions/{sid}", params={"around": 501}, headers=HTML).text
    assert 'href="#m-501">#501</a>' in around
