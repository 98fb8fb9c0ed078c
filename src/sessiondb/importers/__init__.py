"""Importers: one module per transcript format, returning model objects (never SQL).

Filled in by the importers issue; ``import_path`` is the entry point ``Store.import_path``
delegates to.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..model import ImportReport
from ..store import Store

__all__ = ["import_path"]


def import_path(
    store: Store,
    path: str | Path,
    *,
    format: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file or directory into ``store``; see ``Store.import_path``."""
    raise NotImplementedError("importers are not implemented yet")
