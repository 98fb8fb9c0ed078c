"""The pure rules of sessiondb.history (no database): token estimate, budgets, ordering."""

from __future__ import annotations

import pytest

from sessiondb import InvalidInput
from sessiondb.history import HistoryRow, Window, estimate_tokens, summary_item, summary_metadata


def test_token_estimate_counts_four_ascii_characters_per_token_plus_framing() -> None:
    item = {"role": "user", "content": "x" * 400}
    text_len = len('{"role":"user","content":""}') + 400
    assert estimate_tokens(item) == 4 + (text_len + 3) // 4


def test_token_estimate_counts_each_non_ascii_character_as_a_token() -> None:
    ascii_item = {"role": "user", "content": "abcd" * 10}
    cjk_item = {"role": "user", "content": "数据库表" * 10}
    assert estimate_tokens(cjk_item) - estimate_tokens(ascii_item) == 40 - 10


def test_window_places_a_summary_before_the_tail_it_precedes() -> None:
    window = Window()
    rows = [
        HistoryRow(5, '{"role":"user","content":"new"}'),
        HistoryRow(4, '{"role":"user","content":"summary"}', summary_metadata(2)),
        HistoryRow(3, '{"role":"assistant","content":"kept"}'),
    ]
    window.feed(rows)
    window.finish()
    assert [item["content"] for item in window.items()] == ["summary", "kept", "new"]


def test_window_refuses_negative_budgets() -> None:
    with pytest.raises(InvalidInput):
        Window(max_tokens=-1)
    with pytest.raises(InvalidInput):
        Window.at_least(-2)


def test_summary_item_builds_an_item_and_refuses_a_tool_role_or_result() -> None:
    assert summary_item("s", "system") == {"role": "system", "content": "s"}
    with pytest.raises(InvalidInput):
        summary_item("s", "tool")
    with pytest.raises(InvalidInput):
        summary_item({"role": "tool", "tool_call_id": "c", "content": "x"}, "user")
