"""The README's example per framework runs as written, against the real framework.

Each block is executed verbatim; the test supplies only what the README leaves to the
reader (an agent, a prompt and model, a message), built on the local fakes of the
adapter tests, and then reads what the block stored through sessiondb.
"""

from __future__ import annotations

import ast
import asyncio
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

import sessiondb

README = Path(__file__).resolve().parents[2] / "README.md"


def framework_blocks() -> dict[str, str]:
    """The python blocks of the README's adapter section, by the module they import."""
    text = README.read_text()
    section = text.split("## Drop-in session stores for agent frameworks", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    found = {}
    for block in blocks:
        module = re.search(r"from sessiondb\.integrations\.(\w+) import", block)
        assert module is not None, block
        found[module.group(1)] = block
    return found


def run_block(block: str, namespace: dict[str, Any]) -> None:
    """Execute ``block`` like a notebook cell (top-level await allowed)."""
    code = compile(block, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


def test_the_readme_has_one_example_per_framework() -> None:
    blocks = framework_blocks()
    assert set(blocks) == {"openai_agents", "langchain", "adk"}
    # "Three lines": one import, then at most three statements.
    for name, block in blocks.items():
        body = ast.parse(block, feature_version=(3, 11)).body
        assert isinstance(body[0], ast.ImportFrom) and len(body) <= 4, name


def test_the_openai_agents_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("agents")
    from agents import Runner

    from .test_openai_agents import ScriptedModel, make_agent

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"Runner": Runner, "agent": make_agent(ScriptedModel())}
    run_block(framework_blocks()["openai_agents"], namespace)
    assert namespace["result"].final_output == "echo 1: Hello"
    asyncio.run(namespace["session"].close())
    with sessiondb.connect(tmp_path / "agent.db") as db:
        assert [m.role for m in db.messages("chat-42")] == ["user", "assistant"]
        assert db.get_session("chat-42").usage.input_tokens == 100


def test_the_langchain_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.runnables.history import RunnableWithMessageHistory

    monkeypatch.chdir(tmp_path)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}")]
    )
    usage = {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}
    model = GenericFakeChatModel(messages=iter([AIMessage("Hi!", usage_metadata=usage)]))  # type: ignore[arg-type]
    namespace: dict[str, Any] = {
        "RunnableWithMessageHistory": RunnableWithMessageHistory,
        "prompt": prompt,
        "model": model,
    }
    with warnings.catch_warnings():
        # Deprecated in langchain-core 1.3.3 but still what most LangChain apps run.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*RunnableWithMessageHistory.*")
        run_block(framework_blocks()["langchain"], namespace)
    with sessiondb.connect(tmp_path / "agent.db") as db:
        assert [m.text for m in db.messages("chat-42")] == ["Hello", "Hi!"]
        assert db.get_session("chat-42").usage.input_tokens == 7


def test_the_adk_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("google.adk")
    from google.adk.agents import LlmAgent
    from google.adk.runners import Runner
    from google.genai import types

    from .test_adk import ScriptedLlm

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {
        "Runner": Runner,
        "agent": LlmAgent(name="helper", model=ScriptedLlm(), instruction="Be brief."),
        "message": types.Content(role="user", parts=[types.Part(text="hello")]),
    }
    run_block(framework_blocks()["adk"], namespace)

    async def consume() -> list[Any]:
        events = [event async for event in namespace["events"]]
        await namespace["service"].close()
        return events

    events = asyncio.run(consume())
    assert events[-1].content.parts[0].text == "echo: hello"
    with sessiondb.connect(tmp_path / "agent.db") as db:
        stored = db.messages("s1")
        assert [m.role for m in stored] == ["user", "assistant"]
        assert stored[1].usage is not None and stored[1].usage.input_tokens == 50
