"""The public API is exactly what __all__ says, and every name resolves."""

from __future__ import annotations

import inspect

import pytest

import sessiondb
from sessiondb import AsyncStore, Store


def test_all_names_exist_and_are_sorted() -> None:
    for name in sessiondb.__all__:
        assert hasattr(sessiondb, name), name
    assert sorted(sessiondb.__all__) == sessiondb.__all__


def test_error_tree_has_one_root() -> None:
    errors = [
        getattr(sessiondb, n) for n in sessiondb.__all__ if n.endswith(("Error", "Found", "Exists"))
    ]
    for error in [*errors, sessiondb.InvalidInput, sessiondb.Conflict, sessiondb.SchemaTooNew]:
        assert issubclass(error, sessiondb.SessionDBError)
    assert issubclass(sessiondb.BadTranscript, sessiondb.InvalidInput)


CONTRACT = [n for n, v in vars(Store).items() if not n.startswith("_") and callable(v)]


@pytest.mark.parametrize("name", CONTRACT)
def test_async_store_mirrors_every_store_method(name: str) -> None:
    if name == "close":
        assert inspect.iscoroutinefunction(AsyncStore.close)
        return
    method = getattr(AsyncStore, name)
    assert inspect.iscoroutinefunction(method), name
    assert inspect.signature(method) == inspect.signature(getattr(Store, name)), name


def test_async_store_has_no_method_the_contract_lacks() -> None:
    extra = {
        n
        for n, v in vars(AsyncStore).items()
        if not n.startswith("_") and inspect.iscoroutinefunction(v)
    }
    assert extra <= set(CONTRACT)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_backend_implements_every_contract_method(backend: str) -> None:
    if backend == "sqlite":
        from sessiondb.backends.sqlite import SQLiteStore as cls
    else:
        from sessiondb.backends.postgres import PostgresStore as cls
    missing = [n for n in CONTRACT if not callable(getattr(cls, n, None))]
    assert missing == []
    for name in CONTRACT:
        params = list(inspect.signature(getattr(Store, name)).parameters)
        assert list(inspect.signature(getattr(cls, name)).parameters) == params, name
