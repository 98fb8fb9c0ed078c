"""SQLite's unicode61 tokenizer must see the same tokens as textsearch.tokenize."""

from __future__ import annotations

import sqlite3
import unicodedata

from sessiondb.textsearch import tokenize

# Letters unicode61 (Unicode 6.1 tables) does not know as letters: New Tai Lue vowel
# signs and two Vedic signs, which became letters in later Unicode versions.
KNOWN = {*range(0x19B0, 0x19C1), 0x19C8, 0x19C9, 0x1CF2, 0x1CF3}


def test_unicode61_splits_our_tokens_back_into_the_same_tokens() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(doc, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')")
    docs = []
    for cp in range(0x80, 0x30000):
        if 0xD800 <= cp < 0xE000 or cp in KNOWN:
            continue
        docs.append(tokenize("a" + chr(cp) + "b"))
    conn.executemany(
        "INSERT INTO f (rowid, doc) VALUES (?, ?)", ((i, " ".join(d)) for i, d in enumerate(docs))
    )
    seen: dict[int, list[str]] = {}
    for row, _, term in conn.execute("SELECT doc, offset, term FROM v ORDER BY doc, offset"):
        seen.setdefault(row, []).append(term)
    wrong = [
        (hex(ord(d[0][1])) if d and len(d[0]) > 1 else d, seen.get(i, []))
        for i, d in enumerate(docs)
        if seen.get(i, []) != d
    ]
    assert wrong == []
    assert unicodedata.unidata_version  # the tables compared are Python's own
