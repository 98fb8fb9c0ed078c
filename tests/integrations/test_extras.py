"""Without its framework, an adapter fails on import with the extra to install."""

from __future__ import annotations

import importlib
import sys

import pytest

from sessiondb import MissingDependency


@pytest.mark.parametrize(
    ("adapter", "framework_module", "extra"),
    [
        ("openai_agents", "agents.memory.session_settings", "openai-agents"),
        ("langchain", "langchain_core.chat_history", "langchain"),
        ("adk", "google.adk.errors", "adk"),
    ],
)
def test_importing_an_adapter_without_its_framework_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, adapter: str, framework_module: str, extra: str
) -> None:
    name = f"sessiondb.integrations.{adapter}"
    monkeypatch.setitem(sys.modules, framework_module, None)  # makes the import fail
    monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(MissingDependency, match=rf"pip install 'sessiondb\[{extra}\]'"):
        importlib.import_module(name)
