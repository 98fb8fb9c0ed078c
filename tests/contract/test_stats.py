"""Insights: stats totals, every grouping and per-tool figures, checked against sums
computed in Python from what the public API returns."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessiondb import InvalidInput, Message, NewMessage, Session, Store, Totals, Usage

# Around an ISO year boundary: 2026-12-31 and 2027-01-01 are in 2026-W53.
DAYS = [
    datetime(2026, 12, 28, 9, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 15, tzinfo=UTC),
    datetime(2027, 1, 4, 8, tzinfo=UTC),
    datetime(2027, 2, 14, 12, tzinfo=UTC),
]


def turn(
    at: datetime, n: int, tools: list[tuple[str, bool, int]], model: str | None
) -> list[NewMessage]:
    """A user message, an assistant message calling ``tools`` (name, fails, ms), results."""
    calls = [
        {"id": f"c{n}-{i}", "type": "function", "function": {"name": name, "arguments": "{}"}}
        for i, (name, _, _) in enumerate(tools)
    ]
    usage = Usage(
        input_tokens=100 + n,
        output_tokens=10 + n,
        cache_read_tokens=n,
        cache_write_tokens=2,
        reasoning_tokens=n % 3,
        cost_usd=0.001 * (n + 1),
    )
    items = [
        NewMessage({"role": "user", "content": f"question {n}"}, created_at=at),
        NewMessage(
            {
                "role": "assistant",
                "content": f"answer {n}",
                **({"tool_calls": calls} if calls else {}),
            },
            created_at=at + timedelta(seconds=1),
            usage=usage,
            model=model,
        ),
    ]
    for i, (_, fails, ms) in enumerate(tools):
        content: Any = f"result {n}"
        item = {"role": "tool", "tool_call_id": f"c{n}-{i}", "content": content}
        if fails:
            item = {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"c{n}-{i}",
                        "content": "boom",
                        "is_error": True,
                    }
                ],
            }
        items.append(NewMessage(item, created_at=at + timedelta(seconds=1, milliseconds=ms)))
    return items


@pytest.fixture
def busy(store: Store) -> Store:
    specs = [
        ("coder", "cli", "u1", "gpt-x", "completed"),
        ("coder", "telegram", "u2", "claude-y", "active"),
        ("writer", "cli", "u1", None, "failed"),
        (None, None, None, "gpt-x", "active"),
    ]
    n = 0
    for k, (agent, source, user_id, model, status) in enumerate(specs):
        s = store.create_session(
            agent=agent, source=source, user_id=user_id, status=status, model=model
        )
        for d, day in enumerate(DAYS):
            if (k + d) % 3 == 2:
                continue
            tools = [("read", False, 10 * (n % 5) + 5), ("bash", n % 4 == 0, 100 + n)][: n % 3]
            store.append(s.id, turn(day + timedelta(hours=k), n, tools, model if n % 2 else None))
            n += 1
    store.create_session(agent="coder")  # no messages: counted nowhere
    return store


def everything(store: Store) -> list[tuple[Session, Message]]:
    rows = []
    for s in store.list_sessions(limit=1000):
        rows.extend((s, m) for m in store.messages(s.id))
    return rows


def expected(
    store: Store,
    key: Any = None,
    since: datetime | None = None,
    until: datetime | None = None,
    **filters: str,
) -> dict[str, Totals]:
    """Totals per key computed in Python from messages and tool calls."""
    calls: dict[tuple[str, int], list[str]] = defaultdict(list)
    for c in store.tool_calls():
        calls[(c.session_id, c.request_seq)].append(c.name)
    acc: dict[str, dict[str, Any]] = {}
    for s, m in everything(store):
        if any(getattr(s, f) != v for f, v in filters.items()):
            continue
        if (since and m.created_at < since) or (until and m.created_at >= until):
            continue
        names = calls.get((s.id, m.seq), [])
        keys = (
            [(name, names.count(name)) for name in sorted(set(names))]
            if key == "tool"
            else [(key(s, m) if key else "", len(names))]
        )
        for k, ncalls in keys:
            a = acc.setdefault(k, defaultdict(int, sessions=set()))
            a["sessions"].add(s.id)
            a["messages"] += 1
            a["tool_calls"] += ncalls
            u = m.usage or Usage()
            for f in (
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "reasoning_tokens",
            ):
                a[f] += getattr(u, f) or 0
            a["cost_usd"] += u.cost_usd or 0.0
    return {
        k: Totals(
            len(a["sessions"]),
            a["messages"],
            a["tool_calls"],
            a["input_tokens"],
            a["output_tokens"],
            a["cache_read_tokens"],
            a["cache_write_tokens"],
            a["reasoning_tokens"],
            a["cost_usd"],
        )
        for k, a in acc.items()
    }


def same(actual: Totals, wanted: Totals) -> None:
    assert actual.cost_usd == pytest.approx(wanted.cost_usd)
    assert actual.__class__(**{**vars_of(actual), "cost_usd": 0}) == wanted.__class__(
        **{**vars_of(wanted), "cost_usd": 0}
    )


def vars_of(t: Totals) -> dict[str, Any]:
    return {f: getattr(t, f) for f in t.__slots__}  # type: ignore[attr-defined]


KEYS = {
    "day": lambda s, m: m.created_at.strftime("%Y-%m-%d"),
    "week": lambda s, m: "{}-W{:02d}".format(*m.created_at.isocalendar()[:2]),
    "month": lambda s, m: m.created_at.strftime("%Y-%m"),
    "model": lambda s, m: m.model or s.model or "",
    "agent": lambda s, m: s.agent or "",
    "source": lambda s, m: s.source or "",
    "status": lambda s, m: s.status,
    "tool": "tool",
}


def test_totals_match_python_sums(busy: Store) -> None:
    stats = busy.stats()
    same(stats.totals, expected(busy)[""])
    assert stats.groups == []


@pytest.mark.parametrize("group_by", list(KEYS))
def test_every_grouping_matches_python_sums(busy: Store, group_by: str) -> None:
    stats = busy.stats(group_by=group_by)  # type: ignore[arg-type]
    wanted = expected(busy, KEYS[group_by])
    assert [k for k, _ in stats.groups] == sorted(wanted)
    for key, totals in stats.groups:
        same(totals, wanted[key])


def test_iso_weeks_are_named_like_2026_w53(busy: Store) -> None:
    keys = [k for k, _ in busy.stats(group_by="week").groups]
    assert keys == ["2026-W53", "2027-W01", "2027-W06"]


def test_filters_and_time_window_use_message_times(busy: Store) -> None:
    since, until = DAYS[1], DAYS[4]
    stats = busy.stats(since=since, until=until, group_by="day", agent="coder", source="cli")
    wanted = expected(busy, KEYS["day"], since, until, agent="coder", source="cli")
    same(stats.totals, expected(busy, None, since, until, agent="coder", source="cli")[""])
    assert dict(stats.groups).keys() == wanted.keys()
    for key, totals in stats.groups:
        same(totals, wanted[key])
    same(busy.stats(user_id="u1").totals, expected(busy, user_id="u1")[""])


def test_tools_have_calls_errors_rate_and_median_duration(busy: Store) -> None:
    by_name: dict[str, list[Any]] = defaultdict(list)
    for c in busy.tool_calls():
        by_name[c.name].append(c)
    tools = {t.name: t for t in busy.stats().tools}
    assert set(tools) == set(by_name)
    for name, calls in by_name.items():
        done = [c for c in calls if c.status != "pending"]
        errors = sum(c.status == "error" for c in calls)
        assert tools[name].calls == len(calls)
        assert tools[name].errors == errors
        assert tools[name].error_rate == pytest.approx(errors / len(done))
        durations = [c.duration_ms for c in done if c.duration_ms is not None]
        assert tools[name].median_duration_ms == pytest.approx(statistics.median(durations))
    assert tools["bash"].errors > 0


def test_a_window_with_no_messages_gives_zero_totals(busy: Store) -> None:
    stats = busy.stats(since=datetime(2030, 1, 1, tzinfo=UTC), group_by="agent")
    assert stats == type(stats)(Totals(), [], [])


def test_an_unknown_grouping_is_invalid_input(busy: Store) -> None:
    with pytest.raises(InvalidInput, match="group_by"):
        busy.stats(group_by="hour")  # type: ignore[arg-type]


def test_messages_copied_by_fork_are_not_counted_again(busy: Store) -> None:
    fork = getattr(busy, "fork", None)
    if fork is None:
        pytest.skip("fork is not on this branch yet")
    before = busy.stats(group_by="tool")
    for s in busy.list_sessions(limit=100):
        if s.message_count:
            fork(s.id)
    after = busy.stats(group_by="tool")
    same(after.totals, before.totals)
    assert [k for k, _ in after.groups] == [k for k, _ in before.groups]
    for (_, a), (_, b) in zip(after.groups, before.groups, strict=True):
        same(a, b)
    assert after.tools == before.tools
