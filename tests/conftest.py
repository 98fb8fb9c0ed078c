"""Shared fixtures. ``store`` is parametrized over every backend.

PostgreSQL tests need ``SESSIONDB_TEST_POSTGRES`` (e.g. postgresql://postgres@127.0.0.1:5432/postgres):
each test gets its own throwaway schema, dropped afterwards. Without the variable they
skip with a visible reason, except under ``CI=true``, where a missing server is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessiondb import Store, connect

POSTGRES_URL = os.environ.get("SESSIONDB_TEST_POSTGRES", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_url_or_skip() -> str:
    """The test server's URL; skip (or, in CI, fail) when it is not configured."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but SESSIONDB_TEST_POSTGRES is not set: PostgreSQL tests must run")
        pytest.skip("PostgreSQL tests need SESSIONDB_TEST_POSTGRES (see README)")
    return POSTGRES_URL


def drop_schema(url: str, schema: str) -> None:
    """Drop a throwaway test schema."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(url, schema): a fresh schema name on the test server, dropped afterwards."""
    url = postgres_url_or_skip()
    schema = f"sessiondb_test_{secrets.token_hex(6)}"
    yield url, schema
    drop_schema(url, schema)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store; every test that uses it runs once per backend."""
    if request.param == "sqlite":
        db = connect(tmp_path / "sessions.db")
        yield db
        db.close()
    else:
        url = postgres_url_or_skip()
        schema = f"sessiondb_test_{secrets.token_hex(6)}"
        db = connect(url, schema=schema)
        try:
            yield db
        finally:
            db.close()
            drop_schema(url, schema)


@pytest.fixture(params=BACKENDS)
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """(url, options) so a test can open the same fresh database several times (processes)."""
    if request.param == "sqlite":
        yield str(tmp_path / "sessions.db"), {}
    else:
        url = postgres_url_or_skip()
        schema = f"sessiondb_test_{secrets.token_hex(6)}"
        yield url, {"schema": schema}
        drop_schema(url, schema)
