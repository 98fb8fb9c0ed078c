"""Google ADK: ``SessionDBSessionService``, a ``BaseSessionService`` over sessiondb.

>>> from sessiondb.integrations.adk import SessionDBSessionService   # doctest: +SKIP
>>> service = SessionDBSessionService("agent.db")                    # doctest: +SKIP
>>> runner = Runner(app_name="app", agent=agent, session_service=service)  # doctest: +SKIP

How ADK's model maps onto sessiondb:

* an ADK session is the sessiondb session with the same id (``agent`` = app name,
  ``user_id``, ``source="adk"``). A known deviation from ADK, which keys sessions by
  (app, user, id): session ids are global in sessiondb, one id names one session
  whatever the app or user, so one id cannot be used by two users or apps. Creating an
  id another app or user holds raises ``AlreadyExistsError``; reading it under the wrong
  app or user finds nothing;
* each event is one message, stored losslessly as ``{"role", "content": [...],
  "adk_event": event.model_dump(mode="json", exclude_none=True)}``. ``content`` repeats
  the event's text, function calls and responses as Anthropic-style blocks so sessiondb's
  search, tool-call rows and exports understand ADK sessions. ``usage_metadata`` is
  recorded as the message's ``Usage`` and ``model_version`` as its model;
* session state lives in the session's metadata, one key ``"state:<key>"`` per state key,
  holding ``[value]`` (a one-element list, because sessiondb's metadata merge deletes keys
  set to None while ADK keeps them);
* ``app:`` state lives the same way in the metadata of the session ``adk-app:<app>``, and
  ``user:`` state in ``adk-user:<app>:<user>`` (``source="adk-state"``, ``agent`` = app,
  ``user_id`` = user or None for the app). In those ids ``%`` and ``:`` of the names are
  written ``%25`` and ``%3A``, so no two (app, user) pairs share one id (names without
  either character keep the ids of earlier versions; the state earlier versions stored
  for names with one, under ids two pairs could share, is not read). A scope session is only trusted
  when its source, agent and user_id say it is that app's or user's state: another
  session under the id is neither read nor written (writing raises ``AlreadyExists``).
  Ids starting with ``adk-app:`` or ``adk-user:`` are reserved: creating an ADK session
  with one raises ``InvalidInput`` (a ``ValueError``), so no client can plant the state
  of another app or user;
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

from ..errors import AlreadyExists, Conflict, InvalidInput, NotFound
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


APP_STATE_PREFIX = "adk-app:"
USER_STATE_PREFIX = "adk-user:"


def _id_part(name: str) -> str:
    # Without ':' in a part, the parts of an id are found again by splitting at ':'.
    return name.replace("%", "%25").replace(":", "%3A")


def app_state_id(app_name: str) -> str:
    """The sessiondb session holding ``app:`` state of ``app_name``."""
    return APP_STATE_PREFIX + _id_part(app_name)


def user_state_id(app_name: str, user_id: str) -> str:
    """The sessiondb session holding ``user:`` state of ``user_id`` in ``app_name``."""
    return f"{USER_STATE_PREFIX}{_id_part(app_name)}:{_id_part(user_id)}"


def _scope_id(app_name: str, user_id: str | None) -> str:
    return app_state_id(app_name) if user_id is None else user_state_id(app_name, user_id)


def _is_reserved(session_id: str) -> bool:
    return session_id.startswith((APP_STATE_PREFIX, USER_STATE_PREFIX))


def _is_scope(stored: DBSession, app_name: str, user_id: str | None) -> bool:
    """True when ``stored`` is the scope state session of ``app_name`` (and ``user_id``;
    None: the app's own ``app:`` state), as ``_check_scope`` makes it."""
    return stored.source == STATE_SOURCE and stored.agent == app_name and stored.user_id == user_id


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
        self._checked: set[str] = set()  # scope sessions known to be what their id says

    async def close(self) -> None:
        """Close the store if this service opened it (a store passed in stays open)."""
        if self._owned:
            await self.db.close()

    # ------------------------------------------------------------------ scoped state

    async def _scope_state(self, app_name: str, user_id: str | None) -> dict[str, Any]:
        """The state of a scope (``user_id`` None: the app's); {} when there is none, or
        when the session under its id is not that scope's (see the module doc)."""
        scope_id = _scope_id(app_name, user_id)
        try:
            stored = await self.db.get_session(scope_id)
        except NotFound:
            return {}
        return _decode_state(stored.metadata) if _is_scope(stored, app_name, user_id) else {}

    async def _check_scope(self, app_name: str, user_id: str | None) -> None:
        """Make sure the scope session exists and is that scope's before it is written.
        Raises AlreadyExists when another session holds its id."""
        scope_id = _scope_id(app_name, user_id)
        if scope_id in self._checked:
            return
        stored = await self.db.ensure_session(
            scope_id, agent=app_name, user_id=user_id, source=STATE_SOURCE
        )
        if not _is_scope(stored, app_name, user_id):
            owner = "app" if user_id is None else f"user {user_id!r} of app"
            raise AlreadyExists(
                f"session {scope_id!r} is not the ADK state of {owner} {app_name!r}"
                f" (source {stored.source!r}, agent {stored.agent!r}, user_id"
                f" {stored.user_id!r}): move it away to store that state"
            )
        self._checked.add(scope_id)  # a scope session never changes what it is

    async def _write_scope(
        self, app_name: str, user_id: str | None, delta: Mapping[str, Any]
    ) -> None:
        """Merge ``delta`` into a scope's state (one atomic metadata merge)."""
        if not delta:
            return
        patch = _encode_state(delta)
        await self._check_scope(app_name, user_id)
        try:
            await self.db.update_session(_scope_id(app_name, user_id), metadata=patch)
        except NotFound:  # deleted since it was checked: make it again
            self._checked.discard(_scope_id(app_name, user_id))
            await self._check_scope(app_name, user_id)
            await self.db.update_session(_scope_id(app_name, user_id), metadata=patch)

    async def _app_user_state(
        self, app_name: str, user_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        app, user = await asyncio.gather(
            self._scope_state(app_name, None), self._scope_state(app_name, user_id)
        )
        return app, user

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The ``user:`` state of ``user_id`` in ``app_name``, keys without the prefix."""
        return await self._scope_state(app_name, user_id)

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
        """Create and return the session; raises AlreadyExistsError for a taken id,
        InvalidInput (a ValueError) for an id reserved for app and user state."""
        app, user, own = _split_state(state)
        sid = session_id.strip() if session_id and session_id.strip() else new_id()
        if _is_reserved(sid):
            raise InvalidInput.about(
                "session_id",
                f"ids starting with {APP_STATE_PREFIX!r} or {USER_STATE_PREFIX!r} are"
                " reserved for app: and user: state",
            )
        for owner, delta in ((None, app), (user_id, user)):
            if delta:  # before the session is made, so a squatted scope leaves nothing
                await self._check_scope(app_name, owner)
        try:
            stored = await self.db.create_session(
                sid, agent=app_name, user_id=user_id, source=SOURCE, metadata=_encode_state(own)
            )
        except AlreadyExists as exc:
            raise AlreadyExistsError(f"Session with id {sid} already exists.") from exc
        await self._write_scope(app_name, None, app)
        await self._write_scope(app_name, user_id, user)
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
                if scope.user_id is None:
                    if scope.id == app_state_id(app_name):
                        app_state = _decode_state(scope.metadata)
                elif scope.id == user_state_id(app_name, scope.user_id):
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
        # (owner, patch) of the app: (owner None) and user: parts of the delta.
        scopes = [
            (owner, _encode_state(delta))
            for owner, delta in ((None, app), (session.user_id, user))
            if delta
        ]
        expected = await self._expected_seq(session)
        for owner, _ in scopes:
            # Made if missing, and never a session that only squats the id: checked once
            # per service, so an event costs no extra query after the first.
            await self._check_scope(session.app_name, owner)
        item = item_from_event(event)
        own_patch = _encode_state(own) or None
        scope_patches = {
            _scope_id(session.app_name, owner): patch for owner, patch in scopes
        } or None

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
                # Nothing was written. A scope session deleted since it was checked:
                # make it again (empty) and store the event again, still all at once.
                if not scopes or not await self._exists(session.id):
                    raise
                for owner, _ in scopes:
                    self._checked.discard(_scope_id(session.app_name, owner))
                    await self._check_scope(session.app_name, owner)
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
