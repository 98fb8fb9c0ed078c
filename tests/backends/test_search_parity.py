"""SQLite and PostgreSQL find exactly the same messages for the same queries."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sessiondb
from sessiondb import InvalidInput, NewMessage, Store

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


def hits(
    store: Store, query: str, include_hidden: bool = True
) -> list[tuple[str | None, int]] | str:
    """Every hit, in order, paged with a small limit (ties and hidden messages included)."""
    try:
        found: list[tuple[str | None, int]] = []
        cursor = None
        while True:
            page = store.search(query, limit=3, cursor=cursor, include_hidden=include_hidden)
            found.extend((h.title, h.seq) for h in page)
            if page.next_cursor is None:
                assert len(set(found)) == len(found), query
                return sorted(found, key=lambda hit: (hit[0] or "", hit[1]))
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
                # Copies of the same texts (equal ranks, so paging goes through ties),
                # some hidden from the user.
                store.append(
                    s.id,
                    [
                        NewMessage({"role": "user", "content": t}, visible_to_user=i % 2 == 0)
                        for i, t in enumerate(texts[:10])
                    ],
                )
        queries = [random_query(rng) for _ in range(300)] + VOCABULARY
        differ = [
            (q, inc, hits(lite, q, inc), hits(pg, q, inc)) for q in queries for inc in (True, False)
        ]
        differ = [d for d in differ if d[2] != d[3]]
        assert differ == []
        assert any(isinstance(hits(lite, q), list) and hits(lite, q) for q in queries)


def test_both_backends_cut_huge_documents_alike(tmp_path: Path, pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    rng = random.Random(5)
    hashes = [hashlib.sha512(str(i).encode()).hexdigest() for i in range(9_000)]
    cyrillic = [f"{'привет' * 4}{i:05d}" for i in range(9_000)]
    ascii_words = [f"w{i:053d}" for i in range(16_400)]
    documents = ["\n".join(hashes), " ".join(cyrillic), " ".join(ascii_words)]
    queries = [
        *rng.sample(hashes, 40),
        *rng.sample(cyrillic, 40),
        *rng.sample(ascii_words, 40),
        hashes[0][:6] + "*",
        "привет*",
    ]
    with sessiondb.connect(tmp_path / "p.db") as lite, sessiondb.connect(url, schema=schema) as pg:
        for store in (lite, pg):
            s = store.create_session(id="huge", title="huge")
            store.append(s.id, [{"role": "user", "content": d} for d in documents])
        answers = [(q, hits(lite, q), hits(pg, q)) for q in queries]
        assert [a for a in answers if a[1] != a[2]] == []
        # Both the indexed start and the cut-off end are among the queries.
        assert any(a[1] == [] for a in answers)
        assert any(a[1] != [] for a in answers)


# Words of digits and the letters PostgreSQL's parser gives meaning to among them (e as in
# 1e5, x as in 0x1f) plus a few others, and words that start like a float (hex hashes
# like 7e71fa2).
ALNUM_WORD = st.one_of(
    st.from_regex(r"[0-9aefx]{1,8}", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}e[0-9]{1,3}[0-9a-fx]{0,4}", fullmatch=True),
)


@st.composite
def alnum_query(draw: st.DrawFn, words: list[str]) -> str:
    """A word of the corpus (or a part or prefix of one), a random word, or a phrase."""
    word = draw(st.one_of(st.sampled_from(words), ALNUM_WORD))
    kind = draw(st.sampled_from(["word", "part", "prefix", "phrase"]))
    number = re.match(r"([0-9]+e[0-9]+)(.+)", word)
    if number and draw(st.booleans()):
        # Where PostgreSQL's parser would cut the word: after what reads as a float.
        return number.group(draw(st.sampled_from([1, 2])))
    if kind == "part":
        start = draw(st.integers(0, len(word) - 1))
        return word[start : draw(st.integers(start + 1, len(word)))]
    if kind == "prefix":
        return word[: draw(st.integers(1, len(word)))] + "*"
    if kind == "phrase":
        return f'"{word} {draw(st.one_of(st.sampled_from(words), ALNUM_WORD))}"'
    return word


def test_both_backends_find_the_same_words_of_digits_and_letters(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    url, schema = pg_schema
    with sessiondb.connect(tmp_path / "p.db") as lite, sessiondb.connect(url, schema=schema) as pg:
        examples = iter(range(10**6))

        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            st.lists(st.lists(ALNUM_WORD, min_size=1, max_size=6), min_size=1, max_size=4),
            st.booleans(),
            st.data(),
        )
        def check(documents: list[list[str]], non_ascii: bool, data: st.DataObject) -> None:
            # A non-ASCII word sends the document through search_text's token stream.
            texts = [" ".join(words) + (" é" if non_ascii else "") for words in documents]
            session_id = f"w{next(examples)}"  # each example searches its own documents
            for store in (lite, pg):
                store.create_session(id=session_id)
                store.append(session_id, [{"role": "user", "content": t} for t in texts])
            words = [w for doc in documents for w in doc]
            for _ in range(5):
                query = data.draw(alnum_query(words))
                found = [
                    sorted(h.seq for h in store.search(query, session_id=session_id, limit=10))
                    for store in (lite, pg)
                ]
                assert found[0] == found[1], query

        check()
