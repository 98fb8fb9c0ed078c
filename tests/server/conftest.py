"""Fixtures for the HTTP API and web UI: a TestClient over ``create_app(store)``, for
every backend of the ``store`` fixture."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from sessiondb import Store
from sessiondb.server import create_app

with warnings.catch_warnings():
    # Starlette asks for the renamed httpx2 package; httpx works and is what we have.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

ClientFactory = Callable[..., TestClient]

# Tenants alice (read-write and read-only tokens) and bob, and an all-tenants admin.
TOKENS = "alice-rw-token=alice:rw,alice-ro-token=alice:ro,bob-rw-token=bob:rw,admin-token-1=*:rw"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_client(store: Store) -> Iterator[ClientFactory]:
    """Build TestClients over the test's store: ``make_client(tokens=..., **options)``."""
    clients: list[TestClient] = []

    def make(*, headers: dict[str, str] | None = None, **options: Any) -> TestClient:
        client = TestClient(create_app(store, **options), headers=headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """A client of an app without authentication."""
    return make_client()


TOOL_TURN = [
    {"role": "user", "content": "list the files please"},
    {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {
                "id": "call_ls",
                "type": "function",
                "function": {"name": "list_files", "arguments": '{"path": "."}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_ls", "content": "README.md\nsetup.py"},
    {"role": "assistant", "content": "There are two files: README.md and setup.py."},
]


@pytest.fixture
def clients(make_client: ClientFactory) -> dict[str, TestClient]:
    """Clients per token over one app with tenants alice and bob."""
    return {
        name: make_client(tokens=TOKENS, headers=bearer(token) if token else None)
        for name, token in {
            "anonymous": None,
            "alice": "alice-rw-token",
            "alice_ro": "alice-ro-token",
            "bob": "bob-rw-token",
            "admin": "admin-token-1",
            "wrong": "not-a-known-token",
        }.items()
    }


def new_session(client: TestClient, **fields: Any) -> dict[str, Any]:
    """Create a session over HTTP and return its JSON."""
    response = client.post("/v1/sessions", json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def append(client: TestClient, session_id: str, items: list[dict[str, Any]], **extra: Any) -> Any:
    path = f"/v1/sessions/{quote(session_id, safe='')}/messages"
    response = client.post(path, json={"items": items, **extra})
    assert response.status_code == 201, response.text
    return response.json()["messages"]
