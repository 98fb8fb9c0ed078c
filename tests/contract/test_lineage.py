"""Lineage: children, ancestors, trees and what a whole tree cost, on every backend."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessiondb import NotFound, Session, Store, Usage

T0 = datetime(2026, 5, 1, tzinfo=UTC)


@dataclass
class Family:
    ids: dict[str, str]
    spent: dict[str, Usage] = field(default_factory=dict)  # new spend appended per session


def spend(store: Store, family: Family, name: str, tokens: int, cost: float) -> None:
    usage = Usage(input_tokens=tokens, output_tokens=tokens // 2, reasoning_tokens=1, cost_usd=cost)
    store.append(
        family.ids[name],
        [{"role": "user", "content": f"task {name}"}, {"role": "assistant", "content": "done"}],
        usage=usage,
    )
    family.spent[name] = family.spent.get(name, Usage()) + usage


def build(store: Store, with_forks: bool) -> Family:
    """root -> (sub1 -> (sub1a, fork1b?), cont2, fork3?) : three levels below the root."""
    family = Family(ids={})

    def make(name: str, parent: str | None, relation: str | None, minutes: int) -> None:
        s = store.create_session(
            title=name,
            parent_id=None if parent is None else family.ids[parent],
            relation=relation,
            created_at=T0 + timedelta(minutes=minutes),
            status="completed" if name.startswith("sub") else "active",
        )
        family.ids[name] = s.id

    make("root", None, None, 0)
    spend(store, family, "root", 100, 1.0)
    make("sub1", "root", "subagent", 1)
    spend(store, family, "sub1", 40, 0.25)
    make("sub1a", "sub1", "subagent", 2)
    spend(store, family, "sub1a", 7, 0.125)
    make("sub1a_deep", "sub1a", "subagent", 3)
    spend(store, family, "sub1a_deep", 3, 0.0625)
    make("cont2", "root", "continuation", 4)
    spend(store, family, "cont2", 11, 0.5)
    if with_forks:
        fork = getattr(store, "fork", None)
        if fork is None:
            pytest.skip("fork is not on this branch yet")
        family.ids["fork3"] = fork(family.ids["root"], title="fork3").id
        spend(store, family, "fork3", 5, 0.03125)  # new spend after the copied messages
        family.ids["fork1b"] = fork(family.ids["sub1"], at_seq=2, title="fork1b").id
    return family


def total(usages: list[Usage]) -> Usage:
    out = Usage(0, 0, 0, 0, 0, 0.0)
    for u in usages:
        out = out + u
    return out


def assert_usage_equal(actual: Usage, expected: Usage) -> None:
    for name in (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    ):
        assert (getattr(actual, name) or 0) == (getattr(expected, name) or 0), name
    assert (actual.cost_usd or 0.0) == pytest.approx(expected.cost_usd or 0.0)


def titles(sessions: list[Session]) -> list[str | None]:
    return [s.title for s in sessions]


def test_children_are_direct_children_oldest_first(store: Store) -> None:
    family = build(store, with_forks=False)
    assert titles(store.children(family.ids["root"])) == ["sub1", "cont2"]
    assert titles(store.children(family.ids["sub1a_deep"])) == []


def test_ancestors_run_from_the_parent_to_the_root(store: Store) -> None:
    family = build(store, with_forks=False)
    assert titles(store.ancestors(family.ids["sub1a_deep"])) == ["sub1a", "sub1", "root"]
    assert store.ancestors(family.ids["root"]) == []


def test_tree_holds_the_whole_subtree_with_relations_status_and_usage(store: Store) -> None:
    family = build(store, with_forks=False)
    tree = store.tree(family.ids["root"])
    shape = {
        node.session.title: [child.session.title for child in node.children] for node in tree.walk()
    }
    assert shape == {
        "root": ["sub1", "cont2"],
        "sub1": ["sub1a"],
        "sub1a": ["sub1a_deep"],
        "sub1a_deep": [],
        "cont2": [],
    }
    nodes = {node.session.title: node.session for node in tree.walk()}
    assert nodes["sub1"].relation == "subagent" and nodes["cont2"].relation == "continuation"
    assert nodes["sub1"].status == "completed"
    assert_usage_equal(nodes["sub1a"].usage, family.spent["sub1a"])
    assert [n.session.title for n in store.tree(family.ids["sub1"]).walk()] == [
        "sub1",
        "sub1a",
        "sub1a_deep",
    ]


def test_tree_usage_without_forks_is_the_sum_of_the_sessions_usage(store: Store) -> None:
    family = build(store, with_forks=False)
    own = [store.get_session(i).usage for i in family.ids.values()]
    assert_usage_equal(store.tree_usage(family.ids["root"]), total(own))
    sub = ["sub1", "sub1a", "sub1a_deep"]
    assert_usage_equal(store.tree_usage(family.ids["sub1"]), total([family.spent[n] for n in sub]))
    assert_usage_equal(store.tree_usage(family.ids["sub1a_deep"]), family.spent["sub1a_deep"])


def test_tree_usage_counts_messages_copied_by_fork_once(store: Store) -> None:
    family = build(store, with_forks=True)
    tree = store.tree(family.ids["root"])
    forks = {n.session.title for n in tree.walk() if n.session.relation == "fork"}
    assert forks == {"fork3", "fork1b"}
    assert_usage_equal(store.tree_usage(family.ids["root"]), total(list(family.spent.values())))
    # A fork on its own cost only what was spent after it was made.
    assert_usage_equal(store.tree_usage(family.ids["fork3"]), family.spent["fork3"])
    assert_usage_equal(store.tree_usage(family.ids["fork1b"]), Usage(0, 0, 0, 0, 0, 0.0))


def test_roots_only_hides_sub_sessions_from_the_list(store: Store) -> None:
    family = build(store, with_forks=False)
    assert [s.id for s in store.list_sessions(roots_only=True)] == [family.ids["root"]]
    assert titles(store.list_sessions(parent_id=family.ids["root"]).items) == ["cont2", "sub1"]


@pytest.mark.parametrize("method", ["children", "ancestors", "tree", "tree_usage"])
def test_lineage_of_a_missing_session_is_not_found(store: Store, method: str) -> None:
    with pytest.raises(NotFound):
        getattr(store, method)("nope")


def test_lineage_filters_compose_with_every_other_filter_and_page(store: Store) -> None:
    # Two trees: r1 -> (c0..c5 -> g0 under c0), r2 -> (d0, d1); a lone root r3. Attributes
    # and times vary, some times repeat, so pages end inside ties.
    agents, statuses, sources = ["a", "b"], ["active", "completed"], ["cli", "telegram"]

    def make(name: str, parent: str | None, k: int) -> None:
        store.create_session(
            id=name,
            parent_id=parent,
            relation=None if parent is None else "subagent",
            agent=agents[k % 2],
            status=statuses[(k // 2) % 2],
            source=sources[(k // 3) % 2],
            user_id=f"u{k % 3}",
            created_at=T0 + timedelta(minutes=k // 2),
        )

    make("r1", None, 0)
    make("r2", None, 1)
    make("r3", None, 5)
    for k in range(6):
        make(f"c{k}", "r1", k + 2)
    make("g0", "c0", 3)
    make("d0", "r2", 4)
    make("d1", "r2", 7)
    everyone = store.list_sessions(limit=100).items
    assert len(everyone) == 12

    def expected(**f: Any) -> list[str]:
        since, until = f["window"] or (None, None)
        return [
            s.id
            for s in everyone
            if (not f["roots_only"] or s.parent_id is None)
            and (f["parent_id"] is None or s.parent_id == f["parent_id"])
            and (f["agent"] is None or s.agent == f["agent"])
            and (f["status"] is None or s.status == f["status"])
            and (f["source"] is None or s.source == f["source"])
            and (f["user_id"] is None or s.user_id == f["user_id"])
            and (since is None or s.updated_at >= since)
            and (until is None or s.updated_at < until)
        ]

    def paged(**f: Any) -> list[str]:
        since, until = f.pop("window") or (None, None)
        found: list[str] = []
        cursor = None
        while True:
            page = store.list_sessions(since=since, until=until, limit=2, cursor=cursor, **f)
            found.extend(s.id for s in page)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    window = (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    checked = nonempty = 0
    for roots_only, parent_id in [(True, None), (False, "r1"), (False, "r2"), (False, "c0")]:
        for agent, status, source, user_id, span in itertools.product(
            [None, "a", "b"], [None, "completed"], [None, "cli"], [None, "u1"], [None, window]
        ):
            filters = dict(
                roots_only=roots_only,
                parent_id=parent_id,
                agent=agent,
                status=status,
                source=source,
                user_id=user_id,
                window=span,
            )
            want = expected(**filters)
            assert paged(**filters) == want, filters
            checked += 1
            nonempty += bool(want)
    assert checked == 192 and nonempty > 40
