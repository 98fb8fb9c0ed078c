"""Open the right backend for a URL.

* ``None``                        -> ``$SESSIONDB_URL``, else the default embedded file
  ``<platformdirs user data dir>/sessiondb/sessions.db``;
* a path, ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` -> ``SQLiteStore``;
* ``postgresql://...`` or ``postgres://...`` -> ``PostgresStore`` (needs the ``postgres`` extra);
  a ``schema=NAME`` query parameter is taken out of the URL and passed as the ``schema``
  option (libpq does not know it), so one URL string can name a schema (CLI, env var).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ..errors import InvalidInput, MissingDependency
from ..store import Store

__all__ = ["default_path", "open_store", "redact", "resolve_url", "with_schema"]


def default_path() -> Path:
    """Where the embedded database lives when no URL is given."""
    import platformdirs

    return Path(platformdirs.user_data_dir("sessiondb", appauthor=False)) / "sessions.db"


def resolve_url(url: str | os.PathLike[str] | None) -> str:
    """The URL or path that ``open_store`` will use for ``url``."""
    if url is None:
        env = os.environ.get("SESSIONDB_URL")
        return env if env else str(default_path())
    return os.fspath(url)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages, terminals and logs)."""
    parts = urlsplit(url)
    if "://" not in url or parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _bad_url(url: str, reason: str) -> InvalidInput:
    return InvalidInput.about("url", reason, subject=redact(url))


def _split_schema(url: str) -> tuple[str, str | None]:
    """``postgresql://h/db?schema=s&x=1`` -> (``postgresql://h/db?x=1``, ``"s"``).

    The other parameters are kept as written: re-encoding them would turn ``%20`` into
    ``+``, which libpq does not read as a space, and rebuilding the URL would turn
    ``postgresql:///db`` (no host) into ``postgresql:/db``, which libpq refuses.
    """
    base, hash_mark, fragment = url.partition("#")
    head, question_mark, query = base.partition("?")
    if not question_mark:
        return url, None
    kept, schemas = [], []
    for piece in query.split("&"):
        pairs = parse_qsl(piece, keep_blank_values=True)
        if pairs and pairs[0][0] == "schema":
            schemas.append(pairs[0][1])
        else:
            kept.append(piece)
    if not schemas:
        return url, None
    if len(schemas) > 1 or not schemas[0]:
        raise _bad_url(url, "give the schema query parameter once, with a value")
    rest = "&".join(piece for piece in kept if piece)
    return head + ("?" + rest if rest else "") + hash_mark + fragment, schemas[0]


def with_schema(url: str, schema: str) -> str:
    """``url`` with a ``schema=NAME`` query parameter (what ``_split_schema`` takes out)."""
    base, hash_mark, fragment = url.partition("#")
    joiner = "" if base.endswith(("?", "&")) else "&" if "?" in base else "?"
    # Schema names are [a-z0-9_] (checked by PostgresCore): nothing to escape.
    return f"{base}{joiner}schema={schema}{hash_mark}{fragment}"


def open_store(url: str | os.PathLike[str] | None = None, **options: Any) -> Store:
    """Open (creating and migrating if needed) the store for ``url``.

    Raises InvalidInput for an unknown scheme, MissingDependency when the backend's
    extra is not installed, SchemaTooNew for a database from a newer sessiondb.
    """
    target = resolve_url(url)
    if target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            raise MissingDependency(
                "PostgresStore requires the 'postgres' extra: pip install 'sessiondb[postgres]'"
                f" ({exc})",
                reason="needs the 'postgres' extra: pip install 'sessiondb[postgres]'",
                subject=str(exc),
            ) from exc
        target, schema = _split_schema(target)
        if schema is not None:
            if options.get("schema", schema) != schema:
                raise _bad_url(
                    target,
                    f"schema {schema!r} disagrees with the schema option {options['schema']!r}",
                )
            options["schema"] = schema
        return cast(Store, PostgresStore(target, **options))
    if target.startswith("sqlite://"):
        rest = target[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise _bad_url(target, "has no path (use sqlite:///file.db)")
        target = rest[1:]  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
    elif "://" in target:
        scheme = target.split("://", 1)[0]
        raise _bad_url(
            target, f"unknown scheme {scheme!r}: use a path, sqlite:/// or postgresql://"
        )
    from .sqlite import SQLiteStore

    return cast(Store, SQLiteStore(Path(target).expanduser(), **options))
