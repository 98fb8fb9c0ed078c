"""Retention: prune old sessions (after archiving them), backend-independent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from .model import PruneReport
from .store import Store

__all__ = ["prune"]


def prune(
    store: Store,
    *,
    older_than: timedelta,
    status: str | None = None,
    archive_dir: str | Path | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """See ``Store.prune``."""
    raise NotImplementedError("prune is not implemented yet")
