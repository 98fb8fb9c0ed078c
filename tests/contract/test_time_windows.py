"""messages/items bounded by created_at (since/until) and ordered by time, in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiondb import InvalidInput, NewMessage, NotFound, Store

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fill(store: Store, offsets: list[float], sid: str = "s") -> None:
    """One message per offset (seconds after T0), appended in list order."""
    store.create_session(sid)
    store.append(
        sid,
        [
            NewMessage({"role": "user", "content": f"m{i}"}, created_at=at(offset))
            for i, offset in enumerate(offsets)
        ],
    )


def seqs(found: list[Any]) -> list[int]:
    return [m.seq for m in found]


# Ten late messages, then six early ones (clock skew, parallel writers, imports).
SKEWED = [100.0 + i for i in range(10)] + [10.0 + i for i in range(6)]


def test_since_and_until_bound_created_at_in_seq_order(store: Store) -> None:
    fill(store, SKEWED)
    assert seqs(store.messages("s", since=at(50))) == list(range(1, 11))
    assert seqs(store.messages("s", until=at(50))) == list(range(11, 17))
    assert seqs(store.messages("s", since=at(12), until=at(102))) == [1, 2, 13, 14, 15, 16]
    # since is inclusive, until exclusive, at microsecond precision.
    assert seqs(store.messages("s", since=at(103))) == list(range(4, 11))
    assert seqs(store.messages("s", since=at(103.000001))) == list(range(5, 11))
    assert seqs(store.messages("s", until=at(10.000001))) == [11]
    assert seqs(store.messages("s", until=at(10))) == []
    # With the seq windows: last/limit count in seq order, after/before_seq still apply.
    assert seqs(store.messages("s", since=at(50), last=3)) == [8, 9, 10]
    assert seqs(store.messages("s", until=at(50), limit=2)) == [11, 12]
    window = {"since": at(12), "after_seq": 1, "before_seq": 15}
    assert seqs(store.messages("s", **window, last=3)) == [10, 13, 14]
    assert seqs(store.messages("s", **window, limit=2)) == [2, 3]
    assert store.messages("s", since=at(500)) == []
    assert store.messages("s", since=at(200), until=at(100)) == []


def test_time_order_sorts_by_created_at_and_windows_by_time(store: Store) -> None:
    fill(store, SKEWED)
    by_time = list(range(11, 17)) + list(range(1, 11))
    assert seqs(store.messages("s", order="time")) == by_time
    assert seqs(store.messages("s", order="time", last=4)) == [7, 8, 9, 10]
    assert seqs(store.messages("s", order="time", limit=3)) == [11, 12, 13]
    # What a framework windowing by timestamps asks: the newest K at or after a time.
    assert seqs(store.messages("s", order="time", since=at(12), last=3)) == [8, 9, 10]
    assert seqs(store.messages("s", order="time", since=at(12), until=at(101), last=3)) == [
        15,
        16,
        1,
    ]
    assert seqs(store.messages("s", order="seq")) == list(range(1, 17))


def test_time_order_keeps_append_order_among_equal_times(store: Store) -> None:
    fill(store, [5.0, 1.0, 5.0, 1.0, 5.0])
    assert seqs(store.messages("s", order="time")) == [2, 4, 1, 3, 5]
    assert seqs(store.messages("s", order="time", last=2)) == [3, 5]
    assert seqs(store.messages("s", order="time", limit=3)) == [2, 4, 1]


def test_naive_and_other_zone_datetimes_are_taken_as_utc_times(store: Store) -> None:
    fill(store, SKEWED)
    naive = at(50).replace(tzinfo=None)
    paris = at(50).astimezone(timezone(timedelta(hours=1)))
    expected = seqs(store.messages("s", since=at(50)))
    assert seqs(store.messages("s", since=naive)) == expected
    assert seqs(store.messages("s", since=paris)) == expected


@pytest.mark.parametrize(
    "window",
    [
        {"since": at(50)},
        {"until": at(50), "last": 2},
        {"since": at(12), "until": at(105), "limit": 3},
        {"order": "time"},
        {"order": "time", "last": 5},
        {"order": "time", "since": at(12), "limit": 4},
        {"order": "time", "after_seq": 3, "before_seq": 14, "last": 4},
        {"since": at(0), "last": 0},
    ],
)
def test_items_are_the_items_of_messages_for_the_same_time_window(
    store: Store, window: dict[str, Any]
) -> None:
    fill(store, SKEWED)
    assert store.items("s", **window) == [m.item for m in store.messages("s", **window)]


@pytest.mark.parametrize(
    "window",
    [
        {"order": "newest"},
        {"since": "yesterday"},
        {"until": 1_700_000_000},
        {"order": "time", "last": 1, "limit": 1},
    ],
)
def test_bad_time_windows_raise_invalid_input(store: Store, window: dict[str, Any]) -> None:
    fill(store, SKEWED)
    with pytest.raises(InvalidInput):
        store.messages("s", **window)
    with pytest.raises(InvalidInput):
        store.items("s", **window)


def test_time_windows_of_a_missing_session_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.messages("nope", since=at(0))
    with pytest.raises(NotFound):
        store.items("nope", order="time", last=3)
    store.create_session("empty")
    assert store.messages("empty", since=at(0), order="time") == []
    assert store.items("empty", until=at(0)) == []


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
offsets = st.lists(st.integers(0, 20).map(float), min_size=0, max_size=25)
bound = st.none() | st.integers(-1, 21).map(lambda s: at(float(s)))
count = st.none() | st.integers(0, 30)


@SETTINGS
@given(
    times=offsets,
    since=bound,
    until=bound,
    order=st.sampled_from(["seq", "time"]),
    newest=st.booleans(),
    n=count,
)
def test_any_time_window_equals_filtering_and_sorting_in_python(
    store: Store,
    times: list[float],
    since: datetime | None,
    until: datetime | None,
    order: str,
    newest: bool,
    n: int | None,
) -> None:
    sid = store.create_session().id
    if times:
        store.append(
            sid,
            [NewMessage({"role": "user", "content": str(t)}, created_at=at(t)) for t in times],
        )
    # The oracle: (seq, time) pairs filtered, sorted, then cut, all in Python.
    rows = [(seq, at(t)) for seq, t in enumerate(times, start=1)]
    rows = [r for r in rows if (since is None or r[1] >= since) and (until is None or r[1] < until)]
    rows.sort(key=(lambda r: (r[1], r[0])) if order == "time" else (lambda r: r[0]))
    if n is not None:
        rows = rows[max(0, len(rows) - n) :] if newest else rows[:n]
    window: dict[str, Any] = {"since": since, "until": until, "order": order}
    window["last" if newest else "limit"] = n
    got = store.messages(sid, **window)
    assert [(m.seq, m.created_at) for m in got] == rows
    assert store.items(sid, **window) == [m.item for m in got]
