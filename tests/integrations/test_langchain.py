"""The LangChain adapter, driven through ``RunnableWithMessageHistory`` and a fake model."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sessiondb import AsyncStore, Store, Usage, connect

pytest.importorskip("langchain_core", reason="the 'langchain' extra is not installed")

from langchain_core.chat_history import (
    BaseChatMessageHistory,
    InMemoryChatMessageHistory,
)
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from sessiondb.integrations.langchain import SessionDBChatMessageHistory

USAGE = {
    "input_tokens": 120,
    "output_tokens": 30,
    "total_tokens": 150,
    "input_token_details": {"cache_read": 100, "cache_creation": 5},
    "output_token_details": {"reasoning": 7},
}


def model_replies() -> list[AIMessage]:
    return [
        AIMessage(
            "",
            id="run-1",
            tool_calls=[{"name": "lookup", "args": {"q": "paris"}, "id": "call_1"}],
            usage_metadata=USAGE,  # type: ignore[arg-type]
            response_metadata={"model_name": "fake-1", "finish_reason": "tool_calls"},
        ),
        AIMessage("Paris is sunny.", id="run-2", usage_metadata=USAGE),  # type: ignore[arg-type]
        AIMessage("You are welcome.", id="run-3"),
    ]


def in_memory_history() -> BaseChatMessageHistory:
    """LangChain's in-memory history (deprecated in 1.6.4, still the reference)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return InMemoryChatMessageHistory()


def sqlchat_factory(tmp_path: Path) -> Callable[[str], BaseChatMessageHistory] | None:
    """LangChain's own SQL history when langchain-community imports, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from langchain_community.chat_message_histories import SQLChatMessageHistory
    except ImportError:
        return None
    url = f"sqlite:///{tmp_path / 'lc.db'}"

    def make(session_id: str) -> BaseChatMessageHistory:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SQLChatMessageHistory(session_id=session_id, connection=url)

    return make


def run_conversation(get_history: Callable[[str], BaseChatMessageHistory]) -> list[Any]:
    """Three turns through RunnableWithMessageHistory; the tool result is added by hand."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}")]
    )
    model = GenericFakeChatModel(messages=iter(model_replies()))
    with warnings.catch_warnings():
        # Deprecated in langchain-core 1.3.3 but still what most LangChain apps run.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*RunnableWithMessageHistory.*")
        chain = RunnableWithMessageHistory(
            prompt | model,
            get_history,
            input_messages_key="question",
            history_messages_key="history",
        )
    config: Any = {"configurable": {"session_id": "user:42/chat"}}
    seen = []
    out = chain.invoke({"question": "weather in paris?"}, config=config)
    get_history("user:42/chat").add_messages(
        [ToolMessage("sunny", tool_call_id="call_1", id="tool-1", artifact={"raw": [1, 2]})]
    )
    seen.append(out)
    seen.append(chain.invoke({"question": "so?"}, config=config))
    seen.append(chain.invoke({"question": "thanks"}, config=config))
    return seen


async def arun_conversation(get_history: Callable[[str], BaseChatMessageHistory]) -> list[Any]:
    """The same three turns driven asynchronously: ainvoke, ainvoke, then astream."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}")]
    )
    model = GenericFakeChatModel(messages=iter(model_replies()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*RunnableWithMessageHistory.*")
        chain = RunnableWithMessageHistory(
            prompt | model,
            get_history,
            input_messages_key="question",
            history_messages_key="history",
        )
    config: Any = {"configurable": {"session_id": "user:42/chat"}}
    seen = [await chain.ainvoke({"question": "weather in paris?"}, config=config)]
    await get_history("user:42/chat").aadd_messages(
        [ToolMessage("sunny", tool_call_id="call_1", id="tool-1", artifact={"raw": [1, 2]})]
    )
    seen.append(await chain.ainvoke({"question": "so?"}, config=config))
    chunks = [chunk async for chunk in chain.astream({"question": "thanks"}, config=config)]
    assert len(chunks) > 1  # the fake model streams word by word
    seen.append(chunks)
    return seen


class RecordingHistory(SessionDBChatMessageHistory):
    """Our history, noting which of its sync and async methods LangChain called."""

    calls: ClassVar[list[str]] = []

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        self.calls.append("messages")
        return super().messages

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        self.calls.append("add_messages")
        super().add_messages(messages)

    async def aget_messages(self) -> list[BaseMessage]:
        self.calls.append("aget_messages")
        return await super().aget_messages()

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        self.calls.append("aadd_messages")
        await super().aadd_messages(messages)


def test_async_chain_turns_use_the_async_methods_and_match_langchains_own(store: Store) -> None:
    RecordingHistory.calls = []
    histories: dict[str, BaseChatMessageHistory] = {}
    reference: dict[str, BaseChatMessageHistory] = {}

    def ours(session_id: str) -> BaseChatMessageHistory:
        return histories.setdefault(session_id, RecordingHistory(session_id, store))

    def theirs(session_id: str) -> BaseChatMessageHistory:
        return reference.setdefault(session_id, in_memory_history())

    async def main() -> None:
        await arun_conversation(theirs)
        await arun_conversation(ours)
        assert await SessionDBChatMessageHistory("user:42/chat", store).aget_messages() == (
            await reference["user:42/chat"].aget_messages()
        )

    asyncio.run(main())
    # Every read and write of the chain went through the coroutines (no thread hop to
    # the sync methods): three reads, three turns written, plus the tool result by hand.
    assert set(RecordingHistory.calls) == {"aget_messages", "aadd_messages"}
    assert RecordingHistory.calls.count("aadd_messages") == 4
    got = SessionDBChatMessageHistory("user:42/chat", store).messages
    assert [m.type for m in got] == [
        "human",
        "ai",
        "tool",
        "human",
        "ai",
        "human",
        "AIMessageChunk",
    ]
    assert got[1].tool_calls == model_replies()[0].tool_calls  # type: ignore[attr-defined]
    assert got[-1].content == "You are welcome."
    stored = store.messages("user:42/chat")
    assert [m.role for m in stored] == [
        "user", "assistant", "tool", "user", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert store.get_session("user:42/chat").usage.input_tokens == 240
    assert [(c.call_id, c.status) for c in store.tool_calls("user:42/chat")] == [("call_1", "ok")]


def test_runnable_with_message_history_stores_turns_losslessly(store: Store) -> None:
    histories: dict[str, SessionDBChatMessageHistory] = {}

    def get_history(session_id: str) -> BaseChatMessageHistory:
        return histories.setdefault(session_id, SessionDBChatMessageHistory(session_id, store))

    run_conversation(get_history)
    got = SessionDBChatMessageHistory("user:42/chat", store).messages
    assert [m.type for m in got] == ["human", "ai", "tool", "human", "ai", "human", "ai"]
    first_ai = got[1]
    assert isinstance(first_ai, AIMessage)
    assert first_ai.tool_calls == model_replies()[0].tool_calls
    assert first_ai.usage_metadata == USAGE
    assert first_ai.response_metadata["model_name"] == "fake-1"
    assert first_ai.id == "run-1"
    tool = got[2]
    assert isinstance(tool, ToolMessage)
    assert (tool.tool_call_id, tool.artifact, tool.id) == ("call_1", {"raw": [1, 2]}, "tool-1")

    stored = store.messages("user:42/chat")
    assert [m.role for m in stored] == [
        "user", "assistant", "tool", "user", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert stored[1].usage == Usage(
        input_tokens=120,
        output_tokens=30,
        cache_read_tokens=100,
        cache_write_tokens=5,
        reasoning_tokens=7,
    )
    assert stored[1].model == "fake-1"
    session = store.get_session("user:42/chat")
    assert session.usage.input_tokens == 240
    assert session.source == "langchain"
    calls = store.tool_calls("user:42/chat")
    assert [(c.call_id, c.name, c.status) for c in calls] == [("call_1", "lookup", "ok")]


def test_every_message_kind_round_trips_equal(store: Store) -> None:
    sent: list[BaseMessage] = [
        SystemMessage("rules", id="s"),
        HumanMessage([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {
            "url": "data:image/png;base64,AAAA"}}], name="ann"),
        AIMessage("", tool_calls=[{"name": "f", "args": {"x": [1, {"y": None}]}, "id": "c9"}],
                  additional_kwargs={"refusal": None}, usage_metadata=USAGE),  # type: ignore[arg-type]
        ToolMessage("err", tool_call_id="c9", status="error"),
        HumanMessage("same", id="dup"),
        HumanMessage("same", id="dup"),
    ]  # fmt: skip
    history = SessionDBChatMessageHistory("kinds", store)
    history.add_messages(sent)
    assert history.messages == sent

    async def read() -> list[BaseMessage]:
        return await history.aget_messages()

    assert asyncio.run(read()) == sent
    assert SessionDBChatMessageHistory("kinds", store, window=2).messages == sent[-2:]


def test_async_methods_write_and_read_the_same_session(store: Store) -> None:
    async def main() -> list[BaseMessage]:
        history = SessionDBChatMessageHistory("async-1", store)
        await history.aadd_messages([HumanMessage("a"), AIMessage("b")])
        await history.aadd_messages([HumanMessage("c")])
        return await history.aget_messages()

    got = asyncio.run(main())
    assert [m.content for m in got] == ["a", "b", "c"]
    assert [m.content for m in SessionDBChatMessageHistory("async-1", store).messages] == [
        "a",
        "b",
        "c",
    ]


def test_conversation_matches_langchains_own_history(store: Store, tmp_path: Path) -> None:
    theirs_factory = sqlchat_factory(tmp_path)
    theirs_store: dict[str, BaseChatMessageHistory] = {}

    def theirs(session_id: str) -> BaseChatMessageHistory:
        if theirs_factory is not None:
            return theirs_factory(session_id)
        return theirs_store.setdefault(session_id, in_memory_history())

    run_conversation(theirs)
    run_conversation(lambda sid: SessionDBChatMessageHistory(sid, store))
    ours = SessionDBChatMessageHistory("user:42/chat", store).messages
    assert ours == theirs("user:42/chat").messages
    assert len(ours) == 7


def test_clear_empties_the_history_like_langchains_own(store: Store) -> None:
    def scenario(history: BaseChatMessageHistory) -> list[Any]:
        history.add_messages([HumanMessage("a"), AIMessage("b")])
        history.clear()
        out: list[Any] = [list(history.messages)]
        history.add_messages([HumanMessage("c")])
        out.append(list(history.messages))
        asyncio.run(history.aclear())
        out.append(list(history.messages))
        return out

    assert scenario(SessionDBChatMessageHistory("c", store)) == scenario(in_memory_history())


def test_items_written_by_others_read_as_plain_messages(store: Store) -> None:
    store.create_session("foreign")
    store.append(
        "foreign",
        [
            {"role": "system", "content": "rules"},
            {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": 1}'},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
        ],
    )
    got = SessionDBChatMessageHistory("foreign", store).messages
    assert [(m.type, m.content) for m in got] == [
        ("system", "rules"),
        ("human", "q"),
        ("ai", ""),
        ("tool", "42"),
        ("ai", "a"),
    ]
    call = got[2]
    assert isinstance(call, AIMessage)
    assert call.tool_calls == [{"name": "f", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
    assert isinstance(got[3], ToolMessage) and got[3].tool_call_id == "c1"


def test_constructor_accepts_a_path_a_url_and_an_async_store(tmp_path: Path) -> None:
    by_path = SessionDBChatMessageHistory("s", tmp_path / "a.db")
    by_path.add_messages([HumanMessage("x")])
    by_path.close()
    by_url = SessionDBChatMessageHistory("s", f"sqlite:///{tmp_path / 'a.db'}")
    assert [m.content for m in by_url.messages] == ["x"]
    by_url.close()
    astore = AsyncStore(connect(tmp_path / "a.db"))
    assert [m.content for m in SessionDBChatMessageHistory("s", astore).messages] == ["x"]
    asyncio.run(astore.close())
