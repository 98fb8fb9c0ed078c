"""SQLite and PostgreSQL find exactly the same messages for the same queries."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import sessiondb
from sessiondb import InvalidInput, Store

pytestmark = pytest.mark.postgres

VOCABULARY = [
    "migration",
    "tenant",
    "invoices",
    "src/app.py",
    "snake_case_name",
    "数据库",
    "迁移",
    "Café",
    "naïve",
    "ΆΣΟΣ",
    "привет",
    "한국어",
    "ｶﾀｶﾅ",
    "foo-bar",
    "3.14",
    "a@b.com",
    "<b>bold</b>",
    "x1",
    "run_tests",
    "😀",
    "deja",
    "déjà",
    "straße",
    "İstanbul",
]
OPERATORS = ["", "", "", "-", '"', "*", " OR ", "(", ":"]


def corpus_texts(rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(VOCABULARY, k=rng.randint(1, 8))) for _ in range(80)]


def random_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 4)):
        word = rng.choice(VOCABULARY)
        if rng.random() < 0.3:
            word = word[: max(1, len(word) // 2)]
        op = rng.choice(OPERATORS)
        parts.append(op + word if op in "-(" else word + op if op == "*" else word)
        if op == '"':
            parts[-1] = '"' + word + " " + rng.choice(VOCABULARY) + '"'
        if op == " OR ":
            parts.append("OR")
    return " ".join(parts)


def hits(store: Store, query: str) -> set[tuple[str | None, int]] | str:
    try:
        found = set()
        cursor = None
        while True:
            page = store.search(query, limit=100, cursor=cursor, include_hidden=True)
            found.update((h.title, h.seq) for h in page)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor
    except InvalidInput as exc:
        return f"InvalidInput: {exc}"


def test_both_backends_answer_every_query_alike(tmp_path: Path, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    rng = random.Random(20261122)
    texts = corpus_texts(rng)
    with sessiondb.connect(tmp_path / "p.db") as lite, sessiondb.connect(url, schema=schema) as pg:
        for store in (lite, pg):
            for k in range(4):
                s = store.create_session(id=f"s{k}", title=f"s{k}")
                calls = [
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": f"c{k}",
                                "type": "function",
                                "function": {
                                    "name": "read_file",
                                    "arguments": '{"path": "src/app.py"}',
                                },
                            }
                        ],
                    }
                ]
                store.append(s.id, [{"role": "user", "content": t} for t in texts[k::4]] + calls)
        queries = [random_query(rng) for _ in range(300)] + VOCABULARY
        differ = [(q, hits(lite, q), hits(pg, q)) for q in queries]
        differ = [d for d in differ if d[1] != d[2]]
        assert differ == []
        assert any(isinstance(hits(lite, q), set) and hits(lite, q) for q in queries)
