"""``Store.items``: the item dicts of ``messages``, on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from sessiondb import InvalidInput, NotFound, Store


def fill(store: Store, n: int = 7) -> list[dict[str, Any]]:
    store.create_session("s")
    items = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}", "n": [i, {"x": None}]}
        for i in range(n)
    ]
    store.append("s", items[:3])
    store.append("s", items[3:])
    return items


@pytest.mark.parametrize(
    "window",
    [
        {},
        {"last": 3},
        {"last": 100},
        {"limit": 2},
        {"after_seq": 2},
        {"before_seq": 5},
        {"after_seq": 1, "before_seq": 6, "last": 2},
        {"after_seq": 1, "limit": 3},
    ],
)
def test_items_are_the_items_of_messages_for_the_same_window(
    store: Store, window: dict[str, int]
) -> None:
    fill(store)
    assert store.items("s", **window) == [m.item for m in store.messages("s", **window)]


def test_items_come_back_equal_to_what_was_appended(store: Store) -> None:
    items = fill(store)
    assert store.items("s") == items
    assert store.items("s", last=2) == items[-2:]


def test_items_of_an_empty_or_missing_session(store: Store) -> None:
    store.create_session("empty")
    assert store.items("empty") == []
    assert store.items("empty", last=0) == []
    with pytest.raises(NotFound):
        store.items("missing")
    with pytest.raises(NotFound):
        store.items("missing", last=0)


def test_items_refuse_last_and_limit_together(store: Store) -> None:
    fill(store)
    with pytest.raises(InvalidInput):
        store.items("s", last=1, limit=1)
    with pytest.raises(InvalidInput):
        store.items("s", last=-1)
