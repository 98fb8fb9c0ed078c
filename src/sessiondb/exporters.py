"""Exporters: a stored session as JSONL (lossless), Markdown or an OpenAI message list."""

from __future__ import annotations

from .store import Store

__all__ = ["export"]


def export(store: Store, session_id: str, format: str = "jsonl") -> str:
    """The session in ``format``; see ``Store.export``."""
    raise NotImplementedError("exporters are not implemented yet")
