"""SQLite's unicode61 tokenizer must see exactly the tokens textsearch indexes."""

from __future__ import annotations

import sqlite3

from sessiondb.textsearch import index_document, index_token, tokenize


def test_fts5_indexes_the_tokens_of_every_character_as_textsearch_cuts_them() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(doc, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')")
    texts = [
        f"a{chr(cp)}B x{chr(cp)}"
        for cp in range(0x20, 0x30000)
        if not 0xD800 <= cp < 0xE000 and cp != 0
    ]
    # What the store indexes: the search document when there is one, else the text.
    conn.executemany(
        "INSERT INTO f (rowid, doc) VALUES (?, ?)",
        ((i, index_document(t, None) or t) for i, t in enumerate(texts)),
    )
    seen: dict[int, list[str]] = {}
    for row, _, term in conn.execute("SELECT doc, offset, term FROM v ORDER BY doc, offset"):
        seen.setdefault(row, []).append(term)
    wrong = [
        (text, seen.get(i, []))
        for i, text in enumerate(texts)
        if seen.get(i, []) != [index_token(t) for t in tokenize(text)]
    ]
    assert wrong[:5] == []
