"""The Google ADK adapter, driven through ADK's ``Runner`` with a local fake LLM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest

from sessiondb import AsyncStore, SessionDBError, Store, Usage, connect

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


def test_after_timestamp_and_num_recent_events_window_a_long_session(store: Store) -> None:
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


# ---------------------------------------------------------------------------- timestamps


async def skewed_session(service: BaseSessionService, session_id: str = "skew") -> None:
    """Events whose timestamps do not follow append order (clock skew, parallel agents):
    ten stamped late, then sixty stamped early, then a few ties and one in between."""
    await service.create_session(app_name=APP, user_id="u1", session_id=session_id)
    stamps = [2_000.0 + i for i in range(10)] + [1_000.0 + i for i in range(60)]
    stamps += [1_500.0, 1_500.0, 2_005.0, 1_030.5, 1_500.0]
    for i, stamp in enumerate(stamps):
        session = await service.get_session(app_name=APP, user_id="u1", session_id=session_id)
        assert session is not None
        await service.append_event(
            session, Event(author="user", invocation_id=f"e{i}", timestamp=stamp)
        )


def test_after_timestamp_matches_adks_sqlite_service_when_times_are_not_monotonic(
    store: Store, tmp_path: Path
) -> None:
    async def window(service: BaseSessionService, **config: Any) -> list[tuple[str, float]]:
        got = await service.get_session(
            app_name=APP, user_id="u1", session_id="skew", config=GetSessionConfig(**config)
        )
        assert got is not None
        return [(e.invocation_id, e.timestamp) for e in got.events]

    async def main() -> None:
        ours = SessionDBSessionService(store)
        theirs = SqliteSessionService(str(tmp_path / "adk.db"))
        await skewed_session(ours)
        await skewed_session(theirs)
        # The audit's case: most events at or after 1500.5 were appended first; e72
        # (appended late, stamped 2005 like e5) sorts after e5.
        late = await window(ours, after_timestamp=1_500.5)
        expected = [f"e{i}" for i in range(6)] + ["e72"] + [f"e{i}" for i in range(6, 10)]
        assert [name for name, _ in late] == expected
        compared = 0
        for after in (999.0, 1_000.0, 1_030.5, 1_059.0, 1_500.0, 1_500.5, 2_005.0, 2_009.5):
            for recent in (None, 1, 2, 3, 5, 11, 50, 200):
                config = {"after_timestamp": after, "num_recent_events": recent}
                assert await window(ours, **config) == await window(theirs, **config), config
                compared += 1
        assert compared == 64
        assert await window(ours) == await window(theirs)

    asyncio.run(main())


def test_num_recent_events_alone_reads_the_newest_appended_from_the_end(store: Store) -> None:
    # Documented (module docstring): without after_timestamp the window is the newest in
    # append order, read from the end of the session, then sorted by timestamp.
    async def main() -> None:
        service = SessionDBSessionService(store)
        await skewed_session(service)
        got = await service.get_session(
            app_name=APP,
            user_id="u1",
            session_id="skew",
            config=GetSessionConfig(num_recent_events=4),
        )
        assert got is not None
        assert [e.invocation_id for e in got.events] == ["e73", "e71", "e74", "e72"]

    asyncio.run(main())


def test_after_timestamp_is_read_in_sql_not_filtered_in_python(store: Store) -> None:
    calls: list[dict[str, Any]] = []

    async def main() -> None:
        service = SessionDBSessionService(store)
        await skewed_session(service)
        items = service.db.items

        async def spy(session_id: str, **window: Any) -> list[dict[str, Any]]:
            calls.append(window)
            return await items(session_id, **window)

        service.db.items = spy  # type: ignore[method-assign]
        got = await service.get_session(
            app_name=APP,
            user_id="u1",
            session_id="skew",
            config=GetSessionConfig(after_timestamp=2_004.0, num_recent_events=3),
        )
        assert got is not None
        assert [e.timestamp for e in got.events] == [2_007.0, 2_008.0, 2_009.0]

    asyncio.run(main())
    # One read, the window in its arguments: the database returned exactly three events.
    assert len(calls) == 1
    assert calls[0]["order"] == "time" and calls[0]["last"] == 3
    assert calls[0]["since"].timestamp() == 2_004.0


# ---------------------------------------------------------------------------- atomicity


# Where a crash is injected: right after the database writes the event's row, or right
# after it writes the user: state. Whatever order an implementation writes in, one of the
# two comes last, after everything else of the event was written.
CRASHES = {
    "event row": (
        "messages",
        "NEW.text LIKE '%crash%'",
    ),
    "user state": (
        "sessions",
        "NEW.id LIKE 'adk-user:%' AND NEW.metadata LIKE '%crash%'",
    ),
}


def inject_crash(store: Store, where: str) -> None:
    """Make the database fail the statement that writes ``where`` (see CRASHES)."""
    table, condition = CRASHES[where]
    event = "INSERT" if table == "messages" else "UPDATE"
    if store.url.startswith("sqlite"):
        store._conn().execute(  # type: ignore[attr-defined]
            f"CREATE TRIGGER crash AFTER {event} ON {table} WHEN {condition}"
            " BEGIN SELECT RAISE(ABORT, 'injected crash'); END"
        )
        return
    with store._connection("injecting a crash") as conn:  # type: ignore[attr-defined]
        conn.execute(
            "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF {condition} THEN RAISE EXCEPTION 'injected crash'; END IF;"
            " RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER crash AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION crash()"
        )


def stateful_event(text: str, **delta: Any) -> Event:
    return Event(
        author="helper",
        invocation_id="i",
        content=types.Content(role="model", parts=[types.Part(text=text)]),
        actions=EventActions(state_delta=delta),
    )


@pytest.mark.parametrize("where", list(CRASHES))
@pytest.mark.parametrize("scopes_exist", [True, False])
def test_an_event_and_its_whole_state_delta_are_stored_together_or_not_at_all(
    store: Store, where: str, scopes_exist: bool
) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        state = {"app:v": 0, "user:v": 0, "v": 0} if scopes_exist else {}
        session = await service.create_session(
            app_name=APP, user_id="u1", session_id="s", state=state
        )
        before = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        assert before is not None
        inject_crash(store, where)
        doomed = {"app:v": 1, "user:v": "crash", "v": 1, "temp:t": 1}
        with pytest.raises(SessionDBError, match="injected crash"):
            await service.append_event(session, stateful_event("crash now", **doomed))
        after = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        assert after is not None
        assert (after.events, after.state) == ([], before.state)
        assert await service.get_user_state(app_name=APP, user_id="u1") == (
            {"v": 0} if scopes_exist else {}
        )
        fresh = await service.create_session(app_name=APP, user_id="u1")
        assert fresh.state == ({"app:v": 0, "user:v": 0} if scopes_exist else {})
        # The same session object still appends (nothing moved), every part together.
        await service.append_event(session, stateful_event("fine", **{**doomed, "user:v": 1}))
        done = await service.get_session(app_name=APP, user_id="u1", session_id="s")
        assert done is not None and len(done.events) == 1
        assert done.state == {"app:v": 1, "user:v": 1, "v": 1}

    asyncio.run(main())
    assert [m.text for m in store.messages("s")] == ["fine"]


def test_state_writes_of_one_event_commit_in_the_events_transaction(store: Store) -> None:
    appends: list[dict[str, Any]] = []

    async def main() -> None:
        service = SessionDBSessionService(store)
        session = await service.create_session(
            app_name=APP, user_id="u1", session_id="s", state={"app:a": 0, "user:u": 0}
        )
        db = service.db
        append, update = db.append, db.update_session

        async def spy_append(*args: Any, **kwargs: Any) -> Any:
            appends.append(kwargs)
            return await append(*args, **kwargs)

        async def no_update(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("state written outside the event's append")

        db.append, db.update_session = spy_append, no_update  # type: ignore[method-assign]
        try:
            await service.append_event(session, stateful_event("x", **{"app:a": 1, "user:u": 2}))
        finally:
            db.append, db.update_session = append, update  # type: ignore[method-assign]

    asyncio.run(main())
    assert len(appends) == 1
    assert appends[0]["other_metadata"] == {
        "adk-app:weather": {"state:a": [1]},
        "adk-user:weather:u1": {"state:u": [2]},
    }


# ---------------------------------------------------------------------------- scope ids


def test_user_state_of_names_with_colons_is_not_shared_between_apps(store: Store) -> None:
    from google.adk.sessions import InMemorySessionService

    async def main(service: BaseSessionService) -> tuple[dict[str, Any], dict[str, Any]]:
        await service.create_session(
            app_name="a", user_id="b:c", state={"user:secret": "alice-token", "app:k": 1}
        )
        other = await service.create_session(app_name="a:b", user_id="c")
        again = await service.create_session(app_name="a", user_id="b:c")
        return dict(other.state), dict(again.state)

    ours = asyncio.run(main(SessionDBSessionService(store)))
    assert ours == asyncio.run(main(InMemorySessionService()))  # type: ignore[no-untyped-call]
    assert ours == ({}, {"user:secret": "alice-token", "app:k": 1})


def test_an_adk_session_cannot_take_an_id_reserved_for_app_or_user_state(store: Store) -> None:
    async def main() -> None:
        service = SessionDBSessionService(store)
        for reserved in ("adk-app:victim", "adk-user:victim:alice", " adk-app:x "):
            with pytest.raises(ValueError, match="reserved"):
                await service.create_session(
                    app_name="evil", user_id="m", session_id=reserved, state={"admin": True}
                )
        victim = await service.create_session(app_name="victim", user_id="alice")
        assert victim.state == {}

    asyncio.run(main())
    assert [s.id for s in store.list_sessions().items if s.id.startswith("adk-")] == []


def test_a_session_squatting_a_state_id_is_neither_read_nor_written(store: Store) -> None:
    # As an earlier version let an ADK client make it: an app's session under the id
    # of another app's state.
    store.create_session(
        "adk-app:victim", agent="evil", user_id="m", source="adk", metadata={"state:admin": [True]}
    )

    async def main() -> None:
        service = SessionDBSessionService(store)
        victim = await service.create_session(app_name="victim", user_id="alice")
        assert victim.state == {}
        with pytest.raises(SessionDBError, match="is not the ADK state of app 'victim'"):
            await service.create_session(
                app_name="victim", user_id="bob", state={"app:api_key": "secret"}
            )
        with pytest.raises(SessionDBError, match="is not the ADK state of app 'victim'"):
            await service.append_event(victim, stateful_event("x", **{"app:api_key": "secret"}))
        listed = await service.list_sessions(app_name="victim")
        assert [s.state for s in listed.sessions] == [{}]
        evil = await service.get_session(app_name="evil", user_id="m", session_id="adk-app:victim")
        assert evil is not None and evil.state == {"admin": True}

    asyncio.run(main())
    assert store.get_session("adk-app:victim").metadata == {"state:admin": [True]}


def test_state_ids_of_plain_names_are_those_of_earlier_versions(store: Store) -> None:
    from sessiondb.integrations.adk import app_state_id, user_state_id

    assert app_state_id(APP) == "adk-app:weather"
    assert user_state_id(APP, "u1") == "adk-user:weather:u1"
    assert user_state_id("a", "b:c") != user_state_id("a:b", "c")
    assert user_state_id("a%3Ab", "c") != user_state_id("a:b", "c")
    assert app_state_id("a:b") != app_state_id("a%3Ab")
    # State an earlier version stored is read.
    store.create_session(
        "adk-app:weather", agent=APP, source="adk-state", metadata={"state:a": [1]}
    )
    store.create_session(
        "adk-user:weather:u1",
        agent=APP,
        user_id="u1",
        source="adk-state",
        metadata={"state:u": [2]},
    )

    async def main() -> None:
        service = SessionDBSessionService(store)
        session = await service.create_session(app_name=APP, user_id="u1")
        assert session.state == {"app:a": 1, "user:u": 2}

    asyncio.run(main())
