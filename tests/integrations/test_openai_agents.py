"""The OpenAI Agents SDK adapter, driven through ``Runner.run`` with a local fake model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sessiondb import AsyncStore, Store, Usage, connect

agents = pytest.importorskip("agents", reason="the 'openai-agents' extra is not installed")

from agents import (  # noqa: E402
    Agent,
    Runner,
    SQLiteSession,
    function_tool,
    set_tracing_disabled,
)
from agents.items import ModelResponse  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from agents.usage import Usage as SDKUsage  # noqa: E402
from openai.types.responses import (  # noqa: E402
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)
from openai.types.responses.response_usage import (  # noqa: E402
    InputTokensDetails,
    OutputTokensDetails,
    ResponseUsage,
)

from sessiondb.integrations.openai_agents import SessionDBSession  # noqa: E402

set_tracing_disabled(True)  # no network: the trace exporter would try to upload


def _message(text: str, fake_ids: bool) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id="__fake_id__" if fake_ids else f"msg_{abs(hash(text)) % 10**8}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


class ScriptedModel(Model):
    """Answers from a script; asks for the weather tool when the user says 'weather'."""

    def __init__(self, *, fake_ids: bool = True) -> None:
        self.fake_ids = fake_ids
        self.calls = 0
        self.seen: list[list[Any]] = []

    async def get_response(self, system_instructions, input, *args: Any, **kwargs: Any):
        self.calls += 1
        items = input if isinstance(input, list) else [{"role": "user", "content": input}]
        self.seen.append(json.loads(json.dumps(items, default=str)))
        last = items[-1]
        usage = SDKUsage(
            requests=1,
            input_tokens=100,
            output_tokens=10,
            total_tokens=110,
            input_tokens_details=InputTokensDetails(cached_tokens=40, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=3),
        )
        if last.get("role") == "user" and "weather" in str(last.get("content")):
            output: list[Any] = [
                ResponseFunctionToolCall(
                    id="__fake_id__" if self.fake_ids else "fc_1",
                    call_id=f"call_{self.calls}",
                    type="function_call",
                    name="get_weather",
                    arguments=json.dumps({"city": "Paris"}),
                    status="completed",
                )
            ]
        elif last.get("type") == "function_call_output":
            output = [_message(f"It is {last['output']}.", self.fake_ids)]
        else:
            output = [_message(f"echo {self.calls}: {last.get('content')}", self.fake_ids)]
        return ModelResponse(output=output, usage=usage, response_id=None)

    async def stream_response(
        self, system_instructions, input, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """The same answer as one terminal ``response.completed`` event."""
        answer = await self.get_response(system_instructions, input, *args, **kwargs)
        usage = answer.usage
        response = Response.model_construct(
            id=f"resp_{self.calls}",
            object="response",
            created_at=0.0,
            model="scripted",
            output=answer.output,
            usage=ResponseUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                input_tokens_details=usage.input_tokens_details,
                output_tokens_details=usage.output_tokens_details,
            ),
        )
        yield ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=0
        )


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def make_agent(model: Model) -> Agent[Any]:
    return Agent(name="helper", instructions="Be brief.", model=model, tools=[get_weather])


async def run_turns(session: Any, model: ScriptedModel) -> list[Any]:
    agent = make_agent(model)
    results = []
    for text in ["hello", "what is the weather?", "thanks"]:
        results.append(await Runner.run(agent, text, session=session))
    return results


def test_runner_turns_with_a_tool_call_are_stored_and_read_back(store: Store) -> None:
    async def main() -> None:
        session = SessionDBSession("chat-1", store)
        model = ScriptedModel()
        await run_turns(session, model)
        items = await session.get_items()
        # user, answer / user, call, output, answer / user, answer
        assert [i.get("type", "message") for i in items].count("function_call") == 1
        assert len(items) == 8
        assert sum(1 for i in items if i.get("id") == "__fake_id__") == 4
        # The third model call saw the whole conversation read back from sessiondb.
        assert model.seen[-1][:-1] == json.loads(json.dumps(items[:-2]))
        assert await session.get_items(limit=3) == items[-3:]

    asyncio.run(main())
    stored = store.messages("chat-1")
    assert [m.role for m in stored] == [
        "user", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant",
    ]  # fmt: skip
    calls = store.tool_calls("chat-1")
    assert [(c.name, c.status, c.result_text) for c in calls] == [
        ("get_weather", "ok", "sunny in Paris")
    ]
    assert store.get_session("chat-1").source == "openai-agents"


def test_runner_usage_is_recorded_on_the_session_as_the_run_goes(store: Store) -> None:
    async def main() -> list[Any]:
        session = SessionDBSession("chat-u", store, price=lambda u: (u.input_tokens or 0) * 1e-6)
        results = await run_turns(session, ScriptedModel())
        recorded = [await session.record_usage(r) for r in results]
        return recorded

    recorded = asyncio.run(main())
    # 4 model calls over 3 runs, 100 in / 10 out each.
    usage = store.get_session("chat-u").usage
    assert usage.input_tokens == 400
    assert usage.output_tokens == 40
    assert usage.cache_read_tokens == 160
    assert usage.reasoning_tokens == 12
    assert usage.cost_usd == pytest.approx(400e-6)
    assert [r.input_tokens for r in recorded] == [100, 200, 100]
    assert "unattributed_usage" not in store.get_session("chat-u").metadata


def test_record_usage_keeps_what_no_save_carried_in_metadata(store: Store) -> None:
    async def main() -> None:
        # The run saves into one session object; the app records into another.
        await run_turns(SessionDBSession("chat-a", store), ScriptedModel())
        other = SessionDBSession("chat-b", store)
        result = await Runner.run(make_agent(ScriptedModel()), "hello")
        await other.add_items(result.to_input_list())
        recorded = await other.record_usage(result)
        assert recorded == Usage(
            input_tokens=100, output_tokens=10, cache_read_tokens=40, reasoning_tokens=3
        )
        await other.record_usage(result)  # twice: still counted once

    asyncio.run(main())
    assert store.get_session("chat-b").metadata["unattributed_usage"] == {
        "input_tokens": 100,
        "output_tokens": 10,
        "cache_read_tokens": 40,
        "reasoning_tokens": 3,
    }


def test_items_round_trip_exactly_and_fake_ids_are_never_keys(store: Store) -> None:
    items: list[Any] = [
        {"role": "user", "content": "hi"},
        {"id": "__fake_id__", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "a", "annotations": []}]},
        {"id": "__fake_id__", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "b", "annotations": []}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "ünïcode ✓"}], "x": 1.5},
    ]  # fmt: skip

    async def main() -> None:
        session = SessionDBSession("rt", store)
        await session.add_items(items[:2])
        await session.add_items(items[2:])
        assert await session.get_items() == items
        assert await session.get_items(limit=2) == items[-2:]
        assert await session.get_items(limit=0) == []
        assert await SessionDBSession("never-written", store).get_items() == []

    asyncio.run(main())


def test_pop_and_clear_match_sqlite_session(store: Store, tmp_path: Path) -> None:
    async def scenario(session: Any) -> list[Any]:
        out: list[Any] = [await session.pop_item()]
        await session.add_items([{"role": "user", "content": str(i)} for i in range(4)])
        out.append(await session.pop_item())
        out.append(await session.get_items())
        await session.clear_session()
        out.append(await session.get_items())
        out.append(await session.pop_item())
        await session.add_items([{"role": "user", "content": "again"}])
        out.append(await session.get_items())
        return out

    async def main() -> None:
        ours = await scenario(SessionDBSession("p", store))
        theirs = await scenario(SQLiteSession("p", tmp_path / "oa.db"))
        assert ours == theirs

    asyncio.run(main())


def test_runner_conversation_matches_the_sdks_sqlite_session(store: Store, tmp_path: Path) -> None:
    async def main() -> None:
        ours = SessionDBSession("same", store)
        theirs = SQLiteSession("same", tmp_path / "oa.db")
        await run_turns(ours, ScriptedModel())
        await run_turns(theirs, ScriptedModel())
        assert await ours.get_items() == await theirs.get_items()
        for k in (1, 2, 5, 50):
            assert await ours.get_items(limit=k) == await theirs.get_items(limit=k)

    asyncio.run(main())


def test_constructor_accepts_a_path_a_url_and_an_async_store(tmp_path: Path) -> None:
    async def main() -> None:
        item = {"role": "user", "content": "x"}
        by_path = SessionDBSession("s", tmp_path / "a.db")
        await by_path.add_items([item])
        await by_path.close()
        by_url = SessionDBSession("s", f"sqlite:///{tmp_path / 'a.db'}")
        assert await by_url.get_items() == [item]
        await by_url.close()
        astore = AsyncStore(connect(tmp_path / "a.db"))
        assert await SessionDBSession("s", astore).get_items() == [item]
        await astore.close()

    asyncio.run(main())


def test_session_settings_limit_is_the_default_window(store: Store) -> None:
    from agents import SessionSettings

    async def main() -> None:
        session = SessionDBSession("w", store, session_settings=SessionSettings(limit=2))
        await session.add_items([{"role": "user", "content": str(i)} for i in range(5)])
        assert [i["content"] for i in await session.get_items()] == ["3", "4"]
        assert [i["content"] for i in await session.get_items(limit=4)] == ["1", "2", "3", "4"]

    asyncio.run(main())


def test_sessions_over_one_store_share_one_async_facade(store: Store) -> None:
    first = SessionDBSession("a", store)
    second = SessionDBSession("b", store)
    assert first.db is second.db
    assert first.db.store is store


def test_streamed_runs_store_the_same_items_and_all_their_usage(
    store: Store, tmp_path: Path
) -> None:
    async def stream_turns(session: Any) -> list[Any]:
        agent = make_agent(ScriptedModel())
        results = []
        for text in ["hello", "what is the weather?", "thanks"]:
            result = Runner.run_streamed(agent, text, session=session)
            async for _ in result.stream_events():
                pass
            results.append(result)
        return results

    async def main() -> None:
        ours = SessionDBSession("streamed", store)
        theirs = SQLiteSession("streamed", tmp_path / "oa.db")
        results = await stream_turns(ours)
        await stream_turns(theirs)
        assert await ours.get_items() == await theirs.get_items()
        recorded = [await ours.record_usage(r) for r in results]
        assert sum(u.input_tokens or 0 for u in recorded) == 400

    asyncio.run(main())
    # Whatever a save could not carry (streamed usage can arrive after it) is kept too.
    session = store.get_session("streamed")
    unattributed = session.metadata.get("unattributed_usage", {})
    assert (session.usage.input_tokens or 0) + unattributed.get("input_tokens", 0) == 400
    assert (session.usage.output_tokens or 0) + unattributed.get("output_tokens", 0) == 40


def test_run_config_session_settings_window_what_the_model_sees(
    store: Store, tmp_path: Path
) -> None:
    from agents import RunConfig, SessionSettings

    async def scenario(session: Any) -> list[list[Any]]:
        model = ScriptedModel()
        agent = make_agent(model)
        config = RunConfig(session_settings=SessionSettings(limit=3))
        for text in ["one", "two", "three", "four"]:
            await Runner.run(agent, text, session=session, run_config=config)
        return model.seen

    reads: list[dict[str, Any]] = []

    async def main() -> None:
        # The session's own setting (1) is overridden by the run's (3), as in the SDK.
        ours = SessionDBSession("rc", store, session_settings=SessionSettings(limit=1))
        items = ours.db.items

        async def spy(session_id: str, **window: Any) -> list[dict[str, Any]]:
            reads.append(window)
            return await items(session_id, **window)

        ours.db.items = spy  # type: ignore[method-assign]
        try:
            seen = await scenario(ours)
        finally:
            ours.db.items = items  # type: ignore[method-assign]
        theirs = SQLiteSession("rc", tmp_path / "oa.db", session_settings=SessionSettings(limit=1))
        assert seen == await scenario(theirs)
        # History then the new input: 0+1, 2+1, then never more than 3 read back.
        assert [len(s) for s in seen] == [1, 3, 4, 4]
        # The last turn saw the three items before it (the newest five now hold two more).
        assert seen[-1][:3] == json.loads(json.dumps((await ours.get_items(limit=5))[:3]))
        assert len(await ours.get_items(limit=100)) == 8  # everything is still stored

    asyncio.run(main())
    # Each turn read only the newest three items, in SQL (Store.items(last=3)).
    assert reads == [{"last": 3}] * 4
