"""The shared query language and tokenizer (no database)."""

from __future__ import annotations

import pytest

from sessiondb import InvalidInput
from sessiondb.textsearch import (
    MAX_INDEXED_BYTES,
    MAX_INDEXED_TOKENS,
    MAX_TOKEN_LENGTH,
    Query,
    Term,
    index_document,
    index_token,
    make_snippet,
    parse_query,
    to_fts5,
    to_tsquery,
    tokenize,
)


def test_tokens_are_lowercase_letters_and_digits_without_diacritics() -> None:
    assert tokenize("Snake_Case src/app.py v2.0") == [
        "snake",
        "case",
        "src",
        "app",
        "py",
        "v2",
        "0",
    ]
    assert tokenize("Naïve CAFÉ ﬁle ΆΣΟΣ") == ["naive", "cafe", "file", "ασοσ"]


def test_unspaced_scripts_give_one_token_per_character() -> None:
    assert tokenize("数据库migration完成") == ["数", "据", "库", "migration", "完", "成"]
    assert tokenize("がｶ한국") == ["が", "カ", "한", "국"]


def test_plain_ascii_documents_are_indexed_as_they_are() -> None:
    assert index_document("hello world", "read_file {}") is None
    assert index_document("café", "x_y") == "cafe\nx y"


def test_letters_that_do_not_decompose_are_not_folded_a_documented_limitation() -> None:
    # textsearch's docstring and the README say so: "gro*" does not find "Größe".
    assert tokenize("Größe Łódź Østerbro Æble") == ["große", "łodz", "østerbro", "æble"]
    assert not index_token("große").startswith(index_token("gro"))
    assert index_token("große").startswith(index_token("groß"))


def test_non_ascii_tokens_are_indexed_as_ascii_words() -> None:
    assert index_token("abc") == "abc"
    assert index_token("数") == "zqe695b0"
    assert index_document("数据 ok", None) == "zqe695b0 zqe68dae ok\n"
    # A prefix of a word is a prefix of its indexed form.
    assert index_token("привет").startswith(index_token("прив"))


def test_huge_documents_and_words_are_cut_the_same_way_for_every_backend() -> None:
    long_doc = "word " * (MAX_INDEXED_TOKENS + 10)
    indexed = index_document(long_doc, None)
    assert indexed is not None and len(indexed.split()) == MAX_INDEXED_TOKENS
    giant = "x" * (MAX_TOKEN_LENGTH + 1)
    assert index_document(f"a {giant} b", None) == "a b\n"


def test_documents_are_cut_at_a_budget_of_distinct_token_bytes() -> None:
    # 64-character words, all distinct: the budget holds this many of them.
    words = [f"{i:064d}" for i in range(MAX_INDEXED_BYTES // 64 + 100)]
    fit = MAX_INDEXED_BYTES // 64
    indexed = index_document(" ".join(words), "tool words")
    assert indexed is not None
    text_line, tool_line = indexed.split("\n")
    assert text_line.split() == words[:fit]
    assert tool_line == ""  # the cut ends the document, tool text included
    # Repeated words cost their bytes once.
    assert index_document(" ".join([words[0]] * 5000 + ["end"]), None) is None
    # Below the budget an ASCII document is indexed as it is.
    assert index_document(" ".join(words[: fit // 2]), None) is None


def test_non_ascii_documents_count_the_bytes_of_their_indexed_form() -> None:
    # 4 x 12 bytes of UTF-8 and 5 digits: indexed as "zq" + 106 hex digits.
    words = [f"{'привет' * 4}{i:05d}" for i in range(MAX_INDEXED_BYTES // 108 + 50)]
    assert len(index_token(tokenize(words[0])[0])) == 108
    indexed = index_document(" ".join(words), None)
    assert indexed is not None
    kept = indexed.split()
    assert len(kept) == MAX_INDEXED_BYTES // 108
    assert kept[0] == index_token(tokenize(words[0])[0])
    assert sum(len(t) for t in set(kept)) <= MAX_INDEXED_BYTES


def test_or_binds_tighter_than_and_and_exclusions_are_collected() -> None:
    q = parse_query('migration tenant OR invoices -"old plan" -x*')
    assert q == Query(
        groups=((Term(("migration",)),), (Term(("tenant",)), Term(("invoices",)))),
        excluded=(Term(("old", "plan")), Term(("x",), prefix=True)),
    )


def test_queries_compile_to_quoted_tokens_only() -> None:
    q = parse_query('src/app.py OR "a b" c* -d')
    assert to_fts5(q) == '(("src" + "app" + "py" OR "a" + "b") AND ("c" *)) NOT ("d")'
    # On PostgreSQL every lexeme carries TS_LEXEME_PREFIX (x), the query's as the index's.
    assert to_tsquery(q) == (
        "(('xsrc' <-> 'xapp' <-> 'xpy') | ('xa' <-> 'xb')) & (('xc':*)) & !('xd')"
    )
    assert to_fts5(parse_query("数*")) == '("zqe695b0" *)'
    assert to_tsquery(parse_query("数*")) == "(('xzqe695b0':*))"


@pytest.mark.parametrize(
    ("query", "tokens"),
    [
        ('"unbalanced quote', [("unbalanced", "quote")]),
        ("a OR", [("a",)]),
        ("OR a", [("a",)]),
        ("a AND b", [("a",), ("b",)]),
        ("NEAR(a, b) x:y ^z", [("near", "a"), ("b",), ("x", "y"), ("z",)]),
        ("'; DROP TABLE messages; --", [("drop",), ("table",), ("messages",)]),
        ("a\x00b", [("a", "b")]),
        ("a OR -b", [("a",)]),
    ],
)
def test_odd_input_parses_to_plain_words(query: str, tokens: list[tuple[str, ...]]) -> None:
    q = parse_query(query)
    assert [t.tokens for g in q.groups for t in g] == tokens


@pytest.mark.parametrize("query", ["", "  ", "-a", "-a -b", "OR", "***", "😀😀", '"'])
def test_queries_without_a_word_to_find_are_invalid(query: str) -> None:
    with pytest.raises(InvalidInput):
        parse_query(query)


def test_too_long_words_and_queries_are_invalid() -> None:
    with pytest.raises(InvalidInput, match="too long to"):
        parse_query("x" * (MAX_TOKEN_LENGTH + 1))
    with pytest.raises(InvalidInput, match="too long"):
        parse_query("w " * 500)


def test_snippet_marks_matches_and_merges_parts_of_one_word() -> None:
    q = parse_query("app migr*")
    assert make_snippet("run migrations on src/app.py now", None, q) == (
        "run [migrations] on src/[app].py now"
    )
    assert make_snippet("", "read_file src/app.py", parse_query("src/app.py"), ("<", ">")) == (
        "read_file <src/app.py>"
    )
