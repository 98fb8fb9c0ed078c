"""The stores users would pick instead, driven through each one's own public API.

Every peer runs at its own defaults; ``durability`` says what that default does at commit
(read from each library's source: none of them changes SQLite's ``synchronous``, whose
compiled-in default here is FULL). Async peers get one event loop each and time every call
inside one coroutine, so loop start-up is not charged to them. A peer whose package is
missing raises ImportError from ``open``; the runner prints why and goes on.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from .data import Msg
from .subject import Subject


def _run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return loop.run_until_complete(coro)


# ---------------------------------------------------------------- OpenAI Agents SDK


def responses_item(m: Msg) -> dict[str, Any]:
    """The Agents SDK's own item shape for a message (Responses API items)."""
    if m.role == "user":
        return {"role": "user", "content": m.text}
    if m.role == "assistant":
        return {
            "type": "function_call",
            "call_id": m.call_id,
            "name": m.tool_name,
            "arguments": m.arguments,
            "id": "__fake_id__",
        }
    return {"type": "function_call_output", "call_id": m.call_id, "output": m.text}


class OpenAIAgents(Subject):
    name = "openai-agents SQLiteSession"
    durability = "WAL, synchronous=FULL (default)"
    equivalent = "full"

    def open(self, workdir: Path) -> None:
        from agents import SQLiteSession

        workdir.mkdir(parents=True, exist_ok=True)
        self._cls = SQLiteSession
        self.path = str(workdir / "openai.db")
        self.loop = asyncio.new_event_loop()
        self.sessions: dict[str, Any] = {}

    def _session(self, sid: str) -> Any:
        if sid not in self.sessions:
            self.sessions[sid] = self._cls(sid, self.path)
        return self.sessions[sid]

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()
        self.loop.close()

    def create_session(self, sid: str) -> None:
        self._session(sid)

    def append(self, sid: str, msg: Msg) -> None:
        _run(self.loop, self._session(sid).add_items([responses_item(msg)]))

    def append_timed(self, sid: str, msgs: Sequence[Msg]) -> list[int]:
        session = self._session(sid)
        items = [responses_item(m) for m in msgs]

        async def go() -> list[int]:
            out = []
            for item in items:
                t0 = time.perf_counter_ns()
                await session.add_items([item])
                out.append(time.perf_counter_ns() - t0)
            return out

        result: list[int] = _run(self.loop, go())
        return result

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        _run(self.loop, self._session(sid).add_items([responses_item(m) for m in msgs]))

    def last(self, sid: str, k: int) -> list[object]:
        result: list[object] = _run(self.loop, self._session(sid).get_items(limit=k))
        return result

    def read_texts(self, sid: str) -> list[str]:
        return [json.dumps(i) for i in _run(self.loop, self._session(sid).get_items())]


# ---------------------------------------------------------------- LangChain


def langchain_message(m: Msg) -> Any:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    if m.role == "user":
        return HumanMessage(m.text)
    if m.role == "assistant":
        u = m.usage or {}
        return AIMessage(
            content=m.text,
            tool_calls=[
                {"name": m.tool_name, "args": json.loads(m.arguments or "{}"), "id": m.call_id}
            ],
            usage_metadata={
                "input_tokens": u.get("input_tokens", 0),
                "output_tokens": u.get("output_tokens", 0),
                "total_tokens": u.get("input_tokens", 0) + u.get("output_tokens", 0),
            },
        )
    return ToolMessage(content=m.text, tool_call_id=m.call_id or "")


class LangChain(Subject):
    name = "langchain-community SQLChatMessageHistory"
    durability = "rollback journal, synchronous=FULL (default)"
    equivalent = "full"

    def open(self, workdir: Path) -> None:
        from langchain_community.chat_message_histories import SQLChatMessageHistory
        from sqlalchemy import create_engine

        workdir.mkdir(parents=True, exist_ok=True)
        self._cls = SQLChatMessageHistory
        self.engine = create_engine(f"sqlite:///{workdir / 'langchain.db'}")
        self.histories: dict[str, Any] = {}

    def _history(self, sid: str) -> Any:
        if sid not in self.histories:
            self.histories[sid] = self._cls(session_id=sid, connection=self.engine)
        return self.histories[sid]

    def close(self) -> None:
        self.engine.dispose()

    def create_session(self, sid: str) -> None:
        self._history(sid)

    def append(self, sid: str, msg: Msg) -> None:
        self._history(sid).add_message(langchain_message(msg))

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        self._history(sid).add_messages([langchain_message(m) for m in msgs])

    def last(self, sid: str, k: int) -> list[object]:
        return list(self._history(sid).messages[-k:])  # the API has no limit: loads all

    def read_texts(self, sid: str) -> list[str]:
        return [str(m.content) for m in self._history(sid).messages]


# ---------------------------------------------------------------- LangGraph


class LangGraph(Subject):
    name = "langgraph SqliteSaver (one-node graph)"
    durability = "WAL, synchronous=FULL (default)"
    equivalent = "full"
    # Every checkpoint stores the whole conversation again: cap the sizes it is given.
    max_appends = 300
    max_fill = 10_000

    def open(self, workdir: Path) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import START, MessagesState, StateGraph

        workdir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(workdir / "langgraph.db", check_same_thread=False)
        graph = StateGraph(MessagesState)
        graph.add_node("noop", lambda state: {})
        graph.add_edge(START, "noop")
        self.graph = graph.compile(checkpointer=SqliteSaver(self.conn))

    def close(self) -> None:
        self.conn.close()

    def _cfg(self, sid: str) -> Any:
        return {"configurable": {"thread_id": sid}}

    def create_session(self, sid: str) -> None:
        pass  # a thread exists once something is written to it

    def append(self, sid: str, msg: Msg) -> None:
        self.graph.invoke({"messages": [langchain_message(msg)]}, self._cfg(sid))

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        self.graph.invoke({"messages": [langchain_message(m) for m in msgs]}, self._cfg(sid))

    def last(self, sid: str, k: int) -> list[object]:
        return list(self.graph.get_state(self._cfg(sid)).values["messages"][-k:])

    def read_texts(self, sid: str) -> list[str]:
        values = self.graph.get_state(self._cfg(sid)).values
        return [str(m.content) for m in values.get("messages", [])]


# ---------------------------------------------------------------- nanobot


class Nanobot(Subject):
    name = "nanobot-ai SessionManager"
    durability = "JSONL file rewritten + renamed per save, no fsync (default)"
    equivalent = "normal"
    # Every save rewrites the whole file: cap what it is given at 10,000 messages.
    max_appends = 600

    def open(self, workdir: Path) -> None:
        from nanobot.session.manager import SessionManager

        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.manager = SessionManager(workdir)

    def create_session(self, sid: str) -> None:
        self.manager.save(self.manager.get_or_create(sid))

    @staticmethod
    def _add(session: Any, m: Msg) -> None:
        if m.role == "assistant":
            call = {
                "id": m.call_id,
                "type": "function",
                "function": {"name": m.tool_name, "arguments": m.arguments},
            }
            session.add_message("assistant", m.text, tool_calls=[call], usage=m.usage)
        elif m.role == "tool":
            session.add_message("tool", m.text, tool_call_id=m.call_id, name=m.tool_name)
        else:
            session.add_message("user", m.text)

    def append(self, sid: str, msg: Msg) -> None:
        session = self.manager.get_or_create(sid)
        self._add(session, msg)
        self.manager.save(session)

    def append_batch(self, sid: str, msgs: Sequence[Msg]) -> None:
        session = self.manager.get_or_create(sid)
        for m in msgs:
            self._add(session, m)
        self.manager.save(session)

    def last(self, sid: str, k: int) -> list[object]:
        # Read from the file, as a new process would (the manager caches sessions).
        self.manager.invalidate(sid)
        return list(self.manager.get_or_create(sid).messages[-k:])

    def read_texts(self, sid: str) -> list[str]:
        from nanobot.session.manager import SessionManager

        fresh = SessionManager(self.workdir)
        return [str(m.get("content")) for m in fresh.get_or_create(sid).messages]


# ---------------------------------------------------------------- Google ADK


class GoogleADK(Subject):
    name = "google-adk SqliteSessionService"
    durability = "rollback journal, synchronous=FULL (default)"
    equivalent = "full"
    max_appends = 600
    # No batch append: filling 10,000 events one by one takes minutes; 2,000 shows growth.
    max_fill = 2_000

    def open(self, workdir: Path) -> None:
        from google.adk.sessions.sqlite_session_service import SqliteSessionService

        workdir.mkdir(parents=True, exist_ok=True)
        self.path = str(workdir / "adk.db")
        self.loop = asyncio.new_event_loop()
        self.svc = SqliteSessionService(self.path)
        self.sessions: dict[str, Any] = {}
        self.count = 0

    def close(self) -> None:
        _run(self.loop, self.svc.close())
        self.loop.close()

    def create_session(self, sid: str) -> None:
        async def go() -> Any:
            found = await self.svc.get_session(app_name="bench", user_id="u1", session_id=sid)
            if found is None:
                found = await self.svc.create_session(
                    app_name="bench", user_id="u1", session_id=sid
                )
            return found

        self.sessions[sid] = _run(self.loop, go())

    def refresh(self, sid: str) -> None:
        """Re-read the session (after a stale-session error from another writer)."""
        self.sessions[sid] = _run(
            self.loop, self.svc.get_session(app_name="bench", user_id="u1", session_id=sid)
        )

    def _event(self, m: Msg) -> Any:
        from google.adk.events import Event
        from google.genai import types

        self.count += 1
        inv = f"inv{self.count // 3}"
        if m.role == "user":
            content = types.Content(role="user", parts=[types.Part(text=m.text)])
            return Event(invocation_id=inv, author="user", content=content)
        if m.role == "assistant":
            u = m.usage or {}
            call = types.FunctionCall(
                id=m.call_id, name=m.tool_name, args=json.loads(m.arguments or "{}")
            )
            content = types.Content(
                role="model", parts=[types.Part(text=m.text), types.Part(function_call=call)]
            )
            usage = types.GenerateContentResponseUsageMetadata(
                prompt_token_count=u.get("input_tokens"),
                candidates_token_count=u.get("output_tokens"),
            )
            return Event(invocation_id=inv, author="agent", content=content, usage_metadata=usage)
        response = types.FunctionResponse(
            id=m.call_id, name=m.tool_name, response={"output": m.text}
        )
        content = types.Content(role="user", parts=[types.Part(function_response=response)])
        return Event(invocation_id=inv, author="agent", content=content)

    def append(self, sid: str, msg: Msg) -> None:
        _run(self.loop, self.svc.append_event(self.sessions[sid], self._event(msg)))

    def append_timed(self, sid: str, msgs: Sequence[Msg]) -> list[int]:
        session = self.sessions[sid]
        events = [self._event(m) for m in msgs]

        async def go() -> list[int]:
            out = []
            for event in events:
                t0 = time.perf_counter_ns()
                await self.svc.append_event(session, event)
                out.append(time.perf_counter_ns() - t0)
            return out

        result: list[int] = _run(self.loop, go())
        return result

    def last(self, sid: str, k: int) -> list[object]:
        from google.adk.sessions.base_session_service import GetSessionConfig

        found = _run(
            self.loop,
            self.svc.get_session(
                app_name="bench",
                user_id="u1",
                session_id=sid,
                config=GetSessionConfig(num_recent_events=k),
            ),
        )
        return list(found.events)

    def read_texts(self, sid: str) -> list[str]:
        found = _run(
            self.loop, self.svc.get_session(app_name="bench", user_id="u1", session_id=sid)
        )
        out = []
        for event in found.events:
            parts = event.content.parts if event.content else []
            out.append(
                " ".join(
                    (p.text or "")
                    + (json.dumps(p.function_response.response) if p.function_response else "")
                    + (json.dumps(p.function_call.args) if p.function_call else "")
                    for p in parts
                )
            )
        return out


PEERS: list[type[Subject]] = [OpenAIAgents, LangChain, Nanobot, GoogleADK, LangGraph]
