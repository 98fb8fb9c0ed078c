"""Databases from schema v4 with forks in them: after migration 0005, tree_usage is right.

v4's fork() recorded nothing about what a fork inherited; tree_usage subtracted the fork
copies that still existed. 0005 backfills what each fork inherited from those copies, so
deleting them after the upgrade no longer changes what the tree cost. The v4 data is
written here the way v4's fork() wrote it (the messages, marked with forked_from, and
the fork's totals), with the migrations stopped at 0004.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sessiondb
from sessiondb import Store, Usage

from ..conftest import BACKENDS, drop_schema, postgres_url_or_skip

# What v4's fork() did, given the source and the new (already created) fork session.
_COPY = """
INSERT INTO messages (session_id, seq, id, role, item, text, tool_text, search_text,
                      tool_call_id, has_tool_calls, created_at, model, input_tokens,
                      output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
                      cost_usd, visible_to_model, visible_to_user, metadata, forked_from)
SELECT {fork}, seq, id, role, item, text, tool_text, search_text, tool_call_id,
       has_tool_calls, created_at, model, input_tokens, output_tokens, cache_read_tokens,
       cache_write_tokens, reasoning_tokens, cost_usd, visible_to_model, visible_to_user,
       metadata, coalesce(forked_from, {source})
FROM messages WHERE session_id = {source}"""
_TOTALS = """
UPDATE sessions SET
    message_count = (SELECT count(*) FROM messages WHERE session_id = {fork}),
    last_seq = (SELECT count(*) FROM messages WHERE session_id = {fork}),
    input_tokens = (SELECT coalesce(sum(input_tokens), 0) FROM messages
                    WHERE session_id = {fork}),
    output_tokens = (SELECT coalesce(sum(output_tokens), 0) FROM messages
                     WHERE session_id = {fork}),
    cache_read_tokens = (SELECT coalesce(sum(cache_read_tokens), 0) FROM messages
                         WHERE session_id = {fork}),
    cache_write_tokens = (SELECT coalesce(sum(cache_write_tokens), 0) FROM messages
                          WHERE session_id = {fork}),
    reasoning_tokens = (SELECT coalesce(sum(reasoning_tokens), 0) FROM messages
                        WHERE session_id = {fork}),
    cost_usd = (SELECT coalesce(sum(cost_usd), 0) FROM messages WHERE session_id = {fork})
WHERE id = {fork}"""
# A v4 compaction's effect on an old message (v4 recorded no hidden_at_seq).
_HIDE_FIRST = "UPDATE messages SET visible_to_model = 0 WHERE session_id = {source} AND seq = 1"

Opener = Callable[[], Store]
RawSQL = Callable[[str, dict[str, str]], None]


@pytest.fixture(params=BACKENDS)
def v4_database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Opener, Opener, RawSQL]]:
    """(open at v4, open migrated to the latest, run v4-era SQL) on one fresh database."""
    if request.param == "sqlite":
        import sqlite3

        from sessiondb.backends.sqlite import core

        path = tmp_path / "v4.db"

        def raw(statement: str, params: dict[str, str]) -> None:
            conn = sqlite3.connect(path)
            with conn:
                conn.execute(statement.format(**{k: f":{k}" for k in params}), params)
            conn.close()

        v4 = [m for m in core.MIGRATIONS if m[0] <= 4]
        latest = core.MIGRATIONS

        def open_v4() -> Store:
            monkeypatch.setattr(core, "MIGRATIONS", v4)
            return sessiondb.connect(path)

        def open_latest() -> Store:
            monkeypatch.setattr(core, "MIGRATIONS", latest)
            return sessiondb.connect(path)

        yield open_v4, open_latest, raw
    else:
        import secrets

        import psycopg
        from psycopg import sql

        from sessiondb.backends.postgres import core as pg_core

        url = postgres_url_or_skip()
        schema = f"sessiondb_test_{secrets.token_hex(6)}"

        def raw(statement: str, params: dict[str, str]) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                conn.execute(statement.format(**{k: f"%({k})s" for k in params}), params)

        pg_v4 = [m for m in pg_core.MIGRATIONS if m[0] <= 4]
        pg_latest = pg_core.MIGRATIONS

        def open_v4() -> Store:
            monkeypatch.setattr(pg_core, "MIGRATIONS", pg_v4)
            return sessiondb.connect(url, schema=schema)

        def open_latest() -> Store:
            monkeypatch.setattr(pg_core, "MIGRATIONS", pg_latest)
            return sessiondb.connect(url, schema=schema)

        try:
            yield open_v4, open_latest, raw
        finally:
            drop_schema(url, schema)


def spend(db: Store, sid: str, tokens: int, cost: float) -> Usage:
    usage = Usage(input_tokens=tokens, output_tokens=tokens // 2, cost_usd=cost)
    db.append(
        sid, [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], usage=usage
    )
    return usage


def v4_fork(db: Store, raw: RawSQL, source: str, fork: str) -> None:
    db.create_session(fork, parent_id=source, relation="fork")
    raw(_COPY, {"fork": fork, "source": source})
    raw(_TOTALS, {"fork": fork})


def as_tuple(u: Usage) -> tuple[Any, ...]:
    return (u.input_tokens, u.output_tokens, round(u.cost_usd or 0.0, 9))


def test_forks_made_under_v4_count_once_after_the_upgrade_and_later_deletes(
    v4_database: tuple[Opener, Opener, RawSQL],
) -> None:
    open_v4, open_latest, raw = v4_database
    with open_v4() as db:
        assert db.schema_version() == 4
        db.create_session("root")
        a = spend(db, "root", 100, 1.0) + spend(db, "root", 10, 0.5)
        v4_fork(db, raw, "root", "f")
        b = spend(db, "f", 30, 0.25)
        v4_fork(db, raw, "f", "g")  # a fork of a fork: copies of root's and f's messages
        c = spend(db, "g", 7, 0.125)
        raw(_HIDE_FIRST, {"source": "root"})
    with open_latest() as db:
        assert db.schema_version() >= 5
        expected = {"root": a + b + c, "f": b + c, "g": c}
        for sid, usage in expected.items():
            assert as_tuple(db.tree_usage(sid)) == as_tuple(usage), sid
        db.clear("g")
        db.truncate("f", keep_last=1)
        for sid, usage in expected.items():
            assert as_tuple(db.tree_usage(sid)) == as_tuple(usage), sid
        # Forks made after the upgrade record what they inherit themselves.
        h = db.fork("root").id
        db.clear(h)
        assert as_tuple(db.tree_usage("root")) == as_tuple(a + b + c)
        # What v4 hid records no seq: it stays hidden in any fork, as it did under v4.
        early = db.fork("root", at_seq=2).id
        assert [m.visible_to_model for m in db.messages(early)] == [False, True]
        assert db.check() == []
