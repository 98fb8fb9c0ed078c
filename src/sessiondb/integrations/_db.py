"""Opening the store an adapter writes to, from whatever the caller handed over.

Every adapter accepts ``db`` as None (``$SESSIONDB_URL`` or the default file), a URL, a
path, an open ``Store`` or an ``AsyncStore``. A store the adapter opened itself is closed
by the adapter's ``close()``; a store the caller passed in stays the caller's to close.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, TypeAlias

from ..aio import AsyncStore
from ..backends import open_store
from ..errors import InvalidInput, MissingDependency
from ..store import Store

__all__ = ["DB", "missing", "open_async", "open_sync"]

_FACADES: weakref.WeakValueDictionary[int, AsyncStore] = weakref.WeakValueDictionary()

DB: TypeAlias = "str | os.PathLike[str] | Store | AsyncStore | None"


def open_sync(db: DB, options: dict[str, Any] | None = None) -> tuple[Store, bool]:
    """(store, owned): the sync store behind ``db``; ``owned`` when we opened it.

    Raises InvalidInput for something that is neither a location nor a store, and what
    ``sessiondb.connect`` raises for a location it cannot open.
    """
    if isinstance(db, AsyncStore):
        return db.store, False
    if db is None or isinstance(db, str | os.PathLike):
        return open_store(db, **(options or {})), True
    # Duck-typed rather than isinstance(db, Store): a runtime Protocol check walks every
    # method of the contract, and a store only needs the ones the adapters call.
    if callable(getattr(db, "append", None)) and callable(getattr(db, "messages", None)):
        return db, False
    raise InvalidInput(
        f"db: expected a URL, a path, a Store or an AsyncStore, got {type(db).__name__}"
    )


def open_async(db: DB, options: dict[str, Any] | None = None) -> tuple[AsyncStore, bool]:
    """(async store, owned): ``db`` as an ``AsyncStore``; ``owned`` when we opened it.

    A sync ``Store`` passed in is wrapped in one ``AsyncStore`` shared by every adapter
    over that store (its worker threads end when the last adapter is gone); closing an
    adapter does not close it. Raises like ``open_sync``.
    """
    if isinstance(db, AsyncStore):
        return db, False
    store, owned = open_sync(db, options)
    if owned:
        return AsyncStore(store, max_workers=_workers(store)), True
    # Adapters are often made per request over one shared Store: share one facade (and
    # its worker threads) per store while any adapter holds it. The facade keeps the
    # store alive, so the id cannot be reused while the entry exists.
    facade = _FACADES.get(id(store))
    if facade is None or facade.store is not store:
        facade = AsyncStore(store, max_workers=_workers(store))
        _FACADES[id(store)] = facade
    return facade, False


def _workers(store: Store) -> int:
    """Worker threads for an adapter's facade over ``store``.

    SQLite: one. Each thread has its own connection, and a connection whose file another
    connection wrote must re-read the changed pages: with several workers taking turns,
    every call paid ~12 extra page reads (strace), a one-item append ~30% more time. Writes
    are serialised by SQLite anyway. PostgreSQL: a few, so network round trips overlap.
    """
    return 1 if store.url.startswith("sqlite") else 4


def missing(extra: str, exc: ImportError) -> MissingDependency:
    """The error to raise when an adapter's framework cannot be imported."""
    return MissingDependency(
        f"this adapter requires the {extra!r} extra: pip install 'sessiondb[{extra}]' ({exc})"
    )
