"""The PostgreSQL backend (psycopg 3 + psycopg_pool). Filled in by the PostgreSQL issue."""

from __future__ import annotations

from typing import Any


class PostgresStore:
    """Placeholder until the PostgreSQL backend lands."""

    def __init__(self, url: str, **options: Any) -> None:
        raise NotImplementedError("the PostgreSQL backend is not implemented yet")


__all__ = ["PostgresStore"]
