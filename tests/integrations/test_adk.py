"""The Google ADK adapter, driven through ADK's ``Runner`` with a local fake LLM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest

from sessiondb import AsyncStore, Store, Usage, connect

pytest.importorskip("google.adk", reason="the 'adk' extra is not installed")

from google.adk.agents import LlmAgent
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events import Event, EventActions
from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.sessions.sqlite_session_service import SqliteSessionService
from google.adk.tools import ToolContext
from google.genai import types

from sessiondb.integrations.adk import SessionDBSessionService

APP = "weather"


class ScriptedLlm(BaseLlm):
    """Calls get_weather when asked about the weather, else echoes; reports usage."""

    model: str = "scripted"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        last = llm_request.contents[-1]
        parts = last.parts or []
        if any(p.function_response for p in parts):
            reply = [types.Part(text="It is sunny in Paris.")]
        elif any(p.text and "weather" in p.text for p in parts):
            call = types.FunctionCall(id="call-1", name="get_weather", args={"city": "Paris"})
            reply = [types.Part(function_call=call)]
        else:
            reply = [types.Part(text=f"echo: {parts[0].text if parts else ''}")]
        yield LlmResponse(
            content=types.Content(role="model", parts=reply),
            usage_metadata=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=50,
                candidates_token_count=5,
                cached_content_token_count=20,
                thoughts_token_count=2,
                total_token_count=57,
            ),
            model_version="scripted-001",
        )


def get_weather(city: str, tool_context: ToolContext) -> dict[str, str]:
    """The weather in a city."""
    state = tool_context.state
    state["user:city"] = city
    state["app:lookups"] = (state.get("app:lookups") or 0) + 1
    state["temp:scratch"] = "never stored"
    state["last_city"] = city
    state["nothing"] = None
    return {"weather": "sunny"}


def make_runner(service: BaseSessionService) -> Runner:
    agent = LlmAgent(
        name="helper",
        model=ScriptedLlm(),
        instruction="Be brief.",
        tools=[get_weather],
        output_key="last_answer",
    )
    return Runner(app_name=APP, agent=agent, session_service=service)


async def converse(service: BaseSessionService, session_id: str = "s1") -> list[Event]:
    await service.create_session(
        app_name=APP,
        user_id="u1",
        session_id=session_id,
        state={"app:greeting": "hi", "user:lang": "fr", "mood": "ok", "temp:t": 1},
    )
    runner = make_runner(service)
    events = []
    for text in ["hello", "what is the weather?", "thanks"]:
        message = types.Content(role="user", parts=[types.Part(text=text)])
        async for event in runner.run_async(
            user_id="u1", session_id=session_id, new_message=message
        ):
            events.append(event)
    return events


def shape(events: list[Event]) -> list[tuple[Any, ...]]:
    """What must agree between two runs (ids and timestamps differ from run to run)."""
    return [
        (
            e.author,
            e.content.model_dump(mode="json", exclude_none=True) if e.content else None,
            e.actions.state_delta,
        )
        for e in events
    ]


def test_runner_turns_store_events_state_and_usage(store: Store) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        produced = await converse(service)
        session = await service.get_session(app_name=APP, user_id="u1", session_id="s1")
        assert session is not None
        assert len(session.events) == 3 + len(produced)
        assert session.state == {
            "app:greeting": "hi",
            "app:lookups": 1,
            "user:lang": "fr",
            "user:city": "Paris",
            "mood": "ok",
            "last_city": "Paris",
            "nothing": None,
            "last_answer": "echo: thanks",
        }
        # Scoped state is shared: another session of the same user, and of another user.
        other = await service.create_session(app_name=APP, user_id="u1", session_id="s2")
        assert other.state == {k: v for k, v in session.state.items() if ":" in k}
        stranger = await service.create_session(app_name=APP, user_id="u2")
        assert stranger.state == {"app:greeting": "hi", "app:lookups": 1}
        assert await service.get_user_state(app_name=APP, user_id="u1") == {
            "lang": "fr",
            "city": "Paris",
        }

    asyncio.run(main())
    stored = store.messages("s1")
    assert [m.role for m in stored] == [
        "user", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert [(c.name, c.status) for c in store.tool_calls("s1")] == [("get_weather", "ok")]
    assert stored[1].usage == Usage(
        input_tokens=50, output_tokens=7, cache_read_tokens=20, reasoning_tokens=2
    )
    assert stored[1].model == "scripted-001"
    summary = store.get_session("s1")
    assert summary.usage.input_tokens == 4 * 50
    assert (summary.agent, summary.user_id, summary.source) == (APP, "u1", "adk")
    assert "temp:scratch" not in str(summary.metadata)
    assert all("temp:" not in str(m.item) for m in stored)


def test_events_round_trip_equal(store: Store) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        produced = await converse(service)
        session = await service.get_session(app_name=APP, user_id="u1", session_id="s1")
        assert session is not None
        # Every event the runner yielded is stored equal (the runner yields them after
        # appending; partial events are never stored).
        by_id = {e.id: e for e in session.events}
        for event in produced:
            assert by_id[event.id] == event

    asyncio.run(main())


def test_get_session_config_windows_like_adks_sqlite_service(store: Store, tmp_path: Path) -> None:
    async def main() -> None:
        ours = SessionDBSessionService(store)
        theirs = SqliteSessionService(str(tmp_path / "adk.db"))
        await converse(ours)
        await converse(theirs)

        async def get(service: BaseSessionService, config: GetSessionConfig | None) -> Any:
            session = await service.get_session(
                app_name=APP, user_id="u1", session_id="s1", config=config
            )
            assert session is not None
            return session

        full = await get(ours, None)
        assert shape(full.events) == shape((await get(theirs, None)).events)
        assert full.state == (await get(theirs, None)).state
        for k in (0, 1, 3, 100):
            config = GetSessionConfig(num_recent_events=k)
            assert shape((await get(ours, config)).events) == shape(
                (await get(theirs, config)).events
            )
        # after_timestamp: our own events' times, applied to each store's own events.
        for index in (0, 4, len(full.events) - 1):
            mine = GetSessionConfig(after_timestamp=full.events[index].timestamp)
            got = (await get(ours, mine)).events
            assert [e.id for e in got] == [e.id for e in full.events[index:]]
            both = GetSessionConfig(
                after_timestamp=full.events[index].timestamp, num_recent_events=2
            )
            assert [e.id for e in (await get(ours, both)).events] == [
                e.id for e in full.events[index:][-2:]
            ]
        listed = await ours.list_sessions(app_name=APP, user_id="u1")
        theirs_listed = await theirs.list_sessions(app_name=APP, user_id="u1")
        assert [(s.id, s.state, s.events) for s in listed.sessions] == [
            (s.id, s.state, s.events) for s in theirs_listed.sessions
        ]

    asyncio.run(main())


def test_a_stale_session_object_cannot_append(store: Store) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        await service.create_session(app_name=APP, user_id="u1", session_id="s")
        first = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        second = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        assert first is not None and second is not None
        await service.append_event(first, Event(author="user", invocation_id="i1"))
        await service.append_event(first, Event(author="user", invocation_id="i2"))
        delta = Event(author="a", invocation_id="i3", actions=EventActions(state_delta={"k": 1}))
        with pytest.raises(StaleSessionError):
            await service.append_event(second, delta)
        fresh = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        assert fresh is not None and "k" not in fresh.state and len(fresh.events) == 2
        await service.append_event(fresh, delta)
        again = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        assert again is not None and again.state == {"k": 1}

    asyncio.run(main())


def test_sessions_are_private_to_their_app_and_user(store: Store) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        await service.create_session(app_name=APP, user_id="u1", session_id="mine")
        assert await service.get_session(app_name=APP, user_id="u2", session_id="mine") is None
        assert await service.get_session(app_name="other", user_id="u1", session_id="mine") is None
        with pytest.raises(AlreadyExistsError):
            await service.create_session(app_name=APP, user_id="u1", session_id="mine")
        await service.delete_session(app_name=APP, user_id="u2", session_id="mine")
        assert await service.get_session(app_name=APP, user_id="u1", session_id="mine")
        await service.delete_session(app_name=APP, user_id="u1", session_id="mine")
        assert await service.get_session(app_name=APP, user_id="u1", session_id="mine") is None
        await service.delete_session(app_name=APP, user_id="u1", session_id="mine")  # no error
        assert (await service.list_sessions(app_name=APP)).sessions == []

    asyncio.run(main())


def test_constructor_accepts_a_path_a_url_and_an_async_store(tmp_path: Path) -> None:
    async def main() -> None:
        by_path = SessionDBSessionService(tmp_path / "a.db")
        await by_path.create_session(app_name=APP, user_id="u", session_id="s")
        await by_path.close()
        by_url = SessionDBSessionService(db=f"sqlite:///{tmp_path / 'a.db'}")
        assert await by_url.get_session(app_name=APP, user_id="u", session_id="s")
        await by_url.close()
        astore = AsyncStore(connect(tmp_path / "a.db"))
        assert await SessionDBSessionService(astore).get_session(
            app_name=APP, user_id="u", session_id="s"
        )
        await astore.close()

    asyncio.run(main())


def test_after_timestamp_reads_across_pages_of_the_tail(store: Store) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        session = await service.create_session(app_name=APP, user_id="u1", session_id="long")
        for i in range(130):
            event = Event(author="user", invocation_id=f"i{i}", timestamp=1_000.0 + i)
            await service.append_event(session, event)

        async def times(**config: Any) -> list[float]:
            got = await service.get_session(
                app_name=APP, user_id="u1", session_id="long", config=GetSessionConfig(**config)
            )
            assert got is not None
            return [e.timestamp for e in got.events]

        assert await times(after_timestamp=1_010.0) == [1_000.0 + i for i in range(10, 130)]
        assert await times(after_timestamp=1_010.0, num_recent_events=70) == [
            1_000.0 + i for i in range(60, 130)
        ]
        assert await times(after_timestamp=2_000.0) == []
        assert await times(num_recent_events=3) == [1_127.0, 1_128.0, 1_129.0]

    asyncio.run(main())


def test_listing_every_user_matches_adks_sqlite_service(store: Store, tmp_path: Path) -> None:
    async def scenario(service: BaseSessionService) -> list[tuple[str, str, dict[str, Any]]]:
        await service.create_session(
            app_name=APP, user_id="u1", session_id="a", state={"app:v": 1, "user:k": "one"}
        )
        await service.create_session(
            app_name=APP, user_id="u2", session_id="b", state={"user:k": "two", "x": None}
        )
        await service.create_session(app_name=APP, user_id="u3", session_id="c")
        await service.create_session(app_name="other", user_id="u1", session_id="d")
        listed = await service.list_sessions(app_name=APP)
        assert all(s.events == [] for s in listed.sessions)
        return sorted((s.user_id, s.id, s.state) for s in listed.sessions)

    async def main() -> None:
        ours = await scenario(SessionDBSessionService(store))
        assert ours == await scenario(SqliteSessionService(str(tmp_path / "adk.db")))
        assert [row[1] for row in ours] == ["a", "b", "c"]

    asyncio.run(main())
