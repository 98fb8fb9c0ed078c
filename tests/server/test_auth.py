"""Tokens, scopes and tenant isolation; binding rules of ``run``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sessiondb import InvalidInput
from sessiondb.server import is_loopback, parse_tokens, run
from sessiondb.server.auth import Principal

from .conftest import TOKENS, TestClient, bearer, new_session


def test_request_without_token_is_a_401(clients):
    response = clients["anonymous"].get("/v1/sessions")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_a_401(clients):
    assert clients["wrong"].get("/v1/sessions").status_code == 401


def test_read_only_token_cannot_write(clients):
    sid = new_session(clients["alice"], title="mine")["id"]
    ro = clients["alice_ro"]
    assert ro.get(f"/v1/sessions/{sid}").status_code == 200
    for response in (
        ro.post("/v1/sessions", json={}),
        ro.post(f"/v1/sessions/{sid}/messages", json={"items": [{"role": "user"}]}),
        ro.patch(f"/v1/sessions/{sid}", json={"title": "x"}),
        ro.delete(f"/v1/sessions/{sid}"),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
    assert clients["alice"].get(f"/v1/sessions/{sid}").json()["message_count"] == 0


def test_sessions_created_by_a_tenant_belong_to_it(clients):
    created = new_session(clients["alice"], title="mine")
    assert created["user_id"] == "alice"
    response = clients["alice"].post("/v1/sessions", json={"user_id": "bob"})
    assert response.status_code == 422


def test_listing_shows_only_the_tenants_sessions(clients):
    new_session(clients["alice"], id="alice:a1")
    new_session(clients["bob"], id="bob:b1")
    ids = {s["id"] for s in clients["alice"].get("/v1/sessions").json()["items"]}
    assert ids == {"alice:a1"}
    asked_for_bob = clients["alice"].get("/v1/sessions", params={"user_id": "bob"}).json()
    assert asked_for_bob["items"] == []
    everything = {s["id"] for s in clients["admin"].get("/v1/sessions").json()["items"]}
    assert everything == {"alice:a1", "bob:b1"}


def test_web_pages_need_a_login_and_the_cookie_only_reads(make_client):
    client = make_client(tokens=TOKENS)
    page = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    bad = client.post("/login", data={"token": "nope-nope-nope"})
    assert bad.status_code == 401
    login = client.post("/login", data={"token": "alice-rw-token"}, follow_redirects=False)
    assert login.status_code == 303
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/v1/sessions").status_code == 200
    # The cookie alone never writes: a cross-site form cannot create or change anything.
    assert client.post("/v1/sessions", json={}).status_code == 403


def test_token_specs_parse_to_tenants_and_scopes():
    tokens = parse_tokens(TOKENS)
    assert tokens.lookup("alice-ro-token") == Principal("alice", "ro")
    assert tokens.lookup("admin-token-1") == Principal(None, "rw")
    assert tokens.lookup("alice-rw-token ") is None
    as_json = parse_tokens('{"json-token-1": {"tenant": "t", "scope": "ro"}, "json-token-2": "u"}')
    assert as_json.lookup("json-token-1") == Principal("t", "ro")
    assert as_json.lookup("json-token-2") == Principal("u", "rw")
    assert parse_tokens("just-one-secret").lookup("just-one-secret") == Principal(None, "rw")
    with pytest.raises(InvalidInput):
        parse_tokens("short=t:rw")
    with pytest.raises(InvalidInput):
        parse_tokens("long-enough=t:admin")


def test_serving_a_public_address_without_a_token_is_refused(monkeypatch):
    monkeypatch.delenv("SESSIONDB_TOKENS", raising=False)
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    with pytest.raises(InvalidInput, match="without a token"):
        run("unused.db", host="0.0.0.0", port=1)


def test_serve_command_refuses_a_public_host_without_a_token(monkeypatch):
    click_testing = pytest.importorskip("click.testing")
    from sessiondb.cli.serve import serve

    monkeypatch.delenv("SESSIONDB_TOKENS", raising=False)
    result = click_testing.CliRunner().invoke(serve, ["--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 1
    assert "without a token" in result.output


@pytest.fixture
def served(monkeypatch, tmp_path):
    """Make ``run`` hand its app to a test function instead of serving it.

    ``served.check`` is called with the app and uvicorn's keyword arguments while the
    store is open; ``served.calls`` records the arguments.
    """
    uvicorn = pytest.importorskip("uvicorn")

    served = SimpleNamespace(calls=[], check=lambda app, **kwargs: None)

    def fake_run(app, **kwargs):
        served.calls.append(kwargs)
        served.check(app, **kwargs)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("SESSIONDB_URL", str(tmp_path / "served.db"))
    monkeypatch.delenv("SESSIONDB_TOKENS", raising=False)
    return served


def test_sessiondb_tokens_from_the_environment_protect_the_server(served, monkeypatch, tmp_path):
    monkeypatch.setenv("SESSIONDB_TOKENS", "env-alice-token=alice:rw,env-viewer-token=alice:ro")
    answers = {}

    def check(app, **kwargs):
        with TestClient(app) as client:
            answers["none"] = client.get("/v1/sessions").status_code
            answers["unknown"] = client.get("/v1/sessions", headers=bearer("x" * 12)).status_code
            created = client.post("/v1/sessions", json={}, headers=bearer("env-alice-token"))
            answers["created"] = (created.status_code, created.json()["user_id"])
            ro = client.post("/v1/sessions", json={}, headers=bearer("env-viewer-token"))
            answers["read-only write"] = ro.status_code
            cli = client.get("/v1/sessions", headers=bearer("cli-given-token"))
            answers["cli token"] = cli.status_code

    served.check = check
    # The environment's tokens are added to --token's; they also allow a public host.
    run(None, host="0.0.0.0", port=1, tokens="cli-given-token")
    assert served.calls[-1]["host"] == "0.0.0.0"
    assert answers == {
        "none": 401,
        "unknown": 401,
        "created": (201, "alice"),
        "read-only write": 403,
        "cli token": 200,
    }


def test_serve_command_reads_sessiondb_tokens(served, monkeypatch):
    from click.testing import CliRunner

    from sessiondb.cli.serve import serve

    monkeypatch.setenv("SESSIONDB_TOKENS", "env-only-token=team:rw")
    statuses = []

    def check(app, **kwargs):
        with TestClient(app) as client:
            statuses.append(client.get("/v1/sessions").status_code)
            statuses.append(
                client.get("/v1/sessions", headers=bearer("env-only-token")).status_code
            )

    served.check = check
    result = CliRunner().invoke(serve, ["--host", "192.0.2.10", "--port", "1"])
    assert result.exit_code == 0, result.output
    assert statuses == [401, 200]
    assert served.calls[-1]["host"] == "192.0.2.10"


def test_serve_insecure_binds_a_public_host_without_a_token_and_warns(served):
    from click.testing import CliRunner

    from sessiondb.cli.serve import serve

    statuses = []

    def check(app, **kwargs):
        with TestClient(app) as client:
            statuses.append(client.post("/v1/sessions", json={"id": "open"}).status_code)

    served.check = check
    result = CliRunner().invoke(serve, ["--host", "0.0.0.0", "--port", "1", "--insecure"])
    assert result.exit_code == 0, result.output
    assert (served.calls[-1]["host"], served.calls[-1]["port"]) == ("0.0.0.0", 1)
    assert statuses == [201]  # no authentication at all: what --insecure asked for
    assert "WARNING: no token (--insecure)" in result.output
    # Without --insecure the same command is refused before anything is served.
    refused = CliRunner().invoke(serve, ["--host", "0.0.0.0", "--port", "1"])
    assert refused.exit_code == 1
    assert "without a token" in refused.output
    assert len(served.calls) == 1
