"""Adapter extras: without its framework an adapter fails on import naming the extra to
install, and the adapter tests run against the framework releases pinned for them."""

from __future__ import annotations

import importlib
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

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


def _extras() -> dict[str, list[Requirement]]:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    table = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    return {name: [Requirement(r) for r in reqs] for name, reqs in table.items()}


def test_adapter_tests_run_against_the_pinned_framework_releases() -> None:
    pins = {r.name: r for r in _extras()["adapters-test"] if str(r.specifier).startswith("==")}
    assert set(pins) >= {"openai-agents", "langchain-core", "langchain-community", "google-adk"}
    installed = {name: version(name) for name in pins}
    assert installed == {name: str(r.specifier)[2:] for name, r in pins.items()}


@pytest.mark.parametrize(
    ("extra", "framework"),
    [("openai-agents", "openai-agents"), ("langchain", "langchain-core"), ("adk", "google-adk")],
)
def test_each_pinned_release_is_inside_its_feature_extras_range(extra: str, framework: str) -> None:
    extras = _extras()
    (ranged,) = [r for r in extras[extra] if r.name == framework]
    (pinned,) = [r for r in extras["adapters-test"] if r.name == framework]
    assert not str(ranged.specifier).startswith("=="), "feature extras stay ranges for users"
    assert ranged.specifier.contains(str(pinned.specifier)[2:])
