"""Google ADK: ``SessionDBSessionService``, a ``BaseSessionService`` over sessiondb.

>>> from sessiondb.integrations.adk import SessionDBSessionService   # doctest: +SKIP
>>> service = SessionDBSessionService("agent.db")                    # doctest: +SKIP
>>> runner = Runner(app_name="app", agent=agent, session_service=service)  # doctest: +SKIP

How ADK's model maps onto sessiondb:

* an ADK session is the sessiondb session with the same id (``agent`` = app name,
  ``user_id``, ``source="adk"``). Session ids are global in sessiondb: one id names one
  session whatever the app or user, so creating an id another app or user holds raises
  ``AlreadyExistsError``; reading it under the wrong app or user finds nothing;
* each event is one message, stored losslessly as ``{"role", "content": [...],
  "adk_event": event.model_dump(mode="json", exclude_none=True)}``. ``content`` repeats
  the event's text, function calls and responses as Anthropic-style blocks so sessiondb's
  search, tool-call rows and exports understand ADK sessions. ``usage_metadata`` is
  recorded as the message's ``Usage`` and ``model_version`` as its model;
* session state lives in the session's metadata, one key ``"state:<key>"`` per state key,
  holding ``[value]`` (a one-element list, because sessiondb's metadata merge deletes keys
  set to None while ADK keeps them);
* ``app:`` state lives the same way in the metadata of the session ``adk-app:<app>``, and
  ``user:`` state in ``adk-user:<app>:<user>`` (``source="adk-state"``);
* an event and its whole state delta (session, ``app:`` and ``user:`` parts) are stored
  by one ``append`` (``session_metadata`` and ``other_metadata``): one transaction, so
  either the event and every state change are stored or none is;
* ``temp:`` state is applied to the in-memory session and never stored;
* ``GetSessionConfig``: ``after_timestamp`` is applied in SQL (``Store.items(since=,
  order="time")``), and with it ``num_recent_events`` keeps the newest events by
  timestamp, as ADK's SQLite and database services do, whatever order the timestamps
  were appended in. ``num_recent_events`` alone reads the newest events in append order
  from the end of the session (only the rows returned); it equals ADK's SQL services
  while timestamps follow append order (ADK stamps events when it creates them), and
  picks the same events as ADK's ``InMemorySessionService`` always. Events come back
  sorted by timestamp;
* stale writers: every session read remembers the session's last seq (in ADK's
  ``Session._storage_update_marker``, as ADK's own database services do) and the next
  ``append_event`` is conditional on it (``expect_last_seq``); sessiondb's ``Conflict``
  becomes ADK's ``StaleSessionError``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import AlreadyExists, Conflict, NotFound
from ..model import Message, NewMessage, Usage, new_id
from ..model import Session as DBSession
from ._db import DB, missing, open_async

try:
    from google.adk.errors import StaleSessionError
    from google.adk.errors.already_exists_error import AlreadyExistsError
    from google.adk.errors.session_not_found_error import SessionNotFoundError
    from google.adk.events import Event
    from google.adk.sessions import BaseSessionService, Session, State
    from google.adk.sessions.base_session_service import GetSessionConfig, ListSessionsResponse
    from pydantic_core import to_jsonable_python
except ImportError as exc:  # extra not installed (tests/integrations/test_extras.py)
    raise missing("adk", exc) from exc

__all__ = ["SessionDBSessionService", "event_from_item", "item_from_event"]

SOURCE = "adk"
STATE_SOURCE = "adk-state"
STATE_KEY = "state:"  # metadata key prefix of one state key
_PAGE = 500  # sessions per list_sessions page


def app_state_id(app_name: str) -> str:
    """The sessiondb session holding ``app:`` state of ``app_name``."""
    return f"adk-app:{app_name}"


def user_state_id(app_name: str, user_id: str) -> str:
    """The sessiondb session holding ``user:`` state of ``user_id`` in ``app_name``."""
    return f"adk-user:{app_name}:{user_id}"


def _encode_state(delta: Mapping[str, Any]) -> dict[str, Any]:
    return {STATE_KEY + key: [value] for key, value in delta.items()}


def _decode_state(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key[len(STATE_KEY) :]: value[0]
        for key, value in metadata.items()
        if key.startswith(STATE_KEY) and isinstance(value, list) and len(value) == 1
    }


def _split_state(state: Mapping[str, Any] | None) -> tuple[dict[str, Any], ...]:
    """(app, user, session) deltas, prefixes removed, ``temp:`` dropped, JSON-safe."""
    app: dict[str, Any] = {}
    user: dict[str, Any] = {}
    session: dict[str, Any] = {}
    for key, value in (state or {}).items():
        if key.startswith(State.APP_PREFIX):
            app[key.removeprefix(State.APP_PREFIX)] = value
        elif key.startswith(State.USER_PREFIX):
            user[key.removeprefix(State.USER_PREFIX)] = value
        elif not key.startswith(State.TEMP_PREFIX):
            session[key] = value
    # Datetimes, models and the like become JSON the way ADK's own services store them.
    return tuple(to_jsonable_python(d, fallback=str) for d in (app, user, session))


def _merge(app: Mapping[str, Any], user: Mapping[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    merged = dict(own)
    merged.update({State.APP_PREFIX + k: v for k, v in app.items()})
    merged.update({State.USER_PREFIX + k: v for k, v in user.items()})
    return merged


def usage_from_event(event: Event) -> Usage | None:
    """The sessiondb ``Usage`` of an event's ``usage_metadata``; None when absent."""
    meta = event.usage_metadata
    if meta is None:
        return None
    thoughts = meta.thoughts_token_count
    candidates = meta.candidates_token_count
    output = (
        None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    )
    prompt = meta.prompt_token_count
    tool_prompt = meta.tool_use_prompt_token_count
    inputs = None if prompt is None and tool_prompt is None else (prompt or 0) + (tool_prompt or 0)
    found = Usage(
        input_tokens=inputs,
        output_tokens=output,
        cache_read_tokens=meta.cached_content_token_count,
        reasoning_tokens=thoughts,
    )
    return None if found.is_empty() else found


def item_from_event(event: Event) -> NewMessage:
    """The sessiondb message for an ADK event (lossless; see the module doc)."""
    dumped = event.model_dump(mode="json", exclude_none=True)
    content = dumped.get("content") or {}
    blocks: list[dict[str, Any]] = []
    for part in content.get("parts") or []:
        if part.get("thought") and isinstance(part.get("text"), str):
            blocks.append({"type": "thinking", "thinking": part["text"]})
        elif isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
        call = part.get("function_call")
        if isinstance(call, Mapping):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.get("id") or "",
                    "name": call.get("name") or "",
                    "input": call.get("args") or {},
                }
            )
        answer = part.get("function_response")
        if isinstance(answer, Mapping):
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": answer.get("id") or "",
                    "content": json.dumps(answer.get("response"), ensure_ascii=False),
                }
            )
    speaker = content.get("role") or ("user" if event.author == "user" else "model")
    role = "user" if speaker == "user" else "assistant"
    return NewMessage(
        item={"role": role, "content": blocks, "adk_event": dumped},
        created_at=datetime.fromtimestamp(event.timestamp, UTC),
        usage=usage_from_event(event),
        model=event.model_version or None,
    )


def event_from_item(item: Mapping[str, Any]) -> Event:
    """The ADK event stored as ``item``. Raises pydantic's ValidationError for an item
    that carries no ADK event."""
    return Event.model_validate(item.get("adk_event"))


class SessionDBSessionService(BaseSessionService):
    """An ADK session service storing sessions, events and state in sessiondb.

    ``db`` (also positional) is None, a URL, a path, a ``Store`` or an ``AsyncStore``;
    ``options`` go to ``sessiondb.connect`` when a location is given. Methods raise ADK's
    own errors where ADK's services do (``AlreadyExistsError``, ``SessionNotFoundError``,
    ``StaleSessionError``) and sessiondb's otherwise.
    """

    def __init__(self, db: DB = None, **options: Any) -> None:
        self.db, self._owned = open_async(db, options)

    async def close(self) -> None:
        """Close the store if this service opened it (a store passed in stays open)."""
        if self._owned:
            await self.db.close()

    # ------------------------------------------------------------------ scoped state

    async def _scope_state(self, scope_id: str) -> dict[str, Any]:
        try:
            return _decode_state((await self.db.get_session(scope_id)).metadata)
        except NotFound:
            return {}

    async def _write_scope(
        self, scope_id: str, delta: Mapping[str, Any], app_name: str, user_id: str | None
    ) -> None:
        """Merge ``delta`` into a scope session's state (one atomic metadata merge)."""
        if not delta:
            return
        patch = _encode_state(delta)
        try:
            await self.db.update_session(scope_id, metadata=patch)
        except NotFound:
            await self._ensure_scope(scope_id, app_name, user_id)
            await self.db.update_session(scope_id, metadata=patch)

    async def _ensure_scope(self, scope_id: str, app_name: str, user_id: str | None) -> None:
        await self.db.ensure_session(scope_id, agent=app_name, user_id=user_id, source=STATE_SOURCE)

    async def _app_user_state(
        self, app_name: str, user_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        app, user = await asyncio.gather(
            self._scope_state(app_state_id(app_name)),
            self._scope_state(user_state_id(app_name, user_id)),
        )
        return app, user

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The ``user:`` state of ``user_id`` in ``app_name``, keys without the prefix."""
        return await self._scope_state(user_state_id(app_name, user_id))

    # ------------------------------------------------------------------ sessions

    @staticmethod
    def _owned_by(stored: DBSession, app_name: str, user_id: str) -> bool:
        return stored.source == SOURCE and stored.agent == app_name and stored.user_id == user_id

    @staticmethod
    def _adk_session(
        stored: DBSession, state: dict[str, Any], events: list[Event] | None = None
    ) -> Session:
        session = Session(
            id=stored.id,
            app_name=stored.agent or "",
            user_id=stored.user_id or "",
            state=state,
            events=events or [],
            last_update_time=stored.updated_at.timestamp(),
        )
        session._storage_update_marker = str(stored.last_seq)
        return session

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create and return the session; raises AlreadyExistsError for a taken id."""
        app, user, own = _split_state(state)
        sid = session_id.strip() if session_id and session_id.strip() else new_id()
        try:
            stored = await self.db.create_session(
                sid, agent=app_name, user_id=user_id, source=SOURCE, metadata=_encode_state(own)
            )
        except AlreadyExists as exc:
            raise AlreadyExistsError(f"Session with id {sid} already exists.") from exc
        await self._write_scope(app_state_id(app_name), app, app_name, None)
        await self._write_scope(user_state_id(app_name, user_id), user, app_name, user_id)
        app_state, user_state = await self._app_user_state(app_name, user_id)
        return self._adk_session(stored, _merge(app_state, user_state, own))

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """The session with its events (windowed by ``config``), or None."""
        scopes = asyncio.ensure_future(self._app_user_state(app_name, user_id))
        try:
            # The session row is read before the events, so the seq it remembers is never
            # newer than the events returned: a writer in between makes the next append
            # stale (safe) rather than silently accepted.
            stored = await self.db.get_session(session_id)
            if not self._owned_by(stored, app_name, user_id):
                return None
            events = await self._events(session_id, config)
        except NotFound:
            return None
        finally:
            app_state, user_state = await scopes
        state = _merge(app_state, user_state, _decode_state(stored.metadata))
        return self._adk_session(stored, state, events)

    async def _events(self, session_id: str, config: GetSessionConfig | None) -> list[Event]:
        """Events oldest first, as ADK's services return them (by timestamp)."""
        limit = config.num_recent_events if config is not None else None
        after = config.after_timestamp if config is not None else None
        if limit == 0:
            return []
        if after:  # ADK's services treat 0 like None
            # Filtered and windowed in SQL by time, newest ``limit`` by timestamp (ties in
            # append order), exactly like ADK's SQL services' ORDER BY timestamp DESC.
            since = datetime.fromtimestamp(after, UTC)
            items = await self.db.items(session_id, since=since, order="time", last=limit)
            return [event_from_item(i) for i in items]
        events = [event_from_item(i) for i in await self.db.items(session_id, last=limit)]
        return sorted(events, key=lambda e: e.timestamp)  # stable: ties keep append order

    async def list_sessions(
        self, *, app_name: str, user_id: str | None = None
    ) -> ListSessionsResponse:
        """The app's sessions (one user's when given), least recently updated first,
        with state but without events."""
        stored = await self._all(agent=app_name, source=SOURCE, user_id=user_id)
        users: dict[str, dict[str, Any]] = {}
        if user_id is not None:
            app_state, users[user_id] = await self._app_user_state(app_name, user_id)
        else:  # every user's state: one listing of the app's state sessions
            app_state = {}
            for scope in await self._all(agent=app_name, source=STATE_SOURCE):
                if scope.id == app_state_id(app_name):
                    app_state = _decode_state(scope.metadata)
                elif scope.user_id is not None and scope.id == user_state_id(
                    app_name, scope.user_id
                ):
                    users[scope.user_id] = _decode_state(scope.metadata)
        stored.sort(key=lambda s: (s.updated_at, s.user_id or "", s.id))
        sessions = [
            self._adk_session(
                s, _merge(app_state, users.get(s.user_id or "", {}), _decode_state(s.metadata))
            )
            for s in stored
        ]
        return ListSessionsResponse(sessions=sessions)

    async def _all(self, **filters: Any) -> list[DBSession]:
        """Every session matching ``filters``, page by page (keyset cursor)."""
        found: list[DBSession] = []
        cursor: str | None = None
        while True:
            page = await self.db.list_sessions(limit=_PAGE, cursor=cursor, **filters)
            found.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return found

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete the session and its events; nothing happens when there is none."""
        try:
            stored = await self.db.get_session(session_id)
            if self._owned_by(stored, app_name, user_id):
                await self.db.delete_session(session_id)
        except NotFound:
            return

    # ------------------------------------------------------------------ events

    async def append_event(self, session: Session, event: Event) -> Event:
        """Store ``event`` with its state delta and apply both to ``session``.

        Raises StaleSessionError when another writer appended since ``session`` was
        read, SessionNotFoundError when the session is gone.
        """
        if event.partial:
            return event
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        app, user, own = _split_state(event.actions.state_delta if event.actions else None)
        # (scope session, its user, patch) of the app: and user: parts of the delta.
        scopes = [
            (scope_id, owner, _encode_state(delta))
            for scope_id, owner, delta in (
                (app_state_id(session.app_name), None, app),
                (user_state_id(session.app_name, session.user_id), session.user_id, user),
            )
            if delta
        ]
        expected = await self._expected_seq(session)
        item = item_from_event(event)
        own_patch = _encode_state(own) or None
        scope_patches = {scope_id: patch for scope_id, _, patch in scopes} or None

        async def store() -> list[Message]:
            return await self.db.append(
                session.id,
                item,
                expect_last_seq=expected,
                session_metadata=own_patch,
                other_metadata=scope_patches,
            )

        try:
            try:
                stored = await store()
            except NotFound:
                # Nothing was written. A scope session is made at its first write: make
                # the missing ones (empty) and store the event again, still all at once.
                if not scopes or not await self._exists(session.id):
                    raise
                for scope_id, owner, _ in scopes:
                    await self._ensure_scope(scope_id, session.app_name, owner)
                stored = await store()
        except Conflict as exc:
            raise StaleSessionError(
                "The session was changed by another writer since it was read"
                f" ({exc}). Please check if it is a stale session."
            ) from exc
        except NotFound as exc:
            raise SessionNotFoundError(f"Session {session.id} not found.") from exc
        session._storage_update_marker = str(stored[0].seq)
        session.last_update_time = event.timestamp
        return self._commit_event_to_session(session, event)

    async def _exists(self, session_id: str) -> bool:
        try:
            await self.db.get_session(session_id)
        except NotFound:
            return False
        return True

    async def _expected_seq(self, session: Session) -> int:
        """The last seq ``session`` was read at; for a Session built by hand, checked the
        way ADK's SQLite service checks it (stored update time vs ``last_update_time``)."""
        marker = session._storage_update_marker
        if marker is not None and marker.isdigit():
            return int(marker)
        try:
            stored = await self.db.get_session(session.id)
        except NotFound as exc:
            raise SessionNotFoundError(f"Session {session.id} not found.") from exc
        # 1 µs of slack: sessiondb keeps microseconds, ADK a float.
        if stored.updated_at.timestamp() > session.last_update_time + 1e-6:
            raise StaleSessionError(
                "The last_update_time provided in the session object is earlier than the"
                " update_time in storage. Please check if it is a stale session."
            )
        return stored.last_seq
