"""Errors say what went wrong and what it is about, in parts (``reason``, ``subject``) as
well as in their message, the same on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessiondb import AlreadyExists, Conflict, InvalidInput, NotFound, Store


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.get_session("nope"),
        lambda db: db.messages("nope"),
        lambda db: db.append("nope", {"role": "user", "content": "hi"}),
        lambda db: db.delete_session("nope"),
        lambda db: db.tree("nope"),
        lambda db: db.fork("nope"),
        lambda db: db.compact("nope", "summary"),
        lambda db: db.export("nope"),
    ],
    ids=["get_session", "messages", "append", "delete", "tree", "fork", "compact", "export"],
)
def test_a_missing_session_is_the_subject_of_not_found(store: Store, call) -> None:
    with pytest.raises(NotFound) as raised:
        call(store)
    assert (raised.value.reason, raised.value.subject) == ("no such session", "nope")
    assert str(raised.value) == "no session 'nope'"


def test_a_taken_id_and_a_missing_parent_are_the_subjects(store: Store) -> None:
    store.create_session("a")
    with pytest.raises(AlreadyExists) as taken:
        store.create_session("a")
    assert (taken.value.reason, taken.value.subject) == ("session already exists", "a")
    with pytest.raises(NotFound) as orphan:
        store.create_session("b", parent_id="zz")
    assert (orphan.value.reason, orphan.value.subject) == ("no such parent session", "zz")


def test_a_bad_argument_is_the_subject_and_the_message_keeps_its_name(store: Store) -> None:
    with pytest.raises(InvalidInput) as raised:
        store.create_session("")
    assert (raised.value.reason, raised.value.subject) == ("must not be empty", "id")
    assert str(raised.value) == "id: must not be empty"
    with pytest.raises(InvalidInput) as age:
        store.prune(older_than=timedelta(days=-1))
    assert age.value.subject == "older_than"


def test_a_query_error_names_the_query_itself(store: Store) -> None:
    with pytest.raises(InvalidInput) as raised:
        store.search("---")
    assert raised.value.subject == "query '---'"
    assert raised.value.reason == "no words to search for"
    assert str(raised.value) == "query: no words to search for"


def test_a_conflict_names_the_session(store: Store) -> None:
    store.create_session("s")
    with pytest.raises(Conflict) as raised:
        store.append("s", {"role": "user", "content": "hi"}, expect_last_seq=5)
    assert raised.value.subject == "s"
    assert raised.value.reason == "expected last seq 5, found 0"
