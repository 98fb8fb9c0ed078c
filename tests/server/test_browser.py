"""The web UI in a real browser: Debian's chromium driven by Playwright, against uvicorn
on a free loopback port. Screenshots go to test-artifacts/ (look at them).

Never runs ``playwright install``: the browser is /usr/bin/chromium (.ci/run installs it).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessiondb import NewMessage, Store, Usage, connect
from sessiondb.server import create_app

from ..conftest import IN_CI
from .conftest import TOOL_TURN

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    if IN_CI:  # .ci/run installs it: missing there is a broken CI, not a reason to skip
        raise RuntimeError("CI=true but /usr/bin/chromium is missing")
    pytest.skip("needs /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")


def seed(store: Store) -> str:
    """Sessions worth looking at; returns the id of the one with tool calls."""
    now = datetime.now(UTC)
    for i in range(60):
        store.create_session(f"filler-{i:02}", title=f"Filler session {i}", agent="helper")
    models = ["claude-sonnet", "gpt-5", "claude-haiku"]
    agents = ["coder", "reviewer", "helper"]
    for day in range(10):
        sid = f"day-{day}"
        store.create_session(sid, title=f"Work of day {day}", agent=agents[day % 3])
        when = now - timedelta(days=9 - day)
        store.append(
            sid,
            [
                NewMessage({"role": "user", "content": f"task {day}"}, created_at=when),
                NewMessage(
                    {"role": "assistant", "content": f"done with task {day}"},
                    created_at=when + timedelta(seconds=5),
                ),
            ],
            usage=Usage(
                input_tokens=1000 + 300 * day,
                output_tokens=200 + 50 * (day % 4),
                cost_usd=0.01 * (day + 1),
            ),
            model=models[day % 3],
        )
    main = store.create_session("tools", title="Listing files with tools", agent="coder")
    store.append(main.id, TOOL_TURN[:1])
    store.append(
        main.id, TOOL_TURN[1:3], usage=Usage(input_tokens=1234, output_tokens=56, cost_usd=0.02)
    )
    store.append(main.id, TOOL_TURN[3:], usage=Usage(input_tokens=1300, output_tokens=20))
    store.create_session(
        "sub", title="Subagent: read README", parent_id=main.id, relation="subagent"
    )
    store.append("sub", [{"role": "user", "content": "read the README"}])
    store.create_session(
        "forked", title="Fork: try another listing", parent_id=main.id, relation="fork"
    )
    store.append("forked", TOOL_TURN[:1])
    store.create_session("compacted", title="A compacted conversation", agent="coder")
    store.append("compacted", [{"role": "user", "content": f"old question {i}"} for i in range(4)])
    store.compact("compacted", "Summary: four old questions were asked.", keep_last=1)
    # Longer than a transcript page: its one hit, #1100, is far past the first page.
    store.create_session("long", title="A very long conversation", agent="helper")
    filler = [{"role": "user", "content": f"step {i}"} for i in range(1, 1201)]
    filler[1099] = {"role": "assistant", "content": "the zebra crossing is at #1100"}
    store.append("long", filler)
    return main.id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, id of the session with tool calls) of a live server."""
    store = connect(tmp_path_factory.mktemp("browser") / "ui.db")
    tools_id = seed(store)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tools_id
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A 1280 px wide page; the test fails on any script error, and on any request that
    leaves the server (the UI works offline: no CDN, no fonts, no analytics)."""
    base, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: None if r.url.startswith((base + "/", "data:")) else elsewhere.append(r.url),
    )
    yield page
    context.close()
    assert not errors, errors
    assert not elsewhere, elsewhere


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_session_list_loads_more_rows_when_scrolled(page, server):
    base, _ = server
    page.goto(base + "/")
    rows = page.locator(".session-row")
    assert rows.count() == 50
    shot(page, "01-session-list")
    page.locator(".sentinel").scroll_into_view_if_needed()
    playwright_sync.expect(rows).to_have_count(75)
    assert page.locator(".sentinel").count() == 0


def test_transcript_folds_tool_calls_with_arguments_and_result(page, server):
    base, _ = server
    page.goto(base + "/")
    page.get_by_text("Listing files with tools").first.click()
    page.wait_for_url("**/sessions/tools")
    call = page.locator("details.tool-call").first
    assert not call.evaluate("d => d.open")
    call.locator("summary").click()
    body = call.locator(".tool-body")
    assert '"path": "."' in body.inner_text()
    assert "README.md" in body.inner_text()
    assert "in 1,234" in page.locator(".usage").first.inner_text()
    shot(page, "02-transcript")


def test_compacted_messages_are_hidden_until_toggled(page, server):
    base, _ = server
    page.goto(base + "/sessions/compacted")
    hidden = page.locator(".msg-hidden")
    assert hidden.count() == 3
    assert not hidden.first.is_visible()
    summary = page.locator(".msg-summary")
    assert "Summary: four old questions" in summary.inner_text()
    assert "compaction summary" in summary.inner_text()
    # Shown where it logically belongs: after the messages it replaces, before the kept one.
    order = page.locator(".msg").evaluate_all("els => els.map(e => e.dataset.seq)")
    assert order == ["1", "2", "3", "5", "4"]
    page.check("#show-hidden")
    assert hidden.first.is_visible()
    assert "old question 0" in hidden.first.inner_text()
    shot(page, "10-compacted-shown")


def test_search_hit_links_to_the_message(page, server):
    base, _ = server
    page.goto(base + "/")
    page.fill(".quicksearch input", "setup.py")
    page.press(".quicksearch input", "Enter")
    page.wait_for_url("**/search?q=setup.py")
    hit = page.locator(".hit a").first
    assert hit.locator("mark").count() >= 1
    shot(page, "03-search")
    hit.click()
    page.wait_for_url("**/sessions/tools?around=*#m-*")
    target = page.locator(".msg.target")
    assert target.count() == 1
    assert "setup.py" in target.inner_text()
    shot(page, "04-search-hit")


def test_search_hit_far_into_a_long_session_lands_on_the_message(page, server):
    base, _ = server
    page.goto(base + "/search?q=zebra")
    hit = page.locator(".hit a")
    assert hit.count() == 1
    hit.click()
    page.wait_for_url("**/sessions/long?around=1100#m-1100")
    target = page.locator("#m-1100")
    playwright_sync.expect(target).to_be_visible()
    playwright_sync.expect(target).to_be_in_viewport()
    playwright_sync.expect(target).to_have_class(re.compile(r"\btarget\b"))
    assert "zebra crossing" in target.inner_text()
    assert page.locator(".msg").count() == 500
    shot(page, "11-search-hit-deep-in-a-long-session")
    page.locator(".pager-top .pager-older").click()
    page.wait_for_url("**/sessions/long?before=701")
    assert page.locator(".msg").first.get_attribute("id") == "m-201"
    assert page.locator(".msg").last.get_attribute("id") == "m-700"


def test_lineage_tree_shows_children(page, server):
    base, _ = server
    page.goto(f"{base}/sessions/sub")
    page.get_by_role("link", name="Lineage tree").click()
    page.wait_for_url("**/tree")
    nodes = page.locator(".tree .node")
    assert nodes.count() == 3
    assert "Subagent: read README" in page.locator(".node.current").inner_text()
    assert "fork" in page.locator(".tree").inner_text()
    shot(page, "05-tree")


def test_usage_page_draws_charts(page, server):
    base, _ = server
    page.goto(base + "/usage")
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    bars = page.locator("svg.chart rect.bar")
    assert bars.count() > 10
    box = bars.first.bounding_box()
    assert box is not None
    assert box["height"] > 1
    assert box["width"] > 1
    shot(page, "06-usage")


def test_dark_theme_toggle_and_phone_width(browser, server):
    base, tools_id = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="light")
    page = context.new_page()
    page.goto(f"{base}/sessions/{tools_id}")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("#theme-toggle")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light != dark
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "07-phone-dark-transcript")
    page.goto(base + "/usage")  # the choice is remembered across pages
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "08-phone-dark-usage")
    page.goto(base + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "09-phone-dark-list")
    page.goto(base + "/sessions/long?around=1100#m-1100")
    playwright_sync.expect(page.locator("#m-1100")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(base + "/search?q=zebra")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "12-phone-dark-search")
    context.close()
