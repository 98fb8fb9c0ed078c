"""Search paging: small pages, taken one after another, give exactly the unpaged result.

Ties are what make paging hard (equal ranks are ordered by time, then session and seq,
which the full-text indexes do not know), and hidden messages are what make a backend's
shortcuts fall short, so the corpora below are full of both.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sessiondb import NewMessage, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)

Hit = tuple[str, int]


def unpaged(store: Store, query: str, **kw: object) -> list[Hit]:
    page = store.search(query, limit=10_000, **kw)  # type: ignore[arg-type]
    assert page.next_cursor is None
    return [(h.session_id, h.seq) for h in page]


def paged(store: Store, query: str, limit: int, **kw: object) -> list[Hit]:
    found: list[Hit] = []
    cursor = None
    for _ in range(10_000):
        page = store.search(query, limit=limit, cursor=cursor, **kw)  # type: ignore[arg-type]
        assert len(page) <= limit
        found.extend((h.session_id, h.seq) for h in page)
        if page.next_cursor is None:
            return found
        assert len(page) == limit  # a page that is not the last one is full
        cursor = page.next_cursor
    raise AssertionError("paging never ended")


def assert_pages_cover_every_hit_once(store: Store, query: str, **kw: object) -> None:
    whole = unpaged(store, query, **kw)
    for limit in (1, 2, 3):
        pages = paged(store, query, limit, **kw)
        assert len(set(pages)) == len(pages), f"duplicates with limit={limit}"
        assert pages == whole, f"limit={limit}"


@pytest.mark.parametrize("include_hidden", [False, True])
def test_pages_of_tied_hits_cover_every_hit_once(store: Store, include_hidden: bool) -> None:
    s = store.create_session()
    # Identical texts (one rank), older ones appended later, so neither seq nor insertion
    # order gives the tie-break (created_at does).
    store.append(
        s.id,
        [
            NewMessage({"role": "user", "content": "same text"}, created_at=T0 - timedelta(i))
            for i in range(10)
        ],
    )
    assert_pages_cover_every_hit_once(store, "same", include_hidden=include_hidden)


@pytest.mark.parametrize("include_hidden", [False, True])
def test_pages_of_ties_in_rank_and_time_cover_every_hit_once(
    store: Store, include_hidden: bool
) -> None:
    # Same rank and same time: session id, then seq, decide, across sessions.
    for k in range(3):
        s = store.create_session(id=f"s{k}")
        store.append(
            s.id,
            [NewMessage({"role": "user", "content": "tie"}, created_at=T0) for _ in range(4)],
        )
        store.append(
            s.id,
            NewMessage({"role": "user", "content": "tie"}, created_at=T0, visible_to_user=False),
        )
    whole = unpaged(store, "tie", include_hidden=include_hidden)
    assert len(whole) == (15 if include_hidden else 12)
    assert_pages_cover_every_hit_once(store, "tie", include_hidden=include_hidden)


@pytest.mark.parametrize("include_hidden", [False, True])
def test_pages_cover_every_hit_once_when_hidden_hits_rank_first(
    store: Store, include_hidden: bool
) -> None:
    s = store.create_session()
    # The best-ranked hits are hidden from the user: a page of visible ones lies beyond
    # whatever a backend looks at first.
    hidden = [
        NewMessage(
            {"role": "user", "content": "needle needle needle"},
            created_at=T0 + timedelta(minutes=i),
            visible_to_user=False,
        )
        for i in range(12)
    ]
    shown = [
        NewMessage(
            {"role": "user", "content": f"needle in a long haystack of words {i}"},
            created_at=T0 - timedelta(minutes=i % 3),
        )
        for i in range(7)
    ]
    store.append(s.id, hidden + shown)
    assert len(unpaged(store, "needle", include_hidden=include_hidden)) == (
        19 if include_hidden else 7
    )
    assert_pages_cover_every_hit_once(store, "needle", include_hidden=include_hidden)


WORDS = ["alpha", "beta", "gamma", "delta", "omega"]


def random_corpus(store: Store, rng: random.Random) -> None:
    """Sessions of short texts over few words (many equal ranks), few distinct times
    (many equal times) and random visibility."""
    for k in range(3):
        s = store.create_session(id=f"r{k}")
        store.append(
            s.id,
            [
                NewMessage(
                    {"role": rng.choice(["user", "assistant"]), "content": text},
                    created_at=T0 + timedelta(minutes=rng.randint(0, 4)),
                    visible_to_user=rng.random() > 0.3,
                    visible_to_model=rng.random() > 0.3,
                )
                for text in (" ".join(rng.choices(WORDS, k=rng.randint(1, 3))) for _ in range(25))
            ],
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pages_of_random_corpora_cover_every_hit_once(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    random_corpus(store, rng)
    queries = ["alpha", "beta OR gamma", "alpha -delta", "omega alpha", "del*"]
    for query in queries:
        for include_hidden in (False, True):
            assert_pages_cover_every_hit_once(store, query, include_hidden=include_hidden)
    # The filtered statements page the same way.
    assert_pages_cover_every_hit_once(store, "alpha OR beta", session_id="r1")
    assert_pages_cover_every_hit_once(store, "gamma", role="user", include_hidden=True)
