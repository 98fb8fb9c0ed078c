"""PostgreSQL's tsvector must hold exactly the tokens textsearch.tokenize gives (and
SQLite's FTS5 indexes), at the same positions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sessiondb
from sessiondb.textsearch import index_document, tokenize

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
        "İ",
        "ß",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=60).filter(lambda t: "\x00" not in t),
    st.lists(WORDS, max_size=8).map(" ".join),
)


def expected_lexemes(text: str) -> dict[str, list[int]]:
    doc = index_document(text, None) or text
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokenize(doc), start=1):
        positions.setdefault(token, []).append(index)
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
