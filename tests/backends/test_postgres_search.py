"""PostgreSQL's tsvector must hold exactly the tokens textsearch.tokenize gives (and
SQLite's FTS5 indexes), at the same positions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sessiondb
from sessiondb.textsearch import TS_LEXEME_PREFIX, index_document, tokenize

pytestmark = pytest.mark.postgres

WORDS = st.sampled_from(
    [
        "src/app.py",
        "snake_case",
        "foo-bar",
        "3.14",
        "a@b.com",
        "<b>tag</b>",
        "Café",
        "数据库",
        "ｶﾞ",
        "한국어",
        "naïve",
        "ΆΣΟΣ",
        "x" * 30,
        "http://h.io/p?q=1",
        "&amp;",
        "1e5",
        "7e71fa2",
        "5e3e5",
        "0x1f",
        "1E10x",
        "İ",
        "ß",
    ]
)
# Words of digits and a few letters: floats (1e5), hex hashes (7e71fa2), 0x1f, 12ab...
ALNUM_WORDS = st.from_regex(r"[0-9aefx]{1,10}", fullmatch=True)
TEXTS = st.one_of(
    st.text(max_size=60).filter(lambda t: "\x00" not in t),
    st.lists(WORDS, max_size=8).map(" ".join),
    st.lists(ALNUM_WORDS, max_size=8).map(" ".join),
    st.lists(st.one_of(ALNUM_WORDS, st.just("é")), max_size=8).map(" ".join),
)


def expected_lexemes(text: str) -> dict[str, list[int]]:
    doc = index_document(text, None) or text
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokenize(doc), start=1):
        positions.setdefault(TS_LEXEME_PREFIX + token, []).append(index)
    return positions


def test_the_tsvector_holds_our_tokens_at_our_positions(pg_schema: tuple[str, str]) -> None:
    import psycopg

    url, schema = pg_schema
    with sessiondb.connect(url, schema=schema) as db, psycopg.connect(url) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        session = db.create_session()

        @settings(
            max_examples=300,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(TEXTS)
        def check(text: str) -> None:
            (message,) = db.append(session.id, {"role": "user", "content": text})
            rows: list[Any] = conn.execute(
                "SELECT lexeme, positions FROM messages, unnest(search_vector) "
                "WHERE session_id = %s AND seq = %s",
                (session.id, message.seq),
            ).fetchall()
            assert {lexeme: list(pos) for lexeme, pos in rows} == expected_lexemes(message.text)

        check()


def test_migration_7_reindexes_messages_stored_before_it(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from sessiondb.backends.postgres import PostgresStore, core

    url, schema = pg_schema
    texts = ["deployed commit 7e71fa2 to prod", "plain 7e71 and fa2 apart", "7e71fa2 café"]
    with monkeypatch.context() as patch:
        patch.setattr(core, "MIGRATIONS", core.MIGRATIONS[:6])
        patch.setattr(core, "SCHEMA_VERSION", 6)
        with PostgresStore(url, schema=schema) as old:
            old.create_session("s")
            old.append("s", [{"role": "user", "content": t} for t in texts])
    with sessiondb.connect(url, schema=schema) as db, psycopg.connect(url) as conn:
        assert db.schema_version() == core.SCHEMA_VERSION
        assert sorted(h.seq for h in db.search("7e71fa2")) == [1, 3]
        assert sorted(h.seq for h in db.search("fa2")) == [2]
        conn.execute(f'SET search_path TO "{schema}"')
        for seq, text in enumerate(texts, start=1):
            rows: list[Any] = conn.execute(
                "SELECT lexeme, positions FROM messages, unnest(search_vector) "
                "WHERE session_id = 's' AND seq = %s",
                (seq,),
            ).fetchall()
            assert {lexeme: list(pos) for lexeme, pos in rows} == expected_lexemes(text)
