"""``sessiondb.server.run`` (what ``sessiondb serve`` calls) in a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_serves_the_store_and_prints_the_url(tmp_path):
    port = free_port()
    db = tmp_path / "served.db"
    code = (
        "from sessiondb.server import run; "
        f"run({str(db)!r}, port={port}, tokens='a-long-secret=team:rw')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"{base}/v1/sessions")
                break
            except httpx.TransportError:
                assert proc.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.status_code == 401
        auth = {"Authorization": "Bearer a-long-secret"}
        created = httpx.post(f"{base}/v1/sessions", json={"title": "t"}, headers=auth)
        assert created.status_code == 201
        assert created.json()["user_id"] == "team"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"at {base}/" in err.decode()


def test_make_run_demo_serves_the_imported_samples(tmp_path):
    port = free_port()
    db = tmp_path / "demo.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiondb.demo", "--db", str(db), "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                page = httpx.get(f"{base}/v1/sessions")
                break
            except httpx.TransportError:
                assert proc.poll() is None, "the demo exited"
                assert time.monotonic() < deadline, "the demo did not start serving"
                time.sleep(0.2)
        assert page.status_code == 200
        assert page.json()["items"], "the samples were imported"
        assert httpx.get(f"{base}/", headers={"Accept": "text/html"}).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"{base}/" in out.decode()


def test_serve_command_in_a_real_process_needs_a_token_from_sessiondb_tokens(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SESSIONDB_URL": str(tmp_path / "env.db"),
        "SESSIONDB_TOKENS": "env-tenant-token=envteam:rw",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiondb", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                anonymous = httpx.get(f"{base}/v1/sessions")
                break
            except httpx.TransportError:
                assert proc.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert anonymous.status_code == 401
        auth = {"Authorization": "Bearer env-tenant-token"}
        created = httpx.post(f"{base}/v1/sessions", json={}, headers=auth)
        assert created.status_code == 201
        assert created.json()["user_id"] == "envteam"
        assert created.json()["id"].startswith("envteam:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "1 token(s)" in err.decode()


def test_a_real_server_routes_ids_with_slash_and_percent_as_one_segment(tmp_path):
    port = free_port()
    db = tmp_path / "slashes.db"
    code = f"from sessiondb.server import run; run({str(db)!r}, port={port})"
    env = {k: v for k, v in os.environ.items() if k != "SESSIONDB_TOKENS"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/v1/sessions")
                break
            except httpx.TransportError:
                assert proc.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        for session_id in ("user/42", "a%2Fb", "x"):
            assert httpx.post(f"{base}/v1/sessions", json={"id": session_id}).status_code == 201
        assert httpx.get(f"{base}/v1/sessions/user%2F42").json()["id"] == "user/42"
        assert httpx.get(f"{base}/v1/sessions/a%252Fb").json()["id"] == "a%2Fb"
        assert httpx.get(f"{base}/sessions/user%2F42").status_code == 200
        assert httpx.get(f"{base}/v1/sessions/x").json()["id"] == "x"
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
