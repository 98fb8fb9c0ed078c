"""CLI fixtures: a fresh database on every backend, driven in-process and as a subprocess.

``cli`` wraps ``store_factory`` (from tests/conftest.py): ``cli.run(...)`` invokes the
click command with ``--db`` (and ``--schema`` on PostgreSQL) in-process with click's
runner; ``cli.subprocess(...)`` runs ``python -m sessiondb`` for real, naming the
PostgreSQL schema with ``?schema=`` in the URL; ``cli.store()`` opens the same database
through the public API to set up and check.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner, Result

from sessiondb import Store, connect
from sessiondb.cli import main


@dataclass
class Cli:
    url: str
    options: dict[str, str]
    _stores: list[Store] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return "postgres" if self.url.startswith("postgres") else "sqlite"

    @property
    def global_args(self) -> list[str]:
        args = ["--db", self.url]
        if "schema" in self.options:
            args += ["--schema", self.options["schema"]]
        return args

    @property
    def subprocess_url(self) -> str:
        if "schema" in self.options:
            return f"{self.url}?schema={self.options['schema']}"
        return self.url

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        """``sessiondb --db URL ARGS...`` in-process (exceptions are kept on the result)."""
        runner = CliRunner()
        return runner.invoke(main, [*self.global_args, *args], input=input, env=env)

    def ok(self, *args: str, input: str | None = None) -> Result:
        """Like ``run``, asserting exit status 0."""
        result = self.run(*args, input=input)
        assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
        return result

    def subprocess(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m sessiondb --db URL ARGS...`` as a real process."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONDB_")}
        env.pop("NO_COLOR", None)
        return subprocess.run(
            [sys.executable, "-m", "sessiondb", "--db", self.subprocess_url, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    def store(self) -> Store:
        """The same database through the public API (closed after the test)."""
        db = connect(self.url, **self.options)
        self._stores.append(db)
        return db

    @property
    def database(self) -> str:
        """How errors name this database: the path, or the URL with ``?schema=``."""
        return self.subprocess_url

    def raw_sql(self, statement: str) -> None:
        """Run ``statement`` on the database behind the library's back (to damage it)."""
        for db in self._stores:
            db.close()
        self._stores.clear()
        if self.backend == "sqlite":
            raw = sqlite3.connect(self.url)
            with raw:
                raw.execute(statement)
            raw.close()
        else:
            import psycopg

            options = f"-c search_path={self.options['schema']}"
            with psycopg.connect(self.url, autocommit=True, options=options) as conn:
                conn.execute(statement.encode())

    def make_newer(self) -> None:
        """Create the database, then pretend a newer sessiondb migrated it."""
        self.store()
        self.raw_sql(
            "INSERT INTO _sessiondb_migrations (version, name, applied_at) "
            "VALUES (999, '0999_future.sql', 0)"
        )


@pytest.fixture
def cli(store_factory: tuple[str, dict[str, str]]) -> Iterator[Cli]:
    url, options = store_factory
    harness = Cli(url, dict(options))
    yield harness
    for db in harness._stores:
        db.close()
