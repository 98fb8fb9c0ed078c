"""Huge documents: every backend stores them whole and indexes the same bounded start.

PostgreSQL's tsvector holds under 1 MiB of words and positions, so every document is
indexed up to its first 16,383 words and 900,000 bytes of distinct words, on every
backend (documented on ``Store.search``).
"""

from __future__ import annotations

import hashlib

from sessiondb import Store

MAX_INDEXED_BYTES = 900_000


def sha512_lines(n: int) -> list[str]:
    return [hashlib.sha512(str(i).encode()).hexdigest() for i in range(n)]


def found(store: Store, query: str) -> list[tuple[str, int]]:
    return [(h.session_id, h.seq) for h in store.search(query, limit=50)]


def tool_exchange(store: Store, output: str) -> str:
    s = store.create_session()
    call = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "hash", "arguments": "{}"}}
        ],
    }
    store.append(s.id, [call, {"role": "tool", "tool_call_id": "c1", "content": output}])
    return s.id


def test_a_megabyte_tool_result_of_unique_hashes_is_stored_whole_and_found_by_its_start(
    store: Store,
) -> None:
    lines = sha512_lines(9000)  # 1.16 MB, every line a distinct 128-character word
    output = "\n".join(lines)
    sid = tool_exchange(store, output)
    assert store.messages(sid)[1].item["content"] == output
    indexed = MAX_INDEXED_BYTES // 128  # 7,031 lines fit the budget of distinct bytes
    for k in (0, 1, indexed // 2, indexed - 1):
        assert found(store, lines[k]) == [(sid, 2)], k
    for k in (indexed, indexed + 1, len(lines) - 1):
        assert found(store, lines[k]) == [], k
    assert found(store, lines[0][:10] + "*") == [(sid, 2)]


def test_the_most_distinct_words_a_document_may_index_fit_every_backend(store: Store) -> None:
    # As many distinct words as positions allow, with as many bytes as the budget allows:
    # the largest tsvector the cut can produce (words, then positions) still fits.
    width = MAX_INDEXED_BYTES // 16_383
    words = [f"w{i:0{width - 1}d}" for i in range(16_383)]
    assert sum(map(len, words)) <= MAX_INDEXED_BYTES
    sid = tool_exchange(store, " ".join(words))
    for k in (0, 8_000, 16_382):
        assert found(store, words[k]) == [(sid, 2)], k


def test_a_huge_non_ascii_document_is_cut_by_the_bytes_of_its_indexed_form(store: Store) -> None:
    # Each word is 4 x 12 bytes of UTF-8 plus 5 digits, indexed as "zq" + 106 hex digits.
    words = [f"{'привет' * 4}{i:05d}" for i in range(9_000)]
    s = store.create_session()
    store.append(s.id, {"role": "user", "content": " ".join(words)})
    indexed = MAX_INDEXED_BYTES // 108
    assert found(store, words[0]) == [(s.id, 1)]
    assert found(store, words[indexed - 1]) == [(s.id, 1)]
    assert found(store, words[indexed]) == []
